"""The registry: every detector by name, every alert kind with its polarity, a fresh set per call."""

from __future__ import annotations

from callcoach.detectors.bad_news import BadNewsDetector
from callcoach.detectors.config import DetectorConfig
from callcoach.detectors.frustration import FrustrationDetector
from callcoach.detectors.interruption import InterruptionDetector
from callcoach.detectors.monologue import MonologueDetector
from callcoach.detectors.ownership import OwnershipDetector
from callcoach.detectors.registry import DETECTORS, KINDS, create_detectors
from callcoach.detectors.rules import parse_rules
from callcoach.detectors.silence import SilenceDetector
from callcoach.detectors.turned_around import TurnedAroundDetector


def test_detectors_by_name() -> None:
    assert {
        "silence": SilenceDetector,
        "bad_news": BadNewsDetector,
        "interruption": InterruptionDetector,
        "monologue": MonologueDetector,
        "frustration": FrustrationDetector,
        "ownership": OwnershipDetector,
        "turned_around": TurnedAroundDetector,
    } == DETECTORS
    assert list(DETECTORS)[:2] == ["silence", "bad_news"]  # silence first: its alerts lead at one instant


def test_kinds_and_polarity() -> None:
    expected = {
        "silence": "coach",
        "cold_reply_to_bad_news": "coach",
        "empathy_shown": "praise",
        "rule": "coach",  # a coach-defined rule's alerts carry their own rule's polarity
        "turned_around": "praise",
        "customer_frustration": "coach",
        "de_escalation": "praise",
        "ownership": "praise",
        "interruption": "coach",
        "monologue": "coach",
    }
    assert expected.items() <= {name: kind.polarity for name, kind in KINDS.items()}.items()
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


def test_create_detectors_adds_the_rules_of_the_call() -> None:
    rules = parse_rules(
        '[[rule]]\nname = "calm_down"\nspeaker = "agent"\nsay = ["calm down"]\nwhen = "said"\n'
        'polarity = "coach"\ntitle = "t"\nwhy = "w"\nsuggestion = "s"\n'
    )
    assert [d.name for d in create_detectors(DetectorConfig(), rules)] == [*DETECTORS, "rules"]
