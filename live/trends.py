"""Trends: how an agent's or a team's moments went week by week, and the two findings a coach names from
them, "the recurring opportunity" and "the steady strength". Sans I/O: stored calls' events and today's
date in, counts and findings out.

Each alert counts once, in its latest revision (a silence is raised, then revised with its full length),
in the week (Monday to Sunday, UTC) its call started; only finished calls count (not live, not being
analysed, not one that failed). The findings are about *calls*, not moments: five cold replies on one bad
day are one call to talk about, the same slip on four different calls is a habit. A kind is named only
when it was on at least :data:`MIN_CALLS` calls and on at least :data:`MIN_SHARE` of the period's calls
(the larger of the two floors): one call is never a pattern, and two calls of forty are not one either.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from callcoach.detectors.registry import KINDS
from callcoach.live.eventlog import latest_alerts
from callcoach.live.events import Alert, CallInfo, Event, Polarity

CallEvents = tuple[CallInfo, Sequence[Event]]
WEEKS = 8  # the default period: two months is enough to see a habit form or fade
MIN_CALLS = 2
MIN_SHARE = 0.25
FINISHED = ("ready", "dropped")
# Which praise a coach values most, first (the kudos wall ranks by it too); other praise kinds follow.
VALUED = ("turned_around", "de_escalation", "empathy_shown", "ownership")
# Which coach kind matters most when two are on as many calls (the sheet's order, see live/sheet.py).
SEVERE = ("cold_reply_to_bad_news", "customer_frustration", "interruption", "rule", "monologue", "silence")


@dataclass(frozen=True)
class KindTrend:
    """One kind's moments per week of the period, oldest week first, and on how many calls it was."""

    kind: str
    label: str
    polarity: Polarity
    per_week: tuple[int, ...]
    moments: int
    calls: int


@dataclass(frozen=True)
class Finding:
    """A kind named from the trends ("Recurring: Cold reply (4 of 6 calls)"), or none, said plainly."""

    kind: str | None
    label: str | None
    calls: int
    of_calls: int
    said: str


@dataclass(frozen=True)
class Trends:
    """Moments per kind per week over the period, with the two findings."""

    weeks: tuple[str, ...]  # each week's Monday (ISO date), oldest first
    calls_per_week: tuple[int, ...]
    calls: int
    kinds: tuple[KindTrend, ...]  # coach kinds first, then praise; within each, on the most calls first
    recurring: Finding  # the coach kind on the most calls
    steady: Finding  # the praise kind on the most calls


def week_of(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def trends(calls: Iterable[CallEvents], today: date, weeks: int = WEEKS) -> Trends:
    """The trends of ``calls`` (an agent's, or a team's) over the ``weeks`` weeks up to ``today``'s."""
    mondays = [week_of(today) - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]
    index = {monday: i for i, monday in enumerate(mondays)}
    per_call: list[tuple[int, list[Alert]]] = []
    for info, events in calls:
        day = _day(info.started_at)
        if info.status in FINISHED and day is not None and week_of(day) in index:
            per_call.append((index[week_of(day)], latest_alerts(events)))
    kinds = _kinds(per_call, weeks)
    calls_per_week = tuple(sum(1 for week, _ in per_call if week == i) for i in range(weeks))
    return Trends(
        tuple(m.isoformat() for m in mondays),
        calls_per_week,
        len(per_call),
        kinds,
        find(kinds, len(per_call), "coach"),
        find(kinds, len(per_call), "praise"),
    )


def floor(of_calls: int) -> int:
    """On how many of ``of_calls`` calls a kind must be to be named."""
    return max(MIN_CALLS, math.ceil(MIN_SHARE * of_calls))


def find(kinds: Sequence[KindTrend], of_calls: int, polarity: Polarity) -> Finding:
    """The kind of ``polarity`` on the most calls, if it clears the floor; else none, and why."""
    what = "recurring opportunity" if polarity == "coach" else "steady strength"
    candidates = [k for k in kinds if k.polarity == polarity and k.calls > 0]
    if not of_calls:
        return Finding(None, None, 0, 0, f"No {what}: no finished calls in the period.")
    if not candidates:
        return Finding(None, None, 0, of_calls, f"No {what}: no {polarity} moments on {_calls(of_calls)}.")
    best = min(candidates, key=_rank)
    needed = floor(of_calls)
    if best.calls < needed:
        return Finding(
            None,
            None,
            best.calls,
            of_calls,
            f"No {what} yet: too few calls to tell (a kind must be on {needed} of {_calls(of_calls)};"
            f" the most was {best.label}, on {best.calls}).",
        )
    name = "Recurring" if polarity == "coach" else "Steady strength"
    said = f"{name}: {best.label} ({best.calls} of {_calls(of_calls)})"
    return Finding(best.kind, best.label, best.calls, of_calls, said)


def _kinds(per_call: Sequence[tuple[int, list[Alert]]], weeks: int) -> tuple[KindTrend, ...]:
    counts: dict[tuple[str, Polarity], list[int]] = {}
    on_calls: dict[tuple[str, Polarity], int] = {}
    for week, alerts in per_call:
        for alert in alerts:
            counts.setdefault((alert.kind, alert.polarity), [0] * weeks)[week] += 1
        for key in {(a.kind, a.polarity) for a in alerts}:
            on_calls[key] = on_calls.get(key, 0) + 1
    found = [
        KindTrend(kind, kind_label(kind), polarity, tuple(n), sum(n), on_calls[(kind, polarity)])
        for (kind, polarity), n in counts.items()
    ]
    return tuple(sorted(found, key=lambda k: (k.polarity != "coach", *_rank(k))))


def _rank(kind: KindTrend) -> tuple[int, int, int, str]:
    """On the most calls first, then the most moments, then the kind that matters most."""
    order = SEVERE if kind.polarity == "coach" else VALUED
    weight = order.index(kind.kind) if kind.kind in order else len(order)
    return (-kind.calls, -kind.moments, weight, kind.kind)


def kind_label(kind: str) -> str:
    """The kind as a coach reads it, from the detectors' registry (a kind since removed: its name)."""
    known = KINDS.get(kind)
    return known.label if known is not None else kind.replace("_", " ").capitalize()


def _calls(n: int) -> str:
    return f"{n} call" if n == 1 else f"{n} calls"


def _day(iso: str) -> date | None:
    """The UTC day of an ISO 8601 time (none taken as UTC); None for a call without a start time."""
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        return None
    return (parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)).astimezone(UTC).date()
