"""StepAligner: separately delivered tracks into aligned steps, whatever the delivery pattern."""

from __future__ import annotations

import numpy as np
import pytest

from callcoach.audio.aligner import StepAligner

RATE = 16000
STEP = 1600
LAG = int(0.3 * RATE)


def _ramp(n: int, offset: int = 0) -> np.ndarray:
    """Distinct, recognisable samples: ``offset + k`` (mod 30000) for k in 0..n-1."""
    return ((np.arange(n) + offset) % 30000 + 1).astype(np.int16)


def _joined(steps: list[np.ndarray]) -> np.ndarray:
    assert all(s.shape == (STEP, 2) and s.dtype == np.int16 for s in steps)
    return np.concatenate(steps) if steps else np.zeros((0, 2), dtype=np.int16)


def test_even_interleaving_steps_as_soon_as_both_tracks_have_a_frame() -> None:
    aligner = StepAligner(("agent", "customer"))
    agent, customer = _ramp(8000), _ramp(8000, 5000)
    steps = []
    for at in range(0, 8000, 320):  # 20 ms packets, alternating
        assert aligner.push("agent", agent[at : at + 320]) == []  # the customer is always one packet behind
        steps += aligner.push("customer", customer[at : at + 320])
    assert len(steps) == 5 and aligner.samples_done == 8000
    np.testing.assert_array_equal(_joined(steps), np.stack([agent, customer], axis=1))
    assert aligner.padded == aligner.dropped == {"agent": 0, "customer": 0}
    assert aligner.flush() == []


def test_bursts_within_the_lag_are_waited_for_not_padded() -> None:
    aligner = StepAligner(("a", "b"))
    a, b = _ramp(4000), _ramp(4000, 9000)
    steps = []
    for at in range(0, 4000, 320):  # 250 ms of one leg in small packets, then the other in one burst
        steps += aligner.push("a", a[at : at + 320])
    assert steps == []
    steps += aligner.push("b", b)
    steps += aligner.flush()
    joined = _joined(steps)
    np.testing.assert_array_equal(joined[:4000], np.stack([a, b], axis=1))
    assert not joined[4000:].any()  # the flush padded the last partial step
    assert aligner.padded == {"a": 800, "b": 800}


def test_a_silent_leg_is_padded_and_the_call_keeps_stepping() -> None:
    aligner = StepAligner(("agent", "customer"))
    agent = _ramp(2 * RATE)
    steps = []
    for at in range(0, 2 * RATE, 320):
        steps += aligner.push("agent", agent[at : at + 320])
    assert len(steps) == (2 * RATE - LAG) // STEP  # stepping, held back by no more than max_lag_s
    steps += aligner.flush()
    joined = _joined(steps)
    np.testing.assert_array_equal(joined[:, 0], agent)
    assert not joined[:, 1].any()
    assert aligner.padded["customer"] == 2 * RATE


def test_late_audio_is_dropped_where_silence_was_padded() -> None:
    aligner = StepAligner(("a", "b"))
    a, b = _ramp(RATE), _ramp(RATE, 20000)
    aligner.push("b", b[:1600])  # b delivers its first 100 ms, then stalls
    steps = aligner.push("a", a)  # a runs a second ahead: b is padded up to 0.7 s
    assert aligner.padded["b"] == RATE - LAG - 1600
    steps += aligner.push("b", b[1600:])  # b's stalled audio arrives, late
    steps += aligner.flush()
    joined = _joined(steps)
    np.testing.assert_array_equal(joined[:, 0], a)
    np.testing.assert_array_equal(joined[:1600, 1], b[:1600])
    assert not joined[1600 : RATE - LAG, 1].any()
    np.testing.assert_array_equal(joined[RATE - LAG :, 1], b[RATE - LAG :])  # still aligned with a
    assert aligner.dropped["b"] == RATE - LAG - 1600


def test_a_leg_that_starts_late_starts_where_it_joins() -> None:
    aligner = StepAligner(("a", "b"))
    a, b = _ramp(RATE), _ramp(8000, 20000)
    steps = aligner.push("a", a)
    steps += aligner.push("b", b)  # b's first audio ever: it joins at 0.7 s, where its padding reached
    joined = _joined(steps + aligner.flush())
    np.testing.assert_array_equal(joined[:, 0], np.concatenate([a, np.zeros(3200, dtype=np.int16)]))
    np.testing.assert_array_equal(joined[RATE - LAG : RATE - LAG + 8000, 1], b)
    assert aligner.dropped["b"] == 0


def test_a_gap_by_timestamp_becomes_silence_and_an_overlap_is_dropped() -> None:
    aligner = StepAligner(("a", "b"))
    a, b = _ramp(RATE), _ramp(RATE, 7000)
    steps = aligner.push("a", a[:4000])
    steps += aligner.push("b", b[:4000], at_sample=0)
    steps += aligner.push("a", a[4000:12000])
    steps += aligner.push("b", b[8000:12000], at_sample=8000)  # 250 ms lost in transit: a gap
    steps += aligner.push("a", a[12000:])
    steps += aligner.push("b", b[11000:16000], at_sample=11000)  # 1000 samples sent twice: an overlap
    joined = _joined(steps + aligner.flush())
    np.testing.assert_array_equal(joined[:, 0], a)
    np.testing.assert_array_equal(joined[:4000, 1], b[:4000])
    assert not joined[4000:8000, 1].any()
    np.testing.assert_array_equal(joined[8000:, 1], b[8000:])
    assert (aligner.padded["b"], aligner.dropped["b"]) == (4000, 1000)


def test_timestamps_within_the_jitter_count_as_contiguous() -> None:
    aligner = StepAligner(("a",))
    a = _ramp(3200)
    steps = aligner.push("a", a[:1600], at_sample=0)
    steps += aligner.push("a", a[1600:], at_sample=1600 + 37)  # rounding in a timestamp: 2.3 ms off
    np.testing.assert_array_equal(np.concatenate(steps)[:, 0], a)
    assert aligner.padded == aligner.dropped == {"a": 0}


def test_flush_pads_the_last_partial_step_and_steps_keep_track_order() -> None:
    aligner = StepAligner(("x", "y", "z"), frame_samples=100)
    aligner.push("z", np.full(250, 3, dtype=np.int16))
    aligner.push("x", np.full((250, 1), 1, dtype=np.int16))
    steps = aligner.push("y", np.full(250, 2, dtype=np.int16))
    steps += aligner.flush()
    assert [s.shape for s in steps] == [(100, 3)] * 3
    np.testing.assert_array_equal(steps[0][0], [1, 2, 3])
    assert not steps[2][50:].any()
    assert aligner.flush() == []


def test_input_is_copied_so_the_caller_may_reuse_its_buffer() -> None:
    aligner = StepAligner(("a",), frame_samples=4)
    buffer = np.array([1, 2], dtype=np.int16)
    aligner.push("a", buffer)
    buffer[:] = 9
    [step] = aligner.push("a", np.array([3, 4], dtype=np.int16))
    np.testing.assert_array_equal(step[:, 0], [1, 2, 3, 4])


@pytest.mark.parametrize(
    ("track", "pcm", "at", "error", "named"),
    [
        ("c", np.zeros(4, dtype=np.int16), None, ValueError, "unknown track 'c'"),
        ("a", np.zeros(4, dtype=np.float32), None, ValueError, "mono int16"),
        ("a", np.zeros((4, 2), dtype=np.int16), None, ValueError, "mono int16"),
        ("a", np.zeros(4, dtype=np.int16), -1, ValueError, "at_sample"),
    ],
)
def test_bad_pushes_are_refused(track: str, pcm: np.ndarray, at: int | None, error: type, named: str) -> None:
    with pytest.raises(error, match=named):
        StepAligner(("a", "b")).push(track, pcm, at)


def test_push_after_flush_and_bad_settings_are_refused() -> None:
    aligner = StepAligner(("a",))
    aligner.flush()
    with pytest.raises(RuntimeError, match="after flush"):
        aligner.push("a", np.zeros(4, dtype=np.int16))
    with pytest.raises(ValueError, match="distinct"):
        StepAligner(("a", "a"))
    with pytest.raises(ValueError, match="positive"):
        StepAligner(("a",), frame_samples=0)
