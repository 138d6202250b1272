"""The customer's sentiment and ``turned_around`` end to end: real Vosk on synthesised calls.

The calls (``tests/helpers/sentiment_calls.py``) are synthesised into a temporary folder, never committed.
In the first the customer is angry early and thankful at the end; ``callcoach analyze --json`` must log a
``sentiment`` event right after each of the customer's final lines (none for the agent), negative early,
positive late, and praise the call as turned around. The control call dips and stays negative: no praise.
The first call's opening mixed down to mono has no sentiment at all (nobody knows who spoke).
"""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.sentiment_calls import STAYS_NEGATIVE, TURNED_AROUND
from tests.helpers.server import clean_env
from tests.helpers.synth import render_call, to_mono, write_wav

pytestmark = [pytest.mark.vosk]


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
    turned = render_call("turned", TURNED_AROUND)
    calls = {
        "turned": turned,
        "stays_negative": render_call("stays_negative", STAYS_NEGATIVE),
        # The first call's opening on one channel: both voices, nobody known (short: Vosk's time).
        "mono": to_mono(turned, seconds=10.0),
    }
    paths = {name: write_wav(folder / f"{name}.wav", samples) for name, samples in calls.items()}
    # Each analysis is its own process: run them side by side.
    with ThreadPoolExecutor() as pool:
        done = {name: pool.submit(analyze, callcoach, model_dir, path) for name, path in paths.items()}
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
    # The angry customer may earn other moments too (frustration met, ownership): this test is about the turn.
    [alert] = [e for e in runs["turned"] if e["type"] == "alert" and e["kind"] == "turned_around"]
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
