"""The coaching sheet of one call: what a coach brings to the conversation with the agent.

Built from a call's events (its alerts, notes and pins, as the call's log or storage has them) and, when
the caller has them, the agent's self-assessment and the commitments made about the call. Pure: no I/O,
no clock. The order follows how coaching works: strengths first (every praise moment and praise note: most
of what a good agent does is right), then at most three opportunities, ranked, each with the quote, the
time, why it matters and what to say instead; everything else is kept in ``more`` (folded away on the page).

Ranking: the kind's severity (:data:`SEVERITY`), then whether a coach pinned it, then its time in the call.
Each alert counts once, in its latest revision (a silence is raised at its threshold, then revised with its
full length).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from callcoach.detectors.registry import KINDS
from callcoach.live.coaching import Commitment, SelfAssessment
from callcoach.live.eventlog import latest_alerts
from callcoach.live.events import (
    Alert,
    CallEnded,
    CallInfo,
    CallStarted,
    Event,
    Note,
    Pin,
    Polarity,
    Quote,
)

MAX_OPPORTUNITIES = 3  # a conversation that covers more than three things changes none of them

# How much each coach kind matters in a conversation with the agent, most first. A cold reply to bad news
# hurts a customer at their worst moment and is what they remember of the call; a frustrated customer left
# unacknowledged comes next, then cutting the customer off. A coach-defined rule is a team's own must-say
# (a disclosure, a greeting): it matters to the team but callcoach cannot know how much, so it ranks in the
# middle, after what hurts the customer and before the habits of pace. Talking on and dead air cost the
# customer's patience, not their trust: a silence is often the agent looking something up.
SEVERITY: dict[str, int] = {
    "cold_reply_to_bad_news": 1,
    "customer_frustration": 2,
    "interruption": 3,
    "rule": 4,
    "monologue": 5,
    "silence": 6,
}
# A kind this table does not know (a stored call from a detector since removed) ranks after every known
# one; the tests check that every coach kind the registry knows has its own rank.
UNKNOWN_SEVERITY = max(SEVERITY.values()) + 1


@dataclass(frozen=True)
class SheetMoment:
    """One detected moment of the call as the sheet shows it: an alert in its latest revision."""

    id: str
    kind: str
    label: str  # the kind as a coach reads it ("Cold reply"), from the detectors' registry
    polarity: Polarity
    title: str
    quote: str
    quotes: tuple[Quote, ...]
    start_s: float
    end_s: float | None
    why: str
    suggestion: str
    pinned: bool
    rule: str | None = None  # a coach-defined rule's name, for kind "rule"
    source: Literal["alert"] = "alert"


@dataclass(frozen=True)
class SheetNote:
    """A coach's note on the call, tagged praise or coach."""

    id: str
    tag: Polarity
    text: str
    author: str
    author_name: str
    start_s: float
    quote: Quote | None
    pinned: bool
    source: Literal["note"] = "note"


@dataclass(frozen=True)
class CoachingSheet:
    """A call's sheet. ``opportunities`` holds at most :data:`MAX_OPPORTUNITIES`, ranked; ``more`` the rest
    of the coach moments in the same order. ``praise_count`` and ``coach_count`` are the call's balance:
    its moments and its coaches' notes of each polarity."""

    call_id: str
    title: str
    agent: str
    duration_s: float | None
    strengths: tuple[SheetMoment | SheetNote, ...]
    opportunities: tuple[SheetMoment, ...]
    more: tuple[SheetMoment, ...]
    notes: tuple[SheetNote, ...]
    praise_count: int
    coach_count: int
    self_assessment: SelfAssessment | None
    commitments: tuple[Commitment, ...]

    def to_json(self) -> dict[str, Any]:
        """The sheet as JSON (what ``callcoach sheet --json`` prints and ``/api/calls/ID/sheet`` sends)."""
        return dataclasses.asdict(self)


def build_sheet(
    call_id: str,
    events: Sequence[Event],
    *,
    info: CallInfo | None = None,
    self_assessment: SelfAssessment | None = None,
    commitments: Iterable[Commitment] = (),
) -> CoachingSheet:
    """The sheet of call ``call_id`` from its events. Its title, agent and length come from ``info`` (the
    call list's line, which the server keeps current) when given, else from the events. A self-assessment
    or commitment about another call is not this call's and is left out."""
    pinned = pinned_ids(events)
    moments = [_moment(a, pinned) for a in latest_alerts(events)]
    notes = tuple(_note(n, pinned) for n in _notes(events))
    praise = [m for m in moments if m.polarity == "praise"]
    coach = sorted((m for m in moments if m.polarity == "coach"), key=rank_key)
    praised: list[SheetMoment | SheetNote] = [*praise, *(n for n in notes if n.tag == "praise")]
    strengths = sorted(praised, key=lambda s: (s.start_s, s.id))
    started = next((e for e in events if isinstance(e, CallStarted)), None)
    return CoachingSheet(
        call_id=call_id,
        title=info.title if info else started.title if started else "",
        agent=info.agent if info else started.agent if started else "",
        duration_s=_duration_s(events, started, info),
        strengths=tuple(strengths),
        opportunities=tuple(coach[:MAX_OPPORTUNITIES]),
        more=tuple(coach[MAX_OPPORTUNITIES:]),
        notes=notes,
        praise_count=len(strengths),
        coach_count=len(coach) + sum(n.tag == "coach" for n in notes),
        self_assessment=self_assessment if self_assessment and self_assessment.call_id == call_id else None,
        commitments=tuple(c for c in commitments if c.call_id == call_id),
    )


def severity(kind: str) -> int:
    """The kind's rank in :data:`SEVERITY` (1 is the most severe)."""
    return SEVERITY.get(kind, UNKNOWN_SEVERITY)


def rank_key(moment: SheetMoment) -> tuple[int, bool, float, str]:
    """Most severe kind first; within a kind, what a coach pinned first; then earlier in the call."""
    return severity(moment.kind), not moment.pinned, moment.start_s, moment.id


def pinned_ids(events: Sequence[Event]) -> frozenset[str]:
    """The alerts and notes pinned now: each target's latest pin says (``pinned=False`` unpins)."""
    latest: dict[str, bool] = {}
    for event in events:
        if isinstance(event, Pin):
            latest[event.target_id] = event.pinned
    return frozenset(target for target, pinned in latest.items() if pinned)


def _notes(events: Sequence[Event]) -> list[Note]:
    """The call's notes, each once (a log read twice over, stored and live, may repeat one), by time."""
    seen: dict[str, Note] = {}
    for event in events:
        if isinstance(event, Note):
            seen.setdefault(event.id, event)
    return sorted(seen.values(), key=lambda n: (n.at_s, n.id))


def _moment(alert: Alert, pinned: frozenset[str]) -> SheetMoment:
    return SheetMoment(
        id=alert.id,
        kind=alert.kind,
        label=KINDS[alert.kind].label if alert.kind in KINDS else alert.kind.replace("_", " ").capitalize(),
        polarity=alert.polarity,
        title=alert.title,
        quote=alert.quote,
        quotes=alert.quotes,
        start_s=alert.start_s,
        end_s=alert.end_s,
        why=alert.why,
        suggestion=alert.suggestion,
        pinned=alert.id in pinned,
        rule=alert.rule,
    )


def _note(note: Note, pinned: frozenset[str]) -> SheetNote:
    return SheetNote(
        id=note.id,
        tag=note.tag,
        text=note.text,
        author=note.author,
        author_name=note.author_name,
        start_s=note.at_s,
        quote=note.quote,
        pinned=note.id in pinned,
    )


def _duration_s(events: Sequence[Event], started: CallStarted | None, info: CallInfo | None) -> float | None:
    if info is not None and info.duration_s is not None:
        return info.duration_s
    ended = next((e for e in reversed(events) if isinstance(e, CallEnded)), None)
    if ended is not None:
        return ended.end_s
    return started.duration_s if started else None
