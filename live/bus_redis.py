"""The Redis bus: a node's side of it, and the list of live calls every node shares.

What goes through Redis: each call's log (:mod:`live.bus_streams`), notes of calls off the bus and
listening sessions (:mod:`live.bus_shared`), live audio while a page elsewhere listens
(:mod:`live.bus_audio`). This module holds them together for the catalog and the sessions (the
:class:`~callcoach.live.bus.Bus` they use) and keeps the list: each node writes its live calls to one
hash (call id → node and list line) and says it is alive with a key that expires unless refreshed
(:data:`HEARTBEAT_TTL_S`). Every node reads the hash twice a second: a call of another node it has not
seen is listed with its log following the stream; a call whose node's key has gone is ended by one of
the survivors (:mod:`live.bus_reaper`), and that node's sockets leave every listening session.
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
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import redis
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from callcoach.live.bus import BusLog, CallDirectory
from callcoach.live.bus_audio import BusAudio
from callcoach.live.bus_reaper import reap
from callcoach.live.bus_shared import RoomApply, SharedStreams, unshared
from callcoach.live.bus_streams import CallKeys, CallStreams
from callcoach.live.codec import from_fields
from callcoach.live.errors import UserError
from callcoach.live.eventlog import EventLog
from callcoach.live.events import CallInfo, Event, Note, Pin
from callcoach.live.live_call import LiveCall
from callcoach.live.settings import Settings
from callcoach.live.storage import Storage

log = logging.getLogger(__name__)
LIVE = "callcoach:live"  # hash: call id -> {"node": ..., "info": {...}}
HEARTBEAT_TTL_S = 2.0  # a node whose key is this old is dead: well inside the 5 s promised
HEARTBEAT_EVERY_S = 0.5
SWEEP_EVERY_S = 0.5  # how often the list is read (new calls of other nodes, changes, dead nodes)
CLOSE_WAIT_S = 2.0


def node_key(node: str) -> str:
    return f"callcoach:node:{node}"


class BusUnreachable(UserError):
    """The bus cannot be reached at start: the server does not start (a node alone would split the list)."""

    def __init__(self, url: str, cause: Exception) -> None:
        super().__init__(
            f"cannot reach the bus at {shown(url)} ({cause}): start Redis there, or fix --bus "
            "(CALLCOACH_BUS), or leave it unset to run a single node",
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
        self._tasks: set[asyncio.Task[None]] = set()
        self.streams = CallStreams(self.redis, settings.bus_max_events, self._spawn)
        self.shared = SharedStreams(self.redis, self._spawn)
        self.audio = BusAudio(settings.bus, self._spawn)
        self._heartbeat = Heartbeat(settings.bus, node_key(self.node))
        self._directory: CallDirectory | None = None
        self._remote: dict[str, CallInfo] = {}  # other nodes' live calls, as last listed
        self._elsewhere: set[str] = set()
        self._reaping: set[str] = set()
        self._published: dict[str, CallInfo] = {}  # this node's list lines still to write
        self._retired: set[str] = set()  # this node's calls stored: never listed again
        self._publish_wake = asyncio.Event()

    async def connect(self) -> None:
        """Reach Redis and read the list (before stored calls are loaded: see :meth:`live_elsewhere`)."""
        try:
            await self.redis.ping()
            await self.redis.set(node_key(self.node), "1", px=int(HEARTBEAT_TTL_S * 1000))
            await self._read_list()
            await self.shared.connect()
        except (RedisError, OSError) as exc:
            raise BusUnreachable(self._settings.bus, exc) from exc

    def start(self, directory: CallDirectory) -> None:
        self._directory = directory
        self._heartbeat.start()
        jobs = (
            self._sweep(),
            self._publisher(),
            self.shared.follow_notes(directory),
            self.streams.follow_ended(),
        )
        for job in jobs:
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

    def _spawn(self, job: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.create_task(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- what the catalog and the sessions use (live.bus.Bus, web.sessions.RoomRelay) --------------------

    def origin_log(self, call_id: str) -> EventLog:
        return self.streams.origin_log(call_id)

    def mirror(self, call_id: str) -> BusLog:
        return self.streams.mirror(call_id)

    async def annotate(self, call_log: EventLog, event: Note | Pin) -> int:
        try:
            if isinstance(call_log, BusLog) and call_log.on_bus:
                return await self.streams.append(call_log.call_id, [event], first=0)
            return await self.shared.annotate(call_log.call_id, event)
        except (RedisError, OSError) as exc:
            raise unshared(f"the {event.TYPE}", exc) from exc

    async def append(self, call_id: str, events: Sequence[Event], *, first: int) -> int:
        return await self.streams.append(call_id, events, first=first)

    def keys(self, call_id: str) -> CallKeys:
        return CallKeys.of(call_id)

    async def send_room(self, change: Mapping[str, Any]) -> None:
        await self.shared.send_room(change)

    def follow_rooms(self, apply: RoomApply) -> None:
        self.shared.follow_rooms(apply)

    def share_audio(self, live: LiveCall, call_log: EventLog) -> None:
        self.audio.share(live, call_log)

    def listen_audio(self, call_id: str, callback: Callable[[bytes], None]) -> Callable[[], None] | None:
        return self.audio.listen(call_id, callback)

    # --- the list of live calls -------------------------------------------------------------------------

    def publish(self, info: CallInfo) -> None:
        if info.call_id in self._retired or not self.streams.on_bus(info.call_id):
            return  # stored; or lost by the bus, which other nodes then no longer list
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
                gone = await self._dead(self.shared.room_nodes | {node for node, _info in orphans.values()})
            except (RedisError, OSError):
                log.exception("could not read the bus's list of live calls")
                suspects.clear()
                continue
            dead, suspects = gone & suspects, gone
            for call_id, (node, info) in orphans.items():
                if node in dead and call_id not in self._reaping:
                    self._reaping.add(call_id)
                    self._spawn(self._reap(call_id, node, info))
            for node in dead & self.shared.room_nodes:
                self.shared.node_gone(node)

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
            await self.streams.lost_unless_there(call_id)  # unless Redis lost it (a restart)
        return others

    def _list(self, call_id: str, info: CallInfo) -> None:
        if self._directory is None:
            return
        known = self._remote.get(call_id)
        self._remote[call_id] = info
        if known is None:
            self._directory.add_remote(info, self.streams.mirror(call_id))
        elif known != info:
            self._directory.update_remote(info)

    async def _reap(self, call_id: str, node: str, info: CallInfo) -> None:
        try:
            await reap(self, call_id, node, info)
        except (RedisError, OSError):
            log.exception("call %s of the dead node %s could not be ended; trying again", call_id, node)
        finally:
            self._reaping.discard(call_id)
