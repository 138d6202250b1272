"""The customer said something that needs an answer: did the agent's next turn give one?

Owns the timing that the bad-news and frustration detectors share. A customer final whose words ``classify``
recognises (a trigger heard clearly, in a plausible sentence: ``trigger.py``) opens a topic (the bad news,
the complaint); the customer's further lines before the agent answers belong to it. The agent's next turn
(finals starting after the opening line ended, within ``window_s``) is then judged once: a line that
``acknowledges`` gives a warm verdict at once; a line that ``settles`` (the agent took the problem on
without naming the feeling) closes the topic without a verdict; a turn with neither is cold as soon as it is
clearly a reply (six words or more), the customer speaks again, or the call ends. Backchannels ("mhm") said
over the customer are not the turn. An agent who talks over the end of the opening line and is then answered
by the customer has had their turn: the exchange moved on over the news, which is the interruption
detector's moment, so no verdict is given.

Only stereo calls count: the speaker must be known, so mono ("mixed") calls never open a topic.
The detectors turn verdicts into alerts; this module knows nothing of their wording.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from callcoach.detectors.alerts import joined, quote_of, spoken_end, spoken_start
from callcoach.detectors.text import BACKCHANNEL, words
from callcoach.detectors.trigger import Heard, words_of
from callcoach.detectors.turns import voice_start
from callcoach.live.events import Alert, AlertKind, Event, Quote, Transcript, Word

T = TypeVar("T")
# A reply this long without an acknowledgement has moved on: no need to wait for the turn to end.
REPLY_WORDS = 6
# Earlier lines of the customer's turn quoted with the opening line, for context ("I know you needed...").
_CONTEXT_S = 10.0
_CONTEXT_LINES = 3


@dataclass
class Topic(Generic[T]):
    """One thing the customer said, awaiting the verdict on the agent's reply."""

    kind: T  # what ``classify`` made of it (a bad-news category, a kind of frustration)
    said_end_s: float  # end of the line that opened it: the reply must start after it
    lines: list[Transcript]  # the customer's lines quoted with it, in order
    confidence: float  # of the trigger that opened it: the lowest confidence of its words
    reply: list[Transcript] = field(default_factory=list)  # the agent's turn so far
    talked_over_s: float | None = None  # end of an agent line said over the end of the opening line

    def end_before(self, t_s: float) -> float:
        """End of the customer's last line that began before ``t_s``: where the pause starts."""
        return max((spoken_end(x) for x in self.lines if spoken_start(x) < t_s), default=self.said_end_s)

    @property
    def reply_start_s(self) -> float:
        return spoken_start(self.reply[0])

    @property
    def reply_words(self) -> list[str]:
        return [w for line in self.reply for w in words(line.text)]

    @property
    def pause_s(self) -> float:
        """The silence between the customer's words and the agent's reply."""
        return round(max(0.0, self.reply_start_s - self.end_before(self.reply_start_s)), 2)


@dataclass(frozen=True)
class Verdict(Generic[T]):
    """The agent's turn after ``topic``: ``warm`` (``reply`` is the acknowledging line) or cold (``reply`` is
    the whole turn), known at ``detected_s``."""

    warm: bool
    topic: Topic[T]
    reply: tuple[Transcript, ...]
    detected_s: float


def _never(text: str) -> bool:
    return False


def _nothing(topic: Topic[T]) -> None:
    return None


class NextTurn(Generic[T]):
    """Judges the agent's reply to each topic the customer opens, once."""

    def __init__(
        self,
        window_s: float,
        classify: Callable[[Sequence[Word]], Heard[T] | None],
        acknowledges: Callable[[str], bool],
        settles: Callable[[str], bool] = _never,
        judged: Callable[[Topic[T]], None] = _nothing,
    ) -> None:
        self._window_s = window_s
        self._classify_words = classify
        self._acknowledges = acknowledges
        self._settles = settles
        self._judged = judged  # told of each topic as its verdict is given, before the next line is read
        self._topic: Topic[T] | None = None
        self._customer_turn: list[Transcript] = []  # customer finals since the agent's last final
        self._customer_start_s = float("-inf")  # latest time the customer was heard starting to speak
        self._finished = False

    def feed(self, event: Event) -> list[Verdict[T]]:
        if self._finished:
            return []
        if (start_s := voice_start(event, "customer")) is not None:
            return self._customer_started(start_s)
        if isinstance(event, Transcript) and event.speaker == "customer":
            out = self._customer_started(event.start_s)
            return out + self._customer_final(event) if event.final else out
        if isinstance(event, Transcript) and event.speaker == "agent" and event.final:
            return self._agent_final(event)
        return []

    def tick(self, now_s: float) -> None:
        topic = self._topic
        if topic is not None and not topic.reply and now_s > topic.end_before(now_s) + self._window_s:
            self._topic = None  # no reply in time: dead air is the silence detector's business

    def finish(self, end_s: float) -> list[Verdict[T]]:
        if self._finished:
            return []
        self._finished = True
        topic = self._topic
        if topic is None or not topic.reply:
            return []
        return [self._cold(topic, detected_s=max(end_s, spoken_end(topic.reply[-1])))]

    def _customer_started(self, start_s: float) -> list[Verdict[T]]:
        self._customer_start_s = max(self._customer_start_s, start_s)
        topic = self._topic
        if topic is None or not topic.reply or self._customer_start_s <= topic.reply_start_s:
            return []
        if self._backchannel(topic):
            topic.reply.clear()  # only "mhm" while the customer went on: the turn has not come yet
            return []
        return [self._cold(topic, detected_s=max(self._customer_start_s, spoken_end(topic.reply[-1])))]

    def _customer_final(self, line: Transcript) -> list[Verdict[T]]:
        self._customer_turn.append(line)
        topic = self._topic
        if topic is not None and not topic.reply and self._answers_talk_over(topic, line):
            topic = self._topic = None  # the customer answered the agent who talked over them
        if topic is not None and (not topic.reply or spoken_start(line) < topic.reply_start_s):
            topic.lines.append(line)  # the customer is still telling it: one topic, one verdict
            if topic.reply and spoken_end(line) > topic.reply_start_s and self._backchannel(topic):
                topic.reply.clear()  # the agent's "mhm" was said over the customer, not after them
            return []
        heard = self._classify()
        if heard is not None:
            lines = [*self._context(line), line]
            self._topic = Topic(heard.kind, spoken_end(line), lines, heard.confidence)
        return []

    def _classify(self) -> Heard[T] | None:
        """The topic of the customer's latest final, or across it and the one before when Vosk split a
        phrase at a pause ("my uncle just" / "passed"): but never a topic the earlier line held alone."""
        *earlier, line = self._customer_turn
        heard = self._classify_words(words_of(line))
        if heard is not None or not earlier or self._classify_words(words_of(earlier[-1])) is not None:
            return heard
        return self._classify_words((*words_of(earlier[-1]), *words_of(line)))

    @staticmethod
    def _answers_talk_over(topic: Topic[T], line: Transcript) -> bool:
        return topic.talked_over_s is not None and spoken_start(line) >= topic.talked_over_s

    @staticmethod
    def _backchannel(topic: Topic[T]) -> bool:
        return all(w in BACKCHANNEL for w in topic.reply_words)

    def _context(self, line: Transcript) -> list[Transcript]:
        """The customer's earlier lines of this turn, close enough to the opening line to quote with it."""
        start = spoken_start(line) - _CONTEXT_S
        before = [x for x in self._customer_turn[:-1] if spoken_end(x) >= start]
        return before[-_CONTEXT_LINES:]

    def _agent_final(self, line: Transcript) -> list[Verdict[T]]:
        self._customer_turn = []
        topic = self._topic
        start = spoken_start(line)
        if topic is None or not line.text.strip():
            return []
        if start < topic.said_end_s:
            if spoken_end(line) > topic.said_end_s and not all(w in BACKCHANNEL for w in words(line.text)):
                topic.talked_over_s = spoken_end(line)
            return []
        if not topic.reply and start > topic.end_before(start) + self._window_s:
            self._topic = None
            return []
        topic.reply.append(line)
        # Vosk splits a sentence at a pause ("I can hear how" / "frustrating this has been"): the line
        # alone, else the whole turn so far, may carry the acknowledgement.
        warm = self._acknowledges(line.text)
        if warm or (len(topic.reply) > 1 and self._acknowledges(self._turn_text(topic))):
            return [self._verdict(True, topic, (line,) if warm else tuple(topic.reply), spoken_end(line))]
        if self._settles(self._turn_text(topic)):
            self._topic = None  # taken on without naming the feeling: neither praise nor correction
            return []
        if len(topic.reply_words) >= REPLY_WORDS:
            return [self._cold(topic, detected_s=spoken_end(line))]
        # The customer may already have spoken again (their voice activity arrives before our final).
        return self._customer_started(self._customer_start_s)

    @staticmethod
    def _turn_text(topic: Topic[T]) -> str:
        return " ".join(x.text for x in topic.reply)

    def _cold(self, topic: Topic[T], detected_s: float) -> Verdict[T]:
        return self._verdict(False, topic, tuple(topic.reply), detected_s)

    def _verdict(
        self, warm: bool, topic: Topic[T], reply: tuple[Transcript, ...], detected_s: float
    ) -> Verdict[T]:
        self._topic = None
        self._judged(topic)
        return Verdict(warm, topic, reply, detected_s)


def reply_alert(
    alert_id: str, spec: AlertKind, verdict: Verdict[T], *, title: str, why: str, suggestion: str
) -> Alert:
    """The alert for a verdict on the agent's reply. The moment is the reply (where a click seeks to);
    the customer's lines it answered come first in ``quotes``."""
    replied = [quote_of(x) for x in verdict.reply]
    quotes: tuple[Quote, ...] = (*(quote_of(x) for x in verdict.topic.lines), *replied)
    return Alert(
        id=alert_id,
        revision=0,
        kind=spec.kind,
        polarity=spec.polarity,
        speaker="agent",
        start_s=replied[0].start_s,
        end_s=replied[-1].end_s,
        detected_s=verdict.detected_s,
        title=title,
        quote=joined(replied),
        why=why,
        suggestion=suggestion,
        quotes=quotes,
        pause_s=verdict.topic.pause_s,
        confidence=verdict.topic.confidence,
    )
