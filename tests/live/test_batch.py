"""The parts of ``callcoach analyze DIR`` that need no model (live/batch.py): which files a folder gives,
in which order, and the summary's CSV and table."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from callcoach.live.batch import (
    SUMMARY_COLUMNS,
    CallResult,
    audio_files,
    run_batch,
    summary_csv,
    summary_table,
)
from callcoach.live.errors import UserError


def test_folders_give_their_recordings_recursively_sorted_files_as_given(tmp_path: Path) -> None:
    for name in ("b.wav", "a.FLAC", "sub/c.ogg", "sub/notes.txt", "z/deeper/d.wav"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    named = tmp_path / "notes.mp3"  # named on purpose: tried, and said if it is no audio
    named.write_bytes(b"")
    found = audio_files([named, tmp_path])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "notes.mp3", "a.FLAC", "b.wav", "sub/c.ogg", "z/deeper/d.wav",
    ]  # fmt: skip


def test_a_missing_path_or_a_folder_without_recordings_is_said(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="there is no file or folder"):
        audio_files([tmp_path / "nope"])
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(UserError, match="no WAV, FLAC or OGG recordings in"):
        audio_files([tmp_path])


def test_no_jobs_or_a_summary_nowhere_is_said_before_anything_runs(tmp_path: Path) -> None:
    from callcoach.live import settings as settings_mod

    settings = settings_mod.from_sources(None, env={})
    files = [tmp_path / "a.wav"]
    with pytest.raises(UserError, match="--jobs 0 runs nothing"):
        run_batch(files, settings, jobs=0, as_json=False, summary=None, out=io.StringIO(), err=io.StringIO(),
                  tty=False)  # fmt: skip
    with pytest.raises(UserError, match=r"there is no folder .*nowhere for the summary s\.csv"):
        run_batch(files, settings, jobs=1, as_json=False, summary=tmp_path / "nowhere" / "s.csv",
                  out=io.StringIO(), err=io.StringIO(), tty=False)  # fmt: skip


RESULTS = [
    CallResult("a.wav", 61.5, (), (("coach", "silence"), ("coach", "silence"), ("praise", "empathy_shown"))),
    CallResult("broken.wav", None, (), (), "broken.wav is not audio"),
]


def test_the_summary_csv_counts_moments_per_kind() -> None:
    rows = list(csv.DictReader(io.StringIO(summary_csv(RESULTS))))
    assert tuple(rows[0]) == SUMMARY_COLUMNS
    a, broken = rows
    assert (a["duration_s"], a["coach_moments"], a["praise_moments"]) == ("61.500", "2", "1")
    assert (a["coach_silence"], a["praise_empathy_shown"], a["coach_monologue"], a["error"]) == (
        "2",
        "1",
        "0",
        "",
    )
    assert (broken["duration_s"], broken["error"]) == ("", "broken.wav is not audio")


def test_the_summary_table_for_a_person() -> None:
    assert summary_table(RESULTS) == [
        "file          length  coach  praise  moments",
        "a.wav        01:01.5      2       1  empathy_shown 1, silence 2",
        "broken.wav         ?      0       0  FAILED: broken.wav is not audio",
        "1 calls analysed (0.02 audio h), 1 failed",
    ]
