"""Shared helpers for the audio tests: real audio files made in tmp_path, and synthetic speech.

Helpers are fixtures (not importable functions) so this conftest never clashes with another folder's.
Files come from numpy + soundfile, or from the sox and espeak-ng binaries where the point is to test
what real tools write (WAVE_FORMAT_EXTENSIBLE, G.711 WAV, Vorbis).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf
import soxr

from callcoach.audio.framing import Framer
from callcoach.audio.vad import VoiceActivity
from callcoach.live.events import Speech

RATE = 16000
Int16 = npt.NDArray[np.int16]


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed; the audio tests need it (apt-get install {name})")
    return path


@pytest.fixture
def sox() -> Callable[..., None]:
    """Run sox with the given arguments (paths may be Path objects)."""
    exe = _tool("sox")

    def run(*args: object) -> None:
        subprocess.run([exe, *map(str, args)], check=True, capture_output=True)

    return run


@pytest.fixture
def tone() -> Callable[..., Int16]:
    """``tone(freq_hz, seconds, rate=16000, amplitude=0.5)``: a mono int16 sine."""

    def make(freq_hz: float, seconds: float, rate: int = RATE, amplitude: float = 0.5) -> Int16:
        t = np.arange(round(seconds * rate)) / rate
        return (np.sin(2 * np.pi * freq_hz * t) * amplitude * 32767).astype(np.int16)

    return make


@pytest.fixture
def write_audio(tmp_path: Path) -> Callable[..., Path]:
    """``write_audio(name, samples, rate=16000, **soundfile_kwargs)``: the path of a new file in tmp_path."""

    def write(name: str, samples: npt.NDArray[np.generic], rate: int = RATE, **kwargs: object) -> Path:
        path = tmp_path / name
        sf.write(path, samples, rate, **kwargs)
        return path

    return write


@pytest.fixture
def cut() -> Callable[[Path, int | float, str], Path]:
    """``cut(path, keep, name)``: a copy holding the first ``keep`` bytes (int) or fraction (float)."""

    def make(path: Path, keep: int | float, name: str) -> Path:
        data = path.read_bytes()
        size = keep if isinstance(keep, int) else int(len(data) * keep)
        out = path.with_name(name)
        out.write_bytes(data[:size])
        return out

    return make


@dataclass(frozen=True)
class Utterance:
    """espeak-ng speech at 16 kHz mono, and where it truly starts and ends (samples above a threshold)."""

    pcm: Int16
    first: int
    end: int


_SENTENCES = {
    "greeting": "Thank you for calling, my name is Sam. How can I help you today?",
    "hold": "Sure, I can look into that for you. Please hold on a moment.",
    "short": "Okay.",
    "account": "Yes, that's right, the account number is four five six.",
}


@pytest.fixture(scope="session")
def utterances(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Utterance]:
    """Synthetic speech by name (made once per session: espeak-ng -v en-us+m3, resampled to 16 kHz)."""
    exe = _tool("espeak-ng")
    folder = tmp_path_factory.mktemp("espeak")
    out: dict[str, Utterance] = {}
    for name, text in _SENTENCES.items():
        wav = folder / f"{name}.wav"
        subprocess.run([exe, "-v", "en-us+m3", "-w", str(wav), text], check=True, capture_output=True)
        pcm, rate = sf.read(wav, dtype="int16")
        pcm = soxr.resample(pcm, rate, RATE)
        # The true edges, from the samples themselves: first and last sample above -50 dBFS.
        loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > 100)
        out[name] = Utterance(pcm=pcm, first=int(loud[0]), end=int(loud[-1]) + 1)
    return out


@pytest.fixture
def noise() -> Callable[[Int16, float], Int16]:
    """``noise(pcm, dbfs)``: pcm plus white noise at ``dbfs`` RMS (seeded: the tests are repeatable)."""
    rng = np.random.default_rng(1234)

    def add(pcm: Int16, dbfs: float) -> Int16:
        hiss = rng.normal(0.0, 32768 * 10 ** (dbfs / 20), len(pcm))
        return np.clip(pcm + hiss, -32768, 32767).astype(np.int16)

    return add


@pytest.fixture
def run_vad() -> Callable[..., list[Speech]]:
    """``run_vad(pcm, frame_samples=1600, **vad_kwargs)``: every Speech event for a mono 16 kHz stream."""

    def run(pcm: Int16, frame_samples: int = 1600, **kwargs: float) -> list[Speech]:
        framer = Framer(("agent",), RATE, frame_samples)
        vad = VoiceActivity("agent", RATE, **kwargs)
        events: list[Speech] = []
        for (frame,) in framer.push(pcm.reshape(-1, 1)) + framer.flush():
            events += vad.feed(frame)
        return events + vad.finish(len(pcm) / RATE)

    return run
