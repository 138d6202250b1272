"""Synthesised calls for the sentiment tests: a customer who is angry early and thankful at the end, and
one who dips and stays negative. Made by ``samples/make_samples.py``'s own synthesis (espeak-ng, sox;
stereo 16 kHz, agent left, customer right) into a folder the test gives (never committed).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
VOICES = {"agent": ("en-us+m3", 150), "customer": ("en-gb-x-rp+f3", 150)}
Turns = list[tuple[str, str, float]]  # (speaker, what they say, the silence before it in seconds)

# The agent's lines are kept short: every second is Vosk's time in the tests.
TURNED_AROUND: Turns = [
    ("customer", "I am really fed up, it is a complete mess and frankly unacceptable.", 0.0),
    ("agent", "Let me fix that for you now.", 0.8),
    ("customer", "I'm so angry, you people keep getting it wrong every single month.", 0.8),
    ("agent", "Done, I have removed the charge.", 0.8),
    ("customer", "Oh wow, thank you so much. You have been really helpful, I appreciate it.", 0.8),
]
STAYS_NEGATIVE: Turns = [
    ("customer", "I'm furious. You cut off my gas without any warning and it is freezing.", 0.0),
    ("agent", "I can't reconnect it until the balance is paid.", 0.8),
    ("customer", "That's terrible. This is the worst service I have ever had, I am disgusted.", 0.8),
    ("agent", "Anything else?", 0.8),
    ("customer", "No. Thanks for nothing.", 0.8),
]


def make_samples() -> ModuleType:
    """``samples/make_samples.py`` as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("make_samples", ROOT / "samples" / "make_samples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being made
    spec.loader.exec_module(module)
    return module


def synthesise(name: str, turns: Turns) -> Any:
    """The call's stereo samples (agent left, customer right), as make_samples renders them."""
    ms = make_samples()
    voices = {who: ms.Voice(voice, speed) for who, (voice, speed) in VOICES.items()}
    calls = {name: tuple(ms.Turn(*turn) for turn in turns)}
    script = ms.Script(lead_s=0.5, tail_s=1.0, voices=voices, calls=calls)
    clips = [ms.synthesise(text, voices[who]) for who, text, _pause in turns]
    stereo, _truth = ms.render(name, script, clips)
    return stereo


def write_wav(path: Path, samples: Any) -> Path:
    """16-bit WAV at 16 kHz of ``samples`` (frames × channels)."""
    path.write_bytes(make_samples().wav_bytes(np.asarray(samples, dtype=np.int16)))
    return path


def to_mono(stereo: Any, seconds: float | None = None) -> Any:
    """Both channels mixed into one (optionally only the first ``seconds``), as frames × 1."""
    part = stereo if seconds is None else stereo[: round(seconds * 16_000)]
    return np.round(part.astype(np.float64).mean(axis=1)).astype(np.int16)[:, None]
