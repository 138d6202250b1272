"""A call turned around: the customer was clearly unhappy for a stretch, and the call ends clearly positive.

Owns the ``turned_around`` praise. It reads the customer's :class:`Sentiment` events (one per final line,
see :mod:`callcoach.detectors.sentiment`), quotes the customer's lines (their finals), and reads those
lines against the frustration and bad-news tables.

When it can be known: only at the end. "Ends positive" is a fact about the close of the call, and a
customer who thanks the agent mid-call may well be angry again a minute later; praising it live would
mean taking it back. So the verdict is given once, in :meth:`TurnedAroundDetector.finish`.

*Clearly unhappy for a stretch* is either of:

- VADER's scores of Vosk's text: customer lines scoring ``<= -0.25`` within ``_STRETCH_S`` of each
  other, with no clearly positive line between them, whose weights add up to ``<= -1.0``. A line's weight
  is its score times its length in sentences (``_SENTENCE_S`` of speech each, at most
  ``_MAX_SENTENCES``): VADER's score is normalised to -1..1 whatever the length, so a customer venting for
  ten seconds, which Vosk gives as one line when they do not pause, scores no lower than one angry
  sentence, yet a coach hears a stretch of it. So one short line cannot do it, and a customer who only
  describes a problem ("there's a problem with my bill", -0.40; "i lost my card", -0.32) is not an
  unhappy one, and neither is a bare "no" (-0.30); two plainly angry lines ("i'm furious ...", "this is
  unacceptable") are, and so is ten seconds of "this is ridiculous ... nobody has called me back" (-0.80).
- One line the frustration table recognises (asking for a manager, a third call, "absolutely
  ridiculous"): the same cues that raise ``customer_frustration``. VADER misses many of them: "i want to
  speak to a manager" scores +0.08, and Vosk's slips take the angry words out of a line more often than
  they put them in.

*Ends clearly positive*: after the low stretch, one of the customer's last ``_CLOSE_LINES`` scored lines
reaches ``>= 0.5``, says more than a sign-off (``_CLOSE_WORDS`` words or more, fillers and numbers
aside), says so in words (:data:`_SAYS_SO`: thanks, relief, praise of the agent), and nothing the customer
says after its high point is negative (``<= -0.25``) or frustrated again.

- The high point may be one spoken sentence of the line (words split at a ``_PAUSE_S`` pause): VADER
  scores a line as one sentence, so one misheard phrase sinks a whole close ("oh not perfect thank you so
  much ... i really appreciate it", Vosk's "oh that's perfect", -0.02 as a line; "thank you so much ..."
  alone +0.55).
- "Says so": VADER rates any warm word, and a customer who is not won back uses them too ("i'd love to
  see if it stays that way", +0.64; "perfect can you email it to me", +0.57). A won-back customer thanks
  the agent or says what changed ("you've turned my day around", "such a relief").
- A polite "thank you" (+0.36), or a warm "great, thank you" (+0.77) or "brilliant, thanks for your
  help" (+0.86), is how every call ends, whatever came before it, so it is not enough.

Grief is not displeasure: a line sharing bad news (a death, an illness, a lost job: the bad-news table's
categories) scores as low as an angry one ("my husband died last week and i am devastated", -0.82), but a
customer who is sad is not unhappy with the call, and a warm reply to them is ``empathy_shown``'s praise.
Such lines alone make a low stretch only when the close is *relief* (:data:`_RELIEF`): "oh that's such a
relief" says the worry was about the very thing the call settled ("i was made redundant and i really
need the refund"), and that is a call turned around. They do count in a stretch that has an unhappy line
of another kind too: a customer who goes on to say how worn down they are by it ("i'm just so tired and
every letter makes it worse", -0.78) is unhappy with where things stand, and the news is part of that.

Mono calls have no customer sentiment, so this never fires on them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from callcoach.detectors.alerts import AlertIds, clock, quote_of
from callcoach.detectors.bad_news_table import TABLE as BAD_NEWS
from callcoach.detectors.bad_news_table import BadNewsTable
from callcoach.detectors.config import DetectorConfig
from callcoach.detectors.frustration_table import TABLE as FRUSTRATION
from callcoach.detectors.frustration_table import FrustrationTable
from callcoach.detectors.sentiment import SentimentScorer, scored_text
from callcoach.detectors.text import NUMBER_WORDS
from callcoach.live.events import Alert, AlertKind, Event, Quote, Sentiment, Transcript, Word

KIND = "turned_around"
_NEGATIVE = -0.25  # a line at or below this counts towards a low stretch
_LOW_TOTAL = -1.0  # a stretch's weights must add up to this: two clearly unhappy sentences at least
_SENTENCE_S = 5.0  # about one spoken sentence: a longer line weighs as that many sentences
_MAX_SENTENCES = 2.0  # ...up to two: a long but mildly negative line alone is not a stretch
_STRETCH_S = 120.0  # how far apart the unhappy lines of one stretch may be
_POSITIVE = 0.5  # the close must reach this
_CLOSE_LINES = 3  # the close: the customer's last few scored lines
_CLOSE_WORDS = 6  # the close says more than "great, thanks for your help" (5 words), fillers aside
_PAUSE_S = 0.25  # a pause this long between two words ends a spoken sentence (a comma's pause or more)

# A close that says the customer was won back: thanks, relief, or what the agent did for them. "fan you"
# is Vosk's small model hearing "thank you" (it hears "three" as "free" the same way).
_SAYS_SO = re.compile(
    r"\b(?:thank|thanks|thankful|appreciate|appreciated|grateful|relief|relieved|fan you"
    r"|turned (?:\w+ ){0,3}around|made my day"
    r"|(?:you've|you have|you're|you are) (?:been )?(?:a |an |so |really |absolutely |such a )*"
    r"(?:star|great|wonderful|brilliant|amazing|marvellous|fantastic|lifesaver|helpful|godsend|kind))\b"
)
# A close that says a worry has been lifted: what turns bad news (not displeasure) into a turned-around call.
_RELIEF = re.compile(r"\b(?:relief|relieved|weight off)\b")


@dataclass(frozen=True)
class _Scored:
    """One customer line: its score, the text it was scored from, and what the tables make of it."""

    sentiment: Sentiment
    quote: Quote | None
    sentences: tuple[float, ...] = ()  # the scores of its spoken sentences, in order (fillers-only skipped)
    frustrated: bool = False  # the frustration table recognises it
    news: bool = False  # it shares bad news

    @property
    def score(self) -> float:
        return self.sentiment.score

    def unhappy(self, news_counts: bool) -> bool:
        return self.score <= _NEGATIVE or self.frustrated or (news_counts and self.news)

    def weight(self, news_counts: bool) -> float:
        """The score times the line's length in sentences (at least one, at most ``_MAX_SENTENCES``); a
        line a table recognises weighs a whole stretch on its own."""
        length_s = self.sentiment.end_s - self.sentiment.start_s
        scored = self.score * min(_MAX_SENTENCES, max(1.0, length_s / _SENTENCE_S))
        return min(scored, _LOW_TOTAL) if self.frustrated or (news_counts and self.news) else scored

    @property
    def peak(self) -> float:
        """The line's best: its own score or its best spoken sentence's."""
        return max((self.score, *self.sentences))

    @property
    def ends_sour(self) -> bool:
        """Whether a sentence after the line's best one is negative again."""
        if not self.sentences:
            return False
        best = self.sentences.index(max(self.sentences))
        return any(s <= _NEGATIVE for s in self.sentences[best + 1 :])

    @property
    def more_than_a_sign_off(self) -> bool:
        """Whether the line says more than "great, thanks" or a number; a score without its line cannot
        tell, so yes."""
        if self.quote is None:
            return True
        # A number read out ("three one eight eight nine", often heard as "free one...") says nothing
        # of how the customer feels: its words do not count.
        said = [w for w in scored_text(self.quote.text).split() if w not in NUMBER_WORDS and not w.isdigit()]
        return len(said) >= _CLOSE_WORDS

    def says(self, words: re.Pattern[str]) -> bool:
        """Whether the line says one of ``words``; a score without its line cannot tell, so yes."""
        return self.quote is None or words.search(self.quote.text.lower()) is not None


class TurnedAroundDetector:
    """Praises a call whose customer went from clearly unhappy to clearly happy by the end."""

    name = "turned_around"
    KINDS: ClassVar[dict[str, AlertKind]] = {KIND: AlertKind(KIND, "Turned around", "praise", "star")}

    def __init__(
        self,
        config: DetectorConfig,
        bad_news: BadNewsTable = BAD_NEWS,
        frustration: FrustrationTable = FRUSTRATION,
        scorer: SentimentScorer | None = None,
    ) -> None:
        del config  # nothing to tune yet: the thresholds follow the scorer's scale, not the call centre's
        self._bad_news = bad_news
        self._frustration = frustration
        self._scorer = scorer if scorer is not None else SentimentScorer()
        self._ids = AlertIds()
        self._finals: dict[tuple[float, float], Transcript] = {}  # the customer's, by their spoken span
        self._lines: list[_Scored] = []
        self._finished = False

    def feed(self, event: Event) -> list[Alert]:
        if isinstance(event, Transcript) and event.final and event.speaker == "customer":
            line = quote_of(event)
            self._finals[(line.start_s, line.end_s)] = event
        elif isinstance(event, Sentiment) and event.speaker == "customer":
            final = self._finals.pop((event.start_s, event.end_s), None)
            self._lines.append(self._scored(event, final))
        return []

    def tick(self, now_s: float) -> list[Alert]:
        return []

    def finish(self, end_s: float) -> list[Alert]:
        if self._finished:
            return []
        self._finished = True
        # Displeasure first; bad news alone only when the close is relief.
        for news_counts, close_words in ((False, _SAYS_SO), (True, _RELIEF)):
            low, low_end = self._last_low_stretch(news_counts)
            close = self._close(low_end, close_words) if low else None
            if close is not None:
                # The low point quoted is the customer's displeasure, not the news shared along the way.
                lowest = min([x for x in low if not x.news] or low, key=lambda x: x.score)
                return [self._alert(lowest, close, end_s)]
        return []

    def _scored(self, sentiment: Sentiment, final: Transcript | None) -> _Scored:
        if final is None:
            return _Scored(sentiment, None)
        sentences = (self._scorer.score_text(" ".join(w.text for w in s)) for s in _spoken_sentences(final))
        return _Scored(
            sentiment,
            quote_of(final),
            sentences=tuple(s for s in sentences if s is not None),
            frustrated=self._frustration.classify(final.text) is not None,
            news=self._bad_news.classify(final.text) is not None,
        )

    def _last_low_stretch(self, news_counts: bool) -> tuple[list[_Scored], int]:
        """The latest run of unhappy lines, close together, that adds up to clearly negative and is more
        than bad news unless ``news_counts`` (empty if there is none), and the index of its last line."""
        found: tuple[list[_Scored], int] = ([], -1)
        stretch: list[_Scored] = []
        for i, line in enumerate(self._lines):
            unhappy = line.unhappy(news_counts)
            if line.score >= _POSITIVE and not unhappy:
                stretch = []  # a clearly happy line in between: what follows is a new stretch
            if not unhappy:
                continue
            if stretch and line.sentiment.start_s - stretch[-1].sentiment.end_s > _STRETCH_S:
                stretch = []
            stretch.append(line)
            displeased = news_counts or any(not x.news for x in stretch)  # grief alone is not displeasure
            if displeased and sum(x.weight(news_counts) for x in stretch) <= _LOW_TOTAL:
                found = (list(stretch), i)
        return found

    def _close(self, low_end: int, words: re.Pattern[str]) -> _Scored | None:
        """The close's high point after the low stretch ending at ``low_end``, if the call ends on one."""
        closing = self._lines[max(low_end + 1, len(self._lines) - _CLOSE_LINES) :]
        peaks = [
            i
            for i, x in enumerate(closing)
            if x.peak >= _POSITIVE and x.more_than_a_sign_off and x.says(words) and not x.frustrated
        ]
        if not peaks:
            return None
        high = closing[peaks[-1]]
        # The close stays positive: nothing unhappy after its high point.
        later = closing[peaks[-1] + 1 :]
        if high.ends_sour or any(x.score <= _NEGATIVE or x.frustrated for x in later):
            return None
        return high

    def _alert(self, low: _Scored, close: _Scored, end_s: float) -> Alert:
        quotes = tuple(q for q in (low.quote, close.quote) if q is not None)
        start_s, close_s = low.sentiment.start_s, close.sentiment.end_s
        return Alert(
            id=self._ids.next(KIND),
            revision=0,
            kind=KIND,
            polarity="praise",
            speaker="agent",
            start_s=start_s,
            end_s=close_s,
            detected_s=max(end_s, close_s),
            title=f"Call turned around from {clock(start_s)}",
            quote=close.quote.text if close.quote is not None else "",
            why=(
                f"The customer was clearly unhappy at {clock(start_s)} (sentiment {low.score:+.2f}) and "
                f"ended the call on a positive note ({close.score:+.2f}). Winning back an upset customer "
                "is what keeps them, and it rarely happens by chance."
            ),
            suggestion=(
                "Keep doing this: let the customer get the frustration out, own the problem without "
                "arguing, fix what can be fixed there and then, and say plainly what you have done."
            ),
            quotes=quotes,
        )


def _spoken_sentences(line: Transcript) -> list[list[Word]]:
    """The line's words, split where the speaker paused for ``_PAUSE_S`` or more."""
    sentences: list[list[Word]] = []
    for i, word in enumerate(line.words):
        if i == 0 or word.start_s - line.words[i - 1].end_s >= _PAUSE_S:
            sentences.append([])
        sentences[-1].append(word)
    return sentences
