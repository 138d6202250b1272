"""Which detectors exist: names to classes, kinds to polarity, and a fresh set per call.

Owns the list of detectors the pipeline runs. Adding a detector means writing its class (with ``name``
and a ``KINDS`` table of the alert kinds it emits) and adding it to :data:`DETECTORS`; the page reads
:data:`KINDS` to list what it may be shown.
"""

from __future__ import annotations

from typing import Protocol

from callcoach.detectors.bad_news import BadNewsDetector
from callcoach.detectors.base import Detector
from callcoach.detectors.config import DetectorConfig
from callcoach.detectors.silence import SilenceDetector
from callcoach.live.events import Polarity


class DetectorClass(Protocol):
    """A detector class: built from the config, and saying up front which alert kinds it emits."""

    KINDS: dict[str, Polarity]

    def __call__(self, config: DetectorConfig) -> Detector: ...


# Name -> class, in the order the pipeline feeds them (the order alerts of one instant come out in).
DETECTORS: dict[str, DetectorClass] = {
    SilenceDetector.name: SilenceDetector,
    BadNewsDetector.name: BadNewsDetector,
}

# Alert kind -> polarity, for every kind any detector emits.
KINDS: dict[str, Polarity] = {kind: pol for cls in DETECTORS.values() for kind, pol in cls.KINDS.items()}


def create_detectors(config: DetectorConfig) -> list[Detector]:
    """A fresh detector of every kind for one call: detectors keep per-call state and are not reused."""
    return [cls(config) for cls in DETECTORS.values()]
