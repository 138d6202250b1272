"""MonologueDetector on hand-built timelines: fires live at the threshold, revised once with its length; a
customer turn or a long pause breaks it, backchannels and noise on the customer's line do not."""

from __future__ import annotations

from callcoach.detectors.config import DetectorConfig
from callcoach.detectors.monologue import MonologueDetector
from callcoach.live.events import Event, Speaker, Speech, Transcript
from tests.detectors.detector_timeline import Emitted, alerts, play, say

SENTENCE = "so your plan includes calls and texts and the rate depends on the country"


def detector(threshold_s: float = 20.0) -> MonologueDetector:
    return MonologueDetector(DetectorConfig(monologue_s=threshold_s))


def talk(
    speaker: Speaker, start_s: float, end_s: float, step_s: float = 4.0, pause_s: float = 0.5
) -> list[Event]:
    """``speaker`` talking from ``start_s`` to ``end_s`` in lines of ``step_s`` with short pauses."""
    events: list[Event] = []
    t = start_s
    while t < end_s - 0.5:
        stop = end_s if end_s - t <= 1.5 * step_s else t + step_s
        events += say(speaker, SENTENCE, t, stop)
        t = stop + pause_s
    return events


def monologues(out: list[Emitted]) -> list[Emitted]:
    return [e for e in out if e.alert.kind == "monologue"]


def test_fires_at_the_threshold_then_revises_with_the_full_length() -> None:
    events = [
        *say("customer", "hi id like to understand the charges on my bill", 0.5, 3.0),
        *talk("agent", 3.5, 30.0),
        *say("customer", "so which of those made my bill go up", 30.8, 33.0),
    ]
    out = monologues(play(detector(), events, end_s=35.0))
    first, closed = (e.alert for e in out)
    assert out[0].at_s == 23.5  # 3.5 + 20: live, on the threshold tick
    assert (first.id, first.revision, first.kind, first.polarity, first.speaker) == (
        "monologue-1",
        0,
        "monologue",
        "coach",
        "agent",
    )
    assert (first.start_s, first.end_s, first.detected_s) == (3.5, None, 23.5)
    assert first.title == "Monologue since 00:03"
    assert "has been talking for 20.0 s" in first.why
    assert first.quotes and all(q.speaker == "agent" for q in first.quotes)
    assert (closed.id, closed.revision) == (first.id, 1)
    assert (closed.start_s, closed.end_s) == (3.5, 30.0)
    assert closed.title == "26.5 s monologue at 00:03"
    assert closed.quotes[0].start_s == 3.5 and closed.quotes[-1].end_s == 30.0
    assert "Does that make sense" in closed.suggestion


def test_backchannels_and_slips_of_them_do_not_break_a_monologue() -> None:
    events = [
        *talk("agent", 1.0, 28.0),
        *say("customer", "mhm", 5.2, 5.6),
        *say("customer", "yeah right", 10.0, 10.6),  # "yeah alright", as Vosk heard it
        *say("customer", "uh huh okay", 15.0, 15.8),
        *say("customer", "the", 19.0, 19.3),  # a breath, spelled
        Speech("customer", 22.0),  # a click on the line: no words at all
        Speech("customer", 22.0, 22.3),
    ]
    [first, closed] = alerts(play(detector(), events, end_s=30.0))
    assert first.start_s == 1.0 and closed.end_s == 28.0


def test_mm_hmm_heard_as_a_short_word_and_a_hum_does_not_break_a_monologue() -> None:
    # Vosk's small model makes the hummed first half of "mm hmm" into whatever short word is nearest.
    events = [
        *talk("agent", 1.0, 28.0),
        *say("customer", "am hm", 6.0, 6.7),
        *say("customer", "i'm hm", 12.0, 12.7),
        *say("customer", "um hmm", 18.0, 18.7),
        *say("customer", "mm them", 23.0, 23.7),
    ]
    [first, closed] = alerts(play(detector(), events, end_s=30.0))
    assert first.start_s == 1.0 and closed.end_s == 28.0


def test_a_short_reply_with_a_hum_in_it_is_still_a_turn() -> None:
    events = [
        *talk("agent", 1.0, 12.0),
        *say("customer", "hmm i am not sure about that", 12.6, 14.5),
        *talk("agent", 15.0, 28.0),
    ]
    assert alerts(play(detector(), events, end_s=30.0)) == []


def test_a_customer_turn_breaks_it_and_ends_it_where_the_agent_stopped() -> None:
    events = [
        *talk("agent", 1.0, 14.0),
        *say("customer", "sorry but how much is that per month", 14.6, 16.5),
        *talk("agent", 17.0, 30.0),
    ]
    assert alerts(play(detector(), events, end_s=31.0)) == []


def test_a_customer_turn_after_the_threshold_closes_it_where_the_agent_stopped() -> None:
    events = [*talk("agent", 1.0, 25.0), *say("customer", "can i ask something", 25.6, 27.0)]
    out = monologues(play(detector(), events, end_s=40.0))
    closed = out[-1].alert
    assert (closed.revision, closed.end_s) == (1, 25.0)
    assert out[-1].at_s <= 27.7  # with the customer's final


def test_a_customer_turn_over_the_agent_ends_it_where_the_customer_began() -> None:
    events = [
        *talk("agent", 1.0, 30.0, step_s=10.0),
        *say("customer", "wait wait can i ask something", 24.0, 26.0),
    ]
    *_, closed = alerts(play(detector(), events, end_s=31.0))
    assert (closed.revision, closed.end_s) == (1, 24.0)


def test_a_long_pause_by_everyone_breaks_it() -> None:
    events = [*talk("agent", 1.0, 12.0), *talk("agent", 15.5, 30.0)]  # 3.5 s of nobody
    assert alerts(play(detector(), events, end_s=31.0)) == []


def test_the_customer_speaking_at_the_threshold_holds_it_until_their_words_are_in() -> None:
    events = [*talk("agent", 1.0, 30.0), *say("customer", "mhm", 20.5, 21.2)]
    out = monologues(play(detector(), events, end_s=31.0))
    # Not at 21.0: the customer's voice was on; their "mhm" is in at 21.8, and it fires then.
    assert out[0].at_s == 21.8 and out[0].alert.detected_s == 21.8


def test_a_call_ending_mid_monologue_closes_it_at_the_end() -> None:
    out = monologues(play(detector(), talk("agent", 1.0, 25.0, step_s=8.0), end_s=25.0))
    first, closed = (e.alert for e in out)
    assert first.end_s is None
    assert (closed.revision, closed.end_s) == (1, 25.0)


def test_short_stretches_and_mono_calls_never_fire() -> None:
    assert alerts(play(detector(), talk("agent", 1.0, 19.0), end_s=25.0)) == []
    assert alerts(play(detector(), talk("mixed", 1.0, 40.0), end_s=41.0)) == []


def test_the_threshold_comes_from_the_config() -> None:
    assert alerts(play(detector(60.0), talk("agent", 1.0, 50.0), end_s=51.0)) == []
    [first, _] = alerts(play(detector(60.0), talk("agent", 1.0, 70.0), end_s=71.0))
    assert first.detected_s == 61.0


def test_the_next_stretch_starts_with_the_agent_even_before_the_customers_final_is_in() -> None:
    events = [
        *talk("agent", 1.0, 14.0),
        *say("customer", "sorry but how much is that per month", 14.6, 16.5),
        *talk("agent", 16.8, 40.0),  # starts before the customer's final arrives (17.1)
    ]
    first, closed = alerts(play(detector(), events, end_s=41.0))
    assert (first.start_s, first.detected_s) == (16.8, 36.8)
    assert closed.end_s == 40.0


def test_the_agents_voice_echoed_on_the_customers_line_is_no_customer_turn() -> None:
    agent = talk("agent", 1.0, 28.0)
    line = next(e for e in agent if isinstance(e, Transcript) and e.start_s > 10.0)
    echoed = line.words[2:6]  # a few of the agent's words, heard again faintly on the customer's line
    text = " ".join(w.text for w in echoed)
    echo = Transcript("customer", text, echoed[0].start_s, echoed[-1].end_s, True, echoed)
    events = [*agent, Speech("customer", echo.start_s), echo, Speech("customer", echo.start_s, echo.end_s)]
    [first, closed] = alerts(play(detector(), events, end_s=30.0))
    assert (first.start_s, closed.end_s) == (1.0, 28.0)
