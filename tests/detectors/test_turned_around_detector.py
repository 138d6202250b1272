"""TurnedAroundDetector: a customer clearly unhappy for a stretch, and a call that ends clearly positive.

The timelines carry the Sentiment events the session logs after each customer final, scored by the real
scorer (VADER), so the thresholds are tested against the scores real lines get. Customer lines are
written the way Vosk's small model writes them: lowercase, no punctuation, with its slips.
"""

from __future__ import annotations

from callcoach.detectors.config import DetectorConfig
from callcoach.detectors.sentiment import SentimentScorer
from callcoach.detectors.turned_around import KIND, TurnedAroundDetector
from callcoach.live.events import Event, Sentiment, Speaker, Speech, Transcript
from tests.detectors.detector_timeline import Emitted, alerts, play, say, words_between

SCORER = SentimentScorer()
# Vosk's own hearing of an angry customer in a synthesised call ("fed up" came out "thin up").
ANGRY_1 = "i'm really thin up it been a complete mess and frankly unacceptable"
ANGRY_2 = "i'm so angry with you people keep getting it wrong every single month"
THANKS = "oh wow thank you so much you have been really helpful i appreciate it"


def scored(events: list[Event]) -> list[Event]:
    """``events`` with the session's Sentiment event right after each customer final."""
    out: list[Event] = []
    for event in events:
        out.append(event)
        if (sentiment := SCORER.score(event)) is not None:
            out.append(sentiment)
    return out


def run(events: list[Event], end_s: float = 60.0) -> list[Emitted]:
    return play(TurnedAroundDetector(DetectorConfig()), scored(events), end_s)


def call(
    customer: list[str], customer_speaker: Speaker = "customer", agent: Speaker = "agent"
) -> list[Event]:
    """Customer and agent taking turns, 5 s each: the agent's lines are plain business."""
    events: list[Event] = []
    for i, text in enumerate(customer):
        start = 1.0 + i * 10.0
        events += say(customer_speaker, text, start, start + 4.0)
        events += say(agent, "let me look at that for you and see what i can do", start + 5.0, start + 9.0)
    return events


def test_angry_then_thankful_is_praised_at_the_end_with_the_low_point_and_the_close() -> None:
    emitted = run(call([ANGRY_1, ANGRY_2, "okay", THANKS, "thanks bye"]))
    assert [e.at_s for e in emitted] == [60.0]  # known only once the call has ended
    [alert] = alerts(emitted)
    assert (alert.id, alert.revision, alert.kind, alert.polarity) == (f"{KIND}-1", 0, KIND, "praise")
    assert alert.speaker == "agent"
    assert [q.text for q in alert.quotes] == [ANGRY_2, THANKS]  # the lowest line, then the close
    assert [q.speaker for q in alert.quotes] == ["customer", "customer"]
    assert (alert.start_s, alert.end_s) == (11.0, 35.0)
    assert alert.detected_s == 60.0
    assert alert.quote == THANKS
    assert alert.title == "Call turned around from 00:11"
    assert "unhappy" in alert.why and alert.suggestion.startswith("Keep doing this")


def test_a_call_that_dips_and_stays_negative_is_not_praised() -> None:
    closing = ["that's terrible this is the worst service i have ever had", "no thanks for nothing"]
    assert alerts(run(call([ANGRY_1, ANGRY_2, *closing]))) == []


def test_a_close_that_turns_sour_again_is_not_praised() -> None:
    assert alerts(run(call([ANGRY_1, ANGRY_2, THANKS, "actually no this is still a complete mess"]))) == []


def test_a_call_positive_throughout_is_not_praised() -> None:
    lines = ["hi there i hope you are well", "that's great thank you", THANKS]
    assert alerts(run(call(lines))) == []


def test_describing_a_problem_is_not_an_unhappy_customer() -> None:
    # One negative line (-0.4) is a customer explaining why they called; every call ends with thanks.
    lines = [
        "hi i have a problem with my bill",
        "yes that's the one",
        "great thank you so much that's really helpful",
    ]
    assert alerts(run(call(lines))) == []


def test_sad_news_met_warmly_is_not_a_turned_around_call() -> None:
    # Grief scores as low as anger, but the customer is not unhappy with the call: empathy_shown's praise.
    lines = [
        "my husband died last week and i am devastated",
        "the funeral is on friday and im a mess",
        "thank you so much youve been so kind",
    ]
    assert alerts(run(call(lines))) == []


def test_a_polite_thank_you_alone_is_not_a_positive_close() -> None:
    assert alerts(run(call([ANGRY_1, ANGRY_2, "okay thank you"]))) == []


# One long line of complaint, as Vosk gives a customer who vents without a pause (-0.54).
VENT = (
    "ive been charged twice this month and nobody can tell me why this is outrageous i want it sorted today"
)


def test_a_customer_venting_for_ten_seconds_in_one_line_is_a_low_stretch() -> None:
    # VADER scores a ten-second line no lower than a sentence of it: its length is what makes it a stretch.
    events = [
        *say("customer", VENT, 1.0, 11.0),
        *say("agent", "im sorry about that let me take those charges off for you now", 12.0, 16.0),
        *say("customer", THANKS, 17.0, 21.0),
    ]
    [alert] = alerts(run(events, end_s=30.0))
    assert [q.text for q in alert.quotes] == [VENT, THANKS]
    assert (alert.start_s, alert.end_s) == (1.0, 21.0)


# The same unhappiness in words no table knows as a complaint (-0.89).
UPSET = "im worried and upset about these charges it is a terrible mess"


def test_one_short_unhappy_line_no_table_knows_is_not_a_stretch() -> None:
    events = [
        *say("customer", UPSET, 1.0, 4.0),
        *say("agent", "im sorry about that let me take those charges off for you now", 5.0, 9.0),
        *say("customer", THANKS, 10.0, 14.0),
    ]
    assert alerts(run(events, end_s=30.0)) == []


def test_a_warm_sign_off_is_not_a_turned_around_close() -> None:
    # "brilliant thanks for your help" scores +0.86, "great thank you" +0.77: how every call ends.
    for close in ("brilliant thanks for your help", "great thank you"):
        assert alerts(run(call([ANGRY_1, ANGRY_2, close]))) == [], close


def test_a_number_read_out_is_not_a_close() -> None:
    # A reference number heard as "free one ..." scores +0.66 on "free"; it says nothing of the customer.
    assert alerts(run(call([ANGRY_1, ANGRY_2, "sure its free one well eight nine", "great thank you"]))) == []


def test_bad_news_with_the_customer_worn_down_by_it_is_a_low_stretch() -> None:
    news = "im going through treatment for cancer and the bills keep coming and i dont know how to pay them"
    worn = "im just worn out and every letter makes it worse"
    relief = "oh thats such a relief thank you so much youve made this so much easier"
    [alert] = alerts(run(call([news, worn, "okay", relief])))
    assert [q.text for q in alert.quotes] == [worn, relief]  # the low point quoted is not the news


def test_bad_news_and_a_close_of_relief_is_a_call_turned_around() -> None:
    # The worry was about what the call settled: VADER even scores the news +0.55 ("really need").
    news = "hi i was made redundant on friday and i really need the refund for the sofa i returned"
    relief = "oh thats such a relief thank you so much youve been wonderful"
    [alert] = alerts(run(call([news, "thank you the website just says processing", relief])))
    assert [q.text for q in alert.quotes] == [news, relief]
    # A kind close to the same news is empathy's praise, not a call turned around.
    kind = "thank you so much youve been so kind and patient with me"
    assert alerts(run(call([news, "thank you the website just says processing", kind]))) == []


def test_a_frustration_the_scorer_misses_is_a_low_point() -> None:
    # Asking for a manager scores +0.08; the frustration table knows it.
    manager = "nobody at the desk can tell me anything i want to speak to a manager"
    close = "thats fantastic you've turned my whole day around"
    [alert] = alerts(run(call([manager, "okay i need to be in rome tonight", close])))
    assert [q.text for q in alert.quotes] == [manager, close]


def test_warm_words_that_do_not_say_the_customer_was_won_back_are_not_a_close() -> None:
    # VADER rates these +0.64 and +0.57; a doubtful customer and one carrying on with business.
    for close in ("id love to see if it stays that way", "perfect can you email it to me"):
        assert alerts(run(call(["this is the third time ive called about this", "fine", close]))) == [], close


def test_a_misheard_phrase_does_not_sink_a_close_its_other_sentences_carry() -> None:
    # Vosk's "oh not perfect" for "oh that's perfect" scores the whole line -0.02; after the pause the
    # customer's thanks score +0.55 on their own.
    misheard, thanks = "oh not perfect", "thank you so much you sorted the party i really appreciate it"
    words = words_between(misheard, 31.0, 32.0) + words_between(thanks, 32.4, 35.0)
    close = Transcript("customer", f"{misheard} {thanks}", 31.0, 35.0, final=True, words=words)
    events = [
        *call([ANGRY_1, ANGRY_2, "friday"]),
        Speech("customer", 31.0),
        close,
        Speech("customer", 31.0, 35.0),
    ]
    [alert] = alerts(run(events))
    assert alert.quote == close.text
    # ...but a close whose last sentence turns sour again is not one.
    sour = words_between(thanks, 31.0, 33.5) + words_between("but this is still a terrible mess", 34.0, 35.0)
    text = f"{thanks} but this is still a terrible mess"
    events[-2] = Transcript("customer", text, 31.0, 35.0, final=True, words=sour)
    assert alerts(run(events)) == []


def test_unhappy_lines_far_apart_are_not_one_stretch() -> None:
    events = [
        *say("customer", UPSET, 1.0, 5.0),
        *say("agent", "let me look at that for you", 6.0, 8.0),
        *say("customer", "this is awful i am really unhappy with the mess on my bill", 200.0, 204.0),
        *say("agent", "i have fixed the charge for you", 205.0, 208.0),
        *say("customer", THANKS, 209.0, 213.0),
    ]
    assert alerts(run(events, end_s=220.0)) == []


def test_the_latest_low_stretch_counts() -> None:
    lines = [
        ANGRY_1,
        ANGRY_2,
        THANKS,
        "you people are useless",
        "this is unacceptable i'm sick of this",
        THANKS,
    ]
    [alert] = alerts(run(call(lines)))
    assert alert.quotes[0].text == "this is unacceptable i'm sick of this"
    assert alert.start_s == 41.0


def test_mono_calls_never_fire() -> None:
    # The session scores no "mixed" line; a stray mixed sentiment would still not be the customer's.
    events = call([ANGRY_1, ANGRY_2, THANKS], customer_speaker="mixed", agent="mixed")
    assert not any(isinstance(e, Sentiment) for e in scored(events))
    stray = [Sentiment("mixed", 1.0, 5.0, -0.8), Sentiment("mixed", 11.0, 15.0, -0.8)]
    assert alerts(run([*events, *stray, Sentiment("mixed", 21.0, 25.0, 0.9)])) == []


def test_sentiment_without_its_final_still_counts_but_quotes_what_it_has() -> None:
    # A log replayed without transcripts (say, trimmed) still has the scores.
    events: list[Event] = [
        Sentiment("customer", 1.0, 5.0, -0.6),
        Sentiment("customer", 11.0, 15.0, -0.7),
        Sentiment("customer", 21.0, 25.0, 0.8),
    ]
    [alert] = alerts(run(events))
    assert alert.quotes == () and (alert.start_s, alert.end_s) == (11.0, 25.0)


def test_finish_is_final() -> None:
    detector = TurnedAroundDetector(DetectorConfig())
    for event in scored(call([ANGRY_1, ANGRY_2, THANKS])):
        assert detector.feed(event) == []
        assert detector.tick(30.0) == []
    assert len(detector.finish(40.0)) == 1
    assert detector.finish(41.0) == []
