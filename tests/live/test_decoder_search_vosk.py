"""`callcoach analyze --decoder-effort fast` with real Vosk: the cheaper search still finds the samples'
moments (the cold reply and the silence on the cold call, the empathy on the warm one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcoach.live.decoder_search import EFFORTS
from tests.live.test_analyze_vosk import alerts, analyze, truth

pytestmark = pytest.mark.vosk


def test_fast_search_keeps_the_cold_calls_silence_and_cold_reply(samples: Path, model_dir: Path) -> None:
    lines, proc = analyze(samples / "bereavement_cold.wav", "--decoder-effort", "fast", model_dir=model_dir)
    assert proc.returncode == 0, proc.stderr
    found = alerts(lines)
    assert sorted(a.kind for a in found) == ["cold_reply_to_bad_news", "silence"]
    turns = truth(samples, "bereavement_cold")["turns"]
    news_end = next(t["end_s"] for t in turns if "passed away" in t["text"])
    silence = next(a for a in found if a.kind == "silence")
    assert abs(silence.start_s - news_end) <= 0.5
    cold = next(a for a in found if a.kind == "cold_reply_to_bad_news")
    assert cold.speaker == "agent" and "move forward" in cold.quote
    # The model was loaded from the derived directory, with the fast options in its conf.
    conf = (
        model_dir.resolve().parent / f"{model_dir.resolve().name}.search-fast-dither0" / "conf" / "model.conf"
    )
    lines_of_conf = conf.read_text().splitlines()
    assert all(f"--{k}={v}" in lines_of_conf for k, v in EFFORTS["fast"].items())


def test_fast_search_keeps_the_warm_calls_empathy(samples: Path, model_dir: Path) -> None:
    lines, proc = analyze(samples / "bereavement_warm.wav", "--decoder-effort", "fast", model_dir=model_dir)
    assert proc.returncode == 0, proc.stderr
    found = alerts(lines)
    assert [a.kind for a in found] == ["empathy_shown"]
    assert "sorry" in found[0].quote
