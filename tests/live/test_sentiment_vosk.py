"""The customer's sentiment and ``turned_around`` end to end: real Vosk on synthesised calls.

The calls are made in a temporary folder by ``samples/make_samples.py``'s own synthesis (espeak-ng, sox;
stereo 16 kHz, agent left, customer right), never committed. In the first the customer is angry early
and thankful at the end; ``callcoach analyze --json`` must log a ``sentiment`` event right after each of
the customer's final lines (none for the agent), negative early, positive late, and praise the call as
turned around. The control call dips and stays negative: no praise. The first call's opening mixed down
to mono has no sentiment at all (nobody knows who spoke).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from tests.helpers.server import clean_env

pytestmark = [pytest.mark.vosk]

ROOT = Path(__file__).resolve().parents[2]
VOICES = {"agent": ("en-us+m3", 150), "customer": ("en-gb-x-rp+f3", 150)}
# (speaker, what they say, the silence before it in seconds); the agent's lines kept short (Vosk's time).
TURNED = [
    ("customer", "I am really fed up, it is a complete mess and frankly unacceptable.", 0.0),
    ("agent", "Let me fix that for you now.", 0.8),
    ("customer", "I'm so angry, you people keep getting it wrong every single month.", 0.8),
    ("agent", "Done, I have removed the charge.", 0.8),
    ("customer", "Oh wow, thank you so much. You have been really helpful, I appreciate it.", 0.8),
]
STAYS_NEGATIVE = [
    ("customer", "I'm furious. You cut off my gas without any warning and it is freezing.", 0.0),
    ("agent", "I can't reconnect it until the balance is paid.", 0.8),
    ("customer", "That's terrible. This is the worst service I have ever had, I am disgusted.", 0.8),
    ("agent", "Anything else?", 0.8),
    ("customer", "No. Thanks for nothing.", 0.8),
]


def _make_samples() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_samples", ROOT / "samples" / "make_samples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being made
    spec.loader.exec_module(module)
    return module


def synthesise(name: str, turns: list[tuple[str, str, float]]) -> Any:
    """The call's stereo samples (agent left, customer right), as make_samples renders them."""
    ms = _make_samples()
    voices = {who: ms.Voice(voice, speed) for who, (voice, speed) in VOICES.items()}
    script = ms.Script(lead_s=0.5, tail_s=1.0, voices=voices, calls={name: tuple(ms.Turn(*t) for t in turns)})
    clips = [ms.synthesise(text, voices[who]) for who, text, _pause in turns]
    stereo, _truth = ms.render(name, script, clips)
    return ms, stereo


def analyze(callcoach: Path, model_dir: Path, path: Path) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [str(callcoach), "analyze", str(path), "--json", "--model", str(model_dir)],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, callcoach: Path, model_dir: Path) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("sentiment")
    ms, turned = synthesise("turned", TURNED)
    _, stays = synthesise("stays_negative", STAYS_NEGATIVE)
    # The turned-around call's opening on one channel: both voices, nobody known (short: Vosk's time).
    opening = turned[: 10 * ms.SAMPLE_RATE]
    mono = np.round(opening.astype(np.float64).mean(axis=1)).astype(np.int16)[:, None]
    calls = {"turned": turned, "stays_negative": stays, "mono": mono}
    for name, samples in calls.items():
        (folder / f"{name}.wav").write_bytes(ms.wav_bytes(samples))
    # Each analysis is its own process: run them side by side.
    with ThreadPoolExecutor() as pool:
        done = {name: pool.submit(analyze, callcoach, model_dir, folder / f"{name}.wav") for name in calls}
        return {name: future.result() for name, future in done.items()}


def sentiments(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == "sentiment"]


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [e["kind"] for e in events if e["type"] == "alert"]


def test_each_customer_final_is_followed_by_its_sentiment(runs: dict[str, Any]) -> None:
    events = runs["turned"]
    finals = [e for e in events if e["type"] == "transcript" and e["final"] and e["text"].strip()]
    scored = sentiments(events)
    assert len(scored) == sum(1 for f in finals if f["speaker"] == "customer") >= 3
    for sentiment in scored:
        line = events[events.index(sentiment) - 1]  # logged right after the final it scores
        assert (line["type"], line["final"], line["speaker"]) == ("transcript", True, "customer")
        assert sentiment["speaker"] == "customer"
        assert (sentiment["start_s"], sentiment["end_s"]) == (
            line["words"][0]["start_s"],
            line["words"][-1]["end_s"],
        )
        assert sentiment["seq"] == line["seq"] + 1
        assert -1.0 <= sentiment["score"] <= 1.0 and sentiment["score"] == round(sentiment["score"], 2)


def test_angry_early_thankful_late_is_turned_around(runs: dict[str, Any]) -> None:
    scores = [s["score"] for s in sentiments(runs["turned"])]
    assert min(scores[:2]) <= -0.5, scores
    assert scores[-1] >= 0.5, scores
    [alert] = [e for e in runs["turned"] if e["type"] == "alert"]
    assert (alert["kind"], alert["polarity"]) == ("turned_around", "praise")
    low, close = alert["quotes"]
    assert "angry" in low["text"] or "unacceptable" in low["text"]
    assert "thank you" in close["text"]
    assert alert["detected_s"] == pytest.approx(runs["turned"][-1]["end_s"], abs=1e-3)  # at the call's end


def test_a_call_that_stays_negative_is_not_praised(runs: dict[str, Any]) -> None:
    scores = [s["score"] for s in sentiments(runs["stays_negative"])]
    assert min(scores) <= -0.5, scores
    assert "turned_around" not in kinds(runs["stays_negative"])


def test_mono_has_no_sentiment_and_no_praise(runs: dict[str, Any]) -> None:
    mono = runs["mono"]
    said = " ".join(e["text"] for e in mono if e["type"] == "transcript" and e["final"])
    assert "unacceptable" in said  # the customer was heard, just not told apart
    assert sentiments(mono) == []
    assert "turned_around" not in kinds(mono)
