"""The agent taking a problem on personally: "I'll take care of this", "I'll call you back by four".

Owns the ownership praise. An agent final that commits the agent to act themselves (see
``ownership.toml``: not "I'll need your account number", not "I'll transfer you", not "the team will
sort it") is praised as it arrives. So that a call is not flooded with the same praise, a commitment is
praised once per exchange (after a praise, the customer must have said something before the next) and
at most ``_MAX_PER_CALL`` times a call. Only stereo calls count: on a mono ("mixed") call nobody knows
who promised.
"""

from __future__ import annotations

from typing import ClassVar

from callcoach.detectors.alerts import AlertIds, clock, quote_of, spoken_end, spoken_start
from callcoach.detectors.config import DetectorConfig
from callcoach.detectors.ownership_table import TABLE, OwnershipTable
from callcoach.detectors.text import BACKCHANNEL, words
from callcoach.live.events import Alert, AlertKind, Event, Transcript

KIND = "ownership"
# A commitment in each of a call's exchanges is a new one ("I'll look into it myself" while calming the
# customer, "I'll send the new bill myself today" once the fix is found); more than three is the agent's
# habit, and praising every one would drown the call's other moments.
_MAX_PER_CALL = 3
# A commitment split by Vosk at a pause ("I'll take care" / "of this") is read across two finals this close.
_SPLIT_GAP_S = 1.5
# The customer's line before the commitment is quoted with it, when it was this recent.
_CONTEXT_S = 15.0


class OwnershipDetector:
    """Praises the agent's personal commitments, a few times a call at most."""

    name = "ownership"
    KINDS: ClassVar[dict[str, AlertKind]] = {KIND: AlertKind(KIND, "Ownership", "praise", "star")}

    def __init__(self, config: DetectorConfig, table: OwnershipTable = TABLE) -> None:
        self._table = table
        self._ids = AlertIds()
        self._last_agent: Transcript | None = None
        self._last_customer: Transcript | None = None
        self._praised = 0
        self._praised_s = float("-inf")  # start of the last praised commitment
        self._heard_since = True  # whether the customer has spoken since the last praise

    def feed(self, event: Event) -> list[Alert]:
        if not isinstance(event, Transcript) or not event.final or not event.text.strip():
            return []
        if event.speaker == "customer":
            self._last_customer = event
            # "mhm" under the agent's explanation is not a new exchange, nor a line said before the praise
            # whose final came late: the same commitment goes on.
            answered = spoken_start(event) > self._praised_s
            said = any(w not in BACKCHANNEL for w in words(event.text))
            self._heard_since = self._heard_since or (answered and said)
            return []
        if event.speaker != "agent":
            return []
        before, self._last_agent = self._last_agent, event
        if not self._may_praise():
            return []
        lines = [event]
        if self._table.commits(event.text) is None:
            if not self._split(before, event):
                return []
            lines = [before, event] if before is not None else lines
        return [self._praise(lines)]

    def tick(self, now_s: float) -> list[Alert]:
        return []

    def finish(self, end_s: float) -> list[Alert]:
        return []

    def _may_praise(self) -> bool:
        return self._heard_since and self._praised < _MAX_PER_CALL

    def _split(self, before: Transcript | None, line: Transcript) -> bool:
        """A commitment across the previous agent final and this one (not one the earlier held alone)."""
        if before is None or spoken_start(line) - spoken_end(before) > _SPLIT_GAP_S:
            return False
        if self._table.commits(before.text) is not None:
            return False
        return self._table.commits(f"{before.text} {line.text}") is not None

    def _praise(self, lines: list[Transcript]) -> Alert:
        start_s = spoken_start(lines[0])
        self._praised += 1
        self._praised_s = start_s
        self._heard_since = False
        text = " ".join(x.text.strip() for x in lines)
        customer = self._last_customer
        context = [customer] if customer is not None and start_s - spoken_end(customer) <= _CONTEXT_S else []
        if self._table.says_when(text):
            keep = (
                "Keep doing this: you said what you would do, that you would do it yourself, and when. "
                "The customer can stop worrying about it."
            )
        else:
            keep = (
                "Keep doing this: say what you will do and that you will do it yourself. Saying when makes "
                'it land even better: "I\'ll call you back by four today."'
            )
        return Alert(
            id=self._ids.next(KIND),
            revision=0,
            kind=KIND,
            polarity="praise",
            speaker="agent",
            start_s=start_s,
            end_s=spoken_end(lines[-1]),
            detected_s=spoken_end(lines[-1]),
            title=f"Ownership at {clock(start_s)}",
            quote=text,
            why=(
                "The agent committed to act personally instead of passing the problem on. The customer "
                "knows who is handling it and that they will not have to chase."
            ),
            suggestion=keep,
            quotes=(*(quote_of(x) for x in context), *(quote_of(x) for x in lines)),
        )
