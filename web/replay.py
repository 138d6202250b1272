"""The replay gate, sans I/O: which of a recorded call's events a coach's page may have by now.

A replay releases events as the coach's player reaches them (a little ahead, so they are on the page when
the audio gets there; the page reveals each at its exact moment). The gate is told where the player is and
whether it plays, with the caller's clock reading; between reports it extrapolates at real-time speed.
Seeking forward releases everything before the new point at once; seeking back releases nothing new (the
page hides what lies after the playhead).
"""

from __future__ import annotations

from collections.abc import Sequence

from callcoach.live.events import Event, moment_s

# How far ahead of the player events are released: covers the page's report interval and network delay,
# and the pipeline's small reordering (a transcript final is logged a little after its last word).
LEAD_S = 1.0


class ReplayGate:
    def __init__(self, lead_s: float = LEAD_S) -> None:
        self.lead_s = lead_s
        self.cursor = 0  # events[:cursor] have been released
        self._position_s = 0.0
        self._playing = False
        self._reported_at = 0.0

    def report(self, position_s: float, playing: bool, now: float) -> None:
        """The player is at ``position_s`` (playing or not) at clock reading ``now``."""
        self._position_s = max(0.0, position_s)
        self._playing = playing
        self._reported_at = now

    def horizon_s(self, now: float) -> float:
        """Audio time up to which events are released at clock reading ``now``."""
        position = self._position_s + (now - self._reported_at if self._playing else 0.0)
        return position + self.lead_s

    def release(self, events: Sequence[Event], now: float) -> list[tuple[int, Event]]:
        """The next events due, as ``(seq, event)``, in log order; advances the cursor past them."""
        horizon = self.horizon_s(now)
        out: list[tuple[int, Event]] = []
        while self.cursor < len(events) and moment_s(events[self.cursor]) <= horizon:
            self.cursor += 1
            out.append((self.cursor, events[self.cursor - 1]))
        return out

    def wait_s(self, events: Sequence[Event], now: float) -> float | None:
        """How long until the next held event falls due while playing; None when only a report or a new
        event can change anything (paused, or nothing held)."""
        if not self._playing or self.cursor >= len(events):
            return None
        return max(0.0, moment_s(events[self.cursor]) - self.horizon_s(now))
