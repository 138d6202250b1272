"""InterruptionDetector on hand-built timelines: cut-offs and talk-overs fire, live; turn-taking, listeners'
backchannels, ASR slips, noise on a line and the customer talking over the agent do not."""

from __future__ import annotations

from dataclasses import replace

from callcoach.detectors.config import DetectorConfig
from callcoach.detectors.interruption import InterruptionDetector, ordinal
from callcoach.detectors.turns import is_backchannel
from callcoach.live.events import Event, Speech, Transcript
from tests.detectors.detector_timeline import Emitted, alerts, final, play, say, words_between

CUSTOMER = "hi yes im calling about my last bill because it came to almost twice the"
AGENT = "okay so what you need to do is log into the app and check the usage page"


def detector() -> InterruptionDetector:
    return InterruptionDetector(DetectorConfig())


def cut_short(text: str, start_s: float, end_s: float, confidence: float = 0.35) -> list[Event]:
    """The customer's line broken off half-way at ``end_s``: Vosk doubts its last (half) word."""
    line = final("customer", text, start_s, end_s)
    *whole, last = line.words
    broken = Transcript(
        "customer", text, start_s, end_s, True, (*whole, replace(last, confidence=confidence))
    )
    return [Speech("customer", start_s), broken, Speech("customer", start_s, end_s)]


def opening(end_s: float = 3.5) -> list[Event]:
    return say("agent", "thank you for calling the billing team how can i help", 0.5, end_s)


def fired(out: list[Emitted]) -> list[Emitted]:
    return [e for e in out if e.alert.kind == "interruption"]


def test_cutting_the_customer_off_fires_as_soon_as_their_words_are_in() -> None:
    events = [
        *opening(),
        *cut_short("hi yes im calling about my last bill because it came to almost", 4.0, 8.6),
        *say("agent", AGENT, 8.0, 12.0),
        *say("customer", "right but i already looked at that page", 12.8, 15.0),
    ]
    out = fired(play(detector(), events, end_s=16.0))
    [alert] = [e.alert for e in out]
    assert (alert.id, alert.revision, alert.kind, alert.polarity, alert.speaker) == (
        "interruption-1",
        0,
        "interruption",
        "coach",
        "agent",
    )
    assert (alert.start_s, alert.end_s) == (8.0, 8.6)
    assert alert.title == "Cut the customer off at 00:08"
    assert "1st time this call" in alert.why
    assert [q.speaker for q in alert.quotes] == ["customer", "agent"]
    assert alert.quotes[0].text.endswith("came to almost")
    assert alert.quotes[1].text == AGENT
    assert "Let the customer finish" in alert.suggestion
    # The agent's words come with their final at 12.6: judged then, long before the call ends.
    assert out[0].at_s <= 12.7 and alert.detected_s <= 12.7


def test_a_cut_off_is_judged_on_the_agents_partial_and_requoted_from_the_final() -> None:
    d = detector()
    timeline: list[tuple[float, Event]] = [
        (0.5, Speech("customer", 0.5)),
        (4.0, Speech("agent", 3.9)),
        (4.4, Speech("customer", 0.5, 4.3)),
        (4.8, final("customer", "so the thing is i moved house last month and", 0.5, 4.3)),
        (5.0, Transcript("agent", "sorry can i", 3.9, 5.0, False, words_between("sorry can i", 3.9, 5.0))),
        (9.0, Speech("agent", 3.9, 8.5)),
        (9.1, final("agent", "sorry can i just get your account number first", 3.9, 8.5)),
    ]
    out: list[Emitted] = []
    for at_s, event in timeline:
        out += [Emitted(at_s, a) for a in d.tick(at_s)]
        out += [Emitted(at_s, a) for a in d.feed(event)]
    first, revised = (e.alert for e in out)
    assert [e.at_s for e in out] == [5.0, 9.1]
    assert first.quotes[-1].text == "sorry can i"
    assert (revised.id, revised.revision) == (first.id, 1)
    assert (first.detected_s, revised.detected_s) == (5.0, 9.1)  # each as its words came in
    assert revised.quotes[-1].text == "sorry can i just get your account number first"
    assert revised.quotes[0].text.endswith("last month and")  # "and": the sentence was going on


def test_a_cut_at_the_very_instant_the_agent_starts_counts() -> None:
    # The customer's audio simply stops where the agent's begins, mid-word.
    events = [*opening(), *cut_short(CUSTOMER, 4.0, 8.0), *say("agent", AGENT, 8.0, 12.0)]
    [alert] = alerts(play(detector(), events, end_s=13.0))
    assert (alert.start_s, alert.end_s) == (8.0, 8.0)


def test_the_agent_anticipating_a_finished_sentence_is_not_an_interruption() -> None:
    events = [
        *opening(),
        *say("customer", "hi im calling about my last bill it was higher than usual", 4.0, 8.0),
        *say("agent", "okay let me pull up your account and check the charges", 7.7, 11.0),  # 0.3 s early
    ]
    assert alerts(play(detector(), events, end_s=12.0)) == []


def test_talking_over_the_last_half_second_of_a_line_cuts_it_off_whatever_the_words() -> None:
    events = [
        *opening(),
        *say("customer", "hi im calling about my last bill it was higher than usual", 4.0, 8.0),
        *say("agent", "okay let me pull up your account and check the charges", 7.5, 11.0),
    ]
    [alert] = alerts(play(detector(), events, end_s=12.0))
    assert (alert.start_s, alert.end_s) == (7.5, 8.0)


def test_clean_turn_taking_with_backchannels_is_not_an_interruption() -> None:
    events = [
        *opening(),
        *say("customer", "hi yes im calling about my last bill because it came to almost", 4.0, 8.0),
        *say("agent", "mhm", 6.0, 6.5),  # listening, over the customer, who goes on
        *say("customer", "twice what i normally pay and i dont know why", 8.4, 11.0),
        *say("agent", "im sorry about that let me pull up your account", 11.5, 14.0),
        *say("customer", "okay", 12.5, 12.9),
        *say("agent", "i can see two charges for calls abroad", 14.5, 17.0),
    ]
    assert alerts(play(detector(), events, end_s=18.0)) == []


def test_a_backchannel_misheard_as_yeah_right_just_before_the_customer_pauses_is_not_one() -> None:
    events = [
        *opening(),
        *cut_short("so i checked the app and the usage page and", 4.0, 8.0),
        *say("agent", "yeah right", 7.4, 8.0),  # "mhm yeah", heard as "yeah right", then quiet
        *say("customer", "it still says the same thing", 8.6, 10.5),
    ]
    assert alerts(play(detector(), events, end_s=12.0)) == []


def test_the_customer_talking_over_the_agent_is_not_the_agents_fault() -> None:
    events = [
        *say("agent", "so what i can do for you today is to waive the fee and", 0.5, 4.4),
        *say("customer", "no no i dont want that i want to cancel", 3.6, 7.0),
    ]
    assert alerts(play(detector(), events, end_s=8.0)) == []


def test_noise_on_the_customers_line_is_no_turn_to_interrupt() -> None:
    # A breath and a burst of line noise: voice activity, no words (or "the").
    events = [
        *opening(),
        Speech("customer", 4.0),
        Speech("customer", 4.0, 5.2),
        *say("customer", "the", 6.0, 7.0),
        *say("agent", "are you still there i can hear some noise on the line", 5.0, 9.0),
    ]
    assert alerts(play(detector(), events, end_s=10.0)) == []


def test_a_voice_on_the_agents_line_without_words_is_echo_not_an_interruption() -> None:
    events = [
        *opening(),
        *cut_short(CUSTOMER, 4.0, 8.6),
        Speech("agent", 8.0),  # echo of the customer, or noise: the agent says nothing until 9.5
        Speech("agent", 8.0, 12.0),
        final("agent", "okay i can look at that for you now", 9.5, 12.0),
    ]
    assert alerts(play(detector(), events, end_s=13.0)) == []


def test_both_talking_at_once_for_long_is_talking_over() -> None:
    events = [
        *opening(),
        *say("customer", "and then the engineer came out and said the box was fine but it still", 4.0, 10.0),
        *say("agent", "right so the next step will be to book another engineer visit", 7.0, 11.0),
    ]
    out = fired(play(detector(), events, end_s=12.0))
    [alert] = [e.alert for e in out]
    assert alert.title == "Talked over the customer at 00:07"
    assert (alert.start_s, alert.end_s) == (7.0, 8.5)
    assert "talked at once" in alert.why
    # No partials here: the agent's words are known with their final (at 11.6), and it fires then.
    assert out[0].at_s == 11.6


def test_each_interruption_of_a_call_is_counted() -> None:
    events = [
        *opening(),
        *cut_short("hi im calling about the charges on my", 4.0, 7.6),
        *say("agent", AGENT, 7.0, 11.0),
        *cut_short("but i already looked at the page and it says", 12.0, 15.5),
        *say("agent", "then you need to look at the other page", 15.0, 18.0),
        *say("customer", "which other page", 19.0, 20.0),
    ]
    first, second = alerts(play(detector(), events, end_s=21.0))
    assert (first.id, second.id) == ("interruption-1", "interruption-2")
    assert "(2nd time this call)" in second.title and "2nd time this call" in second.why
    assert "time this call)" not in first.title


def test_a_final_split_at_a_pause_is_one_turn_and_quoted_whole() -> None:
    events = [
        *opening(),
        *say("customer", "i wanted to ask about", 4.0, 5.5),
        *cut_short("the charges on my bill from", 6.1, 8.6),  # a pause of 0.6 s: the same turn
        *say("agent", AGENT, 8.0, 12.0),
    ]
    [alert] = alerts(play(detector(), events, end_s=13.0))
    assert [q.text for q in alert.quotes if q.speaker == "customer"] == [
        "i wanted to ask about",
        "the charges on my bill from",
    ]


def test_the_agent_taking_the_turn_in_a_pause_is_not_an_interruption() -> None:
    events = [
        *opening(),
        *say("customer", "i wanted to ask about the charges", 4.0, 6.0),
        *say("agent", AGENT, 6.6, 10.0),
        *say("customer", "on my bill", 10.5, 11.2),
    ]
    assert alerts(play(detector(), events, end_s=12.0)) == []


def test_mono_calls_never_fire() -> None:
    events = [
        *say("mixed", "hi yes im calling about my last bill because", 0.5, 4.6),
        *say("mixed", AGENT, 4.0, 8.0),
    ]
    assert alerts(play(detector(), events, end_s=9.0)) == []


def test_ordinals() -> None:
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101)] == [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
        "101st",
    ]


def test_backchannels_and_their_asr_slips_are_told_from_turns() -> None:
    for text in (
        "mhm",
        "mhmm",
        "mm them",
        "am hm",
        "i'm hm",
        "yeah right",
        "all right",
        "i see",
        "make sense",
        "oh okay",
        "ah",
    ):
        assert is_backchannel(text), text
    for text in ("no", "wait", "does that make sense", "i moved house last month", "yeah but the bill"):
        assert not is_backchannel(text), text


def test_both_starting_at_once_is_nobodys_fault() -> None:
    events = [
        *opening(),
        *say("customer", "and then the engineer came out and said the box was fine", 4.5, 8.5),
        *say("agent", "so the next step will be to book another engineer visit", 4.7, 8.0),
    ]
    assert alerts(play(detector(), events, end_s=9.0)) == []


def test_an_agents_mhm_then_a_reply_once_the_customer_finished_is_not_an_interruption() -> None:
    events = [
        *opening(),
        *say("customer", "so i moved house in march and updated my address online but", 4.0, 8.0),
        *say("agent", "mhm", 6.0, 6.4),
        *say("customer", "the letters keep going to my old place", 8.3, 10.5),
        *say("agent", "i can fix that for you now", 10.6, 12.5),  # 0.1 s after: quick, not over
    ]
    assert alerts(play(detector(), events, end_s=13.0)) == []


def test_the_customers_voice_echoed_on_the_agents_line_is_not_the_agent_talking() -> None:
    said = "and then the engineer came out and said the box was fine but it still"
    echo = Transcript("agent", "the engineer came out and said", 5.0, 7.5, True)
    customer_words = final("customer", said, 4.0, 10.0).words
    echoed = tuple(w for w in customer_words if 4.9 <= w.start_s <= 7.5)
    events = [
        *opening(),
        *say("customer", said, 4.0, 10.0),
        Speech("agent", 4.9),
        replace(echo, start_s=echoed[0].start_s, end_s=echoed[-1].end_s, words=echoed),
        Speech("agent", 4.9, 7.5),
    ]
    assert alerts(play(detector(), events, end_s=11.0)) == []


def test_talking_over_a_long_line_waits_for_the_customers_words() -> None:
    # The customer goes on for 7 s after the agent came in: their final, the words, comes at 14.6.
    said = "and then the engineer came out and said the box was fine but it still keeps dropping every night"
    events = [
        *opening(),
        *say("customer", said, 4.0, 14.0),
        *say("agent", "right so the next step will be to book another engineer visit", 7.0, 11.0),
    ]
    out = fired(play(detector(), events, end_s=16.0))
    assert [e.alert.title for e in out] == ["Talked over the customer at 00:07"]
    assert out[0].at_s == 14.6
