"""Short stereo calls synthesised for a test, with ``samples/make_samples.py``'s own synthesis.

Owns turning a test's script into audio: espeak-ng speaks each turn and sox resamples it (no dither, so
a run gives the same bytes every time), and the turns are laid out as the samples are: stereo 16 kHz,
the agent LEFT, the customer RIGHT. The WAV goes into a folder the test owns: audio is never committed.
A script is a list of (speaker, what they say, the silence before it in seconds); calls whose turns
overlap or are cut off are laid out by ``tests/helpers/turn_calls.py``, which synthesises through here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import numpy as np

from samples.make_samples import SAMPLE_RATE, Pcm, Script, Turn, Voice, render, synthesise, wav_bytes

Turns = Sequence[tuple[str, str, float]]  # (speaker, what they say, the silence before it in seconds)
Stereo = Pcm  # frames × 2 (agent, customer)
# The sample calls' voices and speed (samples/calls.toml), which the small model hears well.
VOICES = {"agent": Voice("en-us+m3", 150), "customer": Voice("en-gb-x-rp+f3", 150)}

_T = TypeVar("_T")


def clips(lines: Sequence[_T], say: Callable[[_T], tuple[str, Voice]]) -> list[Pcm]:
    """Each line spoken (``say`` gives its text and voice), trimmed as the samples are; in file order.

    espeak-ng and sox are single-threaded, so the lines are synthesised side by side, one each at once.
    """
    with ThreadPoolExecutor() as pool:
        return list(pool.map(lambda line: synthesise(*say(line)), lines))


def render_call(
    name: str,
    turns: Turns,
    voices: Mapping[str, Voice] = VOICES,
    lead_s: float = 0.5,
    tail_s: float = 1.0,
) -> Stereo:
    """The call of ``turns`` as stereo samples (agent left, customer right), as make_samples renders it."""
    spoken = clips(turns, lambda turn: (turn[1], voices[turn[0]]))
    calls = {name: tuple(Turn(who, text, pause) for who, text, pause in turns)}
    stereo, _truth = render(name, Script(lead_s, tail_s, dict(voices), calls), spoken)
    return stereo


def synthesise_call(
    path: Path,
    turns: Turns,
    voices: Mapping[str, Voice] = VOICES,
    lead_s: float = 0.5,
    tail_s: float = 1.0,
) -> Path:
    """Write the call of ``turns`` to ``path`` (its stem names the call)."""
    return write_wav(path, render_call(path.stem, turns, voices, lead_s, tail_s))


def write_wav(path: Path, samples: Pcm) -> Path:
    """16-bit WAV at 16 kHz of ``samples`` (frames × channels)."""
    path.write_bytes(wav_bytes(np.asarray(samples, dtype=np.int16)))
    return path


def to_mono(stereo: Stereo, seconds: float | None = None) -> Pcm:
    """Both channels mixed into one (optionally only the first ``seconds``), as frames × 1."""
    part = stereo if seconds is None else stereo[: round(seconds * SAMPLE_RATE)]
    return np.round(part.astype(np.float64).mean(axis=1)).astype(np.int16)[:, None]
