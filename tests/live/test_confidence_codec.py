"""Confidences on the wire: a word's and an alert's round-trip, an alert without one is null, and a
confidence outside 0..1 is refused by name."""

from __future__ import annotations

import pytest

from callcoach.live.codec import EventDecodeError, from_json, to_json
from callcoach.live.events import Alert, Transcript, Word

ALERT = Alert("x-1", 0, "cold_reply_to_bad_news", "coach", "agent", 1.0, 2.0, 2.0, "t", "q", "w", "s")


def test_an_alert_carries_its_confidence_or_null() -> None:
    assert to_json(ALERT)["confidence"] is None
    sure = Alert(**{**ALERT.__dict__, "confidence": 0.81})
    assert to_json(sure)["confidence"] == 0.81
    assert from_json(to_json(sure)) == sure
    legacy = {k: v for k, v in to_json(sure).items() if k != "confidence"}  # stored before it existed
    assert from_json(legacy) == ALERT


@pytest.mark.parametrize("value", [1.5, -0.1])
def test_a_confidence_outside_zero_to_one_is_refused(value: float) -> None:
    with pytest.raises(EventDecodeError, match=r"alert\.confidence must be from 0 to 1"):
        from_json({**to_json(ALERT), "confidence": value})
    line = Transcript("customer", "hi", 0.0, 1.0, True, (Word("hi", 0.0, 1.0, 0.5),))
    data = to_json(line)
    data["words"][0]["confidence"] = value
    with pytest.raises(EventDecodeError, match=r"transcript\.words\[0\]\.confidence must be from 0 to 1"):
        from_json(data)
