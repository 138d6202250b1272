"""Decoding every speaker at once, each at its own pace, with results released in call order.

Each speaker's recognizer has its own worker and its own bounded queue of frames, so one speaker's
decoding never waits for the other's: a call's turns alternate, and a recognizer decoding speech is much
slower than one hearing silence, so waiting for both at every frame would run the two speakers' turns one
after the other. The queues are bounded (``depth`` frames): a recognizer that falls that far behind makes
the caller wait (back-pressure). Results are released step by step, in the call's order, once every
speaker has decoded the step; what the session emits is the same, event for event, as if each step had
been decoded in lockstep.

With speech gating, each speaker's :class:`Feed` for the step says what their recognizer gets (a frame
the gate skips is never queued: the step counts as decoded for that speaker, nothing heard); without
gating, every frame.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field

from callcoach.live.events import Event, Frame, Transcript
from callcoach.live.gating import Feed
from callcoach.live.transcriber import SpeakerTranscriber

# Called once per step, in order: the step's events (voice activity first, then each speaker's
# transcripts), and the end of the step in call time.
StepSink = Callable[[list[Event], float], None]


@dataclass
class _Step:
    index: int
    end_s: float
    events: list[Event]
    transcripts: list[list[Transcript] | None] = field(default_factory=list)


class OrderedDecoding:
    def __init__(
        self, transcribers: Sequence[SpeakerTranscriber], executor: Executor, depth: int, sink: StepSink
    ) -> None:
        self._transcribers = transcribers
        self._executor = executor
        self._sink = sink
        self._queues: list[asyncio.Queue[tuple[_Step, Feed] | None]] = [
            asyncio.Queue(depth) for _ in transcribers
        ]
        self._pending: deque[_Step] = deque()
        self._count = 0
        self._failure: BaseException | None = None
        self._workers = [asyncio.create_task(self._work(i)) for i in range(len(transcribers))]

    async def push(
        self, frames: Sequence[Frame], events: list[Event], feeds: Sequence[Feed | None] | None = None
    ) -> None:
        """Queue one step (a frame per speaker, its voice-activity events); waits while a queue is full.
        ``feeds`` (one per speaker, None: nothing to decode) replace the frames when the speech is gated."""
        self._raise_failure()
        step = _Step(self._count, frames[0].end_s, events, [None] * len(frames))
        self._count += 1
        self._pending.append(step)
        if feeds is None:
            feeds = [Feed((frame,)) for frame in frames]
        for i, (queue, feed) in enumerate(zip(self._queues, feeds, strict=True)):
            if feed is None:
                step.transcripts[i] = []  # skipped: no recognizer work, nothing heard
            else:
                await queue.put((step, feed))
        self._release()

    async def drain(self) -> None:
        """Decode and release everything queued; then the workers stop."""
        for queue in self._queues:
            await queue.put(None)
        await asyncio.gather(*self._workers)
        self._raise_failure()

    async def close(self) -> None:
        """Stop the workers without waiting for their queues (the call failed)."""
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)

    async def _work(self, i: int) -> None:
        loop = asyncio.get_running_loop()
        transcriber, queue = self._transcribers[i], self._queues[i]
        finished = False
        while not finished:
            batch, finished = _take_batch(await queue.get(), queue)
            if not batch or self._failure is not None:
                continue  # keep taking frames so the caller never blocks on a dead worker
            try:
                # Frames waiting in the queue go to the thread in one trip: a recording's queue is full,
                # and a hand-over per 0.1 s frame costs more than the decoding of a silent one.
                heard = await loop.run_in_executor(
                    self._executor, _decode_all, transcriber, [f for _, f in batch]
                )
            except Exception as exc:
                self._failure = exc
                continue
            for (step, _feed), transcripts in zip(batch, heard, strict=True):
                step.transcripts[i] = transcripts
            self._release()

    def _release(self) -> None:
        while self._pending and all(t is not None for t in self._pending[0].transcripts):
            step = self._pending.popleft()
            events = list(step.events)
            for transcripts in step.transcripts:
                events.extend(transcripts or ())
            self._sink(events, step.end_s)

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure


_BATCH = 10  # frames (1 s of audio) decoded per trip to the thread at most: results still go out per step


def _take_batch(
    first: tuple[_Step, Feed] | None, queue: asyncio.Queue[tuple[_Step, Feed] | None]
) -> tuple[list[tuple[_Step, Feed]], bool]:
    """``first`` and whatever else is already waiting (up to a batch); True once the end marker is taken."""
    batch: list[tuple[_Step, Feed]] = []
    item = first
    while item is not None:
        batch.append(item)
        if len(batch) >= _BATCH or queue.empty():
            return batch, False
        item = queue.get_nowait()
    return batch, True


def _decode_all(transcriber: SpeakerTranscriber, feeds: list[Feed]) -> list[list[Transcript]]:
    return [decode(transcriber, feed) for feed in feeds]


def decode(transcriber: SpeakerTranscriber, feed: Feed) -> list[Transcript]:
    """One step of one speaker: their frames decoded in order, then the utterance closed if the gate says."""
    heard = [t for frame in feed.frames for t in transcriber.accept(frame)]
    if feed.close:
        heard.extend(transcriber.end_utterance())
    return heard


def decode_last(transcriber: SpeakerTranscriber, feed: Feed | None, end_s: float) -> list[Transcript]:
    """The end of the call for one speaker: what the gate still passes on, then the recognizer flushed."""
    heard = decode(transcriber, feed) if feed is not None else []
    return heard + transcriber.finish(end_s)
