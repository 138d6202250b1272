"""One live call, between an ingest adapter and its :class:`CallSession`: a bounded queue and a recorder.

The adapter (Twilio, audio fork, AudioSocket, sound card) pushes each speaker's chunks as they arrive;
:class:`LiveInput` turns them into steps, which wait in a bounded queue for the session. A network adapter
awaits :meth:`LiveCall.push`, so a pipeline that falls behind slows the reading of that socket (TCP
back-pressure), never the server; a capture callback, which must not block, uses :meth:`push_nowait`,
which drops the oldest step and counts it. Every step the session takes is written to the call's
recording first, so a call that drops keeps everything up to the drop.

Pages that listen hear the call as it comes in, ahead of the queue: while any listens, each step at the
platform's rate (:meth:`LiveInput.heard`) is encoded once as a binary message (:mod:`live.audio_wire`)
and handed to every listener; while none does, nothing is made at all.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from callcoach.audio.errors import AudioError
from callcoach.audio.framing import PIPELINE_RATE_HZ, Step
from callcoach.audio.live_input import LiveInput
from callcoach.live.audio_wire import encode_audio
from callcoach.live.events import CallStarted, Speaker
from callcoach.live.recording import RecordingWriter
from callcoach.live.session import SourceDropped
from callcoach.live.settings import Settings


@dataclass(frozen=True)
class _End:
    reason: Literal["completed", "dropped"]
    detail: str = ""
    fault: AudioError | None = None  # a limit the call ran into (LiveInput.fault): it ends the call


class LiveCall:
    def __init__(self, started: CallStarted, settings: Settings, recording: Path | None) -> None:
        self.started = started
        self.recording = recording
        self._input = LiveInput(
            started.speakers,
            frame_samples=round(settings.frame_s * PIPELINE_RATE_HZ),
            max_call_s=settings.max_call_s,
        )
        self._queue: asyncio.Queue[Step | _End] = asyncio.Queue(settings.queue_frames)
        self._listeners: set[Callable[[bytes], None]] = set()
        self._room = asyncio.Event()  # set when the session takes a step from the queue
        self._ended = False
        self._ending: asyncio.Task[None] | None = None  # the end a limit calls for from push_nowait
        self.dropped_steps = 0

    async def push(
        self, speaker: Speaker, pcm: npt.NDArray[np.int16], sample_rate: int, at_s: float | None = None
    ) -> None:
        """Add a speaker's chunk; waits while the queue is full (the caller stops reading its socket)."""
        # Every caller waits, not only one whose chunk completes a step: when two legs come on two
        # sockets, the leg that leads would otherwise read on alone while the other waits, until the
        # aligner takes the other for dead and drops its late audio.
        while self._queue.full() and not self._ended:
            self._room.clear()
            await self._room.wait()
        if self._ended:
            return
        steps = self._input.push(speaker, pcm, sample_rate, at_s)
        self._hear()
        for step in steps:
            await self._queue.put(step)
        if self.fault is not None:
            await self.end("completed")

    def push_nowait(
        self, speaker: Speaker, pcm: npt.NDArray[np.int16], sample_rate: int, at_s: float | None = None
    ) -> None:
        """Add a chunk without waiting: a full queue loses its oldest step (counted in ``dropped_steps``)."""
        if self._ended:
            return
        steps = self._input.push(speaker, pcm, sample_rate, at_s)
        self._hear()
        for step in steps:
            if self._queue.full():
                self._queue.get_nowait()
                self.dropped_steps += 1
            self._queue.put_nowait(step)
        if self.fault is not None and self._ending is None:
            self._ending = asyncio.create_task(self.end("completed"))  # referenced: a task must be kept

    async def end(self, reason: Literal["completed", "dropped"], detail: str = "") -> None:
        """The source is done: what it sent is still processed, then the session ends with ``reason``."""
        if self._ended:
            return
        self._ended = True
        steps = self._input.flush()
        self._hear()
        for step in steps:
            await self._queue.put(step)
        await self._queue.put(_End(reason, detail, self.fault))

    @property
    def fault(self) -> AudioError | None:
        """The limit that ended the call (``call_too_long``: past ``settings.max_call_s``), if one did."""
        return self._input.fault

    def listen_audio(self, callback: Callable[[bytes], None]) -> Callable[[], None]:
        """Hear the call: ``callback`` (cheap, non-blocking) gets every step as it comes in, before the
        pipeline's queue, so a coach hears the call in real time even when its analysis lags. A step comes
        as one binary message with every speaker at the platform's rate (:func:`encode_audio`), made once
        for every listener. Returns the function that stops it."""
        if not self._listeners:
            self._input.listen()
        self._listeners.add(callback)

        def stop() -> None:
            self._listeners.discard(callback)
            if not self._listeners:
                self._input.stop_listening()

        return stop

    def _hear(self) -> None:
        if not self._listeners:
            return
        for step in self._input.heard():
            message = encode_audio(self.started.call_id, step)
            for callback in list(self._listeners):
                callback(message)

    async def frames(self) -> AsyncIterator[Step]:
        """The steps, for the session; each one written to the recording as it passes."""
        loop = asyncio.get_running_loop()
        writer = None
        if self.recording is not None:
            writer = await loop.run_in_executor(
                None, RecordingWriter, self.recording, len(self.started.speakers)
            )
        try:
            while not isinstance(item := await self._queue.get(), _End):
                self._room.set()
                if writer is not None:
                    await loop.run_in_executor(None, writer.write, item)
                yield item
            if item.fault is not None:  # a limit: the call is cut there, and kept like a dropped one
                raise SourceDropped(item.fault.message, item.fault.code, item.fault.at_s)
            if item.reason == "dropped":
                detail = item.detail or "the platform's connection closed before the call ended"
                raise SourceDropped(f"the call's connection dropped: {detail}")
        finally:
            if writer is not None:
                with contextlib.suppress(OSError):
                    await loop.run_in_executor(None, writer.close)
