"""The real recordings in ``../shared/real/``: which to run, how, and which of their coach alerts are right.

Owns the judgement of alerts on real calls, where there is no scripted truth: every coach alert counts as
false unless ``tests/eval/real_truth.toml`` accepts it (same kind and rule, overlapping the accepted span
within the tolerance) with a reason read from the recording's reference transcript. Praise alerts are
listed but not counted.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.eval.score import TOLERANCE_S, Found, Truth, overlaps

HERE = Path(__file__).resolve().parent
REAL_TRUTH = HERE / "real_truth.toml"
SUFFIXES = (".wav", ".opus")
# The stereo WAVs there follow the project's order (agent left); the .opus keeps its source's order, user
# (customer) left and agent right (SOURCES.md).
CHANNEL_OPTIONS = {".opus": ("--agent-channel", "right")}


@dataclass(frozen=True)
class Accepted:
    truth: Truth
    reason: str


@dataclass(frozen=True)
class Verdict:
    alert: Found
    counted: bool  # a coach alert: right or false; praise is listed only
    reason: str | None  # why it is right, from real_truth.toml; None: false (when counted)


def recordings(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix in SUFFIXES)


def options(path: Path) -> tuple[str, ...]:
    return CHANNEL_OPTIONS.get(path.suffix, ())


def load_accepted(path: Path = REAL_TRUTH) -> list[Accepted]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    accepted = []
    for entry in data.get("accept", []):
        start, end = entry["span_s"]
        truth = Truth(str(entry["file"]), str(entry["kind"]), entry.get("rule"), float(start), float(end))
        accepted.append(Accepted(truth, str(entry["reason"])))
    return accepted


def judge(
    alerts: Sequence[Found], accepted: Sequence[Accepted], tolerance_s: float = TOLERANCE_S
) -> list[Verdict]:
    """Each alert of one recording, with the reason it is right if real_truth.toml gives one."""
    verdicts = []
    for alert in sorted(alerts, key=lambda a: a.start_s):
        reason = next(
            (
                a.reason
                for a in accepted
                if a.truth.call == alert.call and overlaps(alert, a.truth, tolerance_s)
            ),
            None,
        )
        verdicts.append(Verdict(alert, alert.polarity == "coach", reason))
    return verdicts
