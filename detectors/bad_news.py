"""Bad news from the customer, and whether the agent's next turn acknowledges it.

Owns the timing of the verdict: a customer final carrying bad news (see ``bad_news.toml``) opens a
piece of news; the agent's next turn (finals starting after the news ended, within
``reply_window_s``) is then judged once. An acknowledging line earns "empathy_shown" praise at once;
a turn without one becomes "cold_reply_to_bad_news" as soon as it is clearly a reply (six words or
more), the customer speaks again, or the call ends. Only stereo calls count: the speaker must be
known, so mono ("mixed") calls never produce these kinds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from callcoach.detectors.alerts import AlertIds, clock, joined, quote_of, secs, spoken_end, spoken_start
from callcoach.detectors.bad_news_table import TABLE, BadNewsTable, Category
from callcoach.detectors.config import DetectorConfig
from callcoach.detectors.text import BACKCHANNEL, words
from callcoach.live.events import Alert, AlertKind, Event, Quote, Speech, Transcript

COLD = "cold_reply_to_bad_news"
EMPATHY = "empathy_shown"
# A reply this long without an acknowledgement has moved on: no need to wait for the turn to end.
_REPLY_WORDS = 6
# Earlier lines of the customer's turn quoted with the news, for context ("I know you needed...").
_CONTEXT_S = 10.0
_CONTEXT_LINES = 3


@dataclass
class _News:
    """One piece of bad news awaiting its verdict."""

    category: Category
    bad_end_s: float  # end of the bad-news line itself: the reply must start after it
    lines: list[Transcript]  # the customer's lines quoted with it, in order
    reply: list[Transcript] = field(default_factory=list)  # the agent's turn so far

    def end_before(self, t_s: float) -> float:
        """End of the customer's last line that began before ``t_s``: where the pause starts."""
        return max((spoken_end(x) for x in self.lines if spoken_start(x) < t_s), default=self.bad_end_s)

    @property
    def reply_start_s(self) -> float:
        return spoken_start(self.reply[0])

    @property
    def reply_words(self) -> list[str]:
        return [w for line in self.reply for w in words(line.text)]


class BadNewsDetector:
    """Judges the agent's reply to each piece of the customer's bad news, once."""

    name = "bad_news"
    KINDS: ClassVar[dict[str, AlertKind]] = {
        COLD: AlertKind(COLD, "Cold reply", "coach", "bulb"),
        EMPATHY: AlertKind(EMPATHY, "Empathy", "praise", "star"),
    }

    def __init__(self, config: DetectorConfig, table: BadNewsTable = TABLE) -> None:
        self._window_s = config.reply_window_s
        self._table = table
        self._ids = AlertIds()
        self._news: _News | None = None
        self._customer_turn: list[Transcript] = []  # customer finals since the agent's last final
        self._customer_start_s = float("-inf")  # latest time the customer was heard starting to speak
        self._finished = False

    def feed(self, event: Event) -> list[Alert]:
        if self._finished:
            return []
        if isinstance(event, Speech) and event.speaker == "customer" and event.end_s is None:
            return self._customer_started(event.start_s)
        if isinstance(event, Transcript) and event.speaker == "customer":
            out = self._customer_started(event.start_s)
            return out + self._customer_final(event) if event.final else out
        if isinstance(event, Transcript) and event.speaker == "agent" and event.final:
            return self._agent_final(event)
        return []

    def tick(self, now_s: float) -> list[Alert]:
        news = self._news
        if news is not None and not news.reply and now_s > news.end_before(now_s) + self._window_s:
            self._news = None  # no reply in time: dead air is the silence detector's business
        return []

    def finish(self, end_s: float) -> list[Alert]:
        if self._finished:
            return []
        self._finished = True
        news = self._news
        if news is None or not news.reply:
            return []
        return [self._cold(news, detected_s=max(end_s, spoken_end(news.reply[-1])))]

    def _customer_started(self, start_s: float) -> list[Alert]:
        self._customer_start_s = max(self._customer_start_s, start_s)
        news = self._news
        if news is None or not news.reply or self._customer_start_s <= news.reply_start_s:
            return []
        if self._backchannel(news):
            news.reply.clear()  # only "mhm" while the customer went on: the turn has not come yet
            return []
        return [self._cold(news, detected_s=max(self._customer_start_s, spoken_end(news.reply[-1])))]

    def _customer_final(self, line: Transcript) -> list[Alert]:
        self._customer_turn.append(line)
        news = self._news
        if news is not None and (not news.reply or spoken_start(line) < news.reply_start_s):
            news.lines.append(line)  # the customer is still telling it: one piece of news, one verdict
            if news.reply and spoken_end(line) > news.reply_start_s and self._backchannel(news):
                news.reply.clear()  # the agent's "mhm" was said over the customer, not after them
            return []
        category = self._classify()
        if category is not None:
            self._news = _News(category, spoken_end(line), [*self._context(line), line])
        return []

    def _classify(self) -> Category | None:
        """The news in the customer's latest final, or across it and the one before when Vosk split a
        phrase at a pause ("my uncle just" / "passed"): but never news the earlier line held alone."""
        *earlier, line = self._customer_turn
        category = self._table.classify(line.text)
        if category is not None or not earlier or self._table.classify(earlier[-1].text) is not None:
            return category
        return self._table.classify(f"{earlier[-1].text} {line.text}")

    @staticmethod
    def _backchannel(news: _News) -> bool:
        return all(w in BACKCHANNEL for w in news.reply_words)

    def _context(self, line: Transcript) -> list[Transcript]:
        """The customer's earlier lines of this turn, close enough to the news to quote with it."""
        start = spoken_start(line) - _CONTEXT_S
        before = [x for x in self._customer_turn[:-1] if spoken_end(x) >= start]
        return before[-_CONTEXT_LINES:]

    def _agent_final(self, line: Transcript) -> list[Alert]:
        self._customer_turn = []
        news = self._news
        start = spoken_start(line)
        if news is None or start < news.bad_end_s or not line.text.strip():
            return []
        if not news.reply and start > news.end_before(start) + self._window_s:
            self._news = None
            return []
        news.reply.append(line)
        if self._table.acknowledges(line.text):
            return [self._empathy(news, line)]
        if len(news.reply_words) >= _REPLY_WORDS:
            return [self._cold(news, detected_s=spoken_end(line))]
        # The customer may already have spoken again (their voice activity arrives before our final).
        return self._customer_started(self._customer_start_s)

    def _pause_s(self, news: _News) -> float:
        return round(max(0.0, news.reply_start_s - news.end_before(news.reply_start_s)), 2)

    def _customer_text(self, news: _News) -> str:
        return joined([quote_of(x) for x in news.lines])

    def _cold(self, news: _News, detected_s: float) -> Alert:
        self._news = None
        label, pause = news.category.label, self._pause_s(news)
        customer, agent = self._customer_text(news), joined([quote_of(x) for x in news.reply])
        paused = f" after a {secs(pause)} pause" if pause >= 1.0 else ""
        example = self._table.suggestion(news.category, [customer, agent])
        return self._alert(
            COLD,
            news,
            news.reply,
            detected_s,
            title=f"Cold reply to {label} at {clock(news.reply_start_s)}",
            quote=agent,
            why=(
                f"The customer shared {label}, and{paused} the agent went straight on without acknowledging "
                "it. Skipping past someone's bad news makes them feel unheard and costs trust for the rest "
                "of the call."
            ),
            suggestion=f'Acknowledge the news first, then the business. For example: "{example}"',
        )

    def _empathy(self, news: _News, line: Transcript) -> Alert:
        self._news = None
        label = news.category.label
        return self._alert(
            EMPATHY,
            news,
            [line],
            spoken_end(line),
            title=f"Empathy shown for {label} at {clock(spoken_start(line))}",
            quote=line.text,
            why=(
                f"The customer shared {label}, and the agent acknowledged it before moving on. That tells "
                "the customer they were heard, and it is what makes the rest of the call feel human."
            ),
            suggestion=(
                "Keep doing this: name the news, show you care, and take the pressure off before getting "
                "back to business."
            ),
        )

    def _alert(
        self,
        kind: str,
        news: _News,
        reply: list[Transcript],
        detected_s: float,
        *,
        title: str,
        quote: str,
        why: str,
        suggestion: str,
    ) -> Alert:
        replied = [quote_of(x) for x in reply]
        quotes: tuple[Quote, ...] = (*(quote_of(x) for x in news.lines), *replied)
        # The moment is the agent's reply (where a click seeks to); the news it answered is in ``quotes``.
        return Alert(
            id=self._ids.next(kind),
            revision=0,
            kind=kind,
            polarity=self.KINDS[kind].polarity,
            speaker="agent",
            start_s=replied[0].start_s,
            end_s=replied[-1].end_s,
            detected_s=detected_s,
            title=title,
            quote=quote,
            why=why,
            suggestion=suggestion,
            quotes=quotes,
            pause_s=self._pause_s(news),
        )
