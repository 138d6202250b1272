"""Which detectors exist: names to classes, kinds to polarity, and a fresh set per call.

Owns the list of detectors the pipeline runs. Adding a detector means writing its class (with ``name``
and a ``KINDS`` table of the alert kinds it emits, each an :class:`AlertKind` with its label and icon)
and adding it to :data:`DETECTORS`; the page learns :data:`KINDS` from the server's ``welcome``.
Coach-defined rules (:class:`RuleDetector`) come from a file rather than the config, so a call's set gets
one built from the rules it started with, after the others.
"""

from __future__ import annotations

from typing import Protocol

from callcoach.detectors.bad_news import BadNewsDetector
from callcoach.detectors.base import Detector
from callcoach.detectors.config import DetectorConfig
from callcoach.detectors.frustration import FrustrationDetector
from callcoach.detectors.interruption import InterruptionDetector
from callcoach.detectors.monologue import MonologueDetector
from callcoach.detectors.ownership import OwnershipDetector
from callcoach.detectors.rule_detector import RuleDetector
from callcoach.detectors.rules import NO_RULES, RuleSet
from callcoach.detectors.silence import SilenceDetector
from callcoach.detectors.turned_around import TurnedAroundDetector
from callcoach.live.events import AlertKind


class DetectorClass(Protocol):
    """A detector class: built from the config, and saying up front which alert kinds it emits."""

    KINDS: dict[str, AlertKind]

    def __call__(self, config: DetectorConfig) -> Detector: ...


# Name -> class, in the order the pipeline feeds them (the order alerts of one instant come out in).
DETECTORS: dict[str, DetectorClass] = {
    SilenceDetector.name: SilenceDetector,
    BadNewsDetector.name: BadNewsDetector,
    InterruptionDetector.name: InterruptionDetector,
    MonologueDetector.name: MonologueDetector,
    FrustrationDetector.name: FrustrationDetector,
    OwnershipDetector.name: OwnershipDetector,
    TurnedAroundDetector.name: TurnedAroundDetector,
}

# Every kind any detector emits, by name.
KINDS: dict[str, AlertKind] = {
    **{name: kind for cls in DETECTORS.values() for name, kind in cls.KINDS.items()},
    **RuleDetector.KINDS,
}


def create_detectors(config: DetectorConfig, rules: RuleSet = NO_RULES) -> list[Detector]:
    """A fresh detector of every kind for one call: detectors keep per-call state and are not reused.
    With ``rules``, the call's coach-defined rules too."""
    detectors: list[Detector] = [cls(config) for cls in DETECTORS.values()]
    return [*detectors, RuleDetector(rules)] if rules else detectors
