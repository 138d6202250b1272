"""The catalog's teams, kept notes and calls its server died in the middle of, without decoding anything:
recordings are only registered here, stored calls only loaded."""

from __future__ import annotations

import struct
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from callcoach.live.catalog import CallCatalog
from callcoach.live.events import Alert, CallEnded, CallInfo, CallStarted, Error, Event, Note, Pin, Transcript
from callcoach.live.settings import Settings
from callcoach.live.storage import Storage


def _wav(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.zeros(1600, dtype=np.int16), 16000, subtype="PCM_16")


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    return Storage(tmp_path / "data" / "calls.sqlite3", tmp_path / "data" / "recordings")


def test_recordings_belong_to_their_folders_team(tmp_path: Path, storage: Storage) -> None:
    _wav(tmp_path / "rec" / "top.wav")
    _wav(tmp_path / "rec" / "billing" / "owed.wav")
    _wav(tmp_path / "rec" / ".hidden" / "skip.wav")
    settings = Settings(recordings_dir=tmp_path / "rec", default_team="north")
    with ThreadPoolExecutor(1) as pool:
        catalog = CallCatalog(settings, None, pool, storage)
        catalog.scan()
    assert {c.call_id: c.team for c in catalog.calls()} == {"top": "north", "owed": "billing"}


async def test_notes_kept_with_a_recording_come_back_in_its_log(tmp_path: Path, storage: Storage) -> None:
    _wav(tmp_path / "rec" / "top.wav")
    settings = Settings(recordings_dir=tmp_path / "rec")
    note = Note("note-1-bo", 0.05, "praise", "warm greeting", "bo", "Bo")
    with ThreadPoolExecutor(1) as pool:
        first = CallCatalog(settings, None, pool, storage)
        first.scan()
        await first.annotate("top", note)
        assert first.moment_of("top", "note-1-bo") == 0.05
        await first.annotate("top", Pin("note-1-bo", True, 0.05, "ana"))
        again = CallCatalog(settings, None, pool, storage)  # a restarted server on the same data
        again.scan()
        record = again.get("top")
        assert record is not None
        assert list(record.log.events) == [note, Pin("note-1-bo", True, 0.05, "ana")]
        assert not record.log.closed  # the recording is still to be analysed after them


# --- a live call its server died in the middle of --------------------------------------------------------

LIVE = CallInfo(
    "twilio-CA1", "Sam Patel", "twilio", "2026-11-25T10:00:00+00:00", None, True, "live", team="default"
)
STARTED = CallStarted("twilio-CA1", "twilio", "2026-11-25T10:00:00+00:00", ("agent", "customer"))
SAID = Transcript("customer", "my uncle passed away", 1.0, 2.5, True)
SILENCE = Alert("silence-1", 0, "silence", "coach", None, 3.0, None, 8.0, "Silence", "", "why", "try")


def _crashed(storage: Storage, seconds: float, events: list[Event]) -> Path:
    """What kill -9 leaves of a live call: its row still live, the events stored so far, a recording of
    ``seconds`` whose header (written when the file was opened) says it is empty."""
    wav = storage.recording_path(LIVE.call_id)
    storage.begin(LIVE, wav)
    storage.append(LIVE.call_id, events, 0)
    sf.write(wav, np.zeros((round(seconds * 16000), 2), dtype=np.int16), 16000, subtype="PCM_16")
    with wav.open("r+b") as file:
        file.seek(4)
        file.write(struct.pack("<I", 36))  # as libsndfile writes it at open
        file.seek(40)
        file.write(struct.pack("<I", 0))
    return wav


def test_a_call_the_server_died_in_is_listed_as_dropped_where_it_stopped(
    tmp_path: Path, storage: Storage
) -> None:
    wav = _crashed(storage, 24.5, [STARTED, SAID, SILENCE])
    note = Note("note-1-bo", 2.0, "coach", "we all winced", "bo", "Bo")
    storage.annotate(LIVE.call_id, note)
    with ThreadPoolExecutor(1) as pool:
        catalog = CallCatalog(Settings(recordings_dir=tmp_path / "none"), None, pool, storage)
        catalog.load_stored()
    [info] = catalog.calls()
    message = "the server stopped unexpectedly at 00:24"
    assert info.error is not None and info.error.startswith(message), info.error
    assert info == replace(
        LIVE,
        live=False,
        status="dropped",
        duration_s=24.5,
        coach_alerts=1,
        audio_url="/recordings/twilio-CA1",
        error=info.error,
    )
    record = catalog.get(LIVE.call_id)
    assert record is not None and record.path == wav and record.log.closed
    error = Error("server_stopped", info.error, fatal=True, at_s=24.5)
    assert list(record.log.events) == [STARTED, SAID, SILENCE, error, CallEnded(24.5, "dropped"), note]
    assert sf.info(str(wav)).frames == 24.5 * 16000  # its header mended: it plays
    assert wav.read_bytes()[40:44] == struct.pack("<I", 24 * 16000 * 4 + 8000 * 4)

    # Stored so: the next start lists it the same, without ending it twice.
    [stored] = storage.load_all()
    assert stored.info == info and list(stored.events) == list(record.log.events)


def test_a_call_with_no_recording_stops_at_its_last_event(tmp_path: Path, storage: Storage) -> None:
    """Killed before the recording was opened (or it is unreadable): the call is listed without audio."""
    storage.recording_path(LIVE.call_id).write_bytes(b"RIFF")
    storage.begin(LIVE, storage.recording_path(LIVE.call_id))
    storage.append(LIVE.call_id, [STARTED, SAID], 0)
    with ThreadPoolExecutor(1) as pool:
        catalog = CallCatalog(Settings(recordings_dir=tmp_path / "none"), None, pool, storage)
        catalog.load_stored()
    [info] = catalog.calls()
    assert info.status == "dropped" and info.duration_s == 2.5 and info.audio_url is None
    assert info.error is not None and info.error.startswith("the server stopped unexpectedly at 00:02")
    record = catalog.get(LIVE.call_id)
    assert record is not None and record.path is None


def test_a_call_whose_log_ended_before_the_crash_is_listed_as_it_ended(
    tmp_path: Path, storage: Storage
) -> None:
    """Killed between the call's last event and its final save: nothing was cut short."""
    _crashed(storage, 3.0, [STARTED, SAID, CallEnded(3.0, "completed")])
    with ThreadPoolExecutor(1) as pool:
        catalog = CallCatalog(Settings(recordings_dir=tmp_path / "none"), None, pool, storage)
        catalog.load_stored()
    [info] = catalog.calls()
    assert (info.status, info.live, info.duration_s, info.error) == ("ready", False, 3.0, None)
    record = catalog.get(LIVE.call_id)
    assert record is not None and record.log.events[-1] == CallEnded(3.0, "completed")


def test_a_call_stopped_by_a_clean_shutdown_is_not_touched(tmp_path: Path, storage: Storage) -> None:
    """Ctrl-C ends live calls itself ("the server stopped"): they are stored ended, listed as before."""
    ended = replace(LIVE, live=False, status="ready", duration_s=3.0, error="the call's connection dropped")
    events: list[Event] = [STARTED, Error("call_dropped", "the call's connection dropped", True, 3.0)]
    storage.save(ended, [*events, CallEnded(3.0, "dropped")], None)
    with ThreadPoolExecutor(1) as pool:
        catalog = CallCatalog(Settings(recordings_dir=tmp_path / "none"), None, pool, storage)
        catalog.load_stored()
    assert catalog.calls() == [ended]
