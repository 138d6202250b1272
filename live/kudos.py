"""The kudos wall: a team's best praised moments of the week, for the team meeting or the newsletter.
Sans I/O: stored calls' events, the agents' names, the featured moment and the time now in; the ranked
wall out.

What goes on it is praise only: praise alerts (each once, in its latest revision) and the coaches' praise
notes of the team's finished calls that started in the last seven days (a rolling week: on a Monday the
wall is not empty). Nothing else of a call is on it (no coach moments, no transcript beyond the praised
quote), so it may be shown to the team's agents too. Best first: the moment a lead featured, then the
kinds a coach values most (:data:`VALUED`: turning a call around, calming a frustrated customer, empathy,
ownership), then a coach's own praise note (someone chose to write it), then other praise; then the
most recent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from callcoach.live.eventlog import latest_alerts
from callcoach.live.events import Alert, CallInfo, Event, Note
from callcoach.live.trends import FINISHED, VALUED, CallEvents, kind_label

WEEK = timedelta(days=7)
MAX_KUDOS = 12  # a wall, not a list: what a team meeting has time for
NOTE = "praise_note"


@dataclass(frozen=True)
class Kudo:
    """One praised moment on the wall."""

    call_id: str
    moment_id: str  # the alert's or the note's id
    source: Literal["alert", "note"]
    kind: str  # the alert's kind, or "praise_note"
    label: str
    agent: str
    agent_name: str
    title: str  # the call's
    quote: str
    note: str  # a praise note's text ("" for an alert)
    by: str  # who wrote the praise note ("" for an alert)
    start_s: float
    started_at: str  # the call's
    featured: bool = False


def kudos(
    calls: Iterable[CallEvents],
    names: Mapping[str, str],
    featured: tuple[str, str] | None,
    now: datetime,
    limit: int | None = MAX_KUDOS,
) -> list[Kudo]:
    """The wall of ``calls`` (a team's) as of ``now``: ``names`` gives agents' display names, ``featured``
    the (call id, moment id) a lead featured; at most ``limit`` (None: all of them)."""
    found = []
    for info, events in calls:
        started = _instant(info.started_at)
        if info.status in FINISHED and started is not None and now - WEEK <= started <= now:
            found += _praise(info, events, names.get(info.agent, info.agent), featured)
    return sorted(found, key=lambda k: _rank(k, _instant(k.started_at)))[:limit]


def _praise(
    info: CallInfo, events: Sequence[Event], agent_name: str, featured: tuple[str, str] | None
) -> list[Kudo]:
    said = [_alert(info, a, agent_name) for a in latest_alerts(events) if a.polarity == "praise"]
    said += [_note(info, n, agent_name) for n in _praise_notes(events)]
    return [k if (k.call_id, k.moment_id) != featured else _featured(k) for k in said]


def _rank(kudo: Kudo, started: datetime | None) -> tuple[bool, int, float]:
    order = [*VALUED, NOTE]
    value = order.index(kudo.kind) if kudo.kind in order else len(order)
    at = (started.timestamp() if started else 0.0) + kudo.start_s
    return (not kudo.featured, value, -at)


def _alert(info: CallInfo, alert: Alert, agent_name: str) -> Kudo:
    return Kudo(
        info.call_id,
        alert.id,
        "alert",
        alert.kind,
        kind_label(alert.kind),
        info.agent,
        agent_name,
        info.title,
        alert.quote,
        "",
        "",
        alert.start_s,
        info.started_at,
    )


def _note(info: CallInfo, note: Note, agent_name: str) -> Kudo:
    quote = note.quote.text if note.quote is not None else ""
    return Kudo(
        info.call_id,
        note.id,
        "note",
        NOTE,
        "Praise note",
        info.agent,
        agent_name,
        info.title,
        quote,
        note.text,
        note.author_name or note.author,
        note.at_s,
        info.started_at,
    )


def _featured(kudo: Kudo) -> Kudo:
    return replace(kudo, featured=True)


def _praise_notes(events: Sequence[Event]) -> list[Note]:
    """The call's praise notes, each once (a log read twice over may repeat one)."""
    seen: dict[str, Note] = {}
    for event in events:
        if isinstance(event, Note) and event.tag == "praise":
            seen.setdefault(event.id, event)
    return list(seen.values())


def _instant(iso: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
