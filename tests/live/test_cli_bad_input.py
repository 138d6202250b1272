"""`callcoach analyze` on bad input: one ``callcoach: error: ...`` line on stderr (cause and fix), status 2.

Run as a user runs it (the installed command in a subprocess), so whatever lands on stderr counts: a
traceback, or a log line of Vosk's own, would make two lines. A recording cut short is still analysed up to
the cut, and both the report and the error line say where it stopped.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from callcoach.live.codec import from_json
from callcoach.live.events import Error, Transcript
from tests.helpers.server import clean_env

EXIT_USAGE = 2
COLD = "bereavement_cold.wav"


def run(
    callcoach: Path, *args: str, env: dict[str, str] | None = None, json_out: bool = False
) -> subprocess.CompletedProcess[str]:
    """``callcoach analyze ARGS`` with no CALLCOACH_* variables from the caller's environment but ``env``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CALLCOACH_")}
    argv = [str(callcoach), "analyze", *args, *(["--json"] if json_out else [])]
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, env={**clean, **(env or {})})


def error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The one stderr line of a failed run, without its prefix; fails unless there is exactly one."""
    lines = proc.stderr.splitlines()
    assert proc.returncode == EXIT_USAGE, proc.stderr
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{proc.stderr}"
    assert lines[0].startswith("callcoach: error: "), lines[0]
    return lines[0].removeprefix("callcoach: error: ")


def rejected(proc: subprocess.CompletedProcess[str]) -> str:
    """The error line of a run that failed before it analysed anything (so printed nothing to stdout)."""
    message = error_line(proc)
    assert proc.stdout == ""
    return message


# --- files that are not a recording --------------------------------------------------------------------


def test_missing_file(callcoach: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope.wav"
    message = rejected(run(callcoach, str(missing)))
    assert f"no audio file at {missing}" in message and "check the path" in message


def test_text_file_is_not_audio(callcoach: Path, tmp_path: Path) -> None:
    text = tmp_path / "notes.wav"
    text.write_text("Call notes: customer rang about the documents.\n" * 20)
    message = rejected(run(callcoach, str(text)))
    assert "is not audio" in message and "sox" in message


def test_zero_byte_file_is_empty(callcoach: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.touch()
    message = rejected(run(callcoach, str(empty)))
    assert "is empty (0 bytes)" in message and "record the call again" in message


def test_wav_header_without_frames_is_empty(callcoach: Path, tmp_path: Path) -> None:
    header_only = tmp_path / "header.wav"
    with wave.open(str(header_only), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"")
    message = rejected(run(callcoach, str(header_only)))
    assert "no audio (0 samples)" in message and "record the call again" in message


# --- channels ------------------------------------------------------------------------------------------


@pytest.fixture
def three_channels(samples: Path, tmp_path: Path) -> Path:
    """The cold call with a third, silent channel: agent on 1, customer on 2."""
    stereo, rate = sf.read(samples / COLD, dtype="int16", always_2d=True)
    path = tmp_path / "three.wav"
    sf.write(path, np.column_stack([stereo, np.zeros(len(stereo), dtype=np.int16)]), rate)
    assert sf.info(path).channels == 3
    return path


def test_three_channels_need_the_channel_settings(callcoach: Path, three_channels: Path) -> None:
    message = rejected(run(callcoach, str(three_channels)))
    assert "3 channels" in message and "--agent-channel" in message and "--customer-channel" in message


@pytest.mark.vosk
def test_three_channels_with_the_channel_settings(
    callcoach: Path, three_channels: Path, model_dir: Path
) -> None:
    proc = run(
        callcoach,
        str(three_channels),
        *("--agent-channel", "1", "--customer-channel", "2", "--model", str(model_dir)),
        json_out=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    events = [from_json(json.loads(line)) for line in proc.stdout.splitlines()]
    finals = {e.speaker: e.text for e in events if isinstance(e, Transcript) and e.final}
    assert set(finals) == {"agent", "customer"}
    assert "uncle" in " ".join(
        e.text for e in events if isinstance(e, Transcript) and e.final and e.speaker == "customer"
    )
    kinds = {line["kind"] for line in map(json.loads, proc.stdout.splitlines()) if line["type"] == "alert"}
    assert kinds == {"silence", "cold_reply_to_bad_news"}


# --- the model -----------------------------------------------------------------------------------------


def test_missing_model_flag(callcoach: Path, samples: Path) -> None:
    message = rejected(run(callcoach, str(samples / COLD), "--model", "/nonexistent"))
    assert "No Vosk model at /nonexistent" in message and "callcoach model fetch" in message


def test_missing_model_environment(callcoach: Path, samples: Path) -> None:
    message = rejected(run(callcoach, str(samples / COLD), env={"CALLCOACH_MODEL": "/nonexistent"}))
    assert "No Vosk model at /nonexistent" in message and "callcoach model fetch" in message


def _incomplete(root: Path) -> Path:
    (root / "am").mkdir(parents=True)
    (root / "am" / "final.mdl").write_bytes(b"\0" * 64)
    return root


def _damaged(root: Path) -> Path:
    """Every file the directory check looks for is there, but none is a model: only Vosk can tell."""
    for rel in ("am/final.mdl", "conf/model.conf", "graph/HCLG.fst"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("not a model\n")
    return root


@pytest.mark.parametrize("make", [_incomplete, _damaged], ids=["incomplete", "damaged"])
def test_broken_model_dir(callcoach: Path, samples: Path, tmp_path: Path, make: Any) -> None:
    model = make(tmp_path / "model")
    message = rejected(run(callcoach, str(samples / COLD), "--model", str(model)))
    assert f"model at {model}" in message and "callcoach model fetch" in message


# --- settings ------------------------------------------------------------------------------------------


def test_negative_silence_flag(callcoach: Path, samples: Path) -> None:
    message = rejected(run(callcoach, str(samples / COLD), "--silence-s", "-1"))
    assert "silence threshold" in message and "--silence-s" in message


def test_frame_length_environment_not_a_number(callcoach: Path, samples: Path) -> None:
    message = rejected(run(callcoach, str(samples / COLD), env={"CALLCOACH_FRAME_S": "abc"}))
    assert "CALLCOACH_FRAME_S='abc'" in message and "a number" in message


# --- a recording cut short -----------------------------------------------------------------------------


def _cut(data: bytes) -> bytes:
    return data[: len(data) // 2]


@pytest.fixture
def cut_wav(samples: Path, tmp_path: Path) -> tuple[Path, float]:
    """The cold call's WAV cut mid-way by bytes, and the time the cut falls at (whole stereo samples)."""
    data = (samples / COLD).read_bytes()
    start = data.index(b"data") + 8
    path = tmp_path / "cut.wav"
    path.write_bytes(_cut(data))
    return path, (len(_cut(data)) - start) // 4 / 16000


@pytest.fixture
def cut_flac(samples: Path, tmp_path: Path) -> tuple[Path, float]:
    """The cold call as FLAC, cut mid-way by bytes; the cut's time is only known to be inside the call."""
    whole = tmp_path / "whole.flac"
    sf.write(whole, sf.read(samples / COLD, dtype="int16")[0], 16000, format="FLAC")
    path = tmp_path / "cut.flac"
    path.write_bytes(_cut(whole.read_bytes()))
    return path, sf.info(samples / COLD).duration


def _stopped_at(message: str) -> float:
    """The time the error line says decoding stopped at."""
    assert "cut short" in message and "export the complete file again" in message
    found = re.search(r"only its first (\d+\.\d\d) s could be decoded", message)
    assert found, message
    return float(found.group(1))


def _check_cut_run(proc: subprocess.CompletedProcess[str]) -> tuple[list[Any], float]:
    """The events of a ``--json`` run of a cut file, checked to end at the cut with the audio before it."""
    stopped = _stopped_at(error_line(proc))
    events = [from_json(json.loads(line)) for line in proc.stdout.splitlines()]
    errors = [e for e in events if isinstance(e, Error)]
    assert [(e.code, e.fatal) for e in errors] == [("truncated_audio", True)]
    assert errors[0].at_s is not None and f"{errors[0].at_s:.2f}" == f"{stopped:.2f}"
    ended = json.loads(proc.stdout.splitlines()[-1])
    assert ended["type"] == "call_ended" and ended["reason"] == "error"
    assert ended["end_s"] == pytest.approx(stopped, abs=0.01)
    finals = [e for e in events if isinstance(e, Transcript) and e.final]
    said = {s: " ".join(t.text for t in finals if t.speaker == s) for s in ("agent", "customer")}
    assert "thank you for calling" in said["agent"] and "uncle" in said["customer"]
    assert all(t.end_s <= stopped + 0.01 for t in finals)
    return events, stopped


@pytest.mark.vosk
def test_cut_wav_is_analysed_up_to_the_cut(
    callcoach: Path, cut_wav: tuple[Path, float], model_dir: Path
) -> None:
    path, cut_s = cut_wav
    proc = run(callcoach, str(path), "--model", str(model_dir), json_out=True)
    _events, stopped = _check_cut_run(proc)
    assert stopped == pytest.approx(cut_s, abs=0.01)


@pytest.mark.vosk
def test_cut_flac_is_analysed_up_to_the_cut(
    callcoach: Path, cut_flac: tuple[Path, float], model_dir: Path
) -> None:
    path, duration_s = cut_flac
    proc = run(callcoach, str(path), "--model", str(model_dir), json_out=True)
    _events, stopped = _check_cut_run(proc)
    assert 0 < stopped < duration_s


@pytest.mark.vosk
def test_cut_wav_timeline_shows_the_transcript_and_the_cut(
    callcoach: Path, cut_wav: tuple[Path, float], model_dir: Path
) -> None:
    path, _cut_s = cut_wav
    proc = run(callcoach, str(path), "--model", str(model_dir))
    stopped = _stopped_at(error_line(proc))
    head, *rest = proc.stdout.splitlines()
    assert "ended: error" in head
    assert any(line.strip().startswith("!") and f"{stopped:.2f} s" in line for line in rest)
    assert "uncle" in proc.stdout and "Transcript" in proc.stdout


def test_a_reader_that_stops_early_is_no_traceback(callcoach: Path, samples: Path) -> None:
    """``callcoach analyze --json | head -1``: the pipe closes under it, which is the reader's choice."""
    done = subprocess.run(
        f"'{callcoach}' analyze '{samples / 'plain.wav'}' --json | head -1",
        shell=True, capture_output=True, text=True, check=False, env=clean_env(),
    )  # fmt: skip
    assert done.stdout.startswith('{"v": 1') and done.stdout.count("\n") == 1
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr
