"""``callcoach analyze DIR --jobs 2`` end to end, as a user runs it: real Vosk in worker processes on the
three samples, three evaluation calls (one of them mono) and two files that are not calls. Each call's
events are the events of a single-file run of it (each in a fresh process, as the batch's workers are);
the bad files are said and skipped; the summary CSV; the progress on a terminal (a pty) and as lines."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from callcoach.live.batch import SUMMARY_COLUMNS
from tests.eval.generate import generate
from tests.eval.script import load_calls

pytestmark = pytest.mark.vosk
CALLCOACH = Path(sys.executable).parent / "callcoach"
EVAL_CALLS = ("util_engineer_heldout_polite", "tel_landline_stroke_cold", "trv_hotel_change_mono")
SAMPLES = ("bereavement_cold", "bereavement_warm", "plain")


@dataclass
class Batch:
    folder: Path
    proc: subprocess.CompletedProcess[str]
    summary: list[dict[str, str]]
    single: dict[str, list[dict[str, Any]]]  # each call's events from `analyze FILE --json` alone


def environment() -> dict[str, str]:
    """No developer's settings: the defaults, two decoding threads per call included."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CALLCOACH_")}


def run(*args: str, model_dir: Path) -> subprocess.CompletedProcess[str]:
    argv = [str(CALLCOACH), "analyze", *args, "--model", str(model_dir)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=600, env=environment())


@pytest.fixture(scope="module")
def batch(samples: Path, model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Batch:
    folder = tmp_path_factory.mktemp("calls")
    for name in SAMPLES:
        shutil.copy(samples / f"{name}.wav", folder / f"{name}.wav")
    evals = folder / "eval"  # a sub-folder: found recursively
    calls = load_calls()
    generate([calls[name] for name in EVAL_CALLS], evals)
    for stray in evals.glob("*.json"):
        stray.unlink()
    (folder / "notes.wav").write_text("this is not a recording")
    (folder / "empty.flac").write_bytes(b"")
    (folder / "readme.txt").write_text("not looked at: not a recording's suffix")
    summary = folder.parent / "summary.csv"
    proc = run(str(folder), "--jobs", "2", "--json", "--summary", str(summary), model_dir=model_dir)
    wavs = sorted(folder.rglob("*.wav"))
    with ThreadPoolExecutor(2) as pool:  # fresh processes, two at a time, as the batch's two workers
        outputs = pool.map(lambda w: run(str(w), "--json", model_dir=model_dir), wavs)
        singles = dict(zip(wavs, outputs, strict=True))
    single = {str(w): [json.loads(x) for x in p.stdout.splitlines()] for w, p in singles.items() if p.stdout}
    rows = list(csv.DictReader(io.StringIO(summary.read_text())))
    return Batch(folder, proc, rows, single)


def test_each_call_gives_the_events_of_a_single_file_run(batch: Batch) -> None:
    assert batch.proc.returncode == 1, batch.proc.stderr  # some files failed, the rest were analysed
    per_file: dict[str, list[dict[str, Any]]] = {}
    for line in batch.proc.stdout.splitlines():
        event = json.loads(line)
        assert next(iter(event)) == "file"  # the file's name first on every line
        per_file.setdefault(event.pop("file"), []).append(event)
    expected = sorted(str(p) for p in batch.folder.rglob("*.wav") if p.name != "notes.wav")
    assert list(per_file) == expected  # every call, in input order (a folder's files sorted)
    assert len(expected) == 6
    for file, events in per_file.items():
        assert events == batch.single[file], file
        assert events[-1]["type"] == "call_ended"


def test_files_that_are_not_calls_are_said_and_skipped(batch: Batch) -> None:
    stderr = batch.proc.stderr
    assert f"{batch.folder / 'notes.wav'} is not audio" in stderr
    assert f"{batch.folder / 'empty.flac'} is empty (0 bytes)" in stderr
    assert "readme.txt" not in stderr + batch.proc.stdout
    # not a terminal: a plain line per finished call, with the figures so far
    done = [line for line in stderr.splitlines() if " calls · " in line]
    assert len(done) == 6 and "\r" not in stderr
    figures = re.compile(
        r"\S+: \d\d:\d\d\.\d, \d+ moments · (\d)/8 calls · [\d.]+ of 0\.06 audio h · [\d.]+×RT"
        r"( · \d:\d\d:\d\d left)?( · [12] failed)?"
    )
    counts = [int(m.group(1)) for line in done if (m := figures.fullmatch(line))]
    assert len(counts) == 6 and counts == sorted(counts), done


def test_the_summary_has_a_row_per_call_with_moments_per_kind(batch: Batch) -> None:
    rows = {Path(r["file"]).name: r for r in batch.summary}
    assert tuple(batch.summary[0]) == SUMMARY_COLUMNS
    assert len(rows) == 8
    cold = rows["bereavement_cold.wav"]
    assert float(cold["duration_s"]) == pytest.approx(34.5, abs=0.1)
    assert (cold["coach_cold_reply_to_bad_news"], cold["coach_silence"], cold["error"]) == ("1", "1", "")
    assert rows["bereavement_warm.wav"]["praise_empathy_shown"] == "1"
    assert rows["notes.wav"]["error"].endswith("convert it with `sox in.ext out.wav`")
    assert rows["empty.flac"]["duration_s"] == ""
    for row in rows.values():  # the totals are the kinds' columns added up
        coach = sum(int(v) for k, v in row.items() if k.startswith("coach_") and k != "coach_moments")
        assert int(row["coach_moments"]) == coach


def test_without_json_each_report_then_the_table(batch: Batch, model_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "broken.ogg").write_text("no")
    clip = short_clip(batch.folder / "plain.wav", tmp_path / "a" / "clip.wav")
    proc = run(str(clip), str(tmp_path / "broken.ogg"), model_dir=model_dir)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("clip.wav · 00:04.0")
    assert lines[-3].split()[:4] == [str(clip), "00:04.0", "0", "0"]
    assert lines[-2].startswith(f"{tmp_path / 'broken.ogg'}") and "FAILED" in lines[-2]
    assert lines[-1] == "1 calls analysed (0.00 audio h), 1 failed"


def short_clip(source: Path, out: Path, seconds: float = 4.0) -> Path:
    audio, rate = sf.read(str(source), dtype="int16", frames=int(seconds * 16000))
    out.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(out), np.asarray(audio), rate, subtype="PCM_16")
    return out


def in_pty(*args: str, model_dir: Path) -> tuple[int, str]:
    """Run ``callcoach analyze`` with its stderr on a terminal (a pty); its exit status and what the
    terminal got."""
    controller, terminal = pty.openpty()
    argv = [str(CALLCOACH), "analyze", *args, "--model", str(model_dir)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=terminal, env=environment())
    os.close(terminal)
    seen = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal's other end closed: the process is done with it
            break
        if not chunk:
            break
        seen += chunk
    os.close(controller)
    return proc.wait(timeout=120), seen.decode()


def test_on_a_terminal_one_file_shows_a_bar_in_place(batch: Batch, model_dir: Path, tmp_path: Path) -> None:
    clip = short_clip(batch.folder / "plain.wav", tmp_path / "clip.wav")
    status, seen = in_pty(str(clip), model_dir=model_dir)
    assert status == 0, seen
    assert "\r\x1b[2K[####################] 100% · " in seen and "×RT · 0:00:00 left" in seen
    assert seen.endswith("\r\n")  # the bar's line ended: the prompt starts clean


def test_on_a_terminal_many_files_show_calls_hours_and_rate(
    batch: Batch, model_dir: Path, tmp_path: Path
) -> None:
    clip = short_clip(batch.folder / "plain.wav", tmp_path / "clip.wav")
    (tmp_path / "bad.wav").write_text("no")
    status, seen = in_pty(str(clip), str(tmp_path / "bad.wav"), "--jobs", "1", model_dir=model_dir)
    assert status == 1, seen
    assert "\r\x1b[2K[####################] 2/2 calls · 0.00 of 0.00 audio h · " in seen
    assert "· 1 failed" in seen and f"callcoach: error: {tmp_path / 'bad.wav'} is not audio" in seen
