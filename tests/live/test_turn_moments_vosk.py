"""Interruptions and monologues end to end: generated stereo calls through real voice activity and real
Vosk, by `callcoach analyze --json` as a user runs it; a clean call with backchannels flags neither."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from callcoach.live.codec import from_json
from callcoach.live.eventlog import latest_alerts
from callcoach.live.events import Alert
from tests.helpers.server import clean_env
from tests.helpers.turn_calls import CONTROL, INTERRUPTION, MONOLOGUE, Line, Placed, write_call

pytestmark = pytest.mark.vosk
CALLS: dict[str, Sequence[Line]] = {"interruption": INTERRUPTION, "monologue": MONOLOGUE, "control": CONTROL}
MONOLOGUE_S = 12.0  # far below the default minute, to keep the generated call short


@pytest.fixture(scope="module")
def runs(
    tmp_path_factory: pytest.TempPathFactory, callcoach: Path, model_dir: Path
) -> dict[str, tuple[list[Placed], list[Alert]]]:
    """Each call written to a tmp dir and analysed; the three analyses run side by side."""
    folder = tmp_path_factory.mktemp("turn_calls")
    placed = {name: write_call(folder / f"{name}.wav", lines) for name, lines in CALLS.items()}
    flags = ["--json", "--model", str(model_dir), "--monologue-s", str(MONOLOGUE_S)]
    procs = {
        name: subprocess.Popen(
            [str(callcoach), "analyze", str(folder / f"{name}.wav"), *flags],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=clean_env(),
        )
        for name in CALLS
    }
    out = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr
        events = [from_json(json.loads(line)) for line in stdout.splitlines()]
        out[name] = (placed[name], [e for e in events if isinstance(e, Alert)])
    return out


def of_kind(alerts: list[Alert], kind: str) -> list[Alert]:
    """The latest revision of each alert of ``kind``."""
    return [a for a in latest_alerts(alerts) if a.kind == kind]


def first_revision(alerts: list[Alert], alert_id: str) -> Alert:
    return next(a for a in alerts if a.id == alert_id)


def test_the_agent_cutting_the_customer_off_is_flagged_with_both_quotes(
    runs: dict[str, tuple[list[Placed], list[Alert]]],
) -> None:
    placed, alerts = runs["interruption"]
    cut_line, agent_line = placed[1], placed[2]
    [alert] = of_kind(alerts, "interruption")
    assert (alert.polarity, alert.speaker) == ("coach", "agent")
    assert alert.title.startswith("Cut the customer off at 00:10")
    assert abs(alert.start_s - agent_line.start_s) < 0.2  # where the agent came in
    assert alert.end_s is not None and abs(alert.end_s - cut_line.end_s) < 0.2  # where the customer stopped
    first = first_revision(alerts, alert.id)
    assert alert.start_s <= first.detected_s < agent_line.end_s  # live: before the agent finished
    customer, agent = alert.quotes
    assert customer.speaker == "customer" and "calling about my last" in customer.text
    assert agent.speaker == "agent" and "what you need to do" in agent.text
    assert of_kind(alerts, "monologue") == []


def test_a_long_explanation_is_a_monologue_revised_with_its_length(
    runs: dict[str, tuple[list[Placed], list[Alert]]],
) -> None:
    placed, alerts = runs["monologue"]
    agent_lines = [p for p in placed if p.speaker == "agent"][1:-1]
    [alert] = of_kind(alerts, "monologue")
    assert alert.revision == 1 and alert.end_s is not None
    # From the agent's first word of the explanation to their last, through the customer's "mhm".
    assert abs(alert.start_s - agent_lines[0].start_s) < 0.3
    assert abs(alert.end_s - agent_lines[-1].end_s) < 0.3
    assert alert.detected_s >= agent_lines[-1].end_s  # the revision, once it ended
    assert "monologue at 00:10" in alert.title
    assert "of course" in alert.quotes[0].text
    assert of_kind(alerts, "interruption") == []


def test_clean_turn_taking_with_backchannels_flags_neither(
    runs: dict[str, tuple[list[Placed], list[Alert]]],
) -> None:
    _, alerts = runs["control"]
    assert of_kind(alerts, "interruption") == []
    assert of_kind(alerts, "monologue") == []
