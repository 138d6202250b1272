"""One coach's websocket, the thin asyncio shell: await input, call the sans-I/O pieces, forward the output.

A connection belongs to one logged-in user: it first tells the page who that is, lists only the calls the
user may see (their teams', or an agent's own) and refuses the others. It reads the page's messages (parsed
by :mod:`web.protocol`), follows each subscribed call's log from its own cursor (a replay through a
:class:`ReplayGate`, a live call as it happens), hands listening-session messages to the
:class:`SessionHub`, and writes through a bounded queue. A slow page only slows its own followers: the logs
never wait for anyone. A live call's audio goes to the page as binary messages (one per step, every
speaker: :mod:`live.audio_wire`) when the queue has room and is skipped when it has not. A bad message gets
an ``error`` back and the socket stays open. A page that reads nothing at all (its queue full and nothing
sent for :data:`STALL_DROP_S`) is dropped, so that it holds no socket, task or queue for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from aiohttp import WSMsgType, web

from callcoach.detectors.registry import KINDS
from callcoach.live.accounts import User
from callcoach.live.catalog import CallCatalog, CallRecord
from callcoach.live.codec import wire_text
from callcoach.live.errors import CallcoachError
from callcoach.live.events import Error
from callcoach.live.messages import (
    CallList,
    ClientMessage,
    Playback,
    Subscribe,
    Subscribed,
    Unsubscribe,
    Welcome,
)
from callcoach.web.protocol import parse_client_message
from callcoach.web.replay import ReplayGate
from callcoach.web.sessions import SessionHub

log = logging.getLogger(__name__)
SEND_QUEUE = 256  # frames waiting for a slow page before its followers pause
SESSION_RECHECK_S = 30.0  # how often an open socket checks its login session still stands
LOGGED_OUT = 4001  # the close code when it does not (private range: the page goes to the login)
# A page whose queue has been full this long with nothing sent has stopped reading: it is dropped. Far
# longer than any pause of a page that still reads (a busy tab, a phone between cells); the page
# reconnects and catches up from its last seq when it reads again.
STALL_DROP_S = 10.0
STALL_CHECK_S = 0.5  # how often the queue is looked at for that


class StallWatch:
    """Sans I/O: whether a page has stopped reading, from its queue (full or not) and how many messages
    have been sent to it, looked at now and then (``now_s``, monotonic seconds). Stalled once the queue
    has stayed full, with nothing sent, for ``bound_s``."""

    def __init__(self, bound_s: float) -> None:
        self._bound_s = bound_s
        self._sent = -1
        self._since_s: float | None = None  # when it was first seen full with nothing sent since

    def stalled(self, full: bool, sent: int, now_s: float) -> bool:
        if not full or sent != self._sent:
            self._sent, self._since_s = sent, (now_s if full else None)
            return False
        if self._since_s is None:
            self._since_s = now_s
        return now_s - self._since_s >= self._bound_s


class CoachConnection:
    def __init__(
        self,
        ws: web.WebSocketResponse,
        catalog: CallCatalog,
        *,
        user: User,
        sessions: SessionHub,
        logged_in: Callable[[], Awaitable[bool]],
        abort: Callable[[], None],
        opened: Callable[[str, bool], Awaitable[None]] | None = None,
    ) -> None:
        self._ws = ws
        self._catalog = catalog
        self.user = user
        self._sessions = sessions
        self._logged_in = logged_in
        self._opened = opened  # the audit trail's hook: (call id, hearing its live audio)
        self._abort = abort  # drops the connection at once, whatever is still unsent
        self._sent = 0
        self._out: asyncio.Queue[str | bytes] = asyncio.Queue(SEND_QUEUE)  # bytes: a step of live audio
        self._followers: dict[str, asyncio.Task[None]] = {}
        self._hearing: dict[str, Callable[[], None]] = {}  # live calls whose audio this page gets
        self.audio_dropped = 0
        self._gates: dict[str, tuple[ReplayGate, asyncio.Event]] = {}
        self._calls_dirty = asyncio.Event()

    async def run(self) -> None:
        user = self.user
        await self._out.put(
            wire_text(Welcome(user.username, user.display_name, user.role, user.teams, tuple(KINDS.values())))
        )
        writer = asyncio.create_task(self._write())
        lister = asyncio.create_task(self._push_calls())
        guard = asyncio.create_task(self._watch_login())
        stop_listening = self._catalog.listen(self._calls_dirty.set)
        self._calls_dirty.set()
        reading = asyncio.create_task(self._read())
        stall = asyncio.create_task(self._watch_stall())
        try:
            await asyncio.wait((reading, stall), return_when=asyncio.FIRST_COMPLETED)
            if reading.done():
                reading.result()  # its error, if any, is the connection's
        finally:
            self._sessions.disconnect(self)
            stop_listening()
            for stop_hearing in self._hearing.values():
                stop_hearing()
            tasks = [reading, stall, writer, lister, guard, *self._followers.values()]
            for task in tasks:
                task.cancel()
            for task in tasks:  # a dropped connection ends its writer with a reset: that is the end
                with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                    await task

    async def _watch_login(self) -> None:
        """Logging out, a changed password or a removed account ends the sockets it had opened too."""
        while await asyncio.sleep(SESSION_RECHECK_S, True) and await self._logged_in():
            pass
        message = "your login session ended (logged out, password changed or account removed): log in again"
        await self._ws.send_str(wire_text(Error("logged_out", message, fatal=True)))  # ahead of any backlog
        await self._ws.close(code=LOGGED_OUT, message=b"logged out")

    async def _watch_stall(self) -> None:
        """Drop the connection once its page has stopped reading (see :class:`StallWatch`). Closing it
        politely would wait for the page to read the close frame; it never will."""
        loop, watch = asyncio.get_running_loop(), StallWatch(STALL_DROP_S)
        while True:  # a look twice a second costs nothing, where an event on every put and get would
            await asyncio.sleep(STALL_CHECK_S)
            if watch.stalled(self._out.full(), self._sent, loop.time()):
                break
        log.warning(
            "dropped the coach socket of %s: its page read nothing for %.0f s (%d messages waiting)",
            self.user.username,
            STALL_DROP_S,
            self._out.qsize(),
        )
        self._abort()

    async def _read(self) -> None:
        async for msg in self._ws:
            if msg.type == WSMsgType.TEXT:
                try:
                    await self._handle(parse_client_message(msg.data))
                except CallcoachError as exc:
                    await self._out.put(wire_text(exc.as_event()))
            elif msg.type == WSMsgType.BINARY:
                await self._out.put(
                    wire_text(Error("bad_message", "binary frames are not part of this protocol"))
                )
            elif msg.type == WSMsgType.ERROR:
                log.info("coach socket closed with %r", self._ws.exception())

    async def _handle(self, message: ClientMessage) -> None:
        if isinstance(message, Subscribe):
            await self._subscribe(message)
        elif isinstance(message, Unsubscribe):
            self._unsubscribe(message.call_id)
        elif isinstance(message, Playback):
            self._playback(message)
        else:
            await self._sessions.handle(self, message)

    def push(self, text: str) -> None:
        """Send without waiting (a listening session's presence and sync): skipped when the page lags."""
        with contextlib.suppress(asyncio.QueueFull):  # the next presence or sync corrects a missed one
            self._out.put_nowait(text)

    async def _subscribe(self, message: Subscribe) -> None:
        record = self._catalog.get(message.call_id)
        if record is None:
            raise CallcoachError(
                "unknown_call", f"there is no call {message.call_id!r}; pick one from the list"
            )
        info = record.info
        self.user.check_can_see(info.team, message.call_id, "ask an admin to add you to it", agent=info.agent)
        self._unsubscribe(message.call_id)
        live = record.info.live
        if self._opened is not None:
            await self._opened(message.call_id, live and message.audio)
        await self._out.put(wire_text(Subscribed(message.call_id, live, record.info.duration_s)))
        if live:
            follower = self._follow_live(record, message.after_seq)
            stop_hearing = self._catalog.listen_audio(record, self._hear) if message.audio else None
            if stop_hearing is not None:  # this node's call, or another node's through the bus
                self._hearing[message.call_id] = stop_hearing
        else:
            self._catalog.ensure_analysed(message.call_id)
            gate, wake = ReplayGate(after_seq=message.after_seq), asyncio.Event()
            self._gates[message.call_id] = (gate, wake)
            follower = self._follow_replay(record, gate, wake)
        self._followers[message.call_id] = asyncio.create_task(follower)

    def _unsubscribe(self, call_id: str) -> None:
        stop_hearing = self._hearing.pop(call_id, None)
        if stop_hearing is not None:
            stop_hearing()
        task = self._followers.pop(call_id, None)
        if task is not None:
            task.cancel()
        self._gates.pop(call_id, None)

    def _playback(self, message: Playback) -> None:
        entry = self._gates.get(message.call_id)
        if entry is None:
            raise CallcoachError(
                "not_subscribed", f"subscribe to {message.call_id!r} before reporting playback"
            )
        gate, wake = entry
        gate.report(message.position_s, message.playing, asyncio.get_running_loop().time())
        wake.set()

    async def _follow_replay(self, record: CallRecord, gate: ReplayGate, wake: asyncio.Event) -> None:
        """Until unsubscribed: notes and pins may join a replay's log at any time."""
        loop, call_log = asyncio.get_running_loop(), record.log
        while True:
            for seq, _event in gate.release(call_log.events, loop.time()):
                await self._out.put(call_log.wire(seq))
            wake.clear()
            waits = [
                asyncio.ensure_future(wake.wait()),
                asyncio.ensure_future(call_log.wait_longer(len(call_log))),
            ]
            await asyncio.wait(
                waits, timeout=gate.wait_s(call_log.events, loop.time()), return_when=asyncio.FIRST_COMPLETED
            )
            for waiter in waits:
                waiter.cancel()

    async def _follow_live(self, record: CallRecord, after_seq: int) -> None:
        async for seq, _event in record.log.follow(after_seq):
            await self._out.put(record.log.wire(seq))

    def _hear(self, message: bytes) -> None:
        """A step of a live call's audio for this page: sent when there is room, else dropped (live audio
        that arrives late is worse than a gap; events are never dropped)."""
        if self._out.full():
            self.audio_dropped += 1
            return
        self._out.put_nowait(message)

    async def _push_calls(self) -> None:
        while True:
            await self._calls_dirty.wait()
            self._calls_dirty.clear()
            visible = tuple(c for c in self._catalog.calls() if self.user.can_see(c.team, c.agent))
            await self._out.put(wire_text(CallList(visible)))

    async def _write(self) -> None:
        while True:
            message = await self._out.get()
            if isinstance(message, bytes):
                await self._ws.send_bytes(message)
            else:
                await self._ws.send_str(message)
            self._sent += 1
