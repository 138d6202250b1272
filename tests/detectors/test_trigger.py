"""The trigger guard: a phrase counts only when heard clearly, in a plausible sentence, and (for bad news)
not as a lone keyword; the bad-news and frustration detectors raise nothing on one that does not, and carry
the confidence of one that does."""

from __future__ import annotations

import pytest

from callcoach.detectors.bad_news import COLD, BadNewsDetector
from callcoach.detectors.bad_news_table import TABLE as BAD_NEWS
from callcoach.detectors.bad_news_table import load_table
from callcoach.detectors.config import DetectorConfig
from callcoach.detectors.frustration import COLD as FRUSTRATION
from callcoach.detectors.frustration import FrustrationDetector
from callcoach.detectors.frustration_table import TABLE as FRUSTRATIONS
from callcoach.detectors.trigger import Guard, spoken
from callcoach.live.events import Event
from tests.detectors.detector_timeline import alerts, play, say, words_between

COLD_REPLY = "can i have the booking reference and the email address please"


def news(text: str, confidences: list[float] | None = None) -> list[Event]:
    return [
        *say("customer", text, 1.0, 4.0, confidences),
        *say("agent", COLD_REPLY, 5.0, 8.0),
        *say("customer", "alright", 9.0, 9.5),
    ]


def bad_news_alerts(events: list[Event]) -> list[str]:
    return [a.kind for a in alerts(play(BadNewsDetector(DetectorConfig()), events, 20.0))]


# --- the call: a customer spelling her name -----------------------------------------------------

# spokenwoz_MUL1011 at 02:39, "okay, S I N G E R", as callcoach's decoding hears it every run (confidences
# from Vosk); with "an" so that the accident table's "an injury" would match were it a sentence.
SPELLED = "okay eyes by an injury he are"
SPELLED_HEARD = [1.0, 0.47, 0.58, 1.0, 1.0, 0.69, 0.51]


def test_a_sure_injury_among_doubtful_letters_raises_nothing() -> None:
    assert bad_news_alerts(news(SPELLED, SPELLED_HEARD)) == []


def test_a_trigger_inside_spelled_out_letters_raises_nothing_however_sure() -> None:
    assert bad_news_alerts(news("okay s i n an injury e r g")) == []
    assert bad_news_alerts(news("it is spelled m c an accident k a y")) == []


def test_the_same_words_heard_as_a_sentence_are_news() -> None:
    # The control: the guard looks at the words, not at the phrase.
    assert bad_news_alerts(news("my son had an injury at school")) == [COLD]


def test_doubtful_long_words_around_a_trigger_are_noise_not_a_spelled_run() -> None:
    # Vosk doubts "father's" and "tomorrow" (long words, ordinary noise in a sentence) and "is" (one short
    # doubtful word is no run): the news stands.
    text = "my father's funeral is tomorrow and everything feels strange"
    assert bad_news_alerts(news(text, [1, 0.55, 0.9, 0.6, 0.5, 1, 0.45, 0.6, 1])) == [COLD]
    # The same stretch heard as short doubtful words: a spelled run.
    assert bad_news_alerts(news("okay be he an injury see are", [1, 0.5, 0.6, 1, 0.9, 0.6, 0.5])) == []


def test_a_low_confidence_trigger_raises_nothing() -> None:
    text = "my husband passed away last month"
    assert bad_news_alerts(news(text)) == [COLD]
    assert bad_news_alerts(news(text, [1.0, 1.0, 0.41, 1.0, 1.0, 1.0])) == []  # "passed" a guess


def test_a_lone_keyword_is_no_news() -> None:
    assert bad_news_alerts(news("okay injuries")) == []
    assert bad_news_alerts(news("funeral")) == []
    assert bad_news_alerts(news("the funeral is on friday")) == [COLD]


def test_the_alert_carries_the_lowest_confidence_of_its_trigger() -> None:
    text = "my mother died two weeks ago"
    [alert] = alerts(play(BadNewsDetector(DetectorConfig()), news(text, [1, 0.93, 0.81, 1, 0.4, 1]), 20.0))
    assert alert.kind == COLD
    assert alert.confidence == 0.81  # "my mother died": "weeks" at 0.4 is no part of it


def test_frustration_ignores_a_doubtful_trigger_and_carries_a_sure_ones_confidence() -> None:
    text = "this is the third time i have called about this"
    detector = FrustrationDetector(DetectorConfig())
    [alert] = alerts(play(detector, news(text, [1, 1, 1, 0.9, 0.95, 1, 1, 1, 1, 1]), 20.0))
    assert (alert.kind, alert.confidence) == (FRUSTRATION, 0.9)
    doubtful = news(text, [1, 1, 1, 0.35, 1, 1, 1, 1, 1, 1])
    assert alerts(play(FrustrationDetector(DetectorConfig()), doubtful, 20.0)) == []


def test_a_doubtful_short_word_inside_a_trigger_does_not_sink_it() -> None:
    # Vosk's hearing of "I want to speak to a manager": the article is its commonest slip.
    text = "i want to speak to her manager"
    heard = alerts(
        play(FrustrationDetector(DetectorConfig()), news(text, [1, 1, 0.47, 1, 0.9, 0.34, 1]), 20.0)
    )
    assert [(a.kind, a.confidence) for a in heard] == [(FRUSTRATION, 1.0)]
    doubtful = news(text, [1, 1, 1, 1, 1, 1, 0.34])  # "manager" itself a guess
    assert alerts(play(FrustrationDetector(DetectorConfig()), doubtful, 20.0)) == []


# --- the guard itself -------------------------------------------------------------------------------------


def test_spoken_text_maps_each_character_to_its_word() -> None:
    words = words_between("I'm  so-sorry !", 0.0, 1.0)
    text, owner = spoken(words)
    assert text == "im so sorry"
    assert [owner[text.index(t)] for t in ("im", "so", "sorry")] == [0, 1, 1]
    assert len(owner) == len(text)


def test_a_guard_with_no_settings_lets_every_match_through() -> None:
    words = words_between("okay eyes by injuries he are", 0.0, 3.0, [1.0, 0.1, 0.1, 0.1, 0.1, 0.1])
    category = next(c for c in BAD_NEWS.categories if c.name == "accident")
    assert Guard().confidence(words, category.pattern, BAD_NEWS.ignore) == 0.1
    assert BAD_NEWS.guard.confidence(words, category.pattern, BAD_NEWS.ignore) is None


def test_a_look_alike_is_still_ignored_with_offsets_kept() -> None:
    # "by accident" is blanked out; the news after it still maps to its own words.
    words = words_between("i broke it by accident and then my dad died", 0.0, 5.0)
    heard = BAD_NEWS.heard(words)
    assert heard is not None and heard.kind.name == "bereavement"


def test_the_guard_is_data_in_both_tables() -> None:
    for guard in (BAD_NEWS.guard, FRUSTRATIONS.guard):
        assert 0 < guard.min_confidence < 1 and guard.context_words > 0 and "eyes" in guard.letters
    assert BAD_NEWS.guard.needs_company and not FRUSTRATIONS.guard.needs_company


BASE = """
[terms]
[bad_news]
ignore = []
[categories.x]
label = "x"
acknowledge = "x"
otherwise = "x"
patterns = ["x"]
[acknowledgement]
patterns = []
apology_but = []
"""


GOOD = {
    "min_confidence": "0.5",
    "doubtful_below": "0.7",
    "short_letters": "3",
    "context_words": "3",
    "fragment_share": "0.5",
    "needs_company": "true",
}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("min_confidence", "1.5"),
        ("context_words", "2.5"),
        ("fragment_share", '"half"'),
        ("needs_company", '"yes"'),
    ],
)
def test_a_bad_guard_is_named_at_load(key: str, value: str) -> None:
    guard = "\n".join(f"{k} = {value if k == key else v}" for k, v in GOOD.items())
    load_table(
        BASE + "[guard]\n" + "\n".join(f"{k} = {v}" for k, v in GOOD.items()) + "\n"
    )  # the rest is fine
    with pytest.raises(ValueError, match=rf"bad_news\.toml: \[guard\].*{key}"):
        load_table(BASE + "[guard]\n" + guard + "\n")
