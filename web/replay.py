"""The replay gate, sans I/O: which of a recorded call's events a coach's page may have by now.

A replay releases events as the coach's player reaches them (a little ahead, so they are on the page when
the audio gets there; the page reveals each at its exact moment). The gate is told where the player is and
whether it plays, with the caller's clock reading; between reports it extrapolates at real-time speed.
Seeking forward releases everything before the new point at once; seeking back releases nothing new (the
page hides what lies after the playhead).

The pipeline's events are logged in (nearly) the order of their moments, so a cursor stops at the first
one still ahead. Coaches' notes and pins are not: one added to a finished call lands at the end of the log
with a moment anywhere in it. The gate takes those apart as they are logged and holds each until the
player reaches its moment; the cursor steps over them.
"""

from __future__ import annotations

from collections.abc import Sequence

from callcoach.live.eventlog import check_cursor, moment_s
from callcoach.live.events import Event, Note, Pin

# How far ahead of the player events are released: covers the page's report interval and network delay,
# and the pipeline's small reordering (a transcript final is logged a little after its last word).
LEAD_S = 1.0


class ReplayGate:
    """One page's replay of one call; ``after_seq`` is the last seq the page already has (0: none)."""

    def __init__(self, lead_s: float = LEAD_S, after_seq: int = 0) -> None:
        self.lead_s = lead_s
        self.cursor = after_seq  # events[:cursor] have been released, or are held below
        self._held: list[int] = []  # seqs of notes and pins not yet due, wherever they are in the log
        self._scanned = 0  # events[:_scanned] have been looked at for notes and pins
        self._position_s = 0.0
        self._playing = False
        self._reported_at = 0.0

    @property
    def cursor(self) -> int:
        return self._cursor

    @cursor.setter
    def cursor(self, seq: int) -> None:
        check_cursor(seq)  # events[cursor] indexes the log: a negative one reads from its end
        self._cursor = seq

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
        """The events now due, as ``(seq, event)``: the pipeline's in log order, each note or pin placed
        before the first of them that happens later (so every player gets them in the same order)."""
        for index in range(max(self._scanned, self._cursor), len(events)):  # each event is looked at once
            if isinstance(events[index], Note | Pin):
                self._held.append(index + 1)
        self._scanned = len(events)
        horizon = self.horizon_s(now)
        notes = sorted(
            (s for s in self._held if moment_s(events[s - 1]) <= horizon),
            key=lambda s: (moment_s(events[s - 1]), s),
        )
        self._held = [seq for seq in self._held if seq not in notes]
        out: list[tuple[int, Event]] = []
        while self._cursor < len(events):
            event = events[self._cursor]
            self._cursor += 1
            if isinstance(event, Note | Pin):  # taken apart above
                continue
            if moment_s(event) > horizon:
                self._cursor -= 1
                break
            while notes and moment_s(events[notes[0] - 1]) < moment_s(event):
                out.append((notes[0], events[notes.pop(0) - 1]))
            out.append((self._cursor, event))
        out += [(seq, events[seq - 1]) for seq in notes]
        return out

    def wait_s(self, events: Sequence[Event], now: float) -> float | None:
        """How long until the next held event falls due while playing; None when only a report or a new
        event can change anything (paused, or nothing held)."""
        pending = [moment_s(events[seq - 1]) for seq in self._held]
        if self._cursor < len(events):
            pending.append(moment_s(events[self._cursor]))
        if not self._playing or not pending:
            return None
        return max(0.0, min(pending) - self.horizon_s(now))
