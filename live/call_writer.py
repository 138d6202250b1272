"""Keeping a live call on disk as it happens, so that a server killed mid-call loses nothing a coach saw.

A :class:`CallWriter` follows one call's :class:`EventLog` like any other reader: it stores the call's
row when it starts, then every half second at most the events that came since, in one transaction each,
so an event a coach has seen is on disk within a second while a busy call costs two small commits a
second, not one per event. Storage blocks, so each write runs in the default executor, off the event loop
and off the decoders' pool. A write that fails is logged and retried with the next batch: the call goes
on, and the final save when it ends writes everything again anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from callcoach.live.eventlog import EventLog
from callcoach.live.events import CallInfo
from callcoach.live.storage import Storage

log = logging.getLogger(__name__)
FLUSH_S = 0.5  # wall time between batches: what a crash may lose, well under the second promised


class CallWriter:
    def __init__(self, storage: Storage, call_log: EventLog, flush_s: float = FLUSH_S) -> None:
        self._storage = storage
        self._log = call_log
        self._flush_s = flush_s
        self._cursor = 0  # events of the log written so far
        self._stored_seq = 0  # the last seq in storage (notes and pins are stored apart, unnumbered)

    async def run(self, info: CallInfo, recording: Path | None) -> None:
        """Store the call's row, then its events as they come, until its log closes and all are stored."""
        try:
            await asyncio.get_running_loop().run_in_executor(None, self._storage.begin, info, recording)
        except Exception:
            log.exception("could not store the start of call %s; it is saved when it ends", info.call_id)
        while True:
            closed = self._log.closed  # read before the flush: whatever came before closing is in it
            await self._flush()
            if closed:
                return
            # Sleep out the batch, but not past the end of the call.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._flush_s):
                    await self._log.wait_closed()

    async def _flush(self) -> None:
        end = len(self._log)
        if end == self._cursor:
            return
        batch = list(self._log.events[self._cursor : end])
        try:
            self._stored_seq = await asyncio.get_running_loop().run_in_executor(
                None, self._storage.append, self._log.call_id, batch, self._stored_seq
            )
        except Exception:
            log.exception("could not store events of call %s; trying again", self._log.call_id)
            return
        self._cursor = end
