"""The two streams every node shares beside the calls' own: notes off the bus, and listening sessions.

**Notes and pins of calls not on the bus** (recordings, which every node analyses itself; calls stored
before a node started or whose stream has expired): every node adds each to its own copy of the call in
this stream's order, the node it was made on too (its seq there is known once it has). A node that
starts reads only newer ones: storage has the rest.

**Listening-session changes** (``web/sessions.py``): start, join, leave, a socket gone, the lead's
playback, in one order for every node, which each applies to its own rooms. A node that starts reads
the changes kept, to know the sessions under way; the nodes that have had sockets in sessions are
remembered, so that those of a node that dies can be let go (:meth:`SharedStreams.node_gone`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Callable, Mapping
from typing import Any, cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from callcoach.live.bus import CallDirectory
from callcoach.live.bus_streams import BLOCK_MS
from callcoach.live.codec import from_json, to_json
from callcoach.live.errors import CallcoachError
from callcoach.live.events import Note, Pin

log = logging.getLogger(__name__)
NOTES = "callcoach:notes"
NOTES_MAX = 10_000
NOTE_WAIT_S = 5.0  # how long the asking node waits to see its own note applied, for its seq
ROOMS = "callcoach:rooms"
ROOMS_MAX = 10_000  # changes kept: a node that starts reads them to know the sessions under way

RoomApply = Callable[[dict[str, Any]], None]


def unshared(what: str, cause: Exception) -> CallcoachError:
    """A page's request that could not go on the bus: refused, so the page can say so and try again."""
    return CallcoachError(
        "bus_unreachable",
        f"{what} could not be shared with the other servers ({cause}): try again in a moment; "
        "if it goes on, the site's Redis is down",
    )


class SharedStreams:
    def __init__(self, redis: aioredis.Redis, spawn: Callable[[Any], asyncio.Task[None]]) -> None:
        self._redis = redis
        self._spawn = spawn
        self._notes_cursor = "0-0"
        self._notes_waiting: dict[str, asyncio.Future[int]] = {}
        self._apply_room: RoomApply | None = None
        self.room_nodes: set[str] = set()  # the nodes that have had sockets in listening sessions

    async def connect(self) -> None:
        """Notes from now on (the older ones are in storage, which this node reads at start)."""
        newest = cast(Any, await self._redis.xrevrange(NOTES, count=1))
        self._notes_cursor = newest[0][0] if newest else "0-0"

    # --- notes off the bus ------------------------------------------------------------------------------

    async def annotate(self, call_id: str, event: Note | Pin) -> int:
        token = secrets.token_hex(8)
        applied: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._notes_waiting[token] = applied
        fields: Any = {"call": call_id, "e": json.dumps(to_json(event)), "t": token}
        try:
            await self._redis.xadd(NOTES, fields, maxlen=NOTES_MAX, approximate=True)
            async with asyncio.timeout(NOTE_WAIT_S):
                return await applied
        except TimeoutError:
            return 0  # on the stream all the same: this node adds it when its reader gets there
        finally:
            self._notes_waiting.pop(token, None)

    async def follow_notes(self, directory: CallDirectory) -> None:
        while True:
            try:
                reply = await self._redis.xread({NOTES: self._notes_cursor}, count=500, block=BLOCK_MS)
            except (RedisError, OSError):
                log.exception("could not read notes from the bus; trying again")
                await asyncio.sleep(0.5)
                continue
            for _key, entries in cast(Any, reply) or []:
                for entry_id, fields in entries:
                    self._notes_cursor = entry_id
                    self._note_here(directory, fields)

    def _note_here(self, directory: CallDirectory, fields: Mapping[str, str]) -> None:
        try:
            event = from_json(json.loads(fields["e"]))
        except (KeyError, ValueError) as exc:
            log.warning("a note on the bus does not decode: %s", exc)
            return
        if not isinstance(event, Note | Pin):
            return
        seq = directory.annotate_here(fields.get("call", ""), event)
        waiting = self._notes_waiting.get(fields.get("t", ""))
        if waiting is not None and not waiting.done():
            waiting.set_result(seq or 0)

    # --- listening sessions -----------------------------------------------------------------------------

    async def send_room(self, change: Mapping[str, Any]) -> None:
        fields: Any = {"c": json.dumps(change)}
        try:
            await self._redis.xadd(ROOMS, fields, maxlen=ROOMS_MAX, approximate=True)
        except (RedisError, OSError) as exc:
            raise unshared("the listening session's change", exc) from exc

    def follow_rooms(self, apply: RoomApply) -> None:
        self._apply_room = apply
        self._spawn(self._follow_rooms(apply))

    async def _follow_rooms(self, apply: RoomApply) -> None:
        cursor = "0-0"
        while True:
            try:
                reply = await self._redis.xread({ROOMS: cursor}, count=500, block=BLOCK_MS)
            except (RedisError, OSError):
                log.exception("could not read listening-session changes from the bus; trying again")
                await asyncio.sleep(0.5)
                continue
            for _key, entries in cast(Any, reply) or []:
                for entry_id, fields in entries:
                    cursor = entry_id
                    try:
                        change = json.loads(fields["c"])
                        self.room_nodes.add(str(change.get("member", "")).rpartition("#")[0])
                        apply(change)
                    except (ValueError, AttributeError):  # not this program's: the others still apply
                        log.warning("listening-session change %s on the bus is not one", entry_id)

    def node_gone(self, node: str) -> None:
        """A node died: its sockets leave every session, on each node alike (it sends nothing more)."""
        self.room_nodes.discard(node)
        if self._apply_room is not None:
            self._apply_room({"op": "node_gone", "node": node, "member": ""})
