"""The customer's sentiment, one score per final line: a :class:`Sentiment` event from a :class:`Transcript`.

Owns turning what the customer said into a score from -1 to 1. The scoring itself is VADER (the
``vaderSentiment`` package: a rule-based scorer with a human-rated lexicon of ~7,500 words, shipped in the
wheel), not a word list of our own: it already knows negation ("not happy"), intensifiers ("really
helpful") and "but" clauses. Its lexicon takes 15-30 ms to read, so :func:`shared_analyzer` loads it once
per process and every call's scorer shares it; scoring a line then costs ~0.03 ms.

Two choices, both measured on Vosk's output of synthesised and real calls:

- **Per line, not per turn.** Joining a turn's lines smooths short acknowledgements ("okay" / "thanks"),
  but Vosk garbles a line now and then, and one misheard line ("nice if make you ridiculous ... nice meal",
  +0.75) then swamps a clearly angry one next to it (-0.67 alone, +0.23 joined). A line's score also sits
  at that line's place in the call, which a turn's running score does not. Detectors that want a stretch
  (``turned_around``) look across lines themselves.
- **Fillers are not sentiment.** Vosk's text is lowercase without punctuation, which VADER handles (it
  only loses the emphasis of capitals and "!"), but its lexicon rates "yes", "okay" and "yeah" as
  positive (a bare "yeah yeah" scores +0.53): on a call they are acknowledgements, so the backchannel
  words (:data:`~callcoach.detectors.text.BACKCHANNEL`) are dropped before scoring, and a line of nothing
  else gets no score at all.

VADER's lexicon is supplemented with a few complaint words it lacks (:data:`CONTACT_CENTRE_WORDS`).

Only the customer is scored, and only when the channel says who spoke: mono calls ("mixed") get none.
"""

from __future__ import annotations

from functools import cache
from typing import Protocol

from callcoach.detectors.alerts import spoken_end, spoken_start
from callcoach.detectors.text import BACKCHANNEL
from callcoach.live.events import Event, Sentiment, Transcript

# Words a complaining customer uses that VADER's lexicon lacks (it rates "i'm fed up with it",
# "the service is rubbish" and "what a shambles" 0.0), added to it on the lexicon's scale (-4 to 4) next to
# the words it has for the same thing ("ridiculous" -1.5, "useless" -1.8, "outrageous" -2.0, "disgrace"
# -2.2). VADER's lexicon is of single words, so "fed up" is "fed": on a service call nobody feeds anything.
# Only words it lacks: its own ratings are human-rated and left alone.
CONTACT_CENTRE_WORDS: dict[str, float] = {
    "fed": -2.0,
    "rubbish": -1.8,
    "shambles": -2.0,
    "nightmare": -2.0,
    "disgraceful": -2.5,
    "diabolical": -2.5,
}


class Analyzer(Protocol):
    """What the scorer needs of VADER's ``SentimentIntensityAnalyzer`` (a test may pass its own)."""

    def polarity_scores(self, text: str) -> dict[str, float]: ...


@cache
def shared_analyzer() -> Analyzer:
    """VADER's analyzer, its lexicon read from the installed package once per process."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    vader = SentimentIntensityAnalyzer()
    vader.lexicon.update(CONTACT_CENTRE_WORDS)
    analyzer: Analyzer = vader
    return analyzer


def scored_text(text: str) -> str:
    """``text`` without fillers and backchannels, which VADER would count as positive."""
    # Vosk's words are already lowercase; the apostrophes VADER needs ("don't") are kept.
    return " ".join(w for w in text.lower().split() if w.strip(".,!?") not in BACKCHANNEL)


class SentimentScorer:
    """Scores the customer's final lines. Holds no state of its own: one per call, sharing one analyzer."""

    def __init__(self, analyzer: Analyzer | None = None) -> None:
        self._analyzer = analyzer if analyzer is not None else shared_analyzer()

    def score(self, event: Event) -> Sentiment | None:
        """The sentiment of a final customer line; None for anything else or a line of fillers only."""
        if not isinstance(event, Transcript) or not event.final or event.speaker != "customer":
            return None
        score = self.score_text(event.text)
        if score is None:
            return None
        return Sentiment(
            speaker=event.speaker, start_s=spoken_start(event), end_s=spoken_end(event), score=score
        )

    def score_text(self, text: str) -> float | None:
        """The score of some words, to two places; None for fillers only."""
        cleaned = scored_text(text)
        if not cleaned:
            return None
        compound = float(self._analyzer.polarity_scores(cleaned)["compound"])
        return round(compound, 2) + 0.0  # + 0.0: a rounded -0.001 is -0.0, which prints as "-0.0"
