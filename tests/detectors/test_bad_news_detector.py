"""BadNewsDetector: one verdict per piece of the customer's bad news, on the agent's next turn."""

from __future__ import annotations

import pytest

from callcoach.detectors.bad_news import COLD, EMPATHY, BadNewsDetector
from callcoach.detectors.bad_news_table import TABLE
from callcoach.detectors.config import DetectorConfig
from callcoach.live.events import Event, Speaker
from tests.detectors.detector_timeline import Emitted, alerts, play, say

COLD_REPLY = "well if you can get those docs in to me this week we'll be able to move forward"
WARM_REPLY = "oh no i'm so sorry to hear that please know the documents are secondary"


def run(events: list[Event], end_s: float = 40.0) -> list[Emitted]:
    return play(BadNewsDetector(DetectorConfig()), events, end_s)


def seed_call(reply: str) -> list[Event]:
    """The mission's example: documents asked for, a bereavement, 5.5 s of silence, then the reply."""
    return [
        *say("agent", "so we will need those documents from you to move forward", 0.5, 3.5),
        *say("customer", "I know you said you needed those documents but, well,", 4.0, 6.5),
        *say("customer", "my uncle just passed away unexpectedly", 7.0, 9.0),
        *say("customer", "Can I get them to you this week?", 9.5, 11.5),
        *say("agent", reply, 17.0, 21.0),
        *say("customer", "okay thank you", 22.0, 23.0),
    ]


def news_then_reply(
    news: str, reply: str, customer: Speaker = "customer", agent: Speaker = "agent"
) -> list[Event]:
    return [*say(customer, news, 1.0, 4.0), *say(agent, reply, 5.0, 8.0), *say(customer, "alright", 9.0, 9.5)]


def test_seed_call_cold_reply_is_coached_with_both_quotes() -> None:
    [alert] = alerts(run(seed_call(COLD_REPLY)))
    assert (alert.id, alert.revision, alert.kind, alert.polarity) == (f"{COLD}-1", 0, COLD, "coach")
    assert alert.speaker == "agent"
    assert [q.speaker for q in alert.quotes] == ["customer", "customer", "customer", "agent"]
    assert "passed away" in alert.quotes[1].text
    assert alert.quotes[-1].text == COLD_REPLY
    assert (alert.quotes[-1].start_s, alert.quotes[-1].end_s) == (17.0, 21.0)
    assert alert.pause_s == 5.5
    assert (alert.start_s, alert.end_s) == (17.0, 21.0)  # the moment is the reply
    assert alert.quote == COLD_REPLY
    assert alert.detected_s == 21.0  # a long reply with no acknowledgement: judged at its end
    assert "so sorry" in alert.suggestion
    assert "The documents can wait." in alert.suggestion
    assert any("passed away" in q.text for q in alert.quotes)
    assert "death in the family" in alert.why and "5.5 s" in alert.why


def test_seed_call_warm_reply_is_praised() -> None:
    [alert] = alerts(run(seed_call(WARM_REPLY)))
    assert (alert.kind, alert.polarity, alert.id) == (EMPATHY, "praise", f"{EMPATHY}-1")
    assert alert.quote == WARM_REPLY
    assert alert.quotes[-1].speaker == "agent"
    assert alert.pause_s == 5.5
    assert alert.detected_s == 21.0


BAD_NEWS = [
    ("my father passed away last month", "bereavement"),
    ("my father past away", "bereavement"),
    ("my until just passed away", "bereavement"),
    ("we had a death in the family", "bereavement"),
    ("my mom died on tuesday", "bereavement"),
    ("i lost my husband in march", "bereavement"),
    ("the funeral is on friday", "bereavement"),
    ("i was diagnosed with cancer", "illness"),
    ("my wife is really sick", "illness"),
    ("he starts chemo next week", "illness"),
    ("my mom is in the hospitals", "hospital"),
    ("my son is in the i c u", "hospital"),
    ("she was rushed to the emergency room", "hospital"),
    ("i was in a car accident", "accident"),
    ("i got injured at work", "accident"),
    ("the lost my job last week", "job_loss"),
    ("i got laid off", "job_loss"),
    ("i was made redundant", "job_loss"),
    ("we're going through a divorce", "separation"),
    ("there was a house fire", "home"),
    ("we're being evicted", "home"),
    ("i can't afford it anymore", "hardship"),
]


@pytest.mark.parametrize(("news", "category"), BAD_NEWS)
def test_bad_news_phrasings_are_detected(news: str, category: str) -> None:
    [alert] = alerts(run(news_then_reply(news, "can i have your account number please")))
    assert alert.kind == COLD
    assert alert.quotes[0].text == news
    found = TABLE.classify(news)
    assert found is not None and found.name == category


ACKNOWLEDGEMENTS = [
    "oh no i'm so sorry to hear that",
    "im so sorry",
    "i'm very sorry for your loss",
    "oh dear",
    "my condolences",
    "that's terrible",
    "that must be really hard",
    "i can't imagine",
    "take your time",
    "there's no rush with any of this",
    "please don't worry about the payment",
    "sorry to hear that",
]


@pytest.mark.parametrize("reply", ACKNOWLEDGEMENTS)
def test_acknowledgements_earn_praise(reply: str) -> None:
    [alert] = alerts(run(news_then_reply("my dad passed away", reply)))
    assert (alert.kind, alert.quote) == (EMPATHY, reply)


NEUTRAL = [
    "i'd like to check my balance",
    "the job is done",
    "sorry i missed your call",
    "my phone died earlier",
    "can i get a breakdown of my bill",
    "you're breaking up a little",
    "i paid it by accident",
    "i'll call back tomorrow",
    "i'm sick of waiting on hold",
    "i lost my card",
]


@pytest.mark.parametrize("line", NEUTRAL)
def test_neutral_calls_give_nothing(line: str) -> None:
    assert run(news_then_reply(line, "sure let me look into that for you right away")) == []


def test_acknowledgement_in_a_customer_line_does_not_count() -> None:
    events = news_then_reply(
        "my dad passed away last week im sorry to bring it up", "what is your account number"
    )
    assert [a.kind for a in alerts(run(events))] == [COLD]


def test_bad_news_said_by_the_agent_does_not_count() -> None:
    events = news_then_reply("my manager was in a car accident", "okay", customer="agent", agent="customer")
    assert run(events) == []


def test_mixed_speaker_calls_give_none() -> None:
    events = news_then_reply("my father passed away", COLD_REPLY, customer="mixed", agent="mixed")
    assert run(events) == []


def test_short_reply_is_judged_when_the_customer_speaks_again() -> None:
    events = [*say("customer", "i lost my job", 1.0, 3.0), *say("agent", "noted", 4.0, 4.5)]
    events += say("customer", "so can i pay later", 4.7, 6.0)  # starts before the agent's final arrives
    [alert] = alerts(run(events))
    assert alert.kind == COLD
    assert alert.detected_s == 4.7
    assert "payment" not in alert.suggestion and "Let's look at what options" in alert.suggestion


def test_short_reply_then_acknowledgement_in_the_same_turn_is_praise() -> None:
    events = [*say("customer", "my wife has cancer", 1.0, 3.0), *say("agent", "right", 4.0, 4.3)]
    events += say("agent", "oh i'm so sorry", 5.0, 6.0)
    assert [a.kind for a in alerts(run(events))] == [EMPATHY]


def test_backchannel_over_the_customer_is_not_the_reply() -> None:
    events = [
        *say("customer", "my mother died last week", 1.0, 3.0),
        *say("agent", "mhm", 3.5, 3.8),
        *say("customer", "and i need more time for the payment", 4.0, 7.0),
        *say("agent", "the payment is due on friday regardless", 8.0, 10.0),
    ]
    [alert] = alerts(run(events))
    assert alert.kind == COLD
    assert alert.quotes[-1].text == "the payment is due on friday regardless"
    assert alert.pause_s == 1.0
    assert "The payment can wait." in alert.suggestion


def test_pending_short_reply_is_judged_when_the_call_ends() -> None:
    events = [*say("customer", "my dad is in the hospital", 1.0, 3.0), *say("agent", "i see", 4.0, 4.5)]
    [emitted] = run(events, end_s=8.0)
    assert (emitted.alert.kind, emitted.alert.detected_s, emitted.at_s) == (COLD, 8.0, 8.0)


def test_no_reply_within_the_window_gives_no_verdict() -> None:
    events = [*say("customer", "my dad passed away", 1.0, 3.0), *say("agent", COLD_REPLY, 34.0, 38.0)]
    assert run(events, end_s=40.0) == []


def test_agent_speech_overlapping_the_news_is_not_the_reply() -> None:
    events = [
        *say("customer", "my dad passed away", 1.0, 3.0),
        *say("agent", "let me pull up your account", 2.0, 3.5),
        *say("agent", "oh i'm so sorry", 4.5, 5.5),
    ]
    assert [a.kind for a in alerts(run(events))] == [EMPATHY]


def test_an_agent_who_talked_over_the_news_and_was_answered_has_had_their_turn() -> None:
    events = [
        *say("customer", "but my husband is still in hospital and they said they sent it", 1.0, 5.0),
        *say("agent", "we have no record of it so you'd need to ask them to send it again", 4.3, 8.0),
        *say("customer", "and then what i wait another month", 8.7, 10.5),
        *say("agent", "once we receive it the claim is reviewed within fourteen days", 11.2, 14.5),
        *say("customer", "unbelievable goodbye", 15.2, 16.5),
    ]
    # The exchange moved on over the news (the interruption detector's moment): the agent's next line
    # answers the customer's question, not the news.
    assert run(events) == []


def test_news_told_again_after_the_talk_over_is_judged_on_its_own() -> None:
    events = [
        *say("customer", "my husband is still in hospital and", 1.0, 4.0),
        *say("agent", "can i take the policy number", 3.5, 5.5),
        *say("customer", "sorry as i said my husband is in hospital", 6.2, 8.5),
        *say("agent", COLD_REPLY, 9.2, 13.0),
    ]
    [alert] = alerts(run(events))
    assert (alert.kind, alert.start_s) == (COLD, 9.2)
    assert [q.text for q in alert.quotes] == ["sorry as i said my husband is in hospital", COLD_REPLY]


def test_a_phrase_split_across_finals_is_still_news() -> None:
    events = [
        *say("customer", "my uncle just", 1.0, 2.0),
        *say("customer", "passed", 2.8, 3.2),
        *say("agent", COLD_REPLY, 4.0, 8.0),
    ]
    [alert] = alerts(run(events))
    assert [q.text for q in alert.quotes] == ["my uncle just", "passed", COLD_REPLY]


def test_one_verdict_per_piece_of_news_and_later_news_is_judged_again() -> None:
    events = [
        *say("customer", "my mom passed away", 1.0, 3.0),
        *say("customer", "and then i lost my job", 3.5, 5.0),  # same turn: same piece of news
        *say("agent", "oh no i'm so sorry", 6.0, 7.0),
        *say("agent", "take all the time you need", 7.5, 9.0),
        *say("customer", "thanks and my house flooded too", 10.0, 12.0),
        *say("agent", COLD_REPLY, 13.0, 17.0),
    ]
    out = alerts(run(events))
    assert [(a.id, a.kind) for a in out] == [(f"{EMPATHY}-1", EMPATHY), (f"{COLD}-1", COLD)]
    assert out[1].quotes[0].text == "thanks and my house flooded too"


WIDER_NEWS = [
    ("my mother is dying, the doctors say she only has weeks left", "terminal"),
    ("my dad has terminal cancer and he's in a hospice", "terminal"),
    ("why not both terminal cancer and feeding off office", "terminal"),  # Vosk on the line above
    ("she's on end of life care now", "terminal"),
    ("my baby was born premature and she's in the nicu", "newborn"),
    ("my baby was born premature and cheating the nicu", "newborn"),
    ("the new born in in the of natal intensive care", "newborn"),  # Vosk: "our newborn is in neonatal..."
    ("the twins came seven weeks early and they're in an incubator", "newborn"),
    ("my son is in rehab for his drinking", "addiction"),
    ("my first one dismantling an addiction", "addiction"),  # Vosk: "my husband is battling an addiction"
    ("he relapsed last month", "addiction"),
    ("my daughter overdosed on saturday", "addiction"),
    ("i was mugged on the way home", "crime"),
    ("someone broke into our house and we were murdered", "crime"),  # Vosk: "...we were burgled"
    ("i think i might be pretty mom identity theft", "crime"),  # Vosk: "a victim of identity theft"
    ("there are fraudulent charges on my account", "crime"),
    ("one assaulted last week", "crime"),  # Vosk: "I was assaulted last week"
    ("my car was stolen from outside the house", "crime"),
    ("i've had to report it to the police", "crime"),
    ("i've had surgery on my knee and i'm still recovering", "illness"),
    ("the surgery on my knee and i'm still recovering", "illness"),
    ("i've not been very well lately", "illness"),
    ("i'm off work sick with pneumonia", "illness"),
    ("i had a heart attack in june", "illness"),
    ("i need to close my late father's account", "bereavement"),
    ("my husband finally died last night after a long illness", "bereavement"),
    ("i just had heart surgery and now i got a bill for the operation", "illness"),
    ("my husband was laid off in march", "job_loss"),
    ("they laid me off on friday", "job_loss"),
    ("i've been out of work since the summer", "job_loss"),
    ("my mother has been dying for months now", "terminal"),
    ("she's been dying for a long time and she's in a hospice", "terminal"),
]


@pytest.mark.parametrize(("news", "category"), WIDER_NEWS)
def test_wider_bad_news_is_detected_with_its_own_acknowledgement(news: str, category: str) -> None:
    [alert] = alerts(run(news_then_reply(news, "can i have your account number please")))
    found = TABLE.classify(news)
    assert found is not None and found.name == category
    assert alert.kind == COLD and found.label in alert.why and found.acknowledge in alert.suggestion


def test_each_category_has_its_own_acknowledgement() -> None:
    acknowledgements = [c.acknowledge for c in TABLE.categories]
    assert len(set(acknowledgements)) == len(acknowledgements)


WIDER_LOOK_ALIKES = [
    "i'm sick of this hold music",
    "my phone is dying",
    "i'm dying for a cup of tea",
    "the card terminal in the shop is broken",
    "is this a scam, this text i got",
    "i need an account recovery code",
    "can you cancel the old card",
    "okay eyes by injury e r",  # Vosk in a real recorded call about a train booking
    "i was really hurt by what your colleague said",
    "our old boiler finally died last month so money is tight",
    "i'm an old boiler finally died last month",  # Vosk on the line above
    "the fridge freezer suddenly died on us",
    "the washing machine has died again",
    "hi i got a statement for my knee surgery and i can't make sense of it",
    "why is there a charge for the surgery twice",
    "but the surgery was pre approved by my doctor",
    "they faxed the authorisation before the op",
    "i laid off for four to one",  # Vosk on a file reference, "L H R, four four two one"
    "i thought out of work that waiting for your engineer",  # Vosk: "I took a day off work to wait in..."
    "i'm dying to know what the new bill will be",
    "i'm dying for some good news today",
]


@pytest.mark.parametrize("line", WIDER_LOOK_ALIKES)
def test_wider_look_alikes_are_not_news(line: str) -> None:
    assert run(news_then_reply(line, "sure let me look into that for you right away")) == []


APOLOGY_THEN_BUSINESS = [
    "i'm sorry, but i'll need the certificate first",
    "i'm sorry but i need a certificate for",  # Vosk on the line above
    "sorry about that, but we need the payment by friday",
    "i understand, but the certificate is still needed",
]


@pytest.mark.parametrize("reply", APOLOGY_THEN_BUSINESS)
def test_sorry_but_is_a_cold_reply_and_the_suggestion_drops_the_but(reply: str) -> None:
    [alert] = alerts(run(news_then_reply("my husband passed away on monday", reply)))
    assert alert.kind == COLD
    assert '"but"' in alert.why
    assert "but" not in alert.suggestion.split("For example:")[1]
    thing = "certificate" if "certificate" in reply else "payment"
    assert f"Oh no, I'm so sorry to hear that. The {thing} can wait." in alert.suggestion


def test_sorry_then_a_real_acknowledgement_is_still_empathy() -> None:
    reply = "i'm so sorry to hear that, but please don't worry, the certificate can wait"
    assert [a.kind for a in alerts(run(news_then_reply("my husband passed away", reply)))] == [EMPATHY]


def test_the_same_news_mentioned_again_after_a_warm_reply_is_not_news_again() -> None:
    events = [
        *say("customer", "we had a car accident and my husband is still in hospital", 1.0, 5.0),
        *say("agent", "oh i'm so sorry to hear that", 6.0, 7.5),
        *say("customer", "thank you he's doing better", 8.5, 10.0),
        *say("agent", "can you tell me where the car is now", 11.0, 13.0),
        # The same story, a few turns on: what it costs now, not news to acknowledge again.
        *say("customer", "that would help i've been taking taxis to the hospital", 14.0, 17.0),
        *say("agent", "of course can you tell me where the car is now", 18.0, 20.0),
        *say("customer", "it was towed to a garage", 21.0, 22.5),
    ]
    assert [a.kind for a in alerts(run(events))] == [EMPATHY]


def test_the_same_news_again_after_a_cold_reply_is_not_coached_twice() -> None:
    events = [
        *say("customer", "i'm just out of hospital after heart surgery", 1.0, 4.0),
        *say("agent", "okay what's the order number", 5.0, 6.5),
        # Vosk's slips of "I can't sit in it for long after the operation": still the surgery.
        *say("customer", "well like i said i can see in it for long after the operation", 7.5, 11.0),
        *say("agent", "okay found it was it assembled", 12.0, 13.5),
        *say("customer", "yes my neighbour put it together", 14.5, 16.0),
    ]
    out = alerts(run(events))
    assert [(a.kind, a.start_s) for a in out] == [(COLD, 5.0)]
