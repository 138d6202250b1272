"""The bus a call's log and the call list go through: in this process (the default), or shared by nodes.

With no bus (:class:`LocalBus`) everything is as on one server: a live call's log is a plain
:class:`EventLog`, appended to in this process, and nothing else runs or costs anything. With a shared bus
(:mod:`live.bus_redis`) any number of identical nodes share their live calls: the bus numbers each call's
events, so ``seq`` is the same on every node however many nodes append (the pipeline on the call's own
node, coaches' notes and pins on any), and every node follows the bus into a :class:`BusLog`, the same
numbered log its coaches' sockets, the storage writer and the catalog already read. A node's readers
never wait on the bus: one task per call and node reads it, and hundreds of pages follow that copy.

The catalog drives a bus through :class:`Bus` and is told of other nodes' calls through
:class:`CallDirectory`.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Protocol

from callcoach.live.codec import from_json
from callcoach.live.eventlog import EventLog
from callcoach.live.events import CallEnded, CallInfo, Error, Event, Note, Pin

if TYPE_CHECKING:
    from callcoach.live.live_call import LiveCall

log = logging.getLogger(__name__)
TRIMMED = "bus_trimmed"  # the code of the stand-in for events trimmed off a stream before this node read them
NODE_LOST = "node_lost"  # the code of the error that ends a call whose node died (live/bus_reaper.py)


class CallDirectory(Protocol):
    """What a bus tells the catalog about the calls other nodes run."""

    def add_remote(self, info: CallInfo, call_log: BusLog) -> None:
        """Another node's live call, new to this node: list it, its log following the bus."""

    def update_remote(self, info: CallInfo) -> None:
        """Another node's live call changed in the list (its alert counts, its agent)."""

    def annotate_here(self, call_id: str, event: Note | Pin) -> int | None:
        """A note or pin another node (or this one) added to a call not on the bus: add it to this
        node's copy, if it has the call; its seq here."""


class Bus(Protocol):
    """Where the logs of live calls are numbered and how the call list is shared."""

    def origin_log(self, call_id: str) -> EventLog:
        """The log a live call's own pipeline appends to on this node."""

    async def annotate(self, call_log: EventLog, event: Note | Pin) -> int:
        """Add a note or pin to a call's log, wherever the call runs; its ``seq``."""

    def publish(self, info: CallInfo) -> None:
        """One of this node's live calls, as the list shows it now (new or changed)."""

    async def stored(self, call_id: str) -> None:
        """This node's live call has ended and is stored: off the shared list, its stream left to expire."""

    def live_elsewhere(self) -> set[str]:
        """The calls other nodes run now (a call stored as live here but running there is not a crash)."""

    def share_audio(self, live: LiveCall, call_log: EventLog) -> None:
        """Let pages on other nodes hear this node's live call (only while some do)."""

    def listen_audio(self, call_id: str, callback: Callable[[bytes], None]) -> Callable[[], None] | None:
        """Hear another node's live call; the function that stops it (None: no other nodes)."""


class LocalBus:
    """No bus: every call's log lives in this process only. Costs nothing."""

    def origin_log(self, call_id: str) -> EventLog:
        return EventLog(call_id)

    async def annotate(self, call_log: EventLog, event: Note | Pin) -> int:
        return call_log.annotate(event)

    def publish(self, info: CallInfo) -> None:
        pass

    async def stored(self, call_id: str) -> None:
        pass

    def live_elsewhere(self) -> set[str]:
        return set()

    def share_audio(self, live: LiveCall, call_log: EventLog) -> None:
        pass

    def listen_audio(self, call_id: str, callback: Callable[[bytes], None]) -> Callable[[], None] | None:
        return None


class BusLog(EventLog):
    """A call's log numbered by the bus: this node's copy, filled in the bus's order by :meth:`receive`.

    On the call's own node the pipeline's :meth:`append` hands the event to ``send`` (the bus numbers it
    and it comes back through :meth:`receive`, as on every other node); elsewhere there is no ``send``.
    The log closes when its ``call_ended`` comes back, so every node closes it at the same ``seq``. Should
    the bus lose the call (Redis restarted under it), :meth:`take_back` logs here what it did not give
    back, and the call goes on on its node alone: nothing of it is lost, and its node never waits for it.
    """

    def __init__(self, call_id: str, send: Callable[[Event], None] | None = None) -> None:
        super().__init__(call_id)
        self._send = send
        self._sending = send is not None
        self.on_bus = True  # False once the call's stream is gone: notes then stay on this node
        self._in_flight: deque[Event] = deque()  # the call's node: pipeline events not back yet

    def append(self, event: Event) -> int:
        """Hand a pipeline event to the bus; 0, as its ``seq`` is only known once it comes back."""
        if self._send is None or not self._sending:
            raise RuntimeError(f"the log of call {self.call_id} takes no pipeline events on this node")
        if not self.on_bus:  # the bus lost the call: it goes on here alone
            return self._add(event)
        self._in_flight.append(event)
        self._send(event)
        return 0

    def close(self) -> None:
        """The pipeline is done; the log closes once its ``call_ended`` is back from the bus."""
        self._sending = False
        if not self.on_bus:
            super().close()

    def take_back(self) -> None:
        """The bus has lost the call: the pipeline's events it did not give back are logged here, in
        order, and the rest of the call is logged here alone (other nodes lose sight of it)."""
        if self._send is None or not self.on_bus:
            return
        self.on_bus = False
        taken, self._in_flight = list(self._in_flight), deque()
        for event in taken:
            self._put(event, None)
        if not self._sending:
            super().close()

    def receive(self, seq: int, wire: str) -> None:
        """The event the bus numbered ``seq``, as its stored wire text (sent to pages as it is)."""
        if seq <= len(self):  # read twice (a reader that reconnected): already here
            return
        while len(self) < seq - 1:  # trimmed off the stream before this node read it: keep the numbering
            missing = Error(
                TRIMMED, f"event {len(self) + 1} was trimmed off the bus before this node read it"
            )
            self._put(missing, None)
        try:
            event = from_json(_loads(wire))
        except ValueError as exc:
            log.warning("call %s: event %d from the bus does not decode (%s)", self.call_id, seq, exc)
            event, wire = Error("bad_event", f"event {seq} from the bus does not decode: {exc}"), ""
        assert isinstance(event, Event)
        self._put(event, wire or None)

    def receive_entries(self, entries: Iterable[tuple[str, Mapping[str, str]]]) -> None:
        """Stream entries as Redis gives them (id ``0-<seq>``, the wire text in field ``w``)."""
        for entry_id, fields in entries:
            self.receive(int(entry_id.split("-")[1]), fields["w"])

    def _put(self, event: Event, wire: str | None) -> None:
        if self._in_flight and not isinstance(event, Note | Pin):  # one of the pipeline's, back
            self._in_flight.popleft()
        self._events.append(event)
        self._wire.append(wire)
        if isinstance(event, CallEnded):
            self._closed = True
        self._wake()

    def gone(self) -> None:
        """The call's stream has expired: whatever comes now stays on this node (it is stored already)."""
        self.on_bus = False
        if not self._closed:
            self._closed = True
            self._wake()

    def annotate(self, event: Note | Pin) -> int:
        if self.on_bus:
            raise RuntimeError(f"notes and pins of call {self.call_id} go through the bus")
        return super().annotate(event)


def _loads(wire: str) -> dict[str, object]:
    data = json.loads(wire)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data
