"""Each call's log on Redis: one stream per call, numbered by a Lua script, read by every node.

A call's events are entries of its stream, each holding the event's wire text (encoded once, by the
node that appended it; every node sends it to its pages as it is). The script counts on a per-call
counter and adds the entry under the id ``0-<seq>`` in one atomic step, so ``seq`` runs 1..n with no gap
whichever node appends (the call's pipeline on its own node, notes and pins on any). The pipeline's
events go out in batches, one script call each, and a batch sent again after a lost reply is never
added twice (the script skips what it already has, by the call's node's own count). Every node reads a
live call's stream from its cursor (``XREAD BLOCK``) into a :class:`BusLog`, one reader per call and
node, the call's own node too, so all nodes see one order; once the call has ended, one reader per node
reads all ended calls' streams together, for the notes that still come, until they expire. A stream is
capped (``MAXLEN ~``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from callcoach.live.bus import BusLog
from callcoach.live.codec import wire_text
from callcoach.live.events import CallEnded, Event

log = logging.getLogger(__name__)
BLOCK_MS = 1000  # a reader's XREAD BLOCK: it comes back this often to see whether it should stop
EXPIRY_LOOK_S = 10.0  # how often the reader of ended calls looks for streams that have expired
BATCH = 500  # pipeline events sent in one script call at most
# The call's node waits this long for its call_ended to come back before taking the call back (Redis
# lost it after the last batch went): its own pages and storage then have it all the same.
LOST_AFTER_S = 30.0
# KEYS: counter, stream, sent. ARGV: max length, the origin's count of the first event (0: a note or
# pin, never skipped), then each event's wire text around its seq (head, tail). Returns the last seq,
# or -1 when the call's node has sent events before but Redis has no trace of them (it restarted).
APPEND_LUA = """
local first = tonumber(ARGV[2])
if first > 1 and redis.call('EXISTS', KEYS[3]) == 0 then return -1 end
local sent = tonumber(redis.call('GET', KEYS[3]) or '0')
local last = 0
for i = 3, #ARGV, 2 do
  local index = first + (i - 3) / 2
  if first == 0 or index > sent then
    last = redis.call('INCR', KEYS[1])
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '0-' .. last, 'w', ARGV[i] .. last .. ARGV[i + 1])
    if first > 0 then redis.call('SET', KEYS[3], index) end
  end
end
return last
"""
_HEAD = '{"v": 1, "seq": '


@dataclass(frozen=True)
class CallKeys:
    """A call's keys, under one hash tag (``{call id}``) so that a Redis Cluster keeps them together."""

    counter: str
    stream: str
    sent: str
    reaper: str

    @classmethod
    def of(cls, call_id: str) -> CallKeys:
        tag = f"callcoach:{{{call_id}}}"
        return cls(f"{tag}:n", f"{tag}:log", f"{tag}:sent", f"{tag}:reaper")


def split_wire(event: Event, call_id: str) -> tuple[str, str]:
    """The event's wire text around its seq, which only the bus knows: ``head + str(seq) + tail``."""
    text = wire_text(event, seq=0, call_id=call_id)
    assert text.startswith(_HEAD + "0,"), text[:40]
    return _HEAD, text[len(_HEAD) + 1 :]


class CallStreams:
    """One node's readers and writers of calls' streams; ``spawn`` runs (and keeps) its tasks."""

    def __init__(
        self,
        redis: aioredis.Redis,
        max_events: int,
        spawn: Callable[[Any], asyncio.Task[None]],
        lost_after_s: float = LOST_AFTER_S,
    ) -> None:
        self._redis = redis
        self._lost_after_s = lost_after_s
        self._max_events = max_events
        self._spawn = spawn
        self._script = redis.register_script(APPEND_LUA)
        self._mirrors: dict[str, BusLog] = {}  # every call this node follows on the bus
        self._ended: dict[str, BusLog] = {}  # the ended ones, by stream, read together
        self._ended_wake = asyncio.Event()

    def origin_log(self, call_id: str) -> BusLog:
        """The log of a call whose pipeline runs on this node: its events go to the stream and back."""
        outbox: asyncio.Queue[Event] = asyncio.Queue()
        call_log = BusLog(call_id, outbox.put_nowait)
        self._mirrors[call_id] = call_log
        self._spawn(self._send(call_log, outbox))
        self._spawn(self.follow(call_log))
        return call_log

    def mirror(self, call_id: str) -> BusLog:
        """Another node's call, followed from its first event."""
        call_log = self._mirrors.get(call_id)
        if call_log is None:
            call_log = self._mirrors[call_id] = BusLog(call_id)
            self._spawn(self.follow(call_log))
        return call_log

    def on_bus(self, call_id: str) -> bool:
        """Whether this node's call is still on the bus (False once the bus lost it)."""
        call_log = self._mirrors.get(call_id)
        return call_log is None or call_log.on_bus

    async def lost_unless_there(self, call_id: str) -> None:
        """Another node's call has left the list: normally ended and stored, its ``call_ended`` in its
        stream. If the stream is gone with the call not ended here, Redis has lost it (a restart): this
        node's copy closes where it is (the call's own node keeps and stores all of it)."""
        call_log = self._mirrors.get(call_id)
        if call_log is None or call_log.closed or await self._redis.exists(CallKeys.of(call_id).stream):
            return
        log.warning(
            "call %s: the bus has lost it (did Redis restart?); listed here as far as it got", call_id
        )
        del self._mirrors[call_id]
        call_log.gone()

    async def append(self, call_id: str, events: Sequence[Event], *, first: int) -> int:
        """Add ``events`` to the call's stream in one step; the seq of the last one added."""
        keys = CallKeys.of(call_id)
        args: list[str | int] = [self._max_events, first]
        for event in events:
            args.extend(split_wire(event, call_id))
        seq = await self._script(keys=[keys.counter, keys.stream, keys.sent], args=args)
        return int(seq)

    async def _send(self, call_log: BusLog, outbox: asyncio.Queue[Event]) -> None:
        """The call's pipeline events to the stream in order, in batches; a failed batch is sent again
        (the script skips whatever of it was already added)."""
        call_id, sent = call_log.call_id, 0
        while True:
            batch = [await outbox.get()]
            while not outbox.empty() and len(batch) < BATCH:
                batch.append(outbox.get_nowait())
            while True:
                try:
                    last = await self.append(call_id, batch, first=sent + 1)
                    break
                except (RedisError, OSError):
                    log.exception("call %s: could not add events to the bus; trying again", call_id)
                    await asyncio.sleep(0.5)
            if last < 0:
                return self._lost(call_log)
            sent += len(batch)
            if any(isinstance(event, CallEnded) for event in batch):  # the pipeline's last word
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._lost_after_s):
                        return await call_log.wait_closed()
                return self._lost(call_log)

    def _lost(self, call_log: BusLog) -> None:
        log.error(
            "call %s: the bus has lost it (did Redis restart?); it goes on on this node only, and other "
            "nodes' pages lose sight of it",
            call_log.call_id,
        )
        call_log.take_back()

    async def follow(self, call_log: BusLog) -> None:
        """Read the call's stream into ``call_log`` from where it stands until the call has ended; then
        the node's one reader of ended calls takes it on (notes may still come, until it expires)."""
        stream = CallKeys.of(call_log.call_id).stream
        while not call_log.closed:
            try:
                reply = await self._redis.xread({stream: f"0-{len(call_log)}"}, count=1000, block=BLOCK_MS)
            except (RedisError, OSError):
                log.exception("call %s: could not read the bus; trying again", call_log.call_id)
                await asyncio.sleep(0.5)
                continue
            for _key, entries in cast(Any, reply) or []:
                call_log.receive_entries(entries)
        self._ended[stream] = call_log
        self._ended_wake.set()

    async def follow_ended(self) -> None:
        """Every ended call's stream in one ``XREAD``: a blocked read (and a connection) per call is
        for calls under way; an ended call only gets the odd note. A stream that has expired is let go
        (its log keeps what it had; a later note goes through the notes stream: live/bus_shared.py)."""
        looked = 0.0
        loop = asyncio.get_running_loop()
        while True:
            if not self._ended:
                self._ended_wake.clear()
                await self._ended_wake.wait()
            cursors: dict[Any, Any] = {stream: f"0-{len(ended)}" for stream, ended in self._ended.items()}
            try:
                reply = await self._redis.xread(cursors, count=1000, block=BLOCK_MS)
                if loop.time() - looked >= EXPIRY_LOOK_S:
                    looked = loop.time()
                    await self._let_go_of_expired()
            except (RedisError, OSError):
                log.exception("could not read ended calls from the bus; trying again")
                await asyncio.sleep(0.5)
                continue
            for stream, entries in cast(Any, reply) or []:
                self._ended[stream].receive_entries(entries)

    async def _let_go_of_expired(self) -> None:
        streams = list(self._ended)
        async with self._redis.pipeline(transaction=False) as pipe:
            for stream in streams:
                pipe.exists(stream)
            there = await pipe.execute()
        for stream, exists in zip(streams, there, strict=True):
            if not exists:
                call_log = self._ended.pop(stream)
                call_log.gone()
                self._mirrors.pop(call_log.call_id, None)
