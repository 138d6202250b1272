"""Where finished calls are kept: one SQLite file for calls and their events, a folder for recordings.

A live call is written here when it ends (however it ends), and every stored call comes back as a replay
with exactly the events it had live: the event log is stored as the wire JSON, one row per event, so a
replay needs no second analysis. The caller runs these blocking methods in an executor; a lock keeps
them one at a time, and each save is one transaction, so a crash never leaves half a call.

Coaches' notes and pins are kept apart, one row each as it is made, keyed by call id: they may be added
to a recording (which has no row in ``calls``) or to a call long after it was saved, and they come back
after the call's own events.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from callcoach.live.events import CallInfo, Event, Note, Pin, from_fields, from_json, to_json

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    call_id     TEXT PRIMARY KEY,
    info_json   TEXT NOT NULL,
    recording   TEXT,
    saved_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE TABLE IF NOT EXISTS events (
    call_id     TEXT NOT NULL REFERENCES calls(call_id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    event_json  TEXT NOT NULL,
    PRIMARY KEY (call_id, seq)
);
CREATE TABLE IF NOT EXISTS annotations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id     TEXT NOT NULL,
    event_json  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS annotations_by_call ON annotations (call_id, id);
"""


@dataclass(frozen=True)
class StoredCall:
    info: CallInfo
    events: tuple[Event, ...]
    recording: Path | None


class Storage:
    """Open (creating if needed) the database at ``path``; recordings live in ``recordings_dir``."""

    def __init__(self, path: Path, recordings_dir: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        recordings_dir.mkdir(parents=True, exist_ok=True)
        self.recordings_dir = recordings_dir
        # check_same_thread off: the executor may hand successive calls to different threads; the
        # callers never use the connection from two threads at once.
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def recording_path(self, call_id: str) -> Path:
        return self.recordings_dir / f"{call_id}.wav"

    def save(self, info: CallInfo, events: Sequence[Event], recording: Path | None) -> None:
        """Store one call and all its events, replacing an earlier save of the same call (its notes and
        pins are stored by :meth:`annotate` as they are made, so they are left out here)."""
        kept = [e for e in events if not isinstance(e, Note | Pin)]
        rows = [(info.call_id, seq, json.dumps(to_json(e))) for seq, e in enumerate(kept, start=1)]
        with self._lock, _transaction(self._db):
            self._db.execute("DELETE FROM calls WHERE call_id = ?", (info.call_id,))
            self._db.execute(
                "INSERT INTO calls (call_id, info_json, recording) VALUES (?, ?, ?)",
                (info.call_id, json.dumps(dataclasses.asdict(info)), str(recording) if recording else None),
            )
            self._db.executemany("INSERT INTO events (call_id, seq, event_json) VALUES (?, ?, ?)", rows)

    def annotate(self, call_id: str, event: Note | Pin) -> None:
        """Keep a note or pin of the call (a stored call's or a recording's)."""
        with self._lock:
            self._db.execute(
                "INSERT INTO annotations (call_id, event_json) VALUES (?, ?)",
                (call_id, json.dumps(to_json(event))),
            )

    def annotations(self, call_id: str) -> list[Event]:
        """The call's notes and pins, in the order they were made."""
        with self._lock:
            return self._annotations(call_id)

    def _annotations(self, call_id: str) -> list[Event]:
        rows = self._db.execute(
            "SELECT event_json FROM annotations WHERE call_id = ? ORDER BY id", (call_id,)
        ).fetchall()
        return [from_json(json.loads(text)) for (text,) in rows]

    def load_all(self) -> list[StoredCall]:
        """Every stored call, oldest first, each with its notes and pins after its events."""
        with self._lock:
            calls = self._db.execute(
                "SELECT call_id, info_json, recording FROM calls ORDER BY saved_at, rowid"
            ).fetchall()
            return [self._load(call_id, info_json, recording) for call_id, info_json, recording in calls]

    def _load(self, call_id: str, info_json: str, recording: str | None) -> StoredCall:
        rows = self._db.execute("SELECT event_json FROM events WHERE call_id = ? ORDER BY seq", (call_id,))
        events = (*(from_json(json.loads(text)) for (text,) in rows.fetchall()), *self._annotations(call_id))
        return StoredCall(
            from_fields(CallInfo, json.loads(info_json), "stored call"),
            events,
            Path(recording) if recording else None,
        )

    def purge(self, saved_before: str, *, dry_run: bool = False) -> list[PurgedCall]:
        """Delete every call saved before ``saved_before`` (UTC, ``YYYY-MM-DDTHH:MM:SSZ``, as ``saved_at``
        is written), oldest first, with its events, notes and pins, and its recording when that is in the
        recordings folder (a recording anywhere else is the operator's own file: left alone). With
        ``dry_run``, only say which. The rows go in one transaction, then the files: a crash in between
        leaves a file without a row, never a row whose recording is gone."""
        with self._lock, _transaction(self._db):
            rows = self._db.execute(
                "SELECT call_id, info_json, recording, saved_at FROM calls WHERE saved_at < ?"
                " ORDER BY saved_at, rowid",
                (saved_before,),
            ).fetchall()
            purged = [self._purged(*row) for row in rows]
            for call in [] if dry_run else purged:
                self._db.execute("DELETE FROM annotations WHERE call_id = ?", (call.call_id,))
                self._db.execute("DELETE FROM calls WHERE call_id = ?", (call.call_id,))  # events cascade
        for call in [] if dry_run else purged:
            if call.recording is not None:
                call.recording.unlink(missing_ok=True)
        return purged

    def _purged(self, call_id: str, info_json: str, recording: str | None, saved_at: str) -> PurgedCall:
        count = "SELECT COUNT(*) FROM {} WHERE call_id = ?"
        events = self._db.execute(count.format("events"), (call_id,)).fetchone()[0]
        notes = self._db.execute(count.format("annotations"), (call_id,)).fetchone()[0]
        path = Path(recording) if recording else None
        ours = path is not None and path.resolve().is_relative_to(self.recordings_dir.resolve())
        title = str(json.loads(info_json).get("title", ""))
        return PurgedCall(call_id, title, saved_at, int(events), int(notes), path if ours else None)


class _transaction:
    """BEGIN ... COMMIT, or ROLLBACK on error (the connection is in autocommit mode otherwise)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")


@dataclass(frozen=True)
class PurgedCall:
    """A call :meth:`Storage.purge` deleted (or, in a dry run, would delete)."""

    call_id: str
    title: str
    saved_at: str
    events: int
    annotations: int  # its notes and pins
    recording: Path | None  # its recording in the recordings folder, deleted with it
