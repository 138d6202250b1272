"""LiveInput: per-speaker chunks at platform rates in, the pipeline's 16 kHz steps out, timed by samples."""

from __future__ import annotations

import numpy as np

from callcoach.audio.live_input import LiveInput


def tone(seconds: float, rate: int, freq: float = 440.0) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (np.sin(2 * np.pi * freq * t) * 8000).astype(np.int16)


def test_interleaved_8k_legs_become_16k_steps_timed_by_samples() -> None:
    live = LiveInput(("agent", "customer"))
    steps = []
    for i in range(100):  # 2 s in 20 ms chunks, as Twilio sends them
        chunk = tone(0.02, 8000)
        steps += live.push("customer", chunk, 8000, at_s=i * 0.02)
        steps += live.push("agent", chunk, 8000, at_s=i * 0.02)
    steps += live.flush()
    assert [s[0].start_s for s in steps] == [round(i * 0.1, 1) for i in range(len(steps))]
    assert all(s[0].sample_rate == 16000 and len(s[0].pcm) == 1600 for s in steps)
    assert 20 <= len(steps) <= 21
    assert [f.speaker for f in steps[0]] == ["agent", "customer"]


def test_a_timestamp_gap_is_filled_with_silence() -> None:
    live = LiveInput(("mixed",))
    steps = live.push("mixed", tone(0.5, 16000), 16000, at_s=0.0)
    steps += live.push("mixed", tone(0.5, 16000), 16000, at_s=1.5)  # one second never sent
    steps += live.flush()
    audio = np.concatenate([s[0].pcm for s in steps])
    assert len(audio) == 2 * 16000
    assert not audio[round(0.55 * 16000) : round(1.45 * 16000)].any()
    assert audio[round(1.6 * 16000) :].any()


def test_a_dead_leg_is_padded_and_the_call_keeps_stepping() -> None:
    live = LiveInput(("agent", "customer"), max_lag_s=0.3)
    steps = []
    for _ in range(50):
        steps += live.push("customer", tone(0.02, 8000), 8000)
    assert len(steps) >= 6  # 1 s of customer audio, the agent never heard from
    assert not any(s[0].pcm.any() for s in steps)
    assert any(s[1].pcm.any() for s in steps)
