"""The audit trail: who opened, listened to or exported which call, and when; and who purged which calls.

One append-only SQLite file in the data folder, ``audit.sqlite3``, apart from the calls: purging a call
deletes the call, never the record of who saw it or who deleted it. Triggers refuse every UPDATE and
DELETE, so not even a bug here can rewrite history. Times are wall time, UTC, to the second
(``2026-11-30T20:14:05Z``): "when did Bo listen to this call" is a calendar question, not a moment in
the call's audio. The methods block (SQLite); the server runs them in an executor.

:class:`ListenWindow` is the sans-I/O rule that turns a player's stream of Range requests into one
``listen`` per user and call every few minutes; it is fed the clock value.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, cast, get_args

# open: a coach subscribed to the call on the websocket; listen: its audio was played (the recording's
# Range requests, or a live call's audio on the socket); export: the whole recording was downloaded;
# purge: the call was deleted (by `callcoach purge` or the retention setting).
Action = Literal["open", "listen", "export", "purge"]
ACTIONS: tuple[Action, ...] = get_args(Action)
LISTEN_WINDOW_S = 600.0  # one `listen` per user and call in this long: a player makes many requests
FILE_NAME = "audit.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       TEXT NOT NULL,
    user     TEXT NOT NULL,
    action   TEXT NOT NULL,
    call_id  TEXT NOT NULL,
    detail   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_call ON audit (call_id, id);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
"""


def utc_iso(t_s: float) -> str:
    """Wall time ``t_s`` (seconds since the epoch) as the trail writes it; such strings sort by time."""
    return datetime.fromtimestamp(t_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class AuditEntry:
    at: str  # UTC, ISO 8601 to the second
    user: str  # a username; `cli:NAME` for a command run by the system account NAME; `retention`
    action: Action
    call_id: str  # "" for an action on no one call
    detail: str  # where from (the remote address), or what was done

    def to_json(self) -> dict[str, str]:
        return dataclasses.asdict(self)


class AuditLog:
    """Open (creating if needed) the trail at ``path``; ``clock`` gives wall time in seconds."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # check_same_thread off: the executor may run successive writes on different threads; the lock
        # keeps them one at a time. The CLI and the server may write at once: SQLite's own lock (WAL,
        # with a wait) orders the two processes.
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._now = clock

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def record(self, user: str, action: Action, call_id: str = "", detail: str = "") -> AuditEntry:
        if action not in ACTIONS:
            raise ValueError(f"audit action {action!r} is not one of {', '.join(ACTIONS)}")
        entry = AuditEntry(utc_iso(self._now()), user, action, call_id, detail)
        with self._lock:
            self._db.execute(
                "INSERT INTO audit (at, user, action, call_id, detail) VALUES (?, ?, ?, ?, ?)",
                (entry.at, entry.user, entry.action, entry.call_id, entry.detail),
            )
        return entry

    def entries(
        self, *, call_id: str | None = None, user: str | None = None, since: str | None = None
    ) -> list[AuditEntry]:
        """The entries, oldest first, of one call and/or one user and/or at or after ``since`` (a time
        as :func:`utc_iso` writes it)."""
        where, args = [], []
        for column, op, value in (("call_id", "=", call_id), ("user", "=", user), ("at", ">=", since)):
            if value is not None:
                where.append(f"{column} {op} ?")
                args.append(value)
        sql = "SELECT at, user, action, call_id, detail FROM audit"
        sql += f" WHERE {' AND '.join(where)}" if where else ""
        with self._lock:
            rows = self._db.execute(f"{sql} ORDER BY id", args).fetchall()
        return [
            AuditEntry(at, who, cast(Action, action), call, detail) for at, who, action, call, detail in rows
        ]


class ListenWindow:
    """Whether a fetch of a call's audio is a new ``listen``: the first by a user for a call, or the first
    ``window_s`` after the last one recorded. ``now_s`` is any monotonic clock, in seconds."""

    def __init__(self, window_s: float = LISTEN_WINDOW_S) -> None:
        self._window_s = window_s
        self._last: dict[tuple[str, str], float] = {}

    def due(self, user: str, call_id: str, now_s: float) -> bool:
        if len(self._last) > 10_000:  # many users and calls: forget those whose window has passed
            self._last = {k: t for k, t in self._last.items() if now_s - t < self._window_s}
        last = self._last.get((user, call_id))
        if last is not None and now_s - last < self._window_s:
            return False
        self._last[(user, call_id)] = now_s
        return True
