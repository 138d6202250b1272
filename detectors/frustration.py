"""A frustrated customer, and whether the agent's next turn names the feeling before the business.

Owns the wording of the verdict. A customer final showing frustration (a repeat call, a long wait, a problem
still not fixed, asking for a manager, a threat to leave or complain, plain anger: see ``frustration.toml``;
a trigger heard clearly, in a plausible sentence: ``trigger.py``) opens a topic that
:mod:`~callcoach.detectors.next_turn` follows to the agent's next turn. A reply that names the feeling earns
"de_escalation" praise; one that carries on with business is "customer_frustration" to coach, with a reply
fitted to what the customer said. A reply that takes the problem on without naming the feeling ("let me sort
this out for you") gets neither: the ownership detector praises the commitment, and it is not the business-
as-usual this coaches. Only stereo calls count: mono ("mixed") calls never produce these kinds.
"""

from __future__ import annotations

from typing import ClassVar

from callcoach.detectors.alerts import AlertIds, clock, secs, spoken_start
from callcoach.detectors.config import DetectorConfig
from callcoach.detectors.frustration_table import TABLE, Frustration, FrustrationTable
from callcoach.detectors.next_turn import NextTurn, Verdict, reply_alert
from callcoach.detectors.ownership_table import TABLE as OWNERSHIP
from callcoach.live.events import Alert, AlertKind, Event

COLD = "customer_frustration"
PRAISE = "de_escalation"


class FrustrationDetector:
    """Judges the agent's reply to each show of the customer's frustration, once."""

    name = "frustration"
    KINDS: ClassVar[dict[str, AlertKind]] = {
        COLD: AlertKind(COLD, "Frustration", "coach", "warn"),
        PRAISE: AlertKind(PRAISE, "De-escalation", "praise", "star"),
    }

    def __init__(self, config: DetectorConfig, table: FrustrationTable = TABLE) -> None:
        self._ids = AlertIds()
        self._turns: NextTurn[Frustration] = NextTurn(
            config.reply_window_s, table.heard, table.acknowledges, settles=_takes_it_on
        )

    def feed(self, event: Event) -> list[Alert]:
        return [self._alert(v) for v in self._turns.feed(event)]

    def tick(self, now_s: float) -> list[Alert]:
        self._turns.tick(now_s)
        return []

    def finish(self, end_s: float) -> list[Alert]:
        return [self._alert(v) for v in self._turns.finish(end_s)]

    def _alert(self, verdict: Verdict[Frustration]) -> Alert:
        return self._praise(verdict) if verdict.warm else self._cold(verdict)

    def _cold(self, verdict: Verdict[Frustration]) -> Alert:
        topic = verdict.topic
        pause = topic.pause_s
        paused = f" after a {secs(pause)} pause" if pause >= 1.0 else ""
        return reply_alert(
            self._ids.next(COLD),
            self.KINDS[COLD],
            verdict,
            title=f"Frustration passed over at {clock(topic.reply_start_s)}",
            why=(
                f"The customer showed frustration ({topic.kind.label}), and{paused} the agent carried on "
                "with business without naming it. A customer who does not feel heard gets angrier, and "
                "everything after that is harder."
            ),
            suggestion=(
                "Name the feeling first, then take the problem on yourself. For example: "
                f'"{topic.kind.example}"'
            ),
        )

    def _praise(self, verdict: Verdict[Frustration]) -> Alert:
        label = verdict.topic.kind.label
        return reply_alert(
            self._ids.next(PRAISE),
            self.KINDS[PRAISE],
            verdict,
            title=f"De-escalation at {clock(spoken_start(verdict.reply[0]))}",
            why=(
                f"The customer showed frustration ({label}), and the agent named the feeling before "
                "anything else. Being heard is what lets an angry customer calm down and work with you."
            ),
            suggestion=(
                "Keep doing this: name the feeling in your own words, then say what you will do about it "
                "and when."
            ),
        )


def _takes_it_on(text: str) -> bool:
    return OWNERSHIP.takes_on(text)
