"""Short calls synthesised for a test, the way ``samples/make_samples.py`` makes the samples (espeak-ng,
sox; stereo 16 kHz WAV, the agent LEFT, the customer RIGHT), into a folder the test owns: audio is never
committed. ``tests/e2e/test_redaction_calls.py`` does the same for its card call.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
# Voices and speed the small model hears well (as the samples use).
VOICES = {"agent": ("en-us+m3", 150), "customer": ("en-gb-x-rp+f3", 150)}


def make_samples() -> ModuleType:
    """``samples/make_samples.py`` as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("make_samples", ROOT / "samples" / "make_samples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being made
    spec.loader.exec_module(module)
    return module


def synthesise_call(path: Path, turns: Sequence[tuple[str, str, float]], tail_s: float = 1.0) -> Path:
    """Write the call of ``turns`` (speaker, text, silence before it in seconds) to ``path``."""
    ms = make_samples()
    voices = {who: ms.Voice(voice, speed) for who, (voice, speed) in VOICES.items()}
    script_turns = tuple(ms.Turn(who, text, pause) for who, text, pause in turns)
    script = ms.Script(lead_s=0.5, tail_s=tail_s, voices=voices, calls={path.stem: script_turns})
    clips = [ms.synthesise(text, voices[who]) for who, text, _pause in turns]
    stereo, _truth = ms.render(path.stem, script, clips)
    path.write_bytes(ms.wav_bytes(stereo))
    return path
