"""OwnershipDetector: the agent committing to act personally, praised without flooding the call."""

from __future__ import annotations

import pytest

from callcoach.detectors.config import DetectorConfig
from callcoach.detectors.ownership import KIND, OwnershipDetector
from callcoach.live.events import Event, Speaker
from tests.detectors.detector_timeline import Emitted, alerts, play, say

ASK = "my refund still hasn't come through"


def run(events: list[Event], end_s: float = 30.0) -> list[Emitted]:
    return play(OwnershipDetector(DetectorConfig()), events, end_s)


def ask_then(reply: str, customer: Speaker = "customer", agent: Speaker = "agent") -> list[Event]:
    return [*say(customer, ASK, 1.0, 3.0), *say(agent, reply, 4.0, 7.0)]


COMMITMENTS = [
    "i'll take care of this for you",
    "the will take care of this for you my sale",  # Vosk on espeak's "I'll take care of this for you myself"
    "i'll call you back by four o'clock today",
    "the will call you back by four o'clock today",
    "let me sort this out for you myself",
    "they have to be sort this out for you my sale",
    "i'm going to personally make sure your refund goes through",
    "the going to personally make sure this get done",
    "i will chase the warehouse and ring you back tomorrow",
    "leave it with me",
    "i'll make sure it's fixed before friday",
    "i can take care of that for you",
    "i'll keep you updated every step of the way",
    "i'll follow this up myself",
    "will sort this out for you today",  # Vosk: "I'll sort this out for you today"
    "the going to handle this personally from here",
    "the get this fixed for you right now",
    "i promise i'll tell you this up my sale",  # Vosk: "I promise I'll chase this up myself"
    "thank you i'll call you back tomorrow",
    "i promise you i'll ring the warehouse",
    "will make sure the engineer in booked for thursday",
    "i'm going to stay on this until it's resolved",
    "i'll take it from here",
    "i'll get you an answer by tomorrow",
    # The work said to be the agent's own, with Vosk's usual losses of the "I'll" in front of it:
    "i'll send it to the underwriter myself now",
    "i bought the engineer myself for eight tomorrow morning",  # "I'll book the engineer myself..."
    "and i reopened the claim myself right now",  # "Then I'll reopen the claim myself right now"
    "yes i post the new sim myself tonight",  # "Yes. I'll post the new SIM myself tonight"
    "and loyal sort out your compensation claim myself",  # "and I'll sort out your compensation claim..."
    "or your fans of a hardship plan for your myself today",  # "I'll set up a hardship plan for you..."
    "i'll send you the claim form today",
    "i'll send you have a claim form today",  # Vosk on the line above
    "i'll email you a decision by thursday",
    "i'm going to post you the new card within two working days",
]


@pytest.mark.parametrize("reply", COMMITMENTS)
def test_personal_commitments_are_praised(reply: str) -> None:
    [alert] = alerts(run(ask_then(reply)))
    assert (alert.kind, alert.polarity, alert.speaker, alert.quote) == (KIND, "praise", "agent", reply)
    assert [(q.speaker, q.text) for q in alert.quotes] == [("customer", ASK), ("agent", reply)]
    assert (alert.start_s, alert.end_s, alert.detected_s) == (4.0, 7.0, 7.0)


NOT_OWNERSHIP = [
    "i'll need your account number",
    "you'll need your account number please",
    "i'll transfer you to the right department",
    "let me put you through to the team who can sort it out",
    "the engineer will take care of it tomorrow",
    "we will call you back within five working days",
    "i can't sort that out for you today",
    "i'm afraid i won't be able to fix that",
    "would you like me to fix that for you",
    "you will need to sort it out with your bank",
    "let me check that for you",
    "i'll just need to take some details",
    "take care of yourself and call me whenever you're ready",
    "i'll email you the form",
    "i'll update your address now",
    "i'll just make sure i have the right address",
    "let me make sure the details are correct",
    # An offer to act, said as often before a routine step as before a fix: not yet the agent's own.
    "let me fix this for you right now",
    "i'd be annoyed too let me sort that out for you",
    # "Myself" that is not the agent taking the work on: what they can do, what they went through.
    "i can help you myself right now",
    "i can tell your myself right now",  # Vosk on the line above
    "i had the same problem with my boiler myself",
    "let me introduce myself i'm josh from the claims team",
    "i was a bit confused by that letter myself",
    "i promise you it won't cost you anything",  # an assurance of the outcome, not a promise to act
    "i promise that the engineer is fully qualified",
    "i'll send you the form now",  # a routine step, with no time to hold the agent to
    "i'll send the details by email",
]


@pytest.mark.parametrize("reply", NOT_OWNERSHIP)
def test_routine_steps_and_other_peoples_work_are_not_ownership(reply: str) -> None:
    assert run(ask_then(reply)) == []


def test_a_customer_or_a_mono_call_promising_does_not_count() -> None:
    assert run(ask_then("i'll take care of it", customer="agent", agent="customer")) == []
    assert run(ask_then("i'll take care of it", customer="mixed", agent="mixed")) == []


def test_praise_says_when_or_suggests_saying_it() -> None:
    [timed] = alerts(run(ask_then("i'll call you back by four o'clock today")))
    [untimed] = alerts(run(ask_then("i'll take care of this for you")))
    assert "and when" in timed.suggestion and "by four" not in timed.suggestion
    assert "Saying when" in untimed.suggestion and "by four today" in untimed.suggestion


def test_a_commitment_split_across_finals_is_read_across_them() -> None:
    events = [
        *say("customer", ASK, 1.0, 3.0),
        *say("agent", "okay i'll take care", 4.0, 5.0),
        *say("agent", "of this for you", 5.5, 7.0),
    ]
    [alert] = alerts(run(events))
    assert alert.quote == "okay i'll take care of this for you"
    assert (alert.start_s, alert.end_s) == (4.0, 7.0)


def test_once_per_exchange_and_three_times_a_call() -> None:
    events: list[Event] = []
    for minute in range(10):  # a commitment, then the customer answers it, every minute for ten minutes
        events += say("agent", "i'll take care of that for you", minute * 60.0 + 1.0, minute * 60.0 + 3.0)
        events += say("customer", "thank you that's great", minute * 60.0 + 4.0, minute * 60.0 + 5.0)
    out = alerts(run(events, end_s=600.0))
    assert [a.start_s for a in out] == [1.0, 61.0, 121.0]
    assert [a.id for a in out] == [f"{KIND}-1", f"{KIND}-2", f"{KIND}-3"]


def test_a_second_commitment_in_one_exchange_is_the_same_moment() -> None:
    events = [
        *say("customer", ASK, 1.0, 3.0),
        *say("agent", "i'm going to look into it myself right now", 4.0, 7.0),
        *say("customer", "mhm", 7.5, 7.8),  # a backchannel is not an answer
        *say("agent", "and i'll ring you back by four", 8.5, 10.0),
        *say("customer", "so it was your mistake", 20.0, 22.0),
        *say("agent", "it was and i'll send you a new bill myself today", 23.0, 26.0),
    ]
    out = alerts(run(events, end_s=40.0))
    assert [a.start_s for a in out] == [4.0, 23.0]


def test_a_customer_line_begun_before_the_praise_is_not_an_answer_to_it() -> None:
    events = [
        *say("customer", "my refund still hasn't come through and i need it", 1.0, 6.0),
        *say("agent", "i'll take care of that for you", 4.0, 5.0),  # said over them; their final comes later
        *say("agent", "and i'll ring you back by four", 7.0, 9.0),
    ]
    assert [a.start_s for a in alerts(run(events))] == [4.0]
