"""SilenceDetector: fires live at the threshold from voice activity, revised once with its length."""

from __future__ import annotations

import pytest

from callcoach.detectors.config import DetectorConfig
from callcoach.detectors.silence import SilenceDetector
from callcoach.live.events import Speech
from tests.detectors.detector_timeline import alerts, final, play, say


def detector() -> SilenceDetector:
    return SilenceDetector(DetectorConfig(silence_threshold_s=5.0))


def test_fires_on_the_threshold_tick_not_before() -> None:
    d = detector()
    assert d.feed(Speech("customer", 1.0)) == []
    assert d.feed(final("customer", "my uncle just passed away", 1.0, 3.0)) == []
    assert d.tick(3.2) == []
    assert d.feed(Speech("customer", 1.0, 3.0)) == []
    assert d.tick(7.9) == []
    [alert] = d.tick(8.0)
    assert (alert.id, alert.revision, alert.kind, alert.polarity) == ("silence-1", 0, "silence", "coach")
    assert (alert.start_s, alert.end_s, alert.detected_s) == (3.0, None, 8.0)
    assert alert.quote == "my uncle just passed away"
    assert alert.quotes[0].speaker == "customer"
    assert "after the customer spoke" in alert.why
    assert d.tick(8.1) == []  # one alert per silence


def test_resuming_speech_revises_with_the_full_duration() -> None:
    d = detector()
    d.feed(Speech("customer", 1.0))
    d.feed(Speech("customer", 1.0, 3.0))
    [fired] = d.tick(8.0)
    [revised] = d.feed(Speech("agent", 8.6))
    assert (revised.id, revised.revision) == (fired.id, 1)
    assert (revised.start_s, revised.end_s) == (3.0, 8.6)
    assert revised.duration_s == 5.6
    assert "5.6 s of silence" in revised.title
    assert "5.6 s" in revised.why
    assert d.finish(20.0) == []  # nobody silent at the end: nothing more


def test_seed_call_quotes_the_customers_bad_news() -> None:
    events = [
        *say("customer", "i know you said you needed those documents but well", 1.0, 4.0),
        *say("customer", "my uncle just passed away unexpectedly", 4.5, 7.0),
        *say("customer", "can i get them to you this week", 7.5, 9.5),
        *say(
            "agent",
            "well if you can get those docs in to me this week we'll be able to move forward",
            15.0,
            19.0,
        ),
    ]
    out = play(detector(), events, end_s=20.0)
    fired, closed = alerts(out)
    assert (fired.start_s, fired.detected_s, fired.end_s) == (9.5, 14.5, None)
    assert [e.at_s for e in out] == [14.5, 15.0]  # live: at the threshold tick, then at the reply
    assert closed.end_s == 15.0
    assert closed.title.startswith("5.5 s of silence")
    assert closed.quote == "can i get them to you this week"


def test_overlapping_speech_is_not_silence() -> None:
    events = [
        Speech("customer", 0.0),
        Speech("agent", 4.0),
        Speech("customer", 0.0, 10.0),  # the customer stops while the agent is still talking
        Speech("customer", 14.0),
        Speech("agent", 4.0, 18.0),
        Speech("customer", 14.0, 20.0),
    ]
    assert play(detector(), events, end_s=21.0) == []


@pytest.mark.parametrize("gap_s", [0.5, 2.0, 4.5, 4.9])
def test_short_pauses_make_no_alert(gap_s: float) -> None:
    events = [*say("agent", "hello how can i help", 0.0, 2.0), *say("customer", "hi there", 2.0 + gap_s, 8.0)]
    assert play(detector(), events, end_s=9.0) == []


def test_silence_at_the_end_of_the_call_is_closed_by_finish() -> None:
    events = say("agent", "is there anything else", 0.0, 2.0)
    out = alerts(play(detector(), events, end_s=9.0))
    assert [(a.revision, a.start_s, a.end_s) for a in out] == [(0, 2.0, None), (1, 2.0, 9.0)]
    assert "7.0 s of silence" in out[1].title
    assert "after the agent spoke" in out[1].why


def test_a_silence_only_reached_at_finish_is_one_closed_alert() -> None:
    d = detector()
    d.feed(Speech("agent", 0.0))
    d.feed(Speech("agent", 0.0, 2.0))
    assert d.tick(6.9) == []
    [alert] = d.finish(7.3)
    assert (alert.revision, alert.start_s, alert.end_s, alert.detected_s) == (0, 2.0, 7.3, 7.0)
    assert d.finish(7.3) == []


def test_silence_from_the_start_of_the_call() -> None:
    out = alerts(play(detector(), say("agent", "hello", 6.0, 7.0), end_s=8.0))
    assert [(a.start_s, a.end_s) for a in out] == [(0.0, None), (0.0, 6.0)]
    assert out[0].quote == ""
    assert "since the call started" in out[0].why


def test_each_silence_gets_its_own_id_and_mono_calls_count() -> None:
    events = [
        *say("mixed", "hello", 0.0, 1.0),
        *say("mixed", "are you there", 7.0, 8.0),
        *say("mixed", "yes sorry", 15.0, 16.0),
    ]
    out = alerts(play(detector(), events, end_s=17.0))
    assert [(a.id, a.revision) for a in out] == [
        ("silence-1", 0),
        ("silence-1", 1),
        ("silence-2", 0),
        ("silence-2", 1),
    ]
    assert out[2].quote == "are you there"


def test_silence_is_measured_from_voice_activity_not_transcripts() -> None:
    # Vosk heard nothing for 8 s, but someone was speaking (mumbling, hold music): no dead air.
    events = [
        *say("customer", "let me find it", 0.0, 1.0),
        Speech("customer", 1.5),
        Speech("customer", 1.5, 8.5),
        *say("customer", "found it", 9.0, 10.0),
    ]
    assert play(detector(), events, end_s=11.0) == []
