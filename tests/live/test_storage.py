"""Stored calls come back with exactly the events they had, in order; a save is all or nothing; a live call
is stored as it goes (its row at start, its events in batches) and the final save agrees with that. Each
test runs on SQLite and on PostgreSQL (the ``database`` fixture)."""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path

import pytest

from callcoach.live.db import open_database
from callcoach.live.events import (
    Alert,
    CallEnded,
    CallInfo,
    CallStarted,
    Event,
    Note,
    Pin,
    Quote,
    Transcript,
    Word,
)
from callcoach.live.storage import Storage
from tests.helpers.postgres import DatabaseAt

INFO = CallInfo("c1", "Line 4", "twilio", "2026-11-25T10:00:00+00:00", 30.0, False, "ready", 1, 0, "/r/c1")
EVENTS: list[Event] = [
    CallStarted("c1", "twilio", "2026-11-25T10:00:00+00:00", ("agent", "customer")),
    Transcript("customer", "my uncle passed away", 1.0, 2.5, True, (Word("my", 1.0, 1.2),)),
    Alert("silence-1", 1, "silence", "coach", None, 3.0, 9.0, 9.0, "6.0 s of silence", "", "why", "try"),
    CallEnded(30.0, "dropped"),
]


def test_round_trip_and_reopen(tmp_path: Path, database: DatabaseAt) -> None:
    db = database("data/calls.sqlite3")
    storage = Storage(db, tmp_path / "recordings")
    storage.save(INFO, EVENTS, storage.recording_path("c1"))
    storage.close()

    again = Storage(db, tmp_path / "recordings")
    [stored] = again.load_all()
    assert stored.info == INFO
    assert list(stored.events) == EVENTS
    assert stored.recording == tmp_path / "recordings" / "c1.wav"


def test_saving_again_replaces(tmp_path: Path, database: DatabaseAt) -> None:
    storage = Storage(database("calls.sqlite3"), tmp_path / "rec")
    storage.save(INFO, EVENTS, None)
    storage.save(INFO, EVENTS[:2], None)
    [stored] = storage.load_all()
    assert len(stored.events) == 2


def test_a_failed_save_leaves_the_earlier_one(tmp_path: Path, database: DatabaseAt) -> None:
    storage = Storage(database("calls.sqlite3"), tmp_path / "rec")
    storage.save(INFO, EVENTS, None)
    with pytest.raises(AttributeError):
        storage.save(INFO, [*EVENTS, object()], None)  # type: ignore[list-item]
    # Failing inside the transaction, after the earlier save was deleted, rolls the deletion back.
    unwritable = dataclasses.replace(INFO, title=object())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        storage.save(unwritable, EVENTS[:1], None)
    [stored] = storage.load_all()
    assert stored.info == INFO
    assert list(stored.events) == EVENTS


def test_notes_and_pins_are_kept_apart_and_come_back_after_the_events(
    tmp_path: Path, database: DatabaseAt
) -> None:
    storage = Storage(database("calls.sqlite3"), tmp_path / "rec")
    note = Note(
        "note-1-bo", 2.0, "coach", "we all winced", "bo", "Bo", Quote("customer", "my uncle", 1.0, 2.5)
    )
    pin = Pin("note-1-bo", True, 2.0, "ana")
    storage.annotate("c1", note)  # during the live call: kept at once
    storage.save(INFO, [*EVENTS[:2], note, *EVENTS[2:]], None)  # the log holds it too: not stored twice
    storage.annotate("c1", pin)  # after the call
    storage.annotate("recording-7", note)  # a recording has no row in calls
    [stored] = storage.load_all()
    assert list(stored.events) == [*EVENTS, note, pin]
    assert storage.annotations("recording-7") == [note]
    assert storage.annotations("nothing") == []


LIVE = dataclasses.replace(INFO, duration_s=None, live=True, status="live", coach_alerts=0, audio_url=None)


def test_a_live_call_is_stored_as_it_goes_and_marked_ended_at_the_end(
    tmp_path: Path, database: DatabaseAt
) -> None:
    db, recordings = database("calls.sqlite3"), tmp_path / "rec"
    storage = Storage(db, recordings)
    storage.begin(LIVE, storage.recording_path("c1"))
    [started] = Storage(db, recordings).load_all()  # another connection sees the row at once
    assert started.info == LIVE and started.events == () and started.recording == recordings / "c1.wav"

    note = Note("note-1-bo", 1.5, "coach", "listen", "bo", "Bo")
    storage.annotate("c1", note)
    assert storage.append("c1", EVENTS[:2], 0) == 2
    assert storage.append("c1", [note, EVENTS[2]], 2) == 3  # the log's note is stored apart, unnumbered
    assert storage.append("c1", [note, EVENTS[2]], 2) == 3  # a batch written twice is stored once
    [running] = Storage(db, recordings).load_all()
    assert running.info == LIVE  # still live: a server that dies now finds it so at its next start
    assert list(running.events) == [*EVENTS[:3], note]

    log = [*EVENTS[:2], note, *EVENTS[2:]]
    storage.append("c1", log[4:], 3)
    storage.save(INFO, log, storage.recording_path("c1"))
    storage.save(INFO, log, storage.recording_path("c1"))  # the final save is idempotent
    storage.close()
    [ended] = Storage(db, recordings).load_all()
    assert ended.info == INFO
    assert list(ended.events) == [*EVENTS, note]


def test_the_final_save_writes_what_the_batches_missed(tmp_path: Path, database: DatabaseAt) -> None:
    storage = Storage(database("calls.sqlite3"), tmp_path / "rec")
    storage.begin(LIVE, None)
    storage.append("c1", EVENTS[:1], 0)  # the later batches failed
    storage.save(INFO, EVENTS, None)
    [stored] = storage.load_all()
    assert stored.info == INFO and list(stored.events) == EVENTS


def test_beginning_a_call_replaces_an_old_one_of_that_id(tmp_path: Path, database: DatabaseAt) -> None:
    storage = Storage(database("calls.sqlite3"), tmp_path / "rec")
    storage.save(INFO, EVENTS, None)
    storage.begin(LIVE, None)
    [stored] = storage.load_all()
    assert stored.info == LIVE and stored.events == ()


def test_calls_stay_in_the_order_they_began(tmp_path: Path, database: DatabaseAt) -> None:
    storage = Storage(database("calls.sqlite3"), tmp_path / "rec")
    first, second = LIVE, dataclasses.replace(LIVE, call_id="c2")
    storage.begin(first, None)
    storage.begin(second, None)
    storage.save(dataclasses.replace(second, live=False, status="ready"), [], None)  # ends first
    storage.save(dataclasses.replace(first, live=False, status="ready"), [], None)
    assert [s.info.call_id for s in storage.load_all()] == ["c1", "c2"]


def test_a_row_that_no_longer_decodes_is_skipped_not_fatal(tmp_path: Path, database: DatabaseAt) -> None:
    """An older server kept a NaN this one refuses: the call still loads, without that row."""
    storage = Storage(database("calls.sqlite3"), tmp_path / "recordings")
    info = CallInfo("c1", "Call", "twilio", "2026-11-30T10:00:00+00:00", 3.0, live=False, status="ready")
    storage.save(info, [CallEnded(3.0, "completed")], None)
    storage.annotate("c1", Note("note-1-bo", 1.0, "coach", "ok", "bo", "Bo"))
    with contextlib.closing(open_database(database("calls.sqlite3"))) as db:
        db.execute(
            "INSERT INTO annotations (call_id, event_json) VALUES ('c1', ?)",
            (
                '{"type": "note", "id": "n2", "at_s": NaN, "tag": "coach", "text": "x", "author": "a", '
                '"author_name": "A"}',
            ),
        )
        db.execute("INSERT INTO calls (call_id, info_json) VALUES ('broken', ?)", ('{"call_id": 3}',))
    loaded = storage.load_all()
    assert [c.info.call_id for c in loaded] == ["c1"]
    assert [type(e).__name__ for e in loaded[0].events] == ["CallEnded", "Note"]
