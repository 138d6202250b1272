"""Framer: fixed-size frames per speaker, stamped by sample count, whatever the block sizes."""

from __future__ import annotations

import numpy as np
import pytest

from callcoach.audio.framing import Framer
from callcoach.live.events import Frame


def _stereo(n: int) -> np.ndarray:
    left = np.arange(n, dtype=np.int64) % 30000
    return np.stack([left, -left], axis=1).astype(np.int16)


def test_frames_cut_across_odd_blocks() -> None:
    samples = _stereo(10_000)
    framer = Framer(("agent", "customer"), 16000, 1600)
    steps = []
    for at, size in zip(range(0, 10_000, 777), [777] * 13, strict=False):
        steps += framer.push(samples[at : at + size])
    steps += framer.flush()
    assert [len(step[0].pcm) for step in steps] == [1600] * 6 + [400]
    for k, (agent, customer) in enumerate(steps):
        assert (agent.speaker, customer.speaker) == ("agent", "customer")
        assert agent.start_s == customer.start_s == k * 1600 / 16000
        assert agent.sample_rate == 16000
        np.testing.assert_array_equal(agent.pcm, samples[k * 1600 : (k + 1) * 1600, 0])
        np.testing.assert_array_equal(customer.pcm, samples[k * 1600 : (k + 1) * 1600, 1])
        assert agent.pcm.flags.c_contiguous and agent.pcm.dtype == np.int16


def test_a_large_block_gives_many_steps_and_keeps_the_rest() -> None:
    framer = Framer(("mixed",), 16000, 320)
    steps = framer.push(_stereo(1000)[:, :1])
    assert len(steps) == 3 and framer.samples_done == 960
    assert framer.push(np.zeros((0, 1), np.int16)) == []
    (last,) = framer.flush()
    assert (last[0].start_s, len(last[0].pcm)) == (0.06, 40)
    assert framer.flush() == []


def test_flush_with_nothing_pending() -> None:
    framer = Framer(("mixed",))
    assert framer.push(np.zeros((1600, 1), np.int16))[0][0].end_s == 0.1
    assert framer.flush() == []


def test_the_clock_does_not_drift_over_a_long_call() -> None:
    # An hour of 100 ms frames: start_s comes from the sample index, so it is exact where a running
    # sum of 0.1 s durations would have drifted.
    framer = Framer(("mixed",), 16000, 1600)
    minute = np.zeros((16000 * 60, 1), np.int16)
    steps = [step for _ in range(60) for step in framer.push(minute)]
    assert len(steps) == 36000
    assert [steps[k][0].start_s for k in (0, 1, 35999)] == [0.0, 0.1, 3599.9]
    summed = 0.0
    for _ in range(35999):
        summed += 0.1
    assert summed != 3599.9  # what accumulating float durations would have given


def test_start_s_matches_index_over_many_frames() -> None:
    framer = Framer(("mixed",), 8000, 123)
    steps = framer.push(np.zeros((123 * 5000, 1), np.int16))
    assert all(step[0].start_s == k * 123 / 8000 for k, step in enumerate(steps))


def test_frames_compare_equal_by_content() -> None:
    a = Framer(("mixed",)).push(np.ones((1600, 1), np.int16))[0][0]
    assert a == Frame("mixed", 0.0, 16000, np.ones(1600, np.int16))


def test_misuse_is_refused() -> None:
    with pytest.raises(ValueError):
        Framer(())
    with pytest.raises(ValueError):
        Framer(("mixed",), frame_samples=0)
    framer = Framer(("agent", "customer"))
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        framer.push(np.zeros((10, 1), np.int16))
    with pytest.raises(ValueError):
        framer.push(np.zeros((10, 2), np.float64))
