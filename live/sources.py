"""A recording as a call source: decoded off the event loop, handed over through a bounded queue.

Decoding and resampling block, so batches of frames are made in a worker thread; the queue between the
decoder and the session holds at most ``settings.queue_frames`` steps, and a full queue makes the decoder
wait (back-pressure) rather than grow. With ``speed`` set, frames are released by the audio clock (1.0 is
real time) so a replay behaves like a live call; without it the call runs as fast as it decodes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from callcoach.audio.errors import AudioError
from callcoach.audio.framing import Step
from callcoach.audio.source import FileFrames
from callcoach.live.events import CallStarted
from callcoach.live.settings import Settings

_BATCH = 10  # steps decoded per trip to the worker thread: amortises the hand-over


class FileSource:
    """Opening checks the file (raising :class:`AudioError` for bad input); :meth:`frames` streams it."""

    def __init__(self, path: Path, settings: Settings, *, speed: float | None = None) -> None:
        self.path = path
        self._settings = settings
        self._speed = speed
        self._frames = FileFrames(
            path,
            agent_channel=settings.agent_channel,
            customer_channel=settings.customer_channel,
            frame_s=settings.frame_s,
        )
        self.info = self._frames.info

    def started(self, call_id: str | None = None) -> CallStarted:
        mtime = dt.datetime.fromtimestamp(self.path.stat().st_mtime, tz=dt.UTC)
        return CallStarted(
            call_id=call_id or self.path.stem,
            source="file",
            started_at=mtime.isoformat(timespec="seconds"),
            speakers=self._frames.channel_map.speakers,
            title=self.path.name,
            duration_s=round(self.info.duration_s, 3),
        )

    async def frames(self) -> AsyncIterator[Step]:
        queue: asyncio.Queue[list[Step] | AudioError | None] = asyncio.Queue(
            maxsize=max(1, self._settings.queue_frames // _BATCH)
        )
        producer = asyncio.create_task(self._produce(queue))
        try:
            clock = _Pacer(self._speed)
            while (item := await queue.get()) is not None:
                if isinstance(item, AudioError):
                    raise item
                for step in item:
                    await clock.wait_for(step[0].start_s)
                    yield step
        finally:
            producer.cancel()

    async def _produce(self, queue: asyncio.Queue[list[Step] | AudioError | None]) -> None:
        loop = asyncio.get_running_loop()
        steps = iter(self._frames)
        while True:
            batch, fault = await loop.run_in_executor(None, _take, steps, _BATCH)
            if batch:
                await queue.put(batch)
            if fault is not None:  # the frames decoded before the fault are already queued
                await queue.put(fault)
                return
            if len(batch) < _BATCH:
                await queue.put(None)
                return


def _take(steps: Iterator[Step], n: int) -> tuple[list[Step], AudioError | None]:
    """Up to ``n`` steps, and the fault that stopped decoding early, if any (keeping the steps before it)."""
    batch: list[Step] = []
    try:
        for step in steps:
            batch.append(step)
            if len(batch) == n:
                break
    except AudioError as exc:
        return batch, exc
    return batch, None


class _Pacer:
    """Releases audio-time offsets at ``speed`` times real time; a no-op when speed is None."""

    def __init__(self, speed: float | None) -> None:
        self._speed = speed
        self._t0: float | None = None

    async def wait_for(self, at_s: float) -> None:
        if self._speed is None:
            return
        loop = asyncio.get_running_loop()
        if self._t0 is None:
            self._t0 = loop.time() - at_s / self._speed
        delay = self._t0 + at_s / self._speed - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
