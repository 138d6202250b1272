"""Following up a commitment: how the kind of moment it is about went on the agent's later calls, and
whether the behaviour has held or slipped. Sans I/O: calls' events and times in, a judgement out.

A commitment names a coach kind ("cold_reply_to_bad_news"); its praise twin ("empathy_shown") is what the
agent does when they get it right, so each later call is tallied as coach vs praise moments of the pair.
The behaviour has *slipped* as soon as a later call has a coach moment of the kind; it has *held* once the
next ``needed`` calls (``--follow-up-calls``, 3 by default) have none; until then it is *following*. A
later call is one that started after the commitment was made and on or after its date, other than the
call the commitment came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, TypeAlias

from callcoach.detectors import bad_news, frustration
from callcoach.live.coaching import Commitment
from callcoach.live.events import Alert, CallInfo, Event

Status: TypeAlias = Literal["following", "held", "slipped"]

# A coach kind -> the praise kind of getting it right; kinds without one are followed by their misses only.
PRAISE_TWINS: dict[str, str] = {
    bad_news.COLD: bad_news.EMPATHY,
    frustration.COLD: frustration.PRAISE,
}


@dataclass(frozen=True)
class CallTally:
    """One later call: how many coach and praise moments of the commitment's kind (and twin) it had."""

    call_id: str
    title: str
    started_at: str
    coach: int
    praise: int


@dataclass(frozen=True)
class FollowUp:
    """Where a commitment stands: its later calls in order, and the judgement on them."""

    commitment_id: str
    kind: str
    twin: str | None
    status: Status
    needed: int  # calls without a slip that make it held
    calls: tuple[CallTally, ...]
    slipped_on: str | None = None  # the first later call with a coach moment of the kind


def judge(calls: Sequence[CallTally], needed: int) -> tuple[Status, str | None]:
    """Slipped on the first call (in order) with a coach moment, held after ``needed`` calls without,
    following before that; with the call it slipped on."""
    for call in calls:
        if call.coach > 0:
            return "slipped", call.call_id
    return ("held" if len(calls) >= needed else "following"), None


def tally(call: CallInfo, events: Iterable[Event], kind: str) -> CallTally:
    """The call's moments of ``kind`` (coach) and its twin (praise), each alert counted once whatever
    its revisions."""
    twin = PRAISE_TWINS.get(kind)
    coach: set[str] = set()
    praise: set[str] = set()
    for event in events:
        if isinstance(event, Alert) and event.kind == kind and event.polarity == "coach":
            coach.add(event.id)
        elif isinstance(event, Alert) and twin is not None and event.kind == twin:
            praise.add(event.id)
    return CallTally(call.call_id, call.title, call.started_at, len(coach), len(praise))


def is_later(call: CallInfo, commitment: Commitment) -> bool:
    """Whether ``call`` counts for the commitment's follow-up (see the module's docstring)."""
    if call.call_id == commitment.call_id or not call.started_at:
        return False
    started = _instant(call.started_at)
    due = datetime.fromisoformat(commitment.due_date).date()
    return started >= _instant(commitment.created_at) and started.date() >= due


def follow_up(commitment: Commitment, tallies: Iterable[CallTally], needed: int) -> FollowUp:
    """The commitment's follow-up from the tallies of the agent's later calls (any order)."""
    calls = tuple(sorted(tallies, key=lambda c: _instant(c.started_at)))
    status, slipped_on = judge(calls, needed)
    twin = PRAISE_TWINS.get(commitment.kind)
    return FollowUp(commitment.id, commitment.kind, twin, status, needed, calls, slipped_on)


def _instant(iso: str) -> datetime:
    """An ISO 8601 time as an aware UTC datetime (``Z``, an offset, or none, which is taken as UTC)."""
    parsed = datetime.fromisoformat(iso)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
