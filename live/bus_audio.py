"""A live call's audio for pages on other nodes: Redis pub/sub, only while some node's page listens.

A call's audio reaches its own node's pages straight from :class:`LiveCall` (``listen_audio``). A node
whose page listens to another node's call says so with a key that expires unless refreshed
(:data:`HEARING_TTL_S`) and subscribes to the call's audio channel; the call's node looks for that key
every second, and while it is there publishes each step's binary message (made once, as for its own
pages) on the channel. Nobody listening elsewhere: nothing is published. Audio that cannot keep up is
skipped, never queued without bound (live audio late is worse than a gap, as on one node).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from callcoach.live.eventlog import EventLog
from callcoach.live.live_call import LiveCall

log = logging.getLogger(__name__)
HEARING_TTL_S = 3.0  # a node's "a page here listens" lapses this long after its last refresh
REFRESH_S = 1.0  # how often listening nodes refresh it, and the call's node looks for it
QUEUE = 64  # steps waiting to be published (6 s at 0.1 s a step) before steps are skipped


def channel(call_id: str) -> str:
    return f"callcoach:{{{call_id}}}:audio"


def hearing_key(call_id: str) -> str:
    return f"callcoach:{{{call_id}}}:hearing"


class BusAudio:
    """One node's side: publishing its own calls' audio, and hearing other nodes' calls."""

    def __init__(self, url: str, spawn: Callable[[Any], asyncio.Task[None]]) -> None:
        self._redis: aioredis.Redis = aioredis.from_url(url)  # bytes in and out: the messages are binary
        self._spawn = spawn
        self._listeners: dict[str, set[Callable[[bytes], None]]] = {}
        self._hearing: dict[str, asyncio.Task[None]] = {}

    async def close(self) -> None:
        await self._redis.aclose()

    # --- the call's node ---------------------------------------------------------------------------------

    def share(self, live: LiveCall, call_log: EventLog) -> None:
        """Publish ``live``'s audio while another node listens, until the call's log closes."""
        self._spawn(self._share(live, call_log))

    async def _share(self, live: LiveCall, call_log: EventLog) -> None:
        call_id = live.started.call_id
        queue: asyncio.Queue[bytes] = asyncio.Queue(QUEUE)
        stop: Callable[[], None] | None = None
        sending = self._spawn(self._publish(call_id, queue))
        try:
            while not call_log.closed:
                try:
                    wanted = bool(await self._redis.exists(hearing_key(call_id)))
                except (RedisError, OSError):
                    wanted = stop is not None  # as it was, until Redis answers again
                if wanted and stop is None:
                    stop = live.listen_audio(lambda message: _offer(queue, message))
                elif not wanted and stop is not None:
                    stop()
                    stop = None
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(REFRESH_S):
                        await call_log.wait_closed()
        finally:
            if stop is not None:
                stop()
            sending.cancel()

    async def _publish(self, call_id: str, queue: asyncio.Queue[bytes]) -> None:
        while True:
            message = await queue.get()
            with contextlib.suppress(RedisError, OSError):  # a step lost: the next one plays on
                await self._redis.publish(channel(call_id), message)

    # --- another node's call -------------------------------------------------------------------------------

    def listen(self, call_id: str, callback: Callable[[bytes], None]) -> Callable[[], None]:
        """Hear another node's call: ``callback`` (cheap, non-blocking) gets each step's message."""
        listeners = self._listeners.setdefault(call_id, set())
        listeners.add(callback)
        if call_id not in self._hearing:
            self._hearing[call_id] = self._spawn(self._hear(call_id))

        def stop() -> None:
            listeners.discard(callback)
            if not listeners:
                self._listeners.pop(call_id, None)
                task = self._hearing.pop(call_id, None)
                if task is not None:
                    task.cancel()

        return stop

    async def _hear(self, call_id: str) -> None:
        pubsub: Any = self._redis.pubsub()
        try:
            await pubsub.subscribe(channel(call_id))
            while True:
                with contextlib.suppress(RedisError, OSError):
                    await self._redis.set(hearing_key(call_id), b"1", px=int(HEARING_TTL_S * 1000))
                await self._deliver(call_id, pubsub)
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()

    async def _deliver(self, call_id: str, pubsub: Any) -> None:
        """Hand on the channel's messages for about :data:`REFRESH_S`."""
        loop = asyncio.get_running_loop()
        until = loop.time() + REFRESH_S
        while (left := until - loop.time()) > 0:
            try:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=left)
            except (RedisError, OSError):
                log.warning("call %s: lost the audio channel; listening again", call_id)
                await asyncio.sleep(REFRESH_S)
                return
            if message is not None and isinstance(message.get("data"), bytes):
                for callback in list(self._listeners.get(call_id, ())):
                    callback(message["data"])


def _offer(queue: asyncio.Queue[bytes], message: bytes) -> None:
    with contextlib.suppress(asyncio.QueueFull):
        queue.put_nowait(message)
