"""How long calls are kept: the durations a user types (``90d``, ``12h``, ``30m``), the times an audit
query starts from (``7d`` ago, or an ISO date), and one purge of the calls older than a cutoff, recorded
in the audit trail. ``callcoach purge`` and the server's daily retention run the same :func:`purge_calls`.

Pure but for :func:`purge_calls`, which does blocking SQLite and file work (the server runs it in an
executor). The current time is always passed in.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from callcoach.live.audit import AuditLog, utc_iso
from callcoach.live.errors import UserError
from callcoach.live.storage import PurgedCall, Storage

_UNITS_S = {"d": 86400.0, "h": 3600.0, "m": 60.0}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([dhm])")
_MAX_S = 1000 * 365 * 86400.0
DURATION_HELP = "a number and a unit: d (days), h (hours) or m (minutes), e.g. 90d, 12h or 30m"


def parse_duration_s(text: str) -> float:
    """``90d``, ``12h``, ``30m`` (``1.5d`` too) in seconds; anything else is a :class:`UserError`."""
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None or float(match[1]) <= 0:
        raise UserError(f"{text!r} is not a duration: give {DURATION_HELP}")
    seconds = float(match[1]) * _UNITS_S[match[2]]
    if seconds > _MAX_S:  # further back than any clock date; nothing is that old
        raise UserError(f"{text!r} is more than 1000 years: give {DURATION_HELP}")
    return seconds


def parse_since(text: str, now_s: float) -> str:
    """The start of an audit query as the trail writes times: a duration ago (``7d``), or an ISO date or
    time (``2026-11-01``, ``2026-11-01T09:00``, with an offset or ``Z``; without one it is UTC)."""
    if _DURATION.fullmatch(text.strip().lower()):
        return utc_iso(now_s - parse_duration_s(text))
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserError(
            f"since {text!r} is neither a duration nor a date: give {DURATION_HELP}, "
            "or a date or time such as 2026-11-01 or 2026-11-01T09:00Z"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return utc_iso(when.timestamp())


def purge_calls(
    storage: Storage,
    audit: AuditLog,
    *,
    older_than_s: float,
    now_s: float,
    actor: str,
    why: str,
) -> list[PurgedCall]:
    """Delete the calls saved more than ``older_than_s`` before ``now_s`` (see :meth:`Storage.purge`);
    each deleted call gets a ``purge`` entry by ``actor`` in the trail, ``why`` as its detail."""
    purged = storage.purge(utc_iso(now_s - older_than_s))
    for call in purged:
        audit.record(actor, "purge", call.call_id, why)
    return purged


def describe(call: PurgedCall) -> str:
    """One line about a purged call, for a person."""
    title = f" ({call.title})" if call.title and call.title != call.call_id else ""
    notes = f", notes and pins: {call.annotations}" if call.annotations else ""
    wav = f", {call.recording}" if call.recording else ""
    return f"{call.call_id}{title}, saved {call.saved_at}: {call.events} events{notes}{wav}"
