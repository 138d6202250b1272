"""OrderedDecoding: speakers decode at their own pace, results come out in step order, failures surface."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

from callcoach.live.decoding import OrderedDecoding
from callcoach.live.events import Event, Frame, Speech, Transcript
from callcoach.live.gating import Feed


class FakeTranscriber:
    """Stands in for Vosk: slow on the steps listed, says which step it heard."""

    def __init__(
        self, speaker: Any, slow_steps: set[int], fail_at: int | None = None, heard: list[Any] | None = None
    ) -> None:
        self.speaker = speaker
        self._heard = heard if heard is not None else []
        self._slow = slow_steps
        self._fail_at = fail_at

    def accept(self, frame: Frame) -> list[Transcript]:
        n = round(frame.start_s * 10)
        if n == self._fail_at:
            raise RuntimeError("decoder broke")
        if n in self._slow:
            time.sleep(0.05)
        self._heard.append((self.speaker, n))
        return [Transcript(self.speaker, f"{self.speaker} {n}", frame.start_s, frame.end_s, True)]


def frames(n: int) -> tuple[Frame, Frame]:
    pcm = np.zeros(1600, np.int16)
    return (Frame("agent", n / 10, 16000, pcm), Frame("customer", n / 10, 16000, pcm))


async def run(
    transcribers: list[FakeTranscriber], steps: int, depth: int = 8
) -> list[tuple[list[Event], float]]:
    out: list[tuple[list[Event], float]] = []
    with ThreadPoolExecutor(2) as pool:
        decoding = OrderedDecoding(transcribers, pool, depth, lambda events, end: out.append((events, end)))  # type: ignore[arg-type]
        for n in range(steps):
            await decoding.push(frames(n), [Speech("agent", n / 10)])
        await decoding.drain()
        await decoding.close()
    return out


async def test_steps_come_out_in_order_with_speech_first() -> None:
    # The agent is slow early, the customer late: each runs ahead of the other in turn.
    agent = FakeTranscriber("agent", set(range(0, 10)))
    customer = FakeTranscriber("customer", set(range(10, 20)))
    out = await run([agent, customer], 20)
    assert [round(end, 1) for _, end in out] == [round((n + 1) / 10, 1) for n in range(20)]
    for n, (events, _) in enumerate(out):
        assert [type(e).__name__ for e in events] == ["Speech", "Transcript", "Transcript"]
        assert [e.text for e in events[1:]] == [f"agent {n}", f"customer {n}"]  # type: ignore[union-attr]


async def test_speakers_do_not_wait_for_each_other() -> None:
    heard: list[tuple[str, int]] = []
    agent = FakeTranscriber("agent", set(range(0, 10)), heard=heard)
    customer = FakeTranscriber("customer", set(), heard=heard)
    await run([agent, customer], 20, depth=20)
    # In lockstep the customer could never be more than one step ahead; here it runs through its
    # quick steps while the agent is still on its slow first ones.
    assert heard.index(("customer", 9)) < heard.index(("agent", 5))


async def test_a_failing_decoder_surfaces_and_never_blocks_the_source() -> None:
    agent = FakeTranscriber("agent", set(), fail_at=3)
    customer = FakeTranscriber("customer", set())
    with pytest.raises(RuntimeError, match="decoder broke"):
        await asyncio.wait_for(run([agent, customer], 40, depth=2), 5)


class ClosingTranscriber(FakeTranscriber):
    """Also says when the gate closed its utterance."""

    def end_utterance(self) -> list[Transcript]:
        return [Transcript(self.speaker, f"{self.speaker} closed", 0.0, 0.0, True)]


async def test_skipped_frames_never_reach_the_recognizer_and_steps_stay_in_order() -> None:
    heard: list[Any] = []
    agent = ClosingTranscriber("agent", set(range(0, 5)), heard=heard)
    customer = ClosingTranscriber("customer", set(), heard=heard)
    out: list[tuple[list[Event], float]] = []
    with ThreadPoolExecutor(2) as pool:
        sink = lambda events, end: out.append((events, end))  # noqa: E731
        decoding = OrderedDecoding([agent, customer], pool, 8, sink)  # type: ignore[list-item]
        for n in range(10):
            agent_frame, customer_frame = frames(n)
            # The customer speaks only in steps 6 and 7 (with step 5 as pre-roll), closed after 7.
            feeds: list[Feed | None] = [Feed((agent_frame,)), None]
            if n == 6:
                feeds[1] = Feed((frames(5)[1], customer_frame))
            elif n == 7:
                feeds[1] = Feed((customer_frame,), close=True)
            await decoding.push((agent_frame, customer_frame), [], feeds)
        await decoding.drain()
        await decoding.close()
    assert [h for h in heard if h[0] == "customer"] == [("customer", 5), ("customer", 6), ("customer", 7)]
    assert [round(end, 1) for _, end in out] == [round((n + 1) / 10, 1) for n in range(10)]
    said = [[e.text for e in events if isinstance(e, Transcript)] for events, _ in out]
    assert said[5] == ["agent 5"]
    assert said[6] == ["agent 6", "customer 5", "customer 6"]
    assert said[7] == ["agent 7", "customer 7", "customer closed"]
