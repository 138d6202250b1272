"""Calls kept in a data folder as a live call leaves them (a row, its events, a note, a WAV under
``recordings/``), saved as long ago as a test needs: the row's ``saved_at`` is moved back after the save,
which is what time does to a real one. The rows go to the folder's ``calls.sqlite3``, or to ``db`` (a
PostgreSQL URL, as ``--db``) when given."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from callcoach.live.audit import utc_iso
from callcoach.live.db import Target, open_database
from callcoach.live.events import CallEnded, CallInfo, CallStarted, Event, Note, Transcript
from callcoach.live.storage import Storage

DAY_S = 86400.0


def store_call(
    data: Path,
    call_id: str,
    *,
    age_days: float,
    team: str = "default",
    seconds: float = 2.0,
    db: Target | None = None,
) -> Path:
    """Store call ``call_id`` in ``data``, saved ``age_days`` ago, with a note; its WAV's path."""
    storage = Storage(db or data / "calls.sqlite3", data / "recordings")
    try:
        recording = storage.recording_path(call_id)
        write_wav(recording, seconds)
        started = utc_iso(time.time() - age_days * DAY_S)
        info = CallInfo(
            call_id,
            f"Line {call_id}",
            "twilio",
            started,
            seconds,
            False,
            "ready",
            audio_url=f"/recordings/{call_id}",
            team=team,
        )
        storage.save(info, call_events(call_id, started, seconds), recording)
        storage.annotate(call_id, Note(f"note-{call_id}", 1.0, "coach", "ask first", "ana", "Ana"))
    finally:
        storage.close()
    age(data, call_id, age_days, db=db)
    return recording


def call_events(call_id: str, started_at: str, seconds: float) -> list[Event]:
    return [
        CallStarted(call_id, "twilio", started_at, ("agent", "customer")),
        Transcript("customer", "my uncle passed away", 0.5, 1.5, True),
        CallEnded(seconds, "completed"),
    ]


def write_wav(path: Path, seconds: float) -> None:
    """A quiet stereo 16 kHz tone (the recordings' format); made here, never committed."""
    t = np.arange(int(16000 * seconds)) / 16000
    tone = (0.1 * np.sin(2 * np.pi * 440 * t) * 32767).astype(np.int16)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.stack([tone, tone], axis=1), 16000, subtype="PCM_16")


def age(data: Path, call_id: str, days: float, *, db: Target | None = None) -> None:
    """Move the call's save ``days`` back."""
    with contextlib.closing(open_database(db or data / "calls.sqlite3")) as database:
        database.execute(
            "UPDATE calls SET saved_at = ? WHERE call_id = ?", (utc_iso(time.time() - days * DAY_S), call_id)
        )


def rows(data: Path, table: str, call_id: str, *, db: Target | None = None) -> int:
    """How many rows of ``table`` belong to the call (read as any other reader would)."""
    with contextlib.closing(open_database(db or data / "calls.sqlite3", read_only=True)) as database:
        row = database.fetchone(f"SELECT COUNT(*) FROM {table} WHERE call_id = ?", (call_id,))
        return int(row[0]) if row else 0
