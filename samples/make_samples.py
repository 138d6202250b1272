"""Synthesise the sample calls scripted in ``samples/calls.toml`` into stereo WAVs plus their truth.

This script owns the sample audio: the WAVs are generated, never committed. Each call becomes
``<name>.wav`` (16 kHz, 16-bit, agent on the LEFT channel, customer on the RIGHT) and ``<name>.truth.json``
(each turn's speaker, text and true start/end in seconds, from the sample counts). espeak-ng speaks each
turn and sox resamples it without dither, so a run gives the same bytes every time. A call is skipped
when its files are newer than the script and ``calls.toml`` (``--force`` regenerates).

    .venv/bin/python samples/make_samples.py [--out samples] [--force] [NAME ...]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
import wave
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "calls.toml"
SAMPLE_RATE = 16_000
CHANNELS = ("agent", "customer")  # channel order in the WAV: agent left, customer right
# espeak pads each utterance with near-silence; cut it so a turn's truth is where its speech is and the
# scripted pauses are the real gaps (-66 dBFS is far below any speech sample).
TRIM_LEVEL = 16

Pcm = npt.NDArray[np.int16]


@dataclass(frozen=True)
class Voice:
    voice: str
    speed: int  # words per minute, espeak-ng's -s


@dataclass(frozen=True)
class Turn:
    speaker: str
    text: str
    pause_s: float  # silence before this turn's speech


@dataclass(frozen=True)
class Script:
    lead_s: float
    tail_s: float
    voices: dict[str, Voice]
    calls: dict[str, tuple[Turn, ...]]


def load_script(path: Path) -> Script:
    """Parse calls.toml; a speaker without a voice or an unknown key fails here, not mid-synthesis."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    voices = {name: Voice(str(v["voice"]), int(v["speed"])) for name, v in data["voices"].items()}
    calls: dict[str, tuple[Turn, ...]] = {}
    for name, turns in data["calls"].items():
        calls[name] = tuple(Turn(str(t["speaker"]), str(t["text"]), float(t["pause_s"])) for t in turns)
        for turn in calls[name]:
            if turn.speaker not in CHANNELS or turn.speaker not in voices:
                raise ValueError(
                    f"{path}: call {name!r} has a turn by {turn.speaker!r}; use one of {CHANNELS}"
                )
    return Script(float(data["lead_s"]), float(data["tail_s"]), voices, calls)


def synthesise(text: str, voice: Voice) -> Pcm:
    """One utterance as 16 kHz mono int16, trimmed to its speech."""
    spoken = subprocess.run(
        ["espeak-ng", "-v", voice.voice, "-s", str(voice.speed), "--stdout", text],
        check=True,
        capture_output=True,
    ).stdout
    # -D: no dither, which would add random noise and make every run's bytes differ. -V1: espeak's
    # streamed WAV header has no real length, which sox would otherwise warn about.
    out_format = ["-t", "raw", "-e", "signed-integer", "-b", "16", "-c", "1", "-r", str(SAMPLE_RATE)]
    raw = subprocess.run(
        ["sox", "-D", "-V1", "-t", "wav", "-", *out_format, "-"],
        input=spoken,
        check=True,
        capture_output=True,
    ).stdout
    return trim(np.frombuffer(raw, dtype="<i2").astype(np.int16))


def trim(pcm: Pcm) -> Pcm:
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > TRIM_LEVEL)
    return pcm[loud[0] : loud[-1] + 1] if loud.size else pcm[:0]


def seconds(samples: int) -> float:
    return round(samples / SAMPLE_RATE, 4)


def render(name: str, script: Script, clips: Sequence[Pcm]) -> tuple[npt.NDArray[np.int16], dict[str, Any]]:
    """Lay the clips out on their speakers' channels; return the stereo samples and the truth."""
    turns = script.calls[name]
    cursor = round(script.lead_s * SAMPLE_RATE)
    placed: list[tuple[int, int]] = []
    for turn, clip in zip(turns, clips, strict=True):
        cursor += round(turn.pause_s * SAMPLE_RATE)
        placed.append((cursor, cursor + len(clip)))
        cursor += len(clip)
    total = cursor + round(script.tail_s * SAMPLE_RATE)
    stereo = np.zeros((total, len(CHANNELS)), dtype=np.int16)
    for turn, clip, (start, end) in zip(turns, clips, placed, strict=True):
        stereo[start:end, CHANNELS.index(turn.speaker)] = clip
    truth = {
        "call": name,
        "sample_rate": SAMPLE_RATE,
        "channels": list(CHANNELS),
        "duration_s": seconds(total),
        "voices": {s: {"voice": v.voice, "speed": v.speed} for s, v in script.voices.items()},
        "turns": [
            {"speaker": t.speaker, "text": t.text, "start_s": seconds(start), "end_s": seconds(end)}
            for t, (start, end) in zip(turns, placed, strict=True)
        ],
    }
    return stereo, truth


def write_atomically(path: Path, data: bytes) -> None:
    # A half-written file would look fresh to the next run and be skipped; rename only when complete.
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as tmp:
        tmp.write(data)
    os.chmod(tmp.name, 0o644)  # NamedTemporaryFile makes it private; these are ordinary files
    os.replace(tmp.name, path)


def wav_bytes(stereo: npt.NDArray[np.int16]) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(stereo.shape[1])
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(stereo.astype("<i2").tobytes())
    return buf.getvalue()


def is_fresh(outputs: Sequence[Path], inputs: Sequence[Path]) -> bool:
    if not all(p.exists() for p in outputs):
        return False
    return min(p.stat().st_mtime for p in outputs) > max(p.stat().st_mtime for p in inputs)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("names", nargs="*", help="calls to make (default: all in calls.toml)")
    parser.add_argument("--out", type=Path, default=HERE, help="output directory (default: %(default)s)")
    parser.add_argument("--force", action="store_true", help="regenerate even when the files are up to date")
    args = parser.parse_args(argv)

    missing = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
    if missing:
        print(
            f"error: {' and '.join(missing)} not found: run `apt-get install espeak-ng sox`", file=sys.stderr
        )
        return 2
    script = load_script(SCRIPT)
    unknown = sorted(set(args.names) - set(script.calls))
    if unknown:
        print(
            f"error: no call {', '.join(unknown)} in {SCRIPT}; have {', '.join(script.calls)}",
            file=sys.stderr,
        )
        return 2
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    todo = []
    for name in args.names or list(script.calls):
        files = (out / f"{name}.wav", out / f"{name}.truth.json")
        if not args.force and is_fresh(files, (SCRIPT, Path(__file__).resolve())):
            print(f"{files[0]}: up to date")
        else:
            todo.append(name)

    # espeak-ng and sox are single-threaded and each turn is independent: run the turns side by side.
    with ThreadPoolExecutor() as pool:
        pending = {
            name: [pool.submit(synthesise, t.text, script.voices[t.speaker]) for t in script.calls[name]]
            for name in todo
        }
        clips = {name: [f.result() for f in futures] for name, futures in pending.items()}
    for name in todo:
        stereo, truth = render(name, script, clips[name])
        write_atomically(out / f"{name}.truth.json", (json.dumps(truth, indent=2) + "\n").encode())
        write_atomically(out / f"{name}.wav", wav_bytes(stereo))
        print(f"{out / name}.wav: {truth['duration_s']:.2f} s, {len(truth['turns'])} turns")
    return 0


if __name__ == "__main__":
    sys.exit(main())
