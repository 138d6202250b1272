"""The catalog's teams and kept notes, without decoding anything: recordings are only registered here."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from callcoach.live.catalog import CallCatalog
from callcoach.live.events import Note, Pin
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
