"""Bad news from the customer, and whether the agent's next turn acknowledges it.

Owns the wording of the verdict: a customer final carrying bad news (see ``bad_news.toml``; only a trigger
heard clearly, with a subject, in a plausible sentence counts: ``trigger.py``) opens a topic that
:mod:`~callcoach.detectors.next_turn` follows to the agent's next turn. An acknowledging line earns
"empathy_shown" praise; a turn without one is a "cold_reply_to_bad_news", and so is an apology that turns
straight to business ("I'm sorry, but I'll need the certificate"): the customer hears the "but", not the
sorry. One verdict per piece of news: once the agent has answered it, the same news mentioned again later
("I've been taking taxis to the hospital") is not news again, whatever the answer was. Only stereo calls
count: mono ("mixed") calls never produce these kinds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from callcoach.detectors.alerts import AlertIds, clock, joined, quote_of, secs, spoken_start
from callcoach.detectors.bad_news_table import TABLE, BadNewsTable, Category
from callcoach.detectors.config import DetectorConfig
from callcoach.detectors.next_turn import NextTurn, Topic, Verdict, reply_alert
from callcoach.detectors.trigger import Heard
from callcoach.live.events import Alert, AlertKind, Event, Word

COLD = "cold_reply_to_bad_news"
EMPATHY = "empathy_shown"


class BadNewsDetector:
    """Judges the agent's reply to each piece of the customer's bad news, once."""

    name = "bad_news"
    KINDS: ClassVar[dict[str, AlertKind]] = {
        COLD: AlertKind(COLD, "Cold reply", "coach", "bulb"),
        EMPATHY: AlertKind(EMPATHY, "Empathy", "praise", "star"),
    }

    def __init__(self, config: DetectorConfig, table: BadNewsTable = TABLE) -> None:
        self._table = table
        self._ids = AlertIds()
        self._met: set[str] = set()  # categories of news the agent has answered in this call
        self._turns: NextTurn[Category] = NextTurn(
            config.reply_window_s, self._news, table.acknowledges, judged=self._answered
        )

    def feed(self, event: Event) -> list[Alert]:
        return [self._alert(v) for v in self._turns.feed(event)]

    def tick(self, now_s: float) -> list[Alert]:
        self._turns.tick(now_s)
        return []

    def finish(self, end_s: float) -> list[Alert]:
        return [self._alert(v) for v in self._turns.finish(end_s)]

    def _news(self, words: Sequence[Word]) -> Heard[Category] | None:
        return self._table.heard(words, skip=self._met)

    def _answered(self, topic: Topic[Category]) -> None:
        """Every category the answered lines mention is met: a car accident with the husband in hospital
        is one piece of news, and a later "the hospital" is the same story, not a new one."""
        for line in topic.lines:
            self._met.update(c.name for c in self._table.categories_in(line.text))

    def _alert(self, verdict: Verdict[Category]) -> Alert:
        return self._empathy(verdict) if verdict.warm else self._cold(verdict)

    def _cold(self, verdict: Verdict[Category]) -> Alert:
        news = verdict.topic
        label, pause = news.kind.label, news.pause_s
        customer, agent = joined([quote_of(x) for x in news.lines]), joined([quote_of(x) for x in news.reply])
        paused = f" after a {secs(pause)} pause" if pause >= 1.0 else ""
        example = self._table.suggestion(news.kind, [customer, agent])
        if self._table.apology_then_business(agent):
            why = (
                f"The customer shared {label}, and{paused} the agent said sorry but went straight on to "
                'business in the same breath. After a "but" the customer hears the business, not the '
                "sorry: it lands as a formality."
            )
            advice = 'Acknowledge the news on its own, with no "but" after it.'
        else:
            why = (
                f"The customer shared {label}, and{paused} the agent went straight on without acknowledging "
                "it. Skipping past someone's bad news makes them feel unheard and costs trust for the rest "
                "of the call."
            )
            advice = "Acknowledge the news first, then the business."
        return self._build(
            COLD,
            verdict,
            title=f"Cold reply to {label} at {clock(news.reply_start_s)}",
            why=why,
            suggestion=f'{advice} For example: "{example}"',
        )

    def _empathy(self, verdict: Verdict[Category]) -> Alert:
        label = verdict.topic.kind.label
        return self._build(
            EMPATHY,
            verdict,
            title=f"Empathy shown for {label} at {clock(spoken_start(verdict.reply[0]))}",
            why=(
                f"The customer shared {label}, and the agent acknowledged it before moving on. That tells "
                "the customer they were heard, and it is what makes the rest of the call feel human."
            ),
            suggestion=(
                "Keep doing this: name the news, show you care, and take the pressure off before getting "
                "back to business."
            ),
        )

    def _build(
        self, kind: str, verdict: Verdict[Category], *, title: str, why: str, suggestion: str
    ) -> Alert:
        return reply_alert(
            self._ids.next(kind), self.KINDS[kind], verdict, title=title, why=why, suggestion=suggestion
        )
