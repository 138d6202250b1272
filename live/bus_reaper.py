"""Ending the live calls of a node that died: one survivor ends each, as ``dropped``, and stores it.

When a node's heartbeat key expires, every survivor sees its calls still listed. Each call is taken by
exactly one survivor, the one that sets its ``reaper`` key first (``SET NX``, expiring: a survivor that
dies in turn leaves it to the others). That survivor reads everything the dead node had written to the
call's stream, ends it where it stopped as a server restarted after a crash does (:func:`recover`: its
recording, in the shared data folder, mended so that it plays; an ``Error`` and a ``CallEnded`` saying
where it stopped), adds those two to the stream, so every node's pages get them in order and every node
lists the call as dropped, stores the call through :class:`Storage`, and takes it off the list.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, cast

from callcoach.live.bus import BusLog
from callcoach.live.events import CallInfo, Event, Note, Pin
from callcoach.live.recovery import recover, repair_recording, silence_redactions
from callcoach.live.storage import StoredCall

if TYPE_CHECKING:
    from callcoach.live.bus_redis import RedisBus

log = logging.getLogger(__name__)
REAPER_LOCK_S = 60  # a survivor that dies while ending a call leaves it to the others after this


async def reap(bus: RedisBus, call_id: str, node: str, info: CallInfo) -> None:
    """End the dead ``node``'s call ``call_id``, unless another survivor has taken it."""
    keys = bus.keys(call_id)
    if not await bus.redis.set(keys.reaper, bus.node, nx=True, ex=REAPER_LOCK_S):
        return
    events = await _events_on_bus(bus, call_id)
    recording = bus.storage.recording_path(call_id)
    stored = StoredCall(info, tuple(events), recording if recording.exists() else None)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, repair_recording, stored)
    await loop.run_in_executor(None, silence_redactions, stored)  # it may have died between the two
    ended = await loop.run_in_executor(None, recover, stored)
    pipeline = [e for e in events if not isinstance(e, Note | Pin)]
    closing = [e for e in ended.events if not isinstance(e, Note | Pin)][len(pipeline) :]
    if closing:
        await bus.append(call_id, closing, first=0)
    log.warning("call %s: its node %s stopped; ended it as dropped (%s)", call_id, node, ended.info.error)
    await loop.run_in_executor(None, bus.storage.save, ended.info, [*pipeline, *closing], ended.recording)
    await bus.retire(call_id)


async def _events_on_bus(bus: RedisBus, call_id: str) -> list[Event]:
    """Every event of the call's stream, in order (read into a log of its own, as any node reads it)."""
    call_log = BusLog(call_id)
    call_log.receive_entries(cast(Any, await bus.redis.xrange(bus.keys(call_id).stream)))
    return list(call_log.events)
