"""Stereo calls with turn-taking moments: lines that overlap or are cut off, laid out in time.

Each call is a list of :class:`Line`: who speaks, what, and when, either after the previous line ends
(``pause_s``) or over it (``over_s`` seconds after the previous line *started*). ``cut_after_s`` truncates a
line that much after the next line starts: the speaker stopped because they were cut off. The lines are
spoken by ``tests/helpers/synth.py``; the WAV is written where the test says (a pytest tmp dir), audio is
never committed. Used by the interruption and monologue integration tests and by the interruption page test.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from samples.make_samples import CHANNELS, SAMPLE_RATE, Voice
from tests.helpers.synth import clips, write_wav

# Not the samples' voices: these calls' pauses and overlaps were tuned with these, so they stay.
VOICES = {"agent": Voice("en-us", 165), "customer": Voice("en-gb", 160)}
RATE = SAMPLE_RATE


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
    spoken = clips(lines, lambda line: (line.text, VOICES[line.speaker]))
    starts: list[int] = []
    ends: list[int] = []
    cursor = round(lead_s * RATE)
    for i, (line, clip) in enumerate(zip(lines, spoken, strict=True)):
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
    for line, clip, start, end in zip(lines, spoken, starts, ends, strict=True):
        channel = CHANNELS.index(line.speaker)
        stereo[start:end, channel] = clip[: end - start]
    write_wav(path, stereo)
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
