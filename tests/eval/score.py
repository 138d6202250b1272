"""Match a call's alerts to its truth and count, per kind, what was found, missed and made up, and how
often the alerts change between runs of the same call.

Owns the scoring rules, with no I/O: an alert matches a truth moment of the same kind (and, for ``rule``,
the same rule name) when its span overlaps the moment's span widened by :data:`TOLERANCE_S` on each side;
one alert matches at most one moment and one moment at most one alert (a maximum matching, so the order
alerts come in cannot change the count); the revisions of one alert id are one alert, its last revision.
An alert that matches nothing is a false positive; a moment nothing matched is a miss.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

# Two seconds either side: detectors place an alert on the reply, the gap or the whole exchange, and voice
# activity moves speech edges by a few tenths; two seconds absorbs both without letting an alert about one
# exchange match the next (scripted exchanges are several seconds apart).
TOLERANCE_S = 2.0
PRECISION_TARGET = 0.9
RECALL_TARGET = 0.85


@dataclass(frozen=True)
class Truth:
    call: str
    kind: str
    rule: str | None
    start_s: float
    end_s: float
    where: str = ""
    note: str = ""

    @property
    def key(self) -> str:
        return kind_key(self.kind, self.rule)


@dataclass(frozen=True)
class Found:
    """One alert as ``analyze --json`` last revised it."""

    call: str
    id: str
    kind: str
    rule: str | None
    polarity: str
    start_s: float
    end_s: float
    title: str = ""
    quote: str = ""

    @property
    def key(self) -> str:
        return kind_key(self.kind, self.rule)


def kind_key(kind: str, rule: str | None) -> str:
    return f"rule:{rule}" if kind == "rule" else kind


def final_alerts(call: str, events: Iterable[dict[str, Any]]) -> list[Found]:
    """The alerts among a call's events, each id once, as its highest revision left it."""
    latest: dict[str, dict[str, Any]] = {}
    for event in events:
        if event.get("type") != "alert":
            continue
        prior = latest.get(event["id"])
        if prior is None or event.get("revision", 0) >= prior.get("revision", 0):
            latest[event["id"]] = event
    return [_found(call, e) for e in latest.values()]


def _found(call: str, e: dict[str, Any]) -> Found:
    start = float(e["start_s"])
    # An alert still open when the call ended has no end: it lasts to where it was detected.
    end = e.get("end_s")
    end_s = float(end) if end is not None else max(start, float(e.get("detected_s") or start))
    return Found(
        call=call,
        id=str(e["id"]),
        kind=str(e["kind"]),
        rule=e.get("rule"),
        polarity=str(e.get("polarity", "")),
        start_s=start,
        end_s=end_s,
        title=str(e.get("title", "")),
        quote=str(e.get("quote", "")),
    )


def overlaps(alert: Found, truth: Truth, tolerance_s: float = TOLERANCE_S) -> bool:
    return (
        alert.key == truth.key
        and alert.start_s <= truth.end_s + tolerance_s
        and alert.end_s >= truth.start_s - tolerance_s
    )


@dataclass
class Matching:
    hits: list[tuple[Truth, Found]] = field(default_factory=list)
    misses: list[Truth] = field(default_factory=list)
    false_alerts: list[Found] = field(default_factory=list)


def match(truths: Sequence[Truth], alerts: Sequence[Found], tolerance_s: float = TOLERANCE_S) -> Matching:
    """A maximum one-to-one matching of one call's alerts to its truth (Kuhn's augmenting paths)."""
    owner: dict[int, int] = {}  # truth index -> alert index

    def place(a: int, seen: set[int]) -> bool:
        for t, truth in enumerate(truths):
            if t in seen or not overlaps(alerts[a], truth, tolerance_s):
                continue
            seen.add(t)
            if t not in owner or place(owner[t], seen):
                owner[t] = a
                return True
        return False

    for a in range(len(alerts)):
        place(a, set())
    taken = set(owner.values())
    return Matching(
        hits=[(truths[t], alerts[a]) for t, a in sorted(owner.items())],
        misses=[t for i, t in enumerate(truths) if i not in owner],
        false_alerts=[a for i, a in enumerate(alerts) if i not in taken],
    )


@dataclass(frozen=True)
class Score:
    kind: str
    truth: int
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / self.truth if self.truth else None

    @property
    def passed(self) -> bool:
        # Nothing alerted is no false alert; nothing to find is nothing missed.
        p, r = self.precision, self.recall
        return (p is None or p >= PRECISION_TARGET) and (r is None or r >= RECALL_TARGET)


def tally(matchings: Iterable[Matching], truths: Iterable[Truth], kinds: Iterable[str] = ()) -> list[Score]:
    """Per kind key (``rule:<name>`` per rule, plus ``rule`` for them all): the counts over every call."""
    counts: dict[str, list[int]] = {k: [0, 0, 0, 0] for k in kinds}

    def add(key: str, slot: int) -> None:
        keys = [key, "rule"] if key.startswith("rule:") else [key]
        for k in keys:
            counts.setdefault(k, [0, 0, 0, 0])[slot] += 1

    for t in truths:
        add(t.key, 0)
    for m in matchings:
        for t, _a in m.hits:
            add(t.key, 1)
        for a in m.false_alerts:
            add(a.key, 2)
        for t in m.misses:
            add(t.key, 3)
    return [Score(k, *c) for k, c in sorted(counts.items(), key=lambda kc: _order(kc[0]))]


def _order(key: str) -> tuple[int, str]:
    # Rule rows after the detectors' kinds, each rule under the "rule" total.
    return (1, key) if key == "rule" or key.startswith("rule:") else (0, key)


@dataclass(frozen=True)
class Flips:
    """How often one kind's alerts change between runs of the same calls."""

    kind: str
    calls: int  # calls where some run raised this kind
    flipped: int  # of those, calls whose runs do not all raise the same alerts of this kind

    @property
    def rate(self) -> float | None:
        return self.flipped / self.calls if self.calls else None


def _signature(alert: Found) -> tuple[str, float, float, str, str]:
    # Everything a coach sees of it: a moved span or a changed quote is a different alert to them.
    return (alert.id, alert.start_s, alert.end_s, alert.title, alert.quote)


def flips(calls: Iterable[Sequence[Sequence[Found]]], kinds: Iterable[str] = ()) -> dict[str, Flips]:
    """Per kind key (and ``rule`` for all rules): in how many calls the runs' sets of that kind's alerts
    differ, out of the calls where any run raised it. ``calls`` holds each call's runs, each its alerts."""
    counts: dict[str, list[int]] = {k: [0, 0] for k in kinds}
    for runs in calls:
        keys = {a.key for run in runs for a in run}
        keys |= {"rule" for k in keys if k.startswith("rule:")}
        for key in keys:
            sets = [
                frozenset(_signature(a) for a in run if a.key == key or (key == "rule" and a.kind == "rule"))
                for run in runs
            ]
            counts.setdefault(key, [0, 0])[0] += 1
            counts[key][1] += len(set(sets)) > 1
    return {k: Flips(k, *c) for k, c in counts.items()}
