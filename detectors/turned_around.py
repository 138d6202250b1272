"""A call turned around: the customer was clearly unhappy for a stretch, and the call ends clearly positive.

Owns the ``turned_around`` praise. It reads the customer's :class:`Sentiment` events (one per final line,
see :mod:`callcoach.detectors.sentiment`) and quotes the customer's lines (their finals).

When it can be known: only at the end. "Ends positive" is a fact about the close of the call, and a
customer who thanks the agent mid-call may well be angry again a minute later; praising it live would
mean taking it back. So the verdict is given once, in :meth:`TurnedAroundDetector.finish`.

Thresholds, read from VADER's scores of Vosk's text:

- *Clearly negative for a stretch*: customer lines scoring ``<= -0.25`` within ``_STRETCH_S`` of each
  other, with no clearly positive line between them, whose weights add up to ``<= -1.0``. A line's weight
  is its score times its length in sentences (``_SENTENCE_S`` of speech each, at most
  ``_MAX_SENTENCES``): VADER's score is normalised to -1..1 whatever the length, so a customer venting for
  ten seconds, which Vosk gives as one line when they do not pause, scores no lower than one angry
  sentence, yet a coach hears a stretch of it. So one short line cannot do it, and a customer who only
  describes a problem ("there's a problem with my bill", -0.40; "i lost my card", -0.32) is not an
  unhappy one, and neither is a bare "no" (-0.30); two plainly angry lines ("i'm furious ...", "this is
  unacceptable") are, and so is ten seconds of "this is ridiculous ... nobody has called me back" (-0.80).
- *Ends clearly positive*: after the low stretch, one of the customer's last ``_CLOSE_LINES`` scored lines
  reaches ``>= 0.5``, says more than a sign-off (``_CLOSE_WORDS`` words or more, fillers aside), and
  nothing the customer says after it is negative again (``<= -0.25``). A polite "thank you" (+0.36), or a
  warm "great, thank you" (+0.77) or "brilliant, thanks for your help" (+0.86), is how every call ends,
  whatever came before it, so it is not enough; a customer who was won back says so ("that's
  fantastic, thank you so much, you've completely changed my day", "you've been a great help, i feel
  much better about it now").

Grief is not displeasure: a line sharing bad news (a death, an illness, a lost job: the bad-news table's
categories) scores as low as an angry one ("my husband died last week and i am devastated", -0.82), but a
customer who is sad is not unhappy with the call, and a warm reply to them is ``empathy_shown``'s praise.
Such lines alone never make a low stretch. They do count in a stretch that has an unhappy line of
another kind too: a customer who goes on to say how worn down they are by it ("i'm just so tired and
every letter makes it worse", -0.78) is unhappy with where things stand, and the news is part of that.

Mono calls have no customer sentiment, so this never fires on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from callcoach.detectors.alerts import AlertIds, clock, quote_of
from callcoach.detectors.bad_news_table import TABLE, BadNewsTable
from callcoach.detectors.config import DetectorConfig
from callcoach.detectors.sentiment import scored_text
from callcoach.detectors.text import NUMBER_WORDS
from callcoach.live.events import Alert, AlertKind, Event, Quote, Sentiment, Transcript

KIND = "turned_around"
_NEGATIVE = -0.25  # a line at or below this counts towards a low stretch
_LOW_TOTAL = -1.0  # a stretch's weights must add up to this: two clearly unhappy sentences at least
_SENTENCE_S = 5.0  # about one spoken sentence: a longer line weighs as that many sentences
_MAX_SENTENCES = 2.0  # ...up to two: a long but mildly negative line alone is not a stretch
_STRETCH_S = 120.0  # how far apart the unhappy lines of one stretch may be
_POSITIVE = 0.5  # the close must reach this
_CLOSE_LINES = 3  # the close: the customer's last few scored lines
_CLOSE_WORDS = 6  # the close says more than "great, thanks for your help" (5 words), fillers aside


@dataclass(frozen=True)
class _Scored:
    """One customer line with its score and the text it was scored from."""

    sentiment: Sentiment
    quote: Quote | None

    @property
    def score(self) -> float:
        return self.sentiment.score

    @property
    def weight(self) -> float:
        """The score times the line's length in sentences (at least one, at most ``_MAX_SENTENCES``)."""
        length_s = self.sentiment.end_s - self.sentiment.start_s
        return self.score * min(_MAX_SENTENCES, max(1.0, length_s / _SENTENCE_S))

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


class TurnedAroundDetector:
    """Praises a call whose customer went from clearly unhappy to clearly happy by the end."""

    name = "turned_around"
    KINDS: ClassVar[dict[str, AlertKind]] = {KIND: AlertKind(KIND, "Turned around", "praise", "star")}

    def __init__(self, config: DetectorConfig, bad_news: BadNewsTable = TABLE) -> None:
        del config  # nothing to tune yet: the thresholds follow the scorer's scale, not the call centre's
        self._bad_news = bad_news
        self._ids = AlertIds()
        self._finals: dict[tuple[float, float], Transcript] = {}  # the customer's, by their spoken span
        self._lines: list[_Scored] = []
        self._finished = False

    def feed(self, event: Event) -> list[Alert]:
        if isinstance(event, Transcript) and event.final and event.speaker == "customer":
            line = quote_of(event)
            self._finals[(line.start_s, line.end_s)] = event
        elif isinstance(event, Sentiment) and event.speaker == "customer":
            final = self._finals.get((event.start_s, event.end_s))
            self._lines.append(_Scored(event, quote_of(final) if final is not None else None))
        return []

    def tick(self, now_s: float) -> list[Alert]:
        return []

    def finish(self, end_s: float) -> list[Alert]:
        if self._finished:
            return []
        self._finished = True
        low, low_end = self._last_low_stretch()
        if not low:
            return []
        closing = self._lines[max(low_end + 1, len(self._lines) - _CLOSE_LINES) :]
        peaks = [i for i, x in enumerate(closing) if x.score >= _POSITIVE and x.more_than_a_sign_off]
        # The close stays positive: nothing unhappy after its last high point.
        if not peaks or any(x.score <= _NEGATIVE for x in closing[peaks[-1] :]):
            return []
        # The low point quoted is the customer's displeasure, not the bad news shared along the way.
        lowest = min((x for x in low if not self._is_bad_news(x)), key=lambda x: x.score)
        return [self._alert(lowest, closing[peaks[-1]], end_s)]

    def _last_low_stretch(self) -> tuple[list[_Scored], int]:
        """The latest run of unhappy lines, close together, that adds up to clearly negative and is more
        than bad news (empty if there is none), and the index of its last line."""
        found: tuple[list[_Scored], int] = ([], -1)
        stretch: list[_Scored] = []
        for i, line in enumerate(self._lines):
            if line.score >= _POSITIVE:
                stretch = []  # a clearly happy line in between: what follows is a new stretch
            if line.score > _NEGATIVE:
                continue
            if stretch and line.sentiment.start_s - stretch[-1].sentiment.end_s > _STRETCH_S:
                stretch = []
            stretch.append(line)
            unhappy = any(not self._is_bad_news(x) for x in stretch)  # grief alone is not displeasure
            if unhappy and sum(x.weight for x in stretch) <= _LOW_TOTAL:
                found = (list(stretch), i)
        return found

    def _is_bad_news(self, line: _Scored) -> bool:
        return line.quote is not None and self._bad_news.classify(line.quote.text) is not None

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
