"""FrustrationDetector: a frustrated customer, and whether the agent's next turn names the feeling."""

from __future__ import annotations

import pytest

from callcoach.detectors.bad_news import BadNewsDetector
from callcoach.detectors.config import DetectorConfig
from callcoach.detectors.frustration import COLD, PRAISE, FrustrationDetector
from callcoach.detectors.frustration_table import TABLE
from callcoach.live.events import Event, Speaker
from tests.detectors.detector_timeline import Emitted, alerts, play, say

BUSINESS = "okay can i have your account number please"
DE_ESCALATE = "i can hear how frustrating this has been and i'm going to fix it now"


def run(events: list[Event], end_s: float = 30.0) -> list[Emitted]:
    return play(FrustrationDetector(DetectorConfig()), events, end_s)


def said_then_reply(
    line: str, reply: str, customer: Speaker = "customer", agent: Speaker = "agent"
) -> list[Event]:
    return [*say(customer, line, 1.0, 4.0), *say(agent, reply, 5.0, 8.0), *say(customer, "fine", 9.0, 9.5)]


FRUSTRATED = [
    ("this is the third time i've called about this", "repeat"),
    ("this isnt a third time i told him out nice", "repeat"),  # Vosk on espeak's "third time I've called"
    ("call you four times this week and nobody does fixed it", "repeat"),
    ("every time i ring you i get a different answer", "repeat"),
    ("i've explained this three times already", "repeat"),
    ("i keep getting passed from one department to another", "repeat"),
    ("we're going round in circles here", "repeat"),
    ("honestly this is ridiculous", "anger"),
    ("the fleet is ridiculous", "anger"),
    ("that is completely unacceptable", "anger"),
    ("i'm absolutely fed up with the lot of you", "anger"),
    ("i'm really annoyed about this", "anger"),
    ("your service is useless", "anger"),
    ("this is a complete joke", "anger"),
    ("what a waste of my time", "anger"),
    ("that's just not good enough", "anger"),
    ("you're not listening to me", "anger"),
    ("i want to speak to a manager", "manager"),
    ("they want to speak to him manager", "manager"),
    ("can you put me through to your supervisor please", "manager"),
    ("i'd like to talk to someone more senior", "manager"),
    ("i want this escalated, escalate it now", "manager"),
    ("if this isn't sorted today i'm going to cancel my contract", "threat"),
    ("i'll be taking my business elsewhere", "threat"),
    ("the be taking my business elsewhere", "threat"),
    ("i'm going to make a formal complaint", "threat"),
    ("i'm thinking of switching to another provider", "threat"),
    ("i'll be reporting this to the ombudsman", "threat"),
    ("i'll never use this company again", "threat"),
    ("i'm leaving you a one star review", "threat"),
    ("i've been on hold for forty five minutes", "waiting"),
    ("been on hold for forty five minutes", "waiting"),
    ("i'm sick of this hold music", "waiting"),
    ("i've been waiting for weeks for this refund", "waiting"),
    ("how much longer do i have to wait", "waiting"),
    ("it still hasn't been fixed", "unresolved"),
    ("you promised me a call back and nobody called", "unresolved"),
    ("the engineer never turned up", "unresolved"),
    ("nobody ever call me back when they say they will", "unresolved"),  # Vosk: "nobody ever calls..."
    ("you told me last week it will be fixed and it feel even", "unresolved"),
    ("run you locked five times now and i'm still no further forward", "repeat"),  # "I've rung you lot..."
    ("it really single time ipo hope i get to do something different", "repeat"),  # "every single time..."
    ("in am a supervisor i can't speak to", "manager"),  # "is there a supervisor I can speak to"
    ("that's me someone who actually knows what are doing", "manager"),
    ("if you can't sort it out i'm leaving for another reminder", "threat"),  # "...another provider"
    ("i've been waiting since nine this morning for someone to pick up", "waiting"),
    ("why is it so hard to get a straight answer from you people", "anger"),
    ("i'm not happy at all with how this has been handled", "anger"),
    ("are you kidding me", "anger"),
    ("this is doing my head in", "anger"),
    ("how many times do i have to tell you", "repeat"),
    ("i've been fobbed off again", "repeat"),
    ("i'm going to take this further", "threat"),
    ("who's in charge there", "manager"),
    ("if this isn't sorted today i'm cancelling every policy i have with you", "threat"),
    ("and if it's not fixed by friday i'm switching", "threat"),
    ("i've been stuck with this bloody thing for ages", "anger"),
    ("what the hell is going on over there", "anger"),
    ("ten days for one suitcase and i'll never fly with you again", "threat"),
    ("we won't be booking through you again", "threat"),
    ("and if this isn't that today i'm cancelling every policy i have with you", "threat"),  # "...sorted..."
    ("so i'm closing all the accounts i have with you", "threat"),
    ("it's the third time i toiled i'm out my food case", "repeat"),  # "...I've called about my suitcase"
    ("that's the fourth time this month", "repeat"),
    ("this is my fourth time i've run you about my windscreen claim", "repeat"),  # "...I've rung about"
    ("it's been ten days live in a complete joke", "anger"),  # "...ten days. This is a complete joke"
]


@pytest.mark.parametrize(("line", "kind"), FRUSTRATED)
def test_frustration_met_with_business_is_coached(line: str, kind: str) -> None:
    [alert] = alerts(run(said_then_reply(line, BUSINESS)))
    assert (alert.kind, alert.polarity, alert.speaker) == (COLD, "coach", "agent")
    assert [q.speaker for q in alert.quotes] == ["customer", "agent"]
    assert (alert.quotes[0].text, alert.quote) == (line, BUSINESS)
    found = TABLE.classify(line)
    assert found is not None and found.name == kind
    assert found.acknowledge in alert.suggestion and found.take_on in alert.suggestion


def test_the_suggestion_fits_what_the_customer_said() -> None:
    repeat = alerts(run(said_then_reply("this is the third time i've called", BUSINESS)))[0]
    manager = alerts(run(said_then_reply("get me your manager", BUSINESS)))[0]
    assert "call about this again" in repeat.suggestion and "having to call again" in repeat.why
    assert "get a manager for you" in manager.suggestion and "asking for a manager" in manager.why


DE_ESCALATIONS = [
    DE_ESCALATE,
    "the can hear how frustrating this has been and im going to fix it out",  # Vosk's slips
    "i completely understand your frustration",
    "so sorry you had to call us again",
    "you have every right to be upset that shouldn't have happened",
    "i'd be annoyed too if i were you",
    "you're absolutely right, that's not good enough",
    "i'm really sorry for all the trouble this has caused",
    "i sincerely apologise, we've let you down",
    "that sounds so frustrating",
    "i hear you, and you shouldn't have had to wait that long",
    "the understand how annoying that must be",  # Vosk: "I understand how annoying that must be"
    "completely that's why you're upset",  # Vosk: "I completely get why you're upset"
    "the be just as frustrated in europe and the asia",  # Vosk: "I'd be just as frustrated in your position"
    "the can see why you frustrated lately look into this",
    "no wonder you're annoyed",
    "i'm sorry to hear you've been going round in circles",
    "i know this has been a nightmare for you",
    "it's completely understandable that you're upset",
    "two weeks of that while you're trying to work how it really frustrating",  # "...sounds really..."
    "i'm so sorry losing a gave word for nothing is really frustrating",  # "...a day's work for nothing"
]


@pytest.mark.parametrize("reply", DE_ESCALATIONS)
def test_naming_the_feeling_earns_praise(reply: str) -> None:
    [alert] = alerts(run(said_then_reply("this is ridiculous, third time i've called", reply)))
    assert (alert.kind, alert.polarity, alert.quote) == (PRAISE, "praise", reply)
    assert "having to call again" in alert.why


COLD_APOLOGIES = [
    "i'm sorry for the wait can i take your account number",  # the formula everyone says
    "i apologise for the inconvenience what's the postcode",
    "i understand but there's nothing i can do about it",  # the "but" takes it back
    "sorry about that but you'll need to call the other team",
]


@pytest.mark.parametrize("reply", COLD_APOLOGIES)
def test_a_formula_or_an_apology_with_but_is_still_business(reply: str) -> None:
    [alert] = alerts(run(said_then_reply("i've been on hold for an hour this is ridiculous", reply)))
    assert alert.kind == COLD


LOOK_ALIKES = [
    "i'd like to cancel the old card",
    "can you cancel my direct debit please",
    "my supervisor at work needs a letter from you",
    "i need to talk to my manager before i sign",
    "this is the first time i've called",
    "hold on a second let me find it",
    "i'm not upset at all, thanks",
    "i lost my card",
    "my dad passed away last week",
    "i want to check my balance",
    "you said it would take five days, that's fine",
    "i paid it by accident",
    "i'm done with this form, what's next",
    "i'm not happy to give my card number over the phone",
    "i'm moving to a different address next month",
    "my order hasn't arrived yet",
    "and what happens to monument damn it is unfair account",  # Vosk: "...the direct debits on her account"
    "damn it i've left the letter upstairs, one moment",
    "if it isn't working tomorrow can i call you back",
    "i've never flown with you before, is the bag allowance per person",
    "it's the second time slot on the form, the afternoon one",
    "i need to close all my late husband's accounts",
    "can i move all my direct debits to the new account",
]


@pytest.mark.parametrize("line", LOOK_ALIKES)
def test_look_alikes_are_not_frustration(line: str) -> None:
    assert run(said_then_reply(line, BUSINESS)) == []


def test_sick_of_the_hold_music_is_frustration_not_illness() -> None:
    events = said_then_reply("i'm sick of this hold music", BUSINESS)
    assert [a.kind for a in alerts(run(events))] == [COLD]
    assert play(BadNewsDetector(DetectorConfig()), events, 30.0) == []


@pytest.mark.parametrize(
    "reply", ["let me sort this out for you myself", "let me fix this for you right now", "i'll handle it"]
)
def test_taking_it_on_without_naming_the_feeling_is_neither(reply: str) -> None:
    events = said_then_reply("this is the third time i've called", reply)
    assert run(events) == []


def test_frustration_said_by_the_agent_or_on_a_mono_call_does_not_count() -> None:
    assert run(said_then_reply("this is ridiculous", BUSINESS, customer="agent", agent="customer")) == []
    assert run(said_then_reply("this is ridiculous", BUSINESS, customer="mixed", agent="mixed")) == []


def test_one_verdict_per_show_of_frustration_and_later_ones_are_judged_again() -> None:
    events = [
        *say("customer", "i've been on hold for an hour", 1.0, 3.0),
        *say("customer", "and it's still not fixed", 3.5, 5.0),  # same turn: one verdict
        *say("agent", DE_ESCALATE, 6.0, 10.0),
        *say("customer", "well i want to speak to a manager", 11.0, 13.0),
        *say("agent", BUSINESS, 14.0, 16.0),
    ]
    out = alerts(run(events))
    assert [(a.id, a.kind) for a in out] == [(f"{PRAISE}-1", PRAISE), (f"{COLD}-1", COLD)]
    said = ["i've been on hold for an hour", "and it's still not fixed"]
    assert [q.text for q in out[0].quotes[:2]] == said
    assert "asking for a manager" in out[1].why


def test_a_short_reply_is_judged_when_the_customer_speaks_again() -> None:
    events = [*say("customer", "this is unacceptable", 1.0, 3.0), *say("agent", "right", 4.0, 4.3)]
    events += say("agent", "what's the postcode", 5.0, 6.0)
    events += say("customer", "are you even listening", 7.0, 8.5)
    [alert] = alerts(run(events))
    assert (alert.kind, alert.quote, alert.detected_s) == (COLD, "right ... what's the postcode", 7.0)
    assert alert.pause_s == 1.0


def test_an_acknowledgement_split_across_finals_is_still_praise() -> None:
    events = [
        *say("customer", "this is the third time i've called", 1.0, 3.0),
        *say("agent", "i can hear how", 4.0, 5.0),
        *say("agent", "frustrating this has been", 5.6, 7.0),
    ]
    [alert] = alerts(run(events))
    assert (alert.kind, alert.quote) == (PRAISE, "i can hear how ... frustrating this has been")
    assert [q.speaker for q in alert.quotes] == ["customer", "agent", "agent"]
