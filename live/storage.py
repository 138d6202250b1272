"""Where calls are kept: one SQLite file for calls and their events, a folder for recordings.

A live call is kept as it happens, so that a server killed mid-call loses nothing a coach has seen: its
row when it starts (:meth:`Storage.begin`, its info still saying ``live``), its events in small batches
while it runs (:meth:`Storage.append`), and a final :meth:`Storage.save` when it ends that marks it ended
and writes whatever the batches had not, idempotently. A row still ``live`` at start-up is a call the
server died in the middle of (the catalog ends it as dropped). Every stored call comes back as a replay
with exactly the events it had live: the event log is stored as the wire JSON, one row per event, so a
replay needs no second analysis. The caller runs these blocking methods in an executor; a lock keeps
them one at a time, and each write is one transaction, so a crash never leaves half a batch.

Coaches' notes and pins are kept apart, one row each as it is made, keyed by call id: they may be added
to a recording (which has no row in ``calls``) or to a call long after it was saved, and they come back
after the call's own events.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from callcoach.live.codec import from_fields, from_json, to_json
from callcoach.live.events import CallInfo, Event, Note, Pin

log = logging.getLogger(__name__)
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
        # A live call commits every half second: in WAL mode NORMAL makes each commit survive the
        # process being killed (the OS has the write) without an fsync each; a power cut may lose the
        # last commits, never corrupt the file.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def recording_path(self, call_id: str) -> Path:
        return self.recordings_dir / f"{call_id}.wav"

    def begin(self, info: CallInfo, recording: Path | None) -> None:
        """A live call starts: its row now, before any event (``info`` says it is live until :meth:`save`
        says how it ended), replacing anything stored under its id."""
        with self._lock, _transaction(self._db):
            self._db.execute("DELETE FROM calls WHERE call_id = ?", (info.call_id,))
            self._put_info(info, recording)

    def append(self, call_id: str, events: Sequence[Event], after_seq: int) -> int:
        """Add the next events of a call begun with :meth:`begin`, in one transaction: those after the
        ``after_seq`` already stored, notes and pins left out (:meth:`annotate` keeps those). Returns the
        last ``seq`` stored; storing the same batch again changes nothing."""
        rows = _rows(call_id, events, after_seq)
        with self._lock, _transaction(self._db):
            self._db.executemany(_PUT_EVENT, rows)
        return after_seq + len(rows)

    def save(self, info: CallInfo, events: Sequence[Event], recording: Path | None) -> None:
        """Store one call and all its events: a call that ended (or a whole recording), over what
        :meth:`begin` and :meth:`append` stored of it or an earlier save, which it makes exactly this.
        Its notes and pins are stored by :meth:`annotate` as they are made, so they are left out here."""
        rows = _rows(info.call_id, events, 0)
        with self._lock, _transaction(self._db):
            self._put_info(info, recording)
            self._db.execute("DELETE FROM events WHERE call_id = ? AND seq > ?", (info.call_id, len(rows)))
            self._db.executemany(_PUT_EVENT, rows)

    def _put_info(self, info: CallInfo, recording: Path | None) -> None:
        # An upsert, not a delete and insert: the events stay, and so does the row's place in the list.
        self._db.execute(
            "INSERT INTO calls (call_id, info_json, recording) VALUES (?, ?, ?) ON CONFLICT (call_id) "
            "DO UPDATE SET info_json = excluded.info_json, recording = excluded.recording",
            (info.call_id, json.dumps(dataclasses.asdict(info)), str(recording) if recording else None),
        )

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
        return _decoded(rows, f"a note or pin of call {call_id}")

    def load_all(self) -> list[StoredCall]:
        """Every stored call, oldest first, each with its notes and pins after its events."""
        with self._lock:
            calls = self._db.execute(
                "SELECT call_id, info_json, recording FROM calls ORDER BY saved_at, rowid"
            ).fetchall()
            loaded = [self._load(call_id, info_json, recording) for call_id, info_json, recording in calls]
            return [call for call in loaded if call is not None]

    def _load(self, call_id: str, info_json: str, recording: str | None) -> StoredCall | None:
        try:
            info = from_fields(CallInfo, json.loads(info_json), "stored call")
        except ValueError as exc:  # EventDecodeError and JSONDecodeError are both ValueErrors
            log.warning("stored call %s is not listed: its row does not decode (%s)", call_id, exc)
            return None
        rows = self._db.execute("SELECT event_json FROM events WHERE call_id = ? ORDER BY seq", (call_id,))
        events = (*_decoded(rows.fetchall(), f"an event of call {call_id}"), *self._annotations(call_id))
        return StoredCall(info, events, Path(recording) if recording else None)

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


_PUT_EVENT = "INSERT OR REPLACE INTO events (call_id, seq, event_json) VALUES (?, ?, ?)"


def _rows(call_id: str, events: Sequence[Event], after_seq: int) -> list[tuple[str, int, str]]:
    """The events' rows, numbered on from ``after_seq``, notes and pins left out."""
    kept = [e for e in events if not isinstance(e, Note | Pin)]
    return [(call_id, seq, json.dumps(to_json(e))) for seq, e in enumerate(kept, start=after_seq + 1)]


def _decoded(rows: Sequence[tuple[str]], where: str) -> list[Event]:
    """The rows' events; one that no longer decodes (an older server stored a value this one refuses,
    such as a NaN) is left in the database and skipped with a warning, so that it never stops a start."""
    events: list[Event] = []
    for (text,) in rows:
        try:
            event = from_json(json.loads(text))
            if not isinstance(event, Event):  # only a call's events are stored: a page's message is not one
                raise ValueError(f"a {event.TYPE!r} message is not an event of a call")
            events.append(event)
        except ValueError as exc:
            log.warning("%s is skipped: it does not decode (%s)", where, exc)
    return events


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
