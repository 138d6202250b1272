"""The registry: every detector by name, every alert kind with its polarity, a fresh set per call."""

from __future__ import annotations

from callcoach.detectors.bad_news import BadNewsDetector
from callcoach.detectors.config import DetectorConfig
from callcoach.detectors.interruption import InterruptionDetector
from callcoach.detectors.monologue import MonologueDetector
from callcoach.detectors.registry import DETECTORS, KINDS, create_detectors
from callcoach.detectors.silence import SilenceDetector


def test_detectors_by_name() -> None:
    assert {
        "silence": SilenceDetector,
        "bad_news": BadNewsDetector,
        "interruption": InterruptionDetector,
        "monologue": MonologueDetector,
    } == DETECTORS


def test_kinds_and_polarity() -> None:
    assert {name: kind.polarity for name, kind in KINDS.items()} == {
        "silence": "coach",
        "cold_reply_to_bad_news": "coach",
        "empathy_shown": "praise",
        "interruption": "coach",
        "monologue": "coach",
    }
    assert all(name == kind.kind and kind.label and kind.icon for name, kind in KINDS.items())
    assert KINDS["cold_reply_to_bad_news"].label == "Cold reply"


def test_create_detectors_builds_a_fresh_set_per_call() -> None:
    config = DetectorConfig(silence_threshold_s=3.0)
    first, second = create_detectors(config), create_detectors(config)
    assert [d.name for d in first] == list(DETECTORS)
    assert all(a is not b for a, b in zip(first, second, strict=True))
    for d in first:
        assert d.tick(0.0) == []
    assert [a.detected_s for a in first[0].tick(3.0)] == [3.0]  # the config reaches the detector
