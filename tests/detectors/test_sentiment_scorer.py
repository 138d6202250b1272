"""SentimentScorer: VADER's score of a customer's final line, on Vosk's lowercase unpunctuated text."""

from __future__ import annotations

import pytest

from callcoach.detectors.sentiment import SentimentScorer, scored_text, shared_analyzer
from callcoach.live.events import Sentiment, Speech, Transcript
from tests.detectors.detector_timeline import final


@pytest.fixture(scope="module")
def scorer() -> SentimentScorer:
    return SentimentScorer()


def score(scorer: SentimentScorer, text: str) -> float:
    sentiment = scorer.score(final("customer", text, 1.0, 4.0))
    assert sentiment is not None
    return sentiment.score


@pytest.mark.parametrize(
    "text",
    [
        "this is ridiculous i have called three times",
        "i'm so angry you people keep getting it wrong every single month",
        "that's terrible this is the worst service i have ever had",
        "im not happy at all",  # negation, and Vosk's dropped apostrophe
        "you guys are useless",
    ],
)
def test_angry_lines_are_negative(scorer: SentimentScorer, text: str) -> None:
    assert score(scorer, text) <= -0.3


@pytest.mark.parametrize(
    "text",
    [
        "i'm fed up with it",
        "im fed up of waiting for an engineer",
        "the service is rubbish",
        "what a shambles",
        "this has been a nightmare",
    ],
)
def test_complaint_words_vader_lacks_are_negative(scorer: SentimentScorer, text: str) -> None:
    assert score(scorer, text) <= -0.3


@pytest.mark.parametrize(
    "text",
    [
        "thank you so much you've been really helpful",
        "thank you so much youve been really helpful",
        "oh that's brilliant thanks",
        "perfect thank you that sorts it",
    ],
)
def test_thankful_lines_are_positive(scorer: SentimentScorer, text: str) -> None:
    assert score(scorer, text) >= 0.5


def test_a_plain_request_is_about_neutral(scorer: SentimentScorer) -> None:
    assert abs(score(scorer, "i need to check the balance on my account")) < 0.25


def test_event_is_the_lines_spoken_span_and_a_two_place_score(scorer: SentimentScorer) -> None:
    line = final("customer", "this is ridiculous i have called three times", 2.0, 5.0)
    moved = Transcript("customer", line.text, 1.5, 5.4, True, line.words)  # segment wider than the words
    sentiment = scorer.score(moved)
    assert isinstance(sentiment, Sentiment)
    assert (sentiment.speaker, sentiment.start_s, sentiment.end_s) == ("customer", 2.0, 5.0)
    assert sentiment.score == round(sentiment.score, 2) and -1.0 <= sentiment.score < 0.0


def test_fillers_are_not_sentiment(scorer: SentimentScorer) -> None:
    # VADER alone rates "yeah yeah" +0.53 and "okay" +0.23: acknowledgements, not a happy customer.
    assert shared_analyzer().polarity_scores("yeah yeah")["compound"] > 0.5
    assert scorer.score(final("customer", "yeah yeah", 1.0, 2.0)) is None
    assert scorer.score(final("customer", "mhm okay", 1.0, 2.0)) is None
    assert scored_text("okay thank you") == "thank you"
    assert score(scorer, "yes my account number is one two three") < 0.1  # "yes" alone: +0.40


def test_only_the_customers_finals_are_scored(scorer: SentimentScorer) -> None:
    angry = "this is ridiculous i have called three times"
    assert scorer.score(final("agent", angry, 1.0, 4.0)) is None
    assert scorer.score(final("mixed", angry, 1.0, 4.0)) is None  # mono: nobody knows who said it
    assert scorer.score(Transcript("customer", angry, 1.0, 4.0, final=False)) is None
    assert scorer.score(final("customer", "", 1.0, 4.0)) is None
    assert scorer.score(Speech("customer", 1.0, 4.0)) is None


def test_one_lexicon_per_process_loaded_from_the_package() -> None:
    analyzer = shared_analyzer()
    assert SentimentScorer()._analyzer is SentimentScorer()._analyzer is analyzer
    lexicon = getattr(analyzer, "lexicon", {})
    assert len(lexicon) > 7000 and lexicon["ridiculous"] < 0 < lexicon["helpful"]


def test_a_given_analyzer_is_used() -> None:
    class Fixed:
        def polarity_scores(self, text: str) -> dict[str, float]:
            return {"compound": -0.123456}

    sentiment = SentimentScorer(Fixed()).score(final("customer", "anything", 0.0, 1.0))
    assert sentiment is not None and sentiment.score == -0.12
