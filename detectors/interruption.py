"""Interruptions: the agent starts talking while the customer is in the middle of saying something.

Owns the interruption rule. The moment is found from voice activity and confirmed from the words:

* **Who had the floor.** The agent's speech start counts only when the customer's voice is on at that
  instant and the customer had been talking alone for ``_HELD_S`` (their turn began while the agent
  was quiet). Both starting at once is nobody's fault; the customer talking over the agent is not the
  agent's; and echo of the agent's own voice on the customer's line never talks alone.
* **Cut off.** The customer's voice stops within ``_CUT_S`` of the agent starting (or ended at that very
  instant), while the agent goes on. An agent who starts a moment before a finished sentence ends (by
  less than ``_CLEAR_OVERLAP_S``) looks the same to the voice activity, so then the customer's last
  word must show the line was cut short: a word no sentence ends on ("and", "my"), or one Vosk doubts
  (a word broken off half-way).
* **Talked over.** Both voices on together for ``_TALKOVER_S``, with words of the customer's own in
  the overlap.
* **Confirmed by the words.** The customer's words must be more than a backchannel or a noise word (a
  breath or line noise on their channel is no turn). The agent must have said a word during the
  overlap (a voice on the agent's line with no words is echo or noise), and their opening words must be
  more than a backchannel: an "mhm" over the customer is listening, not interrupting. A word heard on
  both lines at once is one side's echo on the other's and counts for neither.

It is judged live: as soon as the customer's voice ends (or the overlap reaches ``_TALKOVER_S``) and the
words needed are in, counting the partial transcript of a line still being spoken. Quotes taken from
partials are revised with the final lines as they come in. Only stereo calls: a mono call's single
``mixed`` speaker says nothing about who cut off whom.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from callcoach.detectors.alerts import AlertIds, clock, joined, quote_of, spoken_start
from callcoach.detectors.config import DetectorConfig
from callcoach.detectors.text import normalise, words
from callcoach.detectors.turns import VAD_LAG_S, TurnLog, is_backchannel, voice_start, words_text
from callcoach.live.events import Alert, AlertKind, Event, Quote, Speaker, Transcript, Word

KIND = "interruption"
_HELD_S = 0.5  # the customer talked alone this long before the agent started: they had the floor
_TURN_GAP_S = 1.0  # the customer's pauses shorter than this stay inside one turn
_CUT_S = 1.2  # the customer stopped within this of the agent starting: cut off
_CLEAR_OVERLAP_S = 0.4  # talked over this long before stopping: no turn end the agent saw coming
_LATCH_S = 0.06  # a customer voice ending this little before the agent's start left no gap at all
_TALKOVER_S = 1.5  # both talking at once this long: talked over, whoever stopped after
_AGENT_WORDS_S = 2.5  # the agent's words this long from their start tell a turn from a backchannel
_FINAL_WAIT_S = 3.0  # how long after a voice ends its final may still come (Vosk waits for a pause)
_GIVE_UP_S = 20.0  # a candidate still undecided this long after the agent started is dropped
# Vosk's confidence in a word broken off half-way is low (0.28-0.75 on generated cut-offs, where the
# whole words ending a line were heard at 0.82-1.0).
_DOUBTFUL_CONFIDENCE = 0.8
# A line cut short ends on a word no finished sentence ends on (normalised; "im" is "I'm").
_UNFINISHED = frozenset(
    words(
        "and but or because cause the a an my your our their his to of for with from at if when which "
        "i we they he she im were was have had will would could should can cant dont didnt just um uh"
    )
)
_SUFFIXES = {1: "st", 2: "nd", 3: "rd"}


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, ... 11th, 12th, 13th, ... 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else _SUFFIXES.get(n % 10, "th")
    return f"{n}{suffix}"


def _cut_short(last: Word) -> bool:
    """Whether a line's last word shows it was cut short: a word no sentence ends on, or one the
    recogniser doubts (a word broken off half-way is heard as some other word, with low confidence)."""
    return last.confidence < _DOUBTFUL_CONFIDENCE or normalise(last.text) in _UNFINISHED


@dataclass
class _Overlap:
    """The agent started while the customer held the floor; the verdict is still open."""

    agent_start_s: float
    customer_start_s: float  # the customer's segment that was on when the agent started
    turn_start_s: float  # where the customer's turn began (for the quote)


class InterruptionDetector:
    """Fires once per time the agent cuts the customer off or talks over them."""

    name = "interruption"
    KINDS: ClassVar[dict[str, AlertKind]] = {KIND: AlertKind(KIND, "Interruption", "coach", "bulb")}

    def __init__(self, config: DetectorConfig) -> None:
        self._ids = AlertIds()
        self._turns = TurnLog()
        self._pending: list[_Overlap] = []
        self._unquoted: list[_Moment] = []  # fired before the agent's final: revised when it comes
        self._count = 0
        self._now_s = 0.0
        self._finished = False

    def feed(self, event: Event) -> list[Alert]:
        if self._finished:
            return []
        self._turns.feed(event)
        if (start_s := voice_start(event, "agent")) is not None:
            self._agent_started(start_s)
        out = self._judge()
        if isinstance(event, Transcript) and event.final and self._unquoted:
            out += self._requote()
        return out

    def tick(self, now_s: float) -> list[Alert]:
        if self._finished:
            return []
        self._now_s = max(self._now_s, now_s)
        return self._judge()

    def finish(self, end_s: float) -> list[Alert]:
        if self._finished:
            return []
        self._now_s = max(self._now_s, end_s)
        out = self._judge(final=True)
        self._finished = True
        self._pending.clear()
        return out

    def _agent_started(self, start_s: float) -> None:
        customer_on = self._turns.open_start("customer")
        if customer_on is None:
            return
        turn_start = self._turns.turn_start("customer", customer_on, _TURN_GAP_S)
        agent_before = self._turns.last_end("agent")
        held_from = max(turn_start if agent_before < turn_start else customer_on, agent_before)
        if start_s - held_from >= _HELD_S:
            self._pending.append(_Overlap(start_s, customer_on, max(turn_start, agent_before)))

    def _judge(self, final: bool = False) -> list[Alert]:
        out: list[Alert] = []
        for overlap in list(self._pending):
            verdict = self._verdict(overlap, final)
            if verdict is None:
                continue
            self._pending.remove(overlap)
            if verdict:
                out.append(self._fire(overlap, verdict))
                # One moment, one alert: later agent starts over the same customer segment are part of it.
                self._pending = [p for p in self._pending if p.customer_start_s != overlap.customer_start_s]
        return out

    def _segment_end(self, speaker: Speaker, start_s: float) -> float | None:
        """End of the segment of ``speaker`` that began at ``start_s``; None while it goes on."""
        for seg_start, seg_end in self._turns.segments_since(speaker, start_s - 1e-6):
            if abs(seg_start - start_s) < 1e-6:
                return seg_end
        return None

    def _verdict(self, o: _Overlap, final: bool) -> str | None:
        """ "cut" or "over" to fire, "" to drop, None to wait for more of the call."""
        now = self._now_s
        customer_end = self._segment_end("customer", o.customer_start_s)
        agent_end = self._segment_end("agent", o.agent_start_s)
        customer_until = customer_end if customer_end is not None else max(now - VAD_LAG_S, o.agent_start_s)
        agent_until = agent_end if agent_end is not None else max(now - VAD_LAG_S, o.agent_start_s)
        if customer_end is not None and customer_end < o.agent_start_s - _LATCH_S:
            return ""  # the customer had finished: the VAD only reported it late
        if customer_end is not None and customer_end <= o.agent_start_s + _CUT_S:
            if agent_until <= customer_end:  # the agent stopped first: they did not take over
                return "" if agent_end is not None else self._waited(o, final)
            kind, overlap_end = "cut", customer_end
        elif min(customer_until, agent_until) >= o.agent_start_s + _TALKOVER_S:
            kind, overlap_end = "over", o.agent_start_s + _TALKOVER_S
        elif customer_end is not None or agent_end is not None:
            return ""  # the customer went on past the cut-off window, or the agent stopped: neither
        else:
            return self._waited(o, final)
        agent = self._agent_words(o, overlap_end, agent_end)
        customer = self._customer_words(o, kind, overlap_end)
        if agent is None or customer is None:
            return self._waited(o, final)
        if not agent or not customer:
            return ""
        if (
            kind == "cut"
            and overlap_end - o.agent_start_s < _CLEAR_OVERLAP_S
            and not _cut_short(customer[-1])
        ):
            return ""  # a finished sentence the agent saw coming to its end, not one cut short
        return kind

    def _waited(self, o: _Overlap, final: bool) -> str | None:
        """Wait on, unless the call ended or the candidate has waited too long."""
        return "" if final or self._now_s > o.agent_start_s + _GIVE_UP_S else None

    def _agent_words(self, o: _Overlap, overlap_end: float, agent_end: float | None) -> list[str] | None:
        """The agent's opening words when they are a turn's; [] when they are only a backchannel, or the
        agent said no word during the overlap (the voice was echo or noise); None while not yet known."""
        until = o.agent_start_s + _AGENT_WORDS_S
        if agent_end is not None:
            until = min(until, agent_end + 0.3)
        said = self._turns.own_words("agent", o.agent_start_s - 0.3, until)
        spoke = any(w.start_s < overlap_end + 0.2 for w in said)
        if spoke and not is_backchannel(words_text(said)):
            return words(words_text(said))  # more words cannot make it a backchannel: known already
        return [] if self._known("agent", until) else None

    def _customer_words(self, o: _Overlap, kind: str, overlap_end: float) -> list[Word] | None:
        """The words of the customer's turn the agent broke into (talked over: those said during the
        overlap) when they are a turn's; [] when not; None while not yet known."""
        # Whether a cut-off line's last word was cut short takes the final's confidence, not a partial's.
        if not self._known("customer", overlap_end, finals_only=kind == "cut"):
            return None
        begin = o.turn_start_s if kind == "cut" else o.agent_start_s
        said = self._turns.own_words("customer", begin, overlap_end + 0.3)
        if not any(w.end_s > o.agent_start_s - 0.7 for w in said) or is_backchannel(words_text(said)):
            return []
        return said

    def _known(self, speaker: Speaker, until_s: float, finals_only: bool = False) -> bool:
        """Whether ``speaker``'s words up to ``until_s`` are in, or are not coming (Vosk heard none)."""
        turns = self._turns
        known_s = turns.heard_until(speaker) if finals_only else turns.known_until(speaker)
        if known_s >= until_s - 0.3:
            return True
        # Vosk gives a final once the speaker pauses: none this long after they stopped means none is coming.
        return (
            turns.open_start(speaker) is None
            and self._now_s > max(until_s, turns.last_end(speaker)) + _FINAL_WAIT_S
        )

    def _fire(self, o: _Overlap, verdict: str) -> Alert:
        self._count += 1
        customer_end = self._segment_end("customer", o.customer_start_s)
        cut = verdict == "cut" and customer_end is not None
        end_s = customer_end if cut and customer_end is not None else o.agent_start_s + _TALKOVER_S
        detected_s = round(max(self._now_s, end_s), 3)
        moment = _Moment(self._ids.next(KIND), o, end_s, detected_s, cut, self._count)
        quotes, final = self._quotes(moment)
        if not final:
            self._unquoted.append(moment)
        return moment.alert(quotes)

    def _quotes(self, m: _Moment) -> tuple[tuple[Quote, ...], bool]:
        """The customer's cut-off words, then the agent's line that cut in; whether both are finals (not
        yet: the partial so far stands in for the line)."""
        start_s = m.overlap.agent_start_s
        customer = self._turns.lines("customer", m.overlap.turn_start_s, m.end_s)
        agent = [
            t for t in self._turns.lines("agent", start_s, start_s + 60.0) if spoken_start(t) >= start_s - 0.5
        ]
        quotes = [quote_of(t) for t in customer]
        heard_customer = self._turns.heard_until("customer") >= m.end_s - 0.3
        if not heard_customer and (partial := self._turns.partial("customer")) is not None:
            quotes.append(Quote("customer", partial.text, partial.start_s, partial.end_s))
        if agent:
            quotes.append(quote_of(agent[0]))
        elif (partial := self._turns.partial("agent")) is not None:
            quotes.append(Quote("agent", partial.text, max(partial.start_s, start_s), partial.end_s))
        return tuple(q for q in quotes if q.text.strip()), heard_customer and bool(agent)

    def _requote(self) -> list[Alert]:
        """Revise alerts fired on partial words with the final lines, as they come in."""
        out: list[Alert] = []
        for moment in list(self._unquoted):
            quotes, final = self._quotes(moment)
            if final or self._now_s > moment.detected_s + _GIVE_UP_S:
                self._unquoted.remove(moment)
            if quotes != moment.quotes:
                # Known once the line that changed it is in: a replay shows the revision from there on.
                heard_s = max(q.end_s for q in quotes)
                moment.detected_s = round(max(moment.detected_s, self._now_s, heard_s), 3)
                moment.revision += 1
                out.append(moment.alert(quotes))
        return out


@dataclass
class _Moment:
    """A fired interruption: what its alert (and each revision of it) says."""

    id: str
    overlap: _Overlap
    end_s: float
    detected_s: float
    cut: bool  # cut off (the customer stopped), else talked over
    nth: int  # the how-manyth interruption of the call
    revision: int = 0
    quotes: tuple[Quote, ...] = ()  # as last sent

    def alert(self, quotes: tuple[Quote, ...]) -> Alert:
        self.quotes = quotes
        start_s = self.overlap.agent_start_s
        at = clock(start_s)
        if self.cut:
            title = f"Cut the customer off at {at}"
            what = "The agent started talking while the customer was mid-sentence, and the customer stopped."
        else:
            title = f"Talked over the customer at {at}"
            what = (
                "The agent started talking while the customer was mid-sentence, and they talked at once "
                f"for {_TALKOVER_S:.1f} s or more."
            )
        if self.nth > 1:
            title += f" ({ordinal(self.nth)} time this call)"
        customer = [q for q in quotes if q.speaker == "customer"]
        agent = [q for q in quotes if q.speaker == "agent"]
        return Alert(
            id=self.id,
            revision=self.revision,
            kind=KIND,
            polarity="coach",
            speaker="agent",
            start_s=start_s,
            end_s=max(self.end_s, start_s),
            detected_s=self.detected_s,
            title=title,
            quote=" / ".join(q for q in (joined(customer), joined(agent)) if q),
            why=(
                f"{what} This is the {ordinal(self.nth)} time this call. A customer who is cut off feels "
                "unheard, and often gives up on what they meant to say or has to say it again."
            ),
            suggestion=(
                "Let the customer finish, and wait a beat after they stop before answering. If you do "
                'step in by accident, hand the turn back: "Sorry, I cut you off there, please go on."'
            ),
            quotes=quotes,
        )
