"""The detector protocol: what every detector is, and nothing more.

A detector is a plain object fed the call's events in audio-time order and told the time with
``tick``; it answers with alerts. It never reads a clock, never awaits, never touches a socket:
the same detector runs live, on a replay, and in a unit test fed a hand-built timeline.
"""

from __future__ import annotations

from typing import Protocol

from callcoach.live.events import Alert, Event


class Detector(Protocol):
    """One kind of moment. State lives on the instance and covers one call only."""

    name: str

    def feed(self, event: Event) -> list[Alert]:
        """Take one event (transcript, speech, ...); return any alerts (new ones or revisions) it causes."""
        ...

    def tick(self, now_s: float) -> list[Alert]:
        """The audio clock reached ``now_s`` (all audio before it has been fed); return alerts due by then."""
        ...

    def finish(self, end_s: float) -> list[Alert]:
        """The call ended at ``end_s``: close anything still open (an ongoing silence, a pending turn)."""
        ...
