"""Same recording, same result (issue 16): real Vosk on real recordings and a sample, decoded again and again.

Kaldi dithers every feature window with noise from the process-wide ``rand()`` (``live/decoder_search.py``
says where): a model carried that state from one recognizer to the next, so a recording's transcript
depended on what the process had decoded before it and on how two speakers' threads interleaved. Every model
is now loaded with ``--dither=0`` (the transcriber adds a fixed dither of its own), and the resampler no
longer lets soxr dither its 16-bit output from a process-wide generator either. These tests decode the same
audio after other audio, in parallel threads, three times over in one process with the runs interleaved, and
in a fresh ``callcoach analyze`` process, and want the same events every time: the same words, times and
confidences, the same alerts.

The files are the short ones (about 2.5 minutes of audio; each is decoded four times): every real
recording of up to 30 s (the issue's own call among them, its first 30 s) and one sample; the 3-minute
recording of the issue's call would take longer than all of them. ``make eval`` runs every evaluation call
and every real recording, that one included, three times across processes and reports the flip rate.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from callcoach.live.cli import analyze
from callcoach.live.eventlog import EventLog
from callcoach.live.model import load_model
from callcoach.live.report import json_line
from callcoach.live.settings import Settings, from_sources
from callcoach.live.sources import FileSource
from tests.conftest import CALLCOACH, ROOT

pytestmark = pytest.mark.vosk

# ../shared/real beside the checkout (a worktree sits one folder deeper, under wt/).
REAL_DIRS = (ROOT.parent / "shared" / "real", ROOT.parents[1] / "shared" / "real")
REAL = (
    "jfk.wav",
    "vosk_digits.wav",
    "phone2spk_pyannote.wav",
    "aws_autorepairs40_30-59s.wav",
    "spokenwoz_MUL1011_0-29s.wav",
)
SAMPLE = "bereavement_cold.wav"
RUNS = 3
RATE = 16000
STEP = RATE // 10  # 0.1 s, the pipeline's step


def real_dir() -> Path:
    found = next((d for d in REAL_DIRS if all((d / name).is_file() for name in REAL)), None)
    if found is None:
        pytest.skip(f"the real recordings {', '.join(REAL)} are in none of {', '.join(map(str, REAL_DIRS))}")
    return found


@pytest.fixture(scope="module")
def files(samples: Path) -> list[Path]:
    return [*(real_dir() / name for name in REAL), samples / SAMPLE]


@pytest.fixture(scope="module")
def settings(model_dir: Path) -> Settings:
    return from_sources(None, env={"CALLCOACH_MODEL": str(model_dir)})


def lines(log: EventLog) -> list[str]:
    """The call's events as ``analyze --json`` prints them."""
    return [json_line(event, seq=seq, call_id=log.call_id) for seq, event in enumerate(log.events, 1)]


@pytest.fixture(scope="module")
def in_process(files: list[Path], settings: Settings, model_dir: Path) -> dict[Path, list[list[str]]]:
    """Every file analysed three times by one process and one model, all the runs at once: each run's
    recognizers decode while the other runs' do, in the executors' threads."""
    model = load_model(model_dir)

    async def everything() -> list[EventLog]:
        runs = [analyze(FileSource(path, settings), settings, model) for _ in range(RUNS) for path in files]
        return await asyncio.gather(*runs)

    logs = asyncio.run(everything())
    out: dict[Path, list[list[str]]] = {path: [] for path in files}
    for i, log in enumerate(logs):
        out[files[i % len(files)]].append(lines(log))
    return out


def test_three_runs_in_one_process_give_identical_events(in_process: dict[Path, list[list[str]]]) -> None:
    for path, runs in in_process.items():
        assert any('"final": true' in line for line in runs[0]), f"{path.name}: nothing was heard"
        for run in runs[1:]:
            assert run == runs[0], f"{path.name}: a run in the same process differs"


def test_a_fresh_process_gives_the_same_events(
    in_process: dict[Path, list[list[str]]], model_dir: Path
) -> None:
    for path, runs in in_process.items():
        done = subprocess.run(
            [str(CALLCOACH), "analyze", str(path), "--json", "--model", str(model_dir)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines() == runs[0], f"{path.name}: another process heard it differently"


def test_an_8khz_recording_is_read_as_the_same_frames_every_time(settings: Settings) -> None:
    # Resampling 8 kHz to 16 kHz once drew soxr's dither from a generator that lives on in the process: the
    # second reading of the same file gave other samples (and Vosk other words), even one run after another.
    path = real_dir() / "spokenwoz_MUL1011_0-29s.wav"

    async def frames() -> list[bytes]:
        steps = [step async for step in FileSource(path, settings).frames()]
        return [frame.pcm.tobytes() for step in steps for frame in step]

    first = asyncio.run(frames())
    assert first and asyncio.run(frames()) == first


def decode(model: Any, pcm: np.ndarray) -> list[dict[str, Any]]:
    """One channel through a fresh recognizer of ``model``, 0.1 s at a time: every result, words and all."""
    import vosk

    recognizer = vosk.KaldiRecognizer(model, RATE)
    recognizer.SetWords(True)
    results = []
    for at in range(0, len(pcm), STEP):
        if recognizer.AcceptWaveform(pcm[at : at + STEP].tobytes()):
            results.append(json.loads(recognizer.Result()))
    results.append(json.loads(recognizer.FinalResult()))
    return results


def in_threads(model: Any, channels: Sequence[np.ndarray]) -> list[list[dict[str, Any]]]:
    heard: list[list[dict[str, Any]]] = [[] for _ in channels]

    def one(i: int) -> None:
        heard[i] = decode(model, channels[i])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(channels))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return heard


def test_one_model_hears_a_channel_the_same_after_other_audio_and_beside_another_thread(
    samples: Path, model_dir: Path
) -> None:
    # The measurement, with the model callcoach loads: bare recognizers, one after another, then
    # the two speakers in parallel threads. (With the model as shipped, every repetition differed.)
    data, rate = sf.read(str(samples / SAMPLE), dtype="int16", always_2d=True)
    assert rate == RATE
    channels = [np.ascontiguousarray(data[: 12 * RATE, i]) for i in range(data.shape[1])]
    model = load_model(model_dir)
    first = [decode(model, pcm) for pcm in channels]
    assert any(r.get("text") for r in first[1]), "the customer's channel was heard as nothing"
    assert [decode(model, pcm) for pcm in channels] == first
    assert in_threads(model, channels) == first
