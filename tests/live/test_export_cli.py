"""``callcoach export`` as a user runs it: a stored call's transcript and moments (what was stored, so a
redacted call's ``[card]``), its coaching sheet as a PDF (to ``--out`` or a file named after the call,
never to the terminal), a team's moments over a period, a recording analysed first (real Vosk), and the
one-line errors."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import subprocess
import sys
from pathlib import Path

import pypdf
import pytest
import srt
import webvtt

from callcoach.live.coaching import SelfAssessment
from callcoach.live.coaching_store import CoachingStore
from callcoach.live.events import CallEnded, CallInfo, CallStarted, Redaction, Transcript, Word
from callcoach.live.exports import TEAM_COLUMNS
from callcoach.live.storage import Storage
from tests.helpers.stored_calls import store_call

CALLCOACH = Path(sys.executable).parent / "callcoach"


def export(*args: str, data: Path | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCOACH_")}
    argv = [str(CALLCOACH), "export", *args, *(("--data", str(data)) if data else ())]
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env, cwd=cwd)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("data")
    store_call(folder, "recent", age_days=1)  # "my uncle passed away" at 0.5 s, a note "ask first" at 1.0 s
    store_call(folder, "older", age_days=10)
    store_call(folder, "billing1", age_days=1, team="billing")
    store_redacted(folder)
    store = CoachingStore(folder / "calls.sqlite3")
    try:  # the agent's own view of "recent", which its sheet shows beside the coach's note
        store.write_self_assessment(
            SelfAssessment("recent", "bo", "I let them talk", "ask before I explain", "2026-11-30T10:00:00Z")
        )
    finally:
        store.close()
    return folder


def store_redacted(folder: Path) -> None:
    """A call kept with redaction on: its line says [card], as the server stored it."""
    storage = Storage(folder / "calls.sqlite3", folder / "recordings")
    said = (Word("my", 0.5, 0.7), Word("card", 0.7, 1.0), Word("is", 1.0, 1.1), Word("[card]", 1.2, 4.0))
    try:
        info = CallInfo("masked", "Masked", "twilio", "2026-11-30T09:00:00Z", 5.0, False, "ready", team="x")
        storage.save(
            info,
            [
                CallStarted("masked", "twilio", info.started_at, ("agent", "customer")),
                Transcript("customer", "my card is [card]", 0.5, 4.0, True, said),
                Redaction("customer", "card", 1.2, 4.0),
                CallEnded(5.0),
            ],
            None,
        )
    finally:
        storage.close()


def test_a_stored_call_as_webvtt_and_srt(data: Path) -> None:
    proc = export("recent", "--format", "vtt", data=data)
    assert proc.returncode == 0, proc.stderr
    (caption,) = webvtt.from_string(proc.stdout, strict=True).captions
    assert (caption.voice, caption.text, caption.start, caption.end) == (
        "Customer", "my uncle passed away", "00:00:00.500", "00:00:01.500",
    )  # fmt: skip
    proc = export("recent", "--format", "srt", data=data)
    (sub,) = srt.parse(proc.stdout)
    assert sub.content == "Customer: my uncle passed away"


def test_a_redacted_call_exports_what_was_stored(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "masked.txt"
    proc = export("masked", "--format", "txt", "--out", str(out), data=data)
    assert proc.returncode == 0 and proc.stdout == "", proc.stderr
    assert out.read_text() == "[00:00:00] Customer: my card is [card]\n"


def test_a_stored_call_s_moments_keep_the_coaches_note(data: Path) -> None:
    rows = list(csv.reader(io.StringIO(export("recent", "--format", "csv", data=data).stdout)))
    assert rows[1] == ["note", "coach", "1.000", "", "", "", "", "", "Ana: ask first"]


def test_a_stored_call_s_sheet_as_a_pdf(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "sheet.pdf"
    proc = export("recent", "--format", "pdf", "--out", str(out), data=data)
    assert proc.returncode == 0 and proc.stdout == "", proc.stderr
    assert out.read_bytes().startswith(b"%PDF-")
    reader = pypdf.PdfReader(out)
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert "Coaching sheet: Line recent" in text
    assert "00:01 Ana (coach) ask first" in text  # the coach's note, at its time
    assert "Went well: I let them talk" in text and "Would do differently: ask before I explain" in text
    assert "Page 1 of 1" in text


def test_without_out_the_pdf_is_named_after_the_call_not_sent_to_the_terminal(
    data: Path, tmp_path: Path
) -> None:
    proc = export("older", "--format", "pdf", data=data, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "older.sheet.pdf\n"
    assert len(pypdf.PdfReader(tmp_path / "older.sheet.pdf").pages) == 1


def test_a_team_s_moments_over_a_period(data: Path) -> None:
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(days=3)).date().isoformat()
    proc = export("--team", "default", "--from", since, "--format", "csv", data=data)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.reader(io.StringIO(proc.stdout)))
    assert tuple(rows[0]) == TEAM_COLUMNS
    assert [(r[0], r[4], r[-1]) for r in rows[1:]] == [("recent", "note", "Ana: ask first")]
    every = export("--team", "default", "--format", "csv", data=data).stdout
    assert [r[0] for r in csv.reader(io.StringIO(every))][1:] == ["older", "recent"]


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("nobody", "--format", "vtt"), "there is no call 'nobody' stored in"),
        (("gone.wav", "--format", "vtt"), "there is no file gone.wav"),
        (("--team", "default", "--format", "vtt"), "use --format csv, not vtt"),
        (("--team", "default", "--format", "pdf"), "use --format csv, not pdf"),
        (("--team", "default", "--from", "30/11/2026", "--format", "csv"), "write it as YYYY-MM-DD"),
        (("--team", "t", "--from", "2026-11-30", "--to", "2026-11-01", "--format", "csv"), "is after --to"),
        (("recent", "--from", "2026-11-30", "--format", "csv"), "give them with --team"),
        (("--format", "csv"), "say what to export"),
    ],
)
def test_mistakes_are_one_line_naming_the_fix(data: Path, args: tuple[str, ...], said: str) -> None:
    proc = export(*args, data=data)
    assert proc.returncode == 2 and proc.stdout == ""
    (line,) = proc.stderr.splitlines()
    assert line.startswith("callcoach: error: ") and said in line


def test_a_folder_with_no_calls_is_said_and_not_made(tmp_path: Path) -> None:
    proc = export("recent", "--format", "vtt", data=tmp_path / "nothing")
    assert proc.returncode == 2 and "there is no calls.sqlite3" in proc.stderr
    assert not (tmp_path / "nothing").exists()


@pytest.mark.vosk
def test_a_recording_is_analysed_first(samples: Path, model_dir: Path) -> None:
    proc = export(str(samples / "bereavement_cold.wav"), "--format", "vtt", "--model", str(model_dir))
    assert proc.returncode == 0, proc.stderr
    captions = webvtt.from_string(proc.stdout, strict=True).captions
    assert {c.voice for c in captions} == {"Agent", "Customer"}
    assert "passed away" in " ".join(c.text for c in captions)


@pytest.mark.vosk
def test_a_recording_s_sheet_as_a_pdf(samples: Path, model_dir: Path, tmp_path: Path) -> None:
    recording = str(samples / "bereavement_cold.wav")
    proc = export(recording, "--format", "pdf", "--model", str(model_dir), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "bereavement_cold.sheet.pdf\n"
    reader = pypdf.PdfReader(tmp_path / "bereavement_cold.sheet.pdf")
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert "1. 00:21 Cold reply to a death in the family" in text
    assert "passed away" in text and "Try: Acknowledge the news first" in text
