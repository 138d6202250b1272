"""The Redis bus: each live call's log is a Redis Stream, and the nodes share one list of live calls.

A call's events are entries of its stream, each holding the event's wire text (encoded once, by the
node that appended it; every node sends it to its pages as it is). A Lua script numbers them: it counts
on a per-call counter and adds the entry under the id ``0-<seq>``, in one atomic step, so ``seq`` runs
1..n with no gap whichever node appends (the call's pipeline on its own node, notes and pins on any).
Every node reads the stream from its cursor (``XREAD BLOCK``) into a :class:`BusLog`, one reader per call
and node; a call's node reads it back too, so all nodes see one order. The pipeline's events go out in
batches, one script call each, and a retried batch is never added twice (the script skips what it
already has, by the origin's own count). The stream is capped (``MAXLEN ~``) and expires
``bus_expire_s`` after the call is stored.

The list: each node keeps its live calls in one hash (call id → node and list line) and says it is alive
with a key that expires unless refreshed (:data:`HEARTBEAT_TTL_S`). Every node looks at the hash twice a
second: a call of another node it has not seen is listed with its log following the stream; a call whose
node's key has expired is ended by one of the survivors (:mod:`live.bus_reaper`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import secrets
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import redis
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from callcoach.live.bus import BusLog, CallDirectory
from callcoach.live.bus_audio import BusAudio
from callcoach.live.bus_reaper import reap
from callcoach.live.codec import from_fields, from_json, to_json, wire_text
from callcoach.live.errors import CallcoachError, UserError
from callcoach.live.eventlog import EventLog
from callcoach.live.events import CallEnded, CallInfo, Event, Note, Pin
from callcoach.live.live_call import LiveCall
from callcoach.live.settings import Settings
from callcoach.live.storage import Storage

log = logging.getLogger(__name__)
LIVE = "callcoach:live"  # hash: call id -> {"node": ..., "info": {...}}
ROOMS = "callcoach:rooms"  # stream: listening-session changes, every node's, in one order
ROOMS_MAX = 10_000  # changes kept: a node that starts reads them to know the sessions under way
# stream: notes and pins of calls whose log is not on the bus (recordings, calls stored before this node
# started or whose stream has expired); a node that starts reads only newer ones (storage has the rest)
NOTES = "callcoach:notes"
NOTES_MAX = 10_000
NOTE_WAIT_S = 5.0  # how long the asking node waits to see its own note applied, for its seq
HEARTBEAT_TTL_S = 2.0  # a node whose key is this old is dead: well inside the 5 s promised
HEARTBEAT_EVERY_S = 0.5
SWEEP_EVERY_S = 0.5  # how often the list is read (new calls of other nodes, changes, dead nodes)
BLOCK_MS = 1000  # a reader's XREAD BLOCK: it comes back this often to see whether it should stop
CLOSE_WAIT_S = 2.0
EXPIRY_LOOK_S = 10.0  # how often the reader of ended calls looks for streams that have expired
BATCH = 500  # pipeline events sent in one script call at most
# KEYS: counter, stream, sent. ARGV: max length, the origin's count of the first event (0: a note or
# pin, never skipped), then each event's wire text around its seq (head, tail). Returns the last seq.
APPEND_LUA = """
local first = tonumber(ARGV[2])
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


def node_key(node: str) -> str:
    return f"callcoach:node:{node}"


def split_wire(event: Event, call_id: str) -> tuple[str, str]:
    """The event's wire text around its seq, which only the bus knows: ``head + str(seq) + tail``."""
    text = wire_text(event, seq=0, call_id=call_id)
    assert text.startswith(_HEAD + "0,"), text[:40]
    return _HEAD, text[len(_HEAD) + 1 :]


class BusUnreachable(UserError):
    """The bus cannot be reached at start: the server does not start (a node alone would split the list)."""

    def __init__(self, url: str, cause: Exception) -> None:
        super().__init__(
            f"cannot reach the bus at {shown(url)} ({cause}): start Redis there, or fix --bus "
            "(CALLCOACH_BUS), or leave it unset to run a single node",
        )


def _unshared(what: str, cause: Exception) -> CallcoachError:
    """A page's request that could not go on the bus: refused, so the page can say so and try again."""
    return CallcoachError(
        "bus_unreachable",
        f"{what} could not be shared with the other servers ({cause}): try again in a moment; "
        "if it goes on, the site's Redis is down",
    )


def shown(url: str) -> str:
    """``url`` with its password, if any, left out (it goes to logs and terminals)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + host))


class Heartbeat:
    """The node's "alive" key, refreshed from a thread of its own: a node whose event loop is busy for a
    moment (a burst of work, a slow disk) is still alive, and must not have its calls ended by others.
    A process that dies stops refreshing it with everything else."""

    def __init__(self, url: str, key: str) -> None:
        self._redis = redis.Redis.from_url(url, socket_timeout=HEARTBEAT_TTL_S)
        self._key = key
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="bus heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.is_set():
            try:
                self._redis.set(self._key, "1", px=int(HEARTBEAT_TTL_S * 1000))
            except (RedisError, OSError):
                log.warning("could not refresh this node's heartbeat on the bus; trying again")
            self._stop.wait(HEARTBEAT_EVERY_S)

    def stop(self) -> None:
        """Blocking: stop beating and say at once that this node is gone."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        with contextlib.suppress(RedisError, OSError):
            self._redis.delete(self._key)
        self._redis.close()


class RedisBus:
    """One node's side of the Redis bus. :meth:`connect` first, then :meth:`start` with the catalog."""

    def __init__(self, settings: Settings, storage: Storage) -> None:
        self._settings = settings
        self.storage = storage
        self.node = f"{settings.host}:{settings.port}/{secrets.token_hex(4)}"
        self.redis: aioredis.Redis = aioredis.from_url(settings.bus, decode_responses=True)
        self._script = self.redis.register_script(APPEND_LUA)
        self._heartbeat = Heartbeat(settings.bus, node_key(self.node))
        self.audio = BusAudio(settings.bus, self._spawn)
        self._directory: CallDirectory | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._mirrors: dict[str, BusLog] = {}  # every call this node follows on the bus
        self._ended: dict[str, BusLog] = {}  # the ended ones, by stream, read together
        self._ended_wake = asyncio.Event()
        self._remote: dict[str, CallInfo] = {}  # other nodes' live calls, as last listed
        self._elsewhere: set[str] = set()
        self._reaping: set[str] = set()
        self._published: dict[str, CallInfo] = {}  # this node's list lines still to write
        self._retired: set[str] = set()  # this node's calls stored: never listed again
        self._publish_wake = asyncio.Event()
        self._apply_room: Callable[[dict[str, Any]], None] | None = None
        self._notes_cursor = "0-0"
        self._notes_waiting: dict[str, asyncio.Future[int]] = {}
        self._room_nodes: set[str] = set()  # the nodes with sockets in listening sessions

    async def connect(self) -> None:
        """Reach Redis and read the list (before stored calls are loaded: see :meth:`live_elsewhere`)."""
        try:
            await self.redis.ping()
            await self.redis.set(node_key(self.node), "1", px=int(HEARTBEAT_TTL_S * 1000))
            await self._read_list()
            newest = cast(Any, await self.redis.xrevrange(NOTES, count=1))
            self._notes_cursor = newest[0][0] if newest else "0-0"
        except (RedisError, OSError) as exc:
            raise BusUnreachable(self._settings.bus, exc) from exc

    def start(self, directory: CallDirectory) -> None:
        self._directory = directory
        self._heartbeat.start()
        for job in (self._sweep(), self._publisher(), self._follow_notes(), self._follow_ended()):
            self._spawn(job)

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:  # a read cancelled mid-reply may take a moment to let go of its connection
            await asyncio.wait(tasks, timeout=CLOSE_WAIT_S)
        await asyncio.get_running_loop().run_in_executor(None, self._heartbeat.stop)
        await self.redis.aclose()
        await self.audio.close()

    def share_audio(self, live: LiveCall, call_log: EventLog) -> None:
        self.audio.share(live, call_log)

    def listen_audio(self, call_id: str, callback: Callable[[bytes], None]) -> Callable[[], None] | None:
        return self.audio.listen(call_id, callback)

    def _spawn(self, job: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.create_task(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def keys(self, call_id: str) -> CallKeys:
        return CallKeys.of(call_id)

    # --- a call's log -----------------------------------------------------------------------------------

    def origin_log(self, call_id: str) -> EventLog:
        outbox: asyncio.Queue[Event] = asyncio.Queue()
        call_log = BusLog(call_id, outbox.put_nowait)
        self._mirrors[call_id] = call_log
        self._spawn(self._send(call_id, outbox))
        self._spawn(self.follow(call_log))
        return call_log

    def mirror(self, call_id: str) -> BusLog:
        """Another node's call, followed from its first event."""
        call_log = self._mirrors.get(call_id)
        if call_log is None:
            call_log = self._mirrors[call_id] = BusLog(call_id)
            self._spawn(self.follow(call_log))
        return call_log

    async def annotate(self, call_log: EventLog, event: Note | Pin) -> int:
        try:
            return await self._annotate(call_log, event)
        except (RedisError, OSError) as exc:
            raise _unshared(f"the {event.TYPE}", exc) from exc

    async def _annotate(self, call_log: EventLog, event: Note | Pin) -> int:
        if isinstance(call_log, BusLog) and call_log.on_bus:
            return await self.append(call_log.call_id, [event], first=0)
        # Not on the bus: every node adds it to its own copy of the call in the notes stream's order,
        # this one too; its seq here is known once this node has.
        token = secrets.token_hex(8)
        applied: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._notes_waiting[token] = applied
        fields: Any = {"call": call_log.call_id, "e": json.dumps(to_json(event)), "t": token}
        try:
            await self.redis.xadd(NOTES, fields, maxlen=NOTES_MAX, approximate=True)
            async with asyncio.timeout(NOTE_WAIT_S):
                return await applied
        except TimeoutError:
            return 0  # on the stream all the same: this node adds it when its reader gets there
        finally:
            self._notes_waiting.pop(token, None)

    async def _follow_notes(self) -> None:
        while True:
            try:
                reply = await self.redis.xread({NOTES: self._notes_cursor}, count=500, block=BLOCK_MS)
            except (RedisError, OSError):
                log.exception("could not read notes from the bus; trying again")
                await asyncio.sleep(0.5)
                continue
            for _key, entries in cast(Any, reply) or []:
                for entry_id, fields in entries:
                    self._notes_cursor = entry_id
                    self._note_here(fields)

    def _note_here(self, fields: Mapping[str, str]) -> None:
        try:
            event = from_json(json.loads(fields["e"]))
        except (KeyError, ValueError) as exc:
            log.warning("a note on the bus does not decode: %s", exc)
            return
        if self._directory is None or not isinstance(event, Note | Pin):
            return
        seq = self._directory.annotate_here(fields.get("call", ""), event)
        waiting = self._notes_waiting.get(fields.get("t", ""))
        if waiting is not None and not waiting.done():
            waiting.set_result(seq or 0)

    async def append(self, call_id: str, events: Sequence[Event], *, first: int) -> int:
        """Add ``events`` to the call's stream in one step; the seq of the last one added."""
        keys = CallKeys.of(call_id)
        args: list[str | int] = [self._settings.bus_max_events, first]
        for event in events:
            args.extend(split_wire(event, call_id))
        seq = await self._script(keys=[keys.counter, keys.stream, keys.sent], args=args)
        return int(seq)

    async def _send(self, call_id: str, outbox: asyncio.Queue[Event]) -> None:
        """The call's pipeline events to the stream in order, in batches; a failed batch is sent again
        (the script skips whatever of it was already added)."""
        sent = 0
        while True:
            batch = [await outbox.get()]
            while not outbox.empty() and len(batch) < BATCH:
                batch.append(outbox.get_nowait())
            while True:
                try:
                    await self.append(call_id, batch, first=sent + 1)
                    break
                except (RedisError, OSError):
                    log.exception("call %s: could not add events to the bus; trying again", call_id)
                    await asyncio.sleep(0.5)
            sent += len(batch)
            if any(isinstance(event, CallEnded) for event in batch):  # the pipeline's last word
                return

    async def follow(self, call_log: BusLog) -> None:
        """Read the call's stream into ``call_log`` from where it stands until the call has ended; then
        the node's one reader of ended calls takes it on (notes may still come, until it expires)."""
        stream = CallKeys.of(call_log.call_id).stream
        while not call_log.closed:
            try:
                reply = await self.redis.xread({stream: f"0-{len(call_log)}"}, count=1000, block=BLOCK_MS)
            except (RedisError, OSError):
                log.exception("call %s: could not read the bus; trying again", call_log.call_id)
                await asyncio.sleep(0.5)
                continue
            for _key, entries in cast(Any, reply) or []:
                call_log.receive_entries(entries)
        self._ended[stream] = call_log
        self._ended_wake.set()

    async def _follow_ended(self) -> None:
        """Every ended call's stream in one ``XREAD``: a blocked read (and a connection) per call is
        for calls under way; an ended call only gets the odd note. A stream that has expired is let go
        (its log keeps what it had; a later note stays on the node it is made on and in storage)."""
        looked = 0.0
        loop = asyncio.get_running_loop()
        while True:
            if not self._ended:
                self._ended_wake.clear()
                await self._ended_wake.wait()
            cursors: dict[Any, Any] = {stream: f"0-{len(ended)}" for stream, ended in self._ended.items()}
            try:
                reply = await self.redis.xread(cursors, count=1000, block=BLOCK_MS)
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
        async with self.redis.pipeline(transaction=False) as pipe:
            for stream in streams:
                pipe.exists(stream)
            there = await pipe.execute()
        for stream, exists in zip(streams, there, strict=True):
            if not exists:
                call_log = self._ended.pop(stream)
                call_log.gone()
                self._mirrors.pop(call_log.call_id, None)

    # --- listening sessions -----------------------------------------------------------------------------

    async def send_room(self, change: Mapping[str, Any]) -> None:
        """A listening-session change (web/sessions.py) for every node, this one included."""
        fields: Any = {"c": json.dumps(change)}
        try:
            await self.redis.xadd(ROOMS, fields, maxlen=ROOMS_MAX, approximate=True)
        except (RedisError, OSError) as exc:
            raise _unshared("the listening session's change", exc) from exc

    def follow_rooms(self, apply: Callable[[dict[str, Any]], None]) -> None:
        """Hand every session change to ``apply`` in the stream's order, from the oldest kept (so a node
        that starts late knows the sessions under way)."""
        self._spawn(self._follow_rooms(apply))

    async def _follow_rooms(self, apply: Callable[[dict[str, Any]], None]) -> None:
        self._apply_room = apply
        cursor = "0-0"
        while True:
            try:
                reply = await self.redis.xread({ROOMS: cursor}, count=500, block=BLOCK_MS)
            except (RedisError, OSError):
                log.exception("could not read listening-session changes from the bus; trying again")
                await asyncio.sleep(0.5)
                continue
            for _key, entries in cast(Any, reply) or []:
                for entry_id, fields in entries:
                    cursor = entry_id
                    try:
                        change = json.loads(fields["c"])
                        self._room_nodes.add(str(change.get("member", "")).rpartition("#")[0])
                        apply(change)
                    except (
                        ValueError,
                        AttributeError,
                    ):  # not JSON: not this program's (the others still apply)
                        log.warning("listening-session change %s on the bus is not JSON", entry_id)

    # --- the list of live calls -------------------------------------------------------------------------

    def publish(self, info: CallInfo) -> None:
        if info.call_id in self._retired:
            return
        self._published[info.call_id] = info
        self._publish_wake.set()

    async def _publisher(self) -> None:
        """Write this node's changed list lines, newest only (a burst of alerts is one write)."""
        while True:
            await self._publish_wake.wait()
            self._publish_wake.clear()
            batch, self._published = self._published, {}
            lines = {
                c: json.dumps({"node": self.node, "info": dataclasses.asdict(i)}) for c, i in batch.items()
            }
            try:
                await self.redis.hset(LIVE, mapping=cast(Any, lines))
            except (RedisError, OSError):
                log.exception("could not list this node's live calls on the bus; trying again")
                self._published = batch | self._published
                await asyncio.sleep(0.5)
                self._publish_wake.set()

    async def stored(self, call_id: str) -> None:
        self._retired.add(call_id)
        self._published.pop(call_id, None)
        await self.retire(call_id)

    async def retire(self, call_id: str) -> None:
        """The call is stored: off the list, and its keys expire in ``bus_expire_s``."""
        keys, ttl = CallKeys.of(call_id), int(self._settings.bus_expire_s)
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hdel(LIVE, call_id)
                for key in (keys.counter, keys.stream, keys.sent):
                    pipe.expire(key, ttl)
                await pipe.execute()
        except (RedisError, OSError):
            log.exception("call %s: could not take it off the bus's list", call_id)

    def live_elsewhere(self) -> set[str]:
        return set(self._elsewhere)

    async def _sweep(self) -> None:
        # A node is taken for dead only when two looks in a row find its key gone: a look just after
        # Redis came back from a blip may come before the node's next beat.
        suspects: set[str] = set()
        while True:
            await asyncio.sleep(SWEEP_EVERY_S)
            try:
                orphans = await self._read_list()
                gone = await self._dead(set(self._room_nodes) | {node for node, _info in orphans.values()})
            except (RedisError, OSError):
                log.exception("could not read the bus's list of live calls")
                suspects.clear()
                continue
            dead, suspects = gone & suspects, gone
            for call_id, (node, info) in orphans.items():
                if node in dead and call_id not in self._reaping:
                    self._reaping.add(call_id)
                    self._spawn(self._reap(call_id, node, info))
            for node in dead & self._room_nodes:  # its sockets left every session (on each node alike)
                self._room_nodes.discard(node)
                if self._apply_room is not None:
                    self._apply_room({"op": "node_gone", "node": node, "member": ""})

    async def _dead(self, nodes: set[str]) -> set[str]:
        """Which of ``nodes`` (not this one) have no heartbeat."""
        others = sorted(nodes - {self.node})
        beats = await self.redis.mget([node_key(n) for n in others]) if others else []
        return {node for node, beat in zip(others, beats, strict=True) if not beat}

    async def _read_list(self) -> dict[str, tuple[str, CallInfo]]:
        """Bring other nodes' live calls into the catalog; those listed by another node, by id."""
        raw: dict[str, str] = cast(Any, await self.redis.hgetall(LIVE))
        lines: dict[str, tuple[str, CallInfo]] = {}
        for call_id, text in raw.items():
            try:
                data = json.loads(text)
                lines[call_id] = (str(data["node"]), from_fields(CallInfo, data["info"], "listed call"))
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("call %s on the bus's list is skipped: %s", call_id, exc)
        others = {cid: line for cid, line in lines.items() if line[0] != self.node}
        self._elsewhere = set(others)
        for call_id, (_node, info) in others.items():
            self._list(call_id, info)
        for call_id in set(self._remote) - set(others):  # ended and stored: its log follows it to the end
            del self._remote[call_id]
        return others

    def _list(self, call_id: str, info: CallInfo) -> None:
        if self._directory is None:
            return
        known = self._remote.get(call_id)
        self._remote[call_id] = info
        if known is None:
            self._directory.add_remote(info, self.mirror(call_id))
        elif known != info:
            self._directory.update_remote(info)

    async def _reap(self, call_id: str, node: str, info: CallInfo) -> None:
        try:
            await reap(self, call_id, node, info)
        except (RedisError, OSError):
            log.exception("call %s of the dead node %s could not be ended; trying again", call_id, node)
        finally:
            self._reaping.discard(call_id)
