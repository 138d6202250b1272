"""The per-call event log: append-only, numbered, the single source for everything downstream.

The session appends; every consumer (the CLI printer, storage, each coach's socket) reads from its own
cursor. A reader that falls behind costs the pipeline nothing: appending never waits for a reader, and a
reader catches up by reading from where its cursor stands. Reconnects, late joiners and replays are the same
problem: a reader with a cursor.

Coaches' notes and pins are annotations: they join the same numbered log (so everyone on the call gets
them in one order), and, unlike the pipeline's events, may still be added after the call has ended. Each
event's wire text is made once and shared by every reader, so a call followed by hundreds of pages costs
one encoding per event. :func:`moment_s` says from which point in the call each logged event exists, which
is what a replay of the log releases by.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from callcoach.live.codec import Wire, wire_text
from callcoach.live.events import (
    Alert,
    CallEnded,
    Error,
    Event,
    Frame,
    Note,
    Pin,
    Redaction,
    Sentiment,
    Speech,
    Transcript,
)

ANNOTATIONS = (Note, Pin)


class EventLog:
    """The numbered events of one call. Sequence numbers start at 1; ``seq`` n is ``events[n - 1]``."""

    def __init__(self, call_id: str) -> None:
        self.call_id = call_id
        self._events: list[Event] = []
        self._wire: list[str | None] = []
        self._closed = False
        # Replaced on every append: readers wait on the one current when they caught up.
        self._changed = asyncio.Event()

    @property
    def events(self) -> Sequence[Event]:
        return self._events

    @property
    def closed(self) -> bool:
        return self._closed

    def __len__(self) -> int:
        return len(self._events)

    def append(self, event: Event) -> int:
        if self._closed:
            raise RuntimeError(f"the log of call {self.call_id} is closed")
        return self._add(event)

    def annotate(self, event: Note | Pin) -> int:
        """Add a coach's note or pin: allowed before, during and after the call."""
        return self._add(event)

    def _add(self, event: Event) -> int:
        self._events.append(event)
        self._wire.append(None)
        self._wake()
        return len(self._events)

    def wire(self, seq: int) -> str:
        """The event ``seq`` as the text frame sent to pages (the envelope), made once and shared."""
        if isinstance(seq, bool) or not isinstance(seq, int) or not 1 <= seq <= len(self._events):
            # Not list indexing: seq 0 or -2 would read (and cache, for every reader) an event from the end.
            raise IndexError(f"seq {seq!r} is not in the log of call {self.call_id} (1 to {len(self)})")
        text = self._wire[seq - 1]
        if text is None:
            text = wire_text(self._events[seq - 1], seq=seq, call_id=self.call_id)
            self._wire[seq - 1] = text
        return text

    def close(self) -> None:
        """No more events: readers finish once they have read everything."""
        self._closed = True
        self._wake()

    def _wake(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def follow(self, after_seq: int = 0) -> AsyncIterator[tuple[int, Event]]:
        """Yield ``(seq, event)`` from ``after_seq + 1`` on, waiting for new ones until the log closes."""
        check_cursor(after_seq)
        cursor = after_seq
        while True:
            while cursor < len(self._events):
                cursor += 1
                yield cursor, self._events[cursor - 1]
            if self._closed:
                return
            await self._changed.wait()

    async def wait_longer(self, seq: int) -> None:
        """Return once the log holds more than ``seq`` events, closed or not (annotations come after)."""
        while len(self._events) <= seq:
            await self._changed.wait()

    async def wait_closed(self) -> None:
        while not self._closed:
            await self._changed.wait()


def check_cursor(after_seq: int) -> None:
    """A reader's cursor is 0 (nothing read yet) or the last seq it has: never negative, never a fraction
    (a negative one would start the reader at events counted from the log's end, numbered 0 and below)."""
    if isinstance(after_seq, bool) or not isinstance(after_seq, int) or after_seq < 0:
        raise ValueError(f"a log cursor must be a whole number from 0, got {after_seq!r}")


def latest_alerts(events: Sequence[Event]) -> list[Alert]:
    """Each alert in its newest revision, in the order the alerts were first raised."""
    newest: dict[str, Alert] = {}
    for event in events:
        if isinstance(event, Alert):
            known = newest.get(event.id)
            if known is None or event.revision >= known.revision:
                newest[event.id] = event
    return list(newest.values())


def final_transcripts(events: Sequence[Event]) -> list[Transcript]:
    """The final transcript lines, ordered by when they were spoken."""
    finals = [e for e in events if isinstance(e, Transcript) and e.final]
    return sorted(finals, key=lambda t: (t.start_s, t.speaker))


def moment_s(event: Wire) -> float:
    """The point in the call at which an event exists: a replay releases it when playback gets there.

    An alert exists once it could be detected; a transcript line once it was said; a speech segment at
    its start, then again at its end. A page's message is not in the call: it exists from the start.
    """
    if isinstance(event, Alert):
        return event.detected_s
    if isinstance(event, Transcript | Redaction | Sentiment):
        return event.end_s
    if isinstance(event, Speech):
        return event.start_s if event.end_s is None else event.end_s
    if isinstance(event, CallEnded):
        return event.end_s
    if isinstance(event, Error):
        return event.at_s or 0.0
    if isinstance(event, Frame):
        return event.start_s
    if isinstance(event, Note | Pin):
        return event.at_s
    return 0.0
