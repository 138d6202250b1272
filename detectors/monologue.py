"""Monologues: the agent talks for ``monologue_s`` or more without the customer getting a turn.

Owns the monologue rule. A monologue starts when the agent starts talking after the customer's last turn
(or after a break, or at the call's start) and runs, from the agent's voice activity, for as long as
nothing breaks it. Two things do:

* **A customer turn**: a customer final, spoken after the monologue began, with more in it than a
  listener's "mhm", "yeah right", "i see" or a noise word Vosk made of a breath or the line (see
  :func:`~callcoach.detectors.turns.is_backchannel`), not counting words that are the agent's own
  voice echoed on the customer's line. The monologue ends where the customer's words
  begin (or where the agent fell quiet before them).
* **A long pause**: the agent quiet for ``_BREAK_S``. That gave the customer room to come in; if they
  did, with words, that is the turn above, and if they only said "mhm" or nothing, they let it pass.
  Either way what follows is a new stretch; the monologue ends at the agent's last voiced moment.

The alert fires live, on the tick at which the monologue reaches the threshold (revision 0, ``end_s``
None), and is revised once with its full length when it ends (revision 1), as ``silence`` does. It waits
while the customer's voice is on, or ended too recently for their final to be in, since that may be the
turn that ends it. Only stereo calls: a mono call's ``mixed`` speaker never fires it.
"""

from __future__ import annotations

from typing import ClassVar

from callcoach.detectors.alerts import AlertIds, clock, joined, quote_of, secs, spoken_end, spoken_start
from callcoach.detectors.config import DetectorConfig
from callcoach.detectors.turns import MEMORY_S, TurnLog, is_backchannel, voice_start, words_text
from callcoach.live.events import Alert, AlertKind, Event, Quote, Transcript

KIND = "monologue"
# The agent quiet this long ends a monologue: the customer had room to come in (shorter than the 5 s
# silence alert, longer than a speaker's pause for breath between sentences).
_BREAK_S = 3.0
# A customer voice with no final this long after it ended was a noise, not words (Vosk waits for a
# pause before it gives a final).
_FINAL_WAIT_S = 2.0
# Ticks land on float multiples of 0.1 s; 59.9999999 must count as 60.
_EPSILON_S = 1e-6


class MonologueDetector:
    """Fires once per unbroken stretch of the agent's talk of ``config.monologue_s`` or more."""

    name = "monologue"
    KINDS: ClassVar[dict[str, AlertKind]] = {KIND: AlertKind(KIND, "Monologue", "coach", "bulb")}

    def __init__(self, config: DetectorConfig) -> None:
        self._threshold_s = config.monologue_s
        self._ids = AlertIds()
        self._turns = TurnLog(memory_s=max(MEMORY_S, 2 * config.monologue_s))  # back to a stretch's start
        self._start_s: float | None = None  # the current stretch of agent talk, None when there is none
        self._open: Alert | None = None  # fired for the current stretch, not yet closed
        self._lines: list[Transcript] = []  # customer finals waiting for the agent's words of that moment
        self._now_s = 0.0
        self._finished = False

    def feed(self, event: Event) -> list[Alert]:
        if self._finished:
            return []
        self._turns.feed(event)
        if (start_s := voice_start(event, "agent")) is not None:
            return self._agent_started(start_s)
        if isinstance(event, Transcript) and event.speaker == "customer" and event.final:
            self._lines.append(event)
        return self._judge_lines()

    def tick(self, now_s: float) -> list[Alert]:
        if self._finished:
            return []
        self._now_s = max(self._now_s, now_s)
        out = self._judge_lines()
        start_s = self._start_s
        if start_s is None:
            return out
        quiet_since = self._agent_quiet_since()
        if quiet_since is not None and now_s + _EPSILON_S >= quiet_since + _BREAK_S:
            return out + self._end(quiet_since)
        # Its length so far runs to now while the agent talks, to where they fell quiet while they pause.
        talked_to = now_s if quiet_since is None else quiet_since
        if self._open is not None or talked_to + _EPSILON_S < start_s + self._threshold_s:
            return out
        if self._customer_pending(start_s, now_s) or not self._agent_quotes(start_s, None):
            return out
        self._open = self._alert(self._ids.next(KIND), start_s, None, now_s, 0)
        return [*out, self._open]

    def finish(self, end_s: float) -> list[Alert]:
        if self._finished:
            return []
        self._now_s = max(self._now_s, end_s)
        out = self._judge_lines(final=True)
        quiet_since = self._agent_quiet_since()
        out += self._end(end_s if quiet_since is None else min(end_s, quiet_since))
        self._finished = True
        return out

    def _agent_started(self, start_s: float) -> list[Alert]:
        out: list[Alert] = []
        last_end = self._turns.last_end("agent")
        if self._start_s is not None and start_s >= last_end + _BREAK_S:
            out = self._end(last_end)  # a pause no tick saw out (segments arrive a little late)
        if self._start_s is None:
            self._start_s = start_s
        return out

    def _judge_lines(self, final: bool = False) -> list[Alert]:
        """Judge the customer's finals whose moment the agent's words are in for (to tell echo)."""
        out: list[Alert] = []
        for line in list(self._lines):
            # Taking out echo can only leave less: a backchannel as heard needs no wait.
            if final or is_backchannel(line.text) or self._agent_heard(spoken_end(line)):
                self._lines.remove(line)
                out += self._customer_line(line)
        return out

    def _agent_heard(self, t_s: float) -> bool:
        """Whether the agent's words up to ``t_s`` are in, or will not come (Vosk gives a final once the
        agent pauses; their partials come while they talk)."""
        turns = self._turns
        voiced_to = self._now_s if turns.open_start("agent") is not None else turns.last_end("agent")
        heard = turns.known_until("agent") >= min(t_s, voiced_to) - 0.3
        return heard or self._now_s > max(t_s, voiced_to) + _FINAL_WAIT_S

    def _customer_line(self, line: Transcript) -> list[Alert]:
        """A customer turn (more than a backchannel) during the stretch ends it where the turn began."""
        start_s = self._start_s
        said_s, done_s = spoken_start(line), spoken_end(line)
        if start_s is None or done_s <= start_s:
            return []
        if is_backchannel(
            words_text(self._turns.without_echo("customer", line.words)) if line.words else line.text
        ):
            return []  # a listener's "mhm", or the agent's own voice echoed on the customer's line
        agent = self._turns.segments_since("agent", start_s)
        talking_through = [s for s, e in agent if s < said_s and (e is None or e > said_s)]
        before = [e for _, e in agent if e is not None and e <= said_s]
        end_s = said_s if talking_through else max([start_s, *before])
        out = self._end(max(start_s, end_s))
        # The agent may already have gone on (the final comes late): that is the next stretch, from where
        # the customer's words ended if the agent was talking then.
        after = [s for s, _ in agent if s >= done_s - 0.3]
        if agent and agent[-1][1] is None and agent[-1][0] < done_s - 0.3:
            self._start_s = done_s
        elif after:
            self._start_s = after[0]
        return out

    def _end(self, end_s: float) -> list[Alert]:
        """The stretch is over at ``end_s``: revise its alert with the full length, or fire one already
        closed if it reached the threshold with no tick in between (the call ended)."""
        start_s, opened = self._start_s, self._open
        self._start_s, self._open = None, None
        if start_s is None:
            return []
        end_s = max(end_s, start_s)
        if opened is not None:
            return [self._alert(opened.id, start_s, end_s, max(opened.detected_s, self._now_s), 1)]
        if end_s - start_s + _EPSILON_S >= self._threshold_s and self._agent_quotes(start_s, end_s):
            return [self._alert(self._ids.next(KIND), start_s, end_s, start_s + self._threshold_s, 0)]
        return []

    def _agent_quiet_since(self) -> float | None:
        """When the agent fell quiet, None while their voice is on."""
        return None if self._turns.open_start("agent") is not None else self._turns.last_end("agent")

    def _customer_pending(self, start_s: float, now_s: float) -> bool:
        """The customer's voice is on, or ended too recently for their final to be in: it may be a turn."""
        if self._lines:
            return True
        heard_s = self._turns.heard_until("customer")
        for _, seg_end in self._turns.segments_since("customer", start_s):
            if seg_end is None or (heard_s < seg_end - 0.3 and now_s < seg_end + _FINAL_WAIT_S):
                return True
        return False

    def _agent_quotes(self, start_s: float, end_s: float | None) -> tuple[Quote, ...]:
        """The stretch's first line and its latest (what it opened with, how far it got); the partial
        stands in for a line not yet final. Empty while the agent has said no word: a voice on their
        line without words (noise, echo) is no monologue."""
        lines = self._turns.lines("agent", start_s, float("inf") if end_s is None else end_s)
        quotes = [quote_of(t) for t in lines if spoken_start(t) >= start_s - 0.5]
        partial = self._turns.partial("agent")
        if partial is not None and partial.text.strip() and (end_s is None or partial.start_s < end_s):
            quotes.append(Quote("agent", partial.text, max(partial.start_s, start_s), partial.end_s))
        return tuple(quotes[:1] + quotes[-1:] if len(quotes) > 1 else quotes)

    def _alert(
        self, id_: str, start_s: float, end_s: float | None, detected_s: float, revision: int
    ) -> Alert:
        quotes = self._agent_quotes(start_s, end_s)
        if end_s is None:
            length = secs(detected_s - start_s)
            title, lead = f"Monologue since {clock(start_s)}", f"The agent has been talking for {length}"
        else:
            length = secs(end_s - start_s)
            title, lead = f"{length} monologue at {clock(start_s)}", f"The agent talked for {length}"
        return Alert(
            id=id_,
            revision=revision,
            kind=KIND,
            polarity="coach",
            speaker="agent",
            start_s=start_s,
            end_s=end_s,
            detected_s=round(detected_s, 3),
            title=title,
            quote=joined(quotes),
            why=(
                f'{lead} without the customer getting a turn (at most a "mhm"). After a minute or so '
                "customers stop following, and the question or worry they had goes unsaid."
            ),
            suggestion=(
                'Break a long explanation into short pieces and check in after each one: "Does that make '
                'sense so far?" or "What questions do you have about that?" Then let the customer answer.'
            ),
            quotes=quotes,
        )
