"""The rule detector on hand-built timelines: "said" at its moment, "missing" as its window closes (or at
the call's end), phrases across a split final, the speaker filter and mono calls."""

from __future__ import annotations

from callcoach.detectors.rule_detector import RuleDetector
from callcoach.detectors.rules import RuleSet, parse_rules
from callcoach.live.events import CallStarted, Event, Speech
from tests.detectors.detector_timeline import Emitted, final, play, say
from tests.helpers.rules import disclosure, rule


def calm(**fields: object) -> str:
    """The calm-down rule, hearing "settle down" too."""
    return rule(**{"say": ["calm down", "settle down"], **fields})


CALM = calm()
DISCLOSURE = disclosure()
CLOSING = rule(
    name="anything_else",
    speaker="any",
    say=["anything else"],
    when="missing",
    polarity="praise",
    title="Never offered more help",
    why="x",
    suggestion="y",
)


def rules(*texts: str) -> RuleSet:
    return parse_rules("".join(texts))


def run(rule_text: str, events: list[Event], end_s: float) -> list[Emitted]:
    return play(RuleDetector(rules(rule_text)), events, end_s)


def test_said_fires_when_its_final_arrives_quoting_the_phrase_with_its_time() -> None:
    events = [
        *say("customer", "this is the third time i have called", 1.0, 4.0),
        *say("agent", "ok sir please calm down and listen", 5.0, 8.5),
    ]
    (out,) = run(CALM, events, 12.0)
    alert = out.alert
    assert out.at_s == 9.1  # the final arrives 0.6 s after the line: the first tick after that
    assert (alert.kind, alert.rule, alert.polarity, alert.speaker) == ("rule", "calm_down", "coach", "agent")
    assert alert.id == "rule-calm_down-1" and alert.revision == 0
    assert alert.start_s == 6.5 and alert.end_s == 7.5  # "calm down": words 4 and 5 of 7 over 5.0-8.5
    assert alert.detected_s == 8.5
    assert alert.quote == "ok sir please calm down and listen"
    assert [q.speaker for q in alert.quotes] == ["agent"]
    assert (alert.title, alert.why, alert.suggestion) == (
        "Told the customer to calm down",
        "It makes people angrier.",
        "Name the feeling instead.",
    )


def test_said_fires_once_per_occurrence_and_once_per_line() -> None:
    events = [
        *say("agent", "calm down calm down", 1.0, 3.0),
        *say("agent", "please settle down", 10.0, 12.0),
    ]
    out = run(CALM, events, 15.0)
    seen = [(e.alert.id, e.alert.start_s) for e in out]
    assert seen == [("rule-calm_down-1", 1.0), ("rule-calm_down-2", 10.667)]


def test_said_matches_across_a_final_split_at_a_pause_once() -> None:
    events = [*say("agent", "can you please calm", 1.0, 3.0), *say("agent", "down a little", 3.8, 5.0)]
    (out,) = run(CALM, events, 8.0)
    assert out.alert.start_s == 2.5 and out.alert.end_s == 4.2
    assert out.alert.quote == "can you please calm ... down a little"
    assert [q.text for q in out.alert.quotes] == ["can you please calm", "down a little"]


def test_no_join_across_a_long_gap() -> None:
    events = [*say("agent", "can you please calm", 1.0, 3.0), *say("agent", "down a little", 9.0, 10.0)]
    assert run(CALM, events, 12.0) == []


def test_the_speaker_filter() -> None:
    events = [*say("customer", "calm down i am perfectly calm", 1.0, 4.0)]
    assert run(CALM, events, 6.0) == []
    anyone = calm(speaker="any")
    (out,) = run(anyone, events, 6.0)
    assert out.alert.speaker == "customer"


def test_mono_calls_apply_only_any_rules() -> None:
    events = [*say("mixed", "please calm down", 1.0, 3.0)]
    assert run(CALM, events, 6.0) == []
    anyone = calm(speaker="any")
    (out,) = run(anyone, events, 6.0)
    assert out.alert.speaker == "mixed"
    # A "missing" agent rule is not judged on a mono call either: nobody is known to be the agent.
    assert run(DISCLOSURE, [*say("mixed", "hello there", 1.0, 2.0)], 40.0) == []


def test_missing_fires_on_the_tick_at_which_the_window_closes() -> None:
    events = [
        *say("agent", "thank you for calling this is sam", 0.5, 3.0),
        *say("customer", "hi i have a question", 4.0, 6.0),
    ]
    (out,) = run(DISCLOSURE, events, 45.0)
    alert = out.alert
    assert out.at_s == 30.0 and alert.detected_s == 30.0
    assert (alert.start_s, alert.end_s, alert.speaker) == (0.0, 30.0, "agent")
    assert alert.rule == "recording_disclosure"
    assert alert.quote == "thank you for calling this is sam"  # what the agent said in the window instead


def test_missing_is_satisfied_by_a_phrase_in_the_window_even_split() -> None:
    events = [*say("agent", "hello this call may", 0.5, 2.0), *say("agent", "be recorded", 2.5, 3.5)]
    assert run(DISCLOSURE, events, 45.0) == []


def test_a_phrase_after_the_window_does_not_count() -> None:
    events = [*say("agent", "this call may be recorded", 31.0, 33.0)]
    (out,) = run(DISCLOSURE, events, 45.0)
    assert out.at_s == 30.0


def test_missing_waits_for_a_sentence_going_on_as_the_window_closes() -> None:
    # The disclosure starts at 28 s and ends at 31 s; its final comes at 31.6 s. No alert at 30 s.
    events = [*say("agent", "this call may be recorded for quality", 28.0, 31.0)]
    assert run(DISCLOSURE, events, 45.0) == []
    # The same sentence without the phrase: judged once its final is in.
    (out,) = run(DISCLOSURE, [*say("agent", "let me just look up your account", 28.0, 31.0)], 45.0)
    assert out.at_s == 31.6 and out.alert.end_s == 30.0 and out.alert.detected_s == 31.6


def test_missing_does_not_wait_forever_for_speech_that_never_gets_words() -> None:
    events: list[Event] = [Speech("agent", 25.0), Speech("agent", 25.0, 35.0)]  # a noise, no final
    (out,) = run(DISCLOSURE, events, 60.0)
    assert out.at_s == 40.0


def test_a_call_that_ends_before_the_window_closes_is_judged_at_its_end() -> None:
    (out,) = run(DISCLOSURE, [*say("agent", "hello", 0.5, 1.0)], 20.0)
    assert out.at_s == 20.0 and out.alert.end_s == 20.0 and out.alert.detected_s == 20.0


def test_a_call_that_ends_before_the_window_opens_is_not_judged() -> None:
    late = disclosure(within_s=[60, 90])
    assert run(late, [*say("agent", "hello", 0.5, 1.0)], 20.0) == []


def test_no_window_is_judged_at_the_end_of_the_call() -> None:
    (out,) = run(CLOSING, [*say("agent", "goodbye", 1.0, 2.0)], 50.0)
    assert out.at_s == 50.0 and (out.alert.start_s, out.alert.end_s) == (0.0, 50.0)
    assert out.alert.polarity == "praise" and out.alert.speaker is None
    assert run(CLOSING, [*say("customer", "is there anything else", 1.0, 2.0)], 50.0) == []


def test_rules_are_independent_and_come_out_in_file_order() -> None:
    detector = RuleDetector(rules(CALM, DISCLOSURE))
    out = play(detector, [*say("agent", "calm down", 1.0, 2.0)], 40.0)
    assert [e.alert.rule for e in out] == ["calm_down", "recording_disclosure"]


def test_a_final_without_word_times_still_matches() -> None:
    detector = RuleDetector(rules(CALM))
    detector.feed(CallStarted("c", "test", "", ("agent", "customer")))
    line = final("agent", "calm down", 1.0, 2.0)
    (alert,) = detector.feed(type(line)("agent", "Calm down!", 1.0, 2.0, final=True))
    assert (alert.start_s, alert.end_s) == (1.0, 2.0)


def test_said_with_a_window_counts_only_phrases_starting_inside_it() -> None:
    early = calm(within_s=[0, 10])
    events = [*say("agent", "calm down", 2.0, 3.0), *say("agent", "calm down", 12.0, 13.0)]
    (out,) = run(early, events, 20.0)
    assert out.alert.start_s == 2.0
