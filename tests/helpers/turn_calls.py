"""Stereo calls with turn-taking moments, synthesised the way ``samples/make_samples.py`` makes the samples.

Each call is a list of :class:`Line`: who speaks, what, and when, either after the previous line ends
(``pause_s``) or over it (``over_s`` seconds after the previous line *started*). ``cut_after_s`` truncates a
line that much after the next line starts: the speaker stopped because they were cut off. The WAV is
written where the test says (a pytest tmp dir); audio is never committed. Used by the interruption and
monologue integration tests and by the interruption page test.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

from tests.conftest import SAMPLES


def _load_make_samples() -> ModuleType:
    """``samples/make_samples.py`` is a script, not a package: load it from its file."""
    spec = importlib.util.spec_from_file_location("make_samples", SAMPLES / "make_samples.py")
    assert spec is not None and spec.loader is not None
    module = sys.modules.get(spec.name)
    if module is None:
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # its dataclasses look their module up while being made
        spec.loader.exec_module(module)
    return module


make_samples = _load_make_samples()

VOICES = {
    "agent": make_samples.Voice("en-us", 165),
    "customer": make_samples.Voice("en-gb", 160),
}
RATE = make_samples.SAMPLE_RATE


@dataclass(frozen=True)
class Line:
    speaker: str
    text: str
    pause_s: float = 0.5  # silence after the previous line ends (negative: overlapping its end)
    over_s: float | None = None  # instead: start this long after the previous line started (overlap)
    cut_after_s: float | None = None  # truncate this line this long after the next line starts


@dataclass(frozen=True)
class Placed:
    speaker: str
    text: str
    start_s: float
    end_s: float


def write_call(path: Path, lines: Sequence[Line], lead_s: float = 0.5, tail_s: float = 1.5) -> list[Placed]:
    """Synthesise ``lines`` into a 16 kHz stereo WAV (agent left, customer right); where each line went."""
    with ThreadPoolExecutor() as pool:
        clips = list(pool.map(lambda ln: make_samples.synthesise(ln.text, VOICES[ln.speaker]), lines))
    starts: list[int] = []
    ends: list[int] = []
    cursor = round(lead_s * RATE)
    for i, (line, clip) in enumerate(zip(lines, clips, strict=True)):
        if line.over_s is not None and starts:
            start = starts[-1] + round(line.over_s * RATE)
        else:
            start = (ends[-1] if ends else cursor) + round(line.pause_s * RATE)
        starts.append(start)
        ends.append(start + len(clip))
        if i and lines[i - 1].cut_after_s is not None:
            cut_after = lines[i - 1].cut_after_s
            assert cut_after is not None
            ends[i - 1] = min(ends[i - 1], start + round(cut_after * RATE))
    total = max(ends) + round(tail_s * RATE)
    stereo = np.zeros((total, 2), dtype=np.int16)
    for line, clip, start, end in zip(lines, clips, starts, ends, strict=True):
        channel = make_samples.CHANNELS.index(line.speaker)
        stereo[start:end, channel] = clip[: end - start]
    path.write_bytes(make_samples.wav_bytes(stereo))
    return [
        Placed(line.speaker, line.text, start / RATE, end / RATE)
        for line, start, end in zip(lines, starts, ends, strict=True)
    ]


# The agent cuts the customer off: the customer's line stops 0.6 s after the agent starts, mid-word.
INTERRUPTION = (
    Line("agent", "thank you for calling the billing team, this is sam, how can I help you today?"),
    Line(
        "customer",
        "hi, yes, I'm calling about my last bill, because it came to almost twice what I normally pay "
        "and I really don't understand where the extra charges came from",
        pause_s=0.6,
        cut_after_s=0.6,
    ),
    Line(
        "agent", "okay so what you need to do is log into the app and check the usage page there", over_s=4.0
    ),
    Line("customer", "right, but I already looked at that page", pause_s=0.7),
    Line("agent", "then I can go through the charges with you now, one moment please", pause_s=0.6),
)
# Clean turn-taking, with each side's backchannels said over the other ("mhm", "okay").
CONTROL = (
    Line("agent", "thank you for calling the billing team, this is sam, how can I help you today?"),
    Line(
        "customer",
        "hi, yes, I'm calling about my last bill, because it came to almost twice what I normally pay",
        pause_s=0.6,
    ),
    Line("agent", "mhm", over_s=2.5),
    Line("customer", "and I really don't understand where the extra charges came from", pause_s=0.4),
    Line(
        "agent",
        "I'm sorry about that, let me pull up your account and we can look at it together",
        pause_s=0.6,
    ),
    Line("customer", "okay", over_s=2.0),
    Line("agent", "I can see two charges for international calls last month", pause_s=0.5),
    Line("customer", "oh, that would be my daughter calling home from her trip", pause_s=0.6),
)
# The agent explains for about 16 s, the customer only saying "mhm", then the customer asks.
MONOLOGUE = (
    Line("agent", "thank you for calling the billing team, this is sam, how can I help you today?"),
    Line("customer", "hi, I'd like to understand the charges on my last bill please", pause_s=0.6),
    Line(
        "agent",
        "of course. so your plan includes unlimited calls within the country, and texts are included too.",
        pause_s=0.6,
    ),
    Line(
        "agent",
        "international calls are charged by the minute, and the rate depends on the country you call.",
        pause_s=0.5,
    ),
    Line("customer", "mhm", over_s=2.0),
    Line(
        "agent",
        "roaming is a separate add on, which you can turn on or off in the app whenever you travel.",
        pause_s=0.6,
    ),
    Line("customer", "so which of those made my bill go up?", pause_s=0.7),
    Line("agent", "it was the international calls", pause_s=0.6),
)
