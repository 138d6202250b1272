"""LiveInput: per-speaker chunks at platform rates in, the pipeline's 16 kHz steps out, timed by samples."""

from __future__ import annotations

import numpy as np
import pytest

from callcoach.audio.framing import Step
from callcoach.audio.live_input import ACCEPTED_RATES_HZ, MAX_GAP_S, LiveInput, rate_refusal


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


def _audio(steps: list[Step], column: int = 0) -> np.ndarray:
    return np.concatenate([s[column].pcm for s in steps]) if steps else np.zeros(0, np.int16)


def test_a_timestamp_jump_of_half_an_hour_fills_at_most_the_cap_and_the_call_goes_on() -> None:
    """Twilio's second media message at 1,800,000 ms: 5 s of silence, not 30 minutes; later audio follows."""
    live = LiveInput(("mixed",))
    steps = live.push("mixed", tone(0.02, 8000), 8000, at_s=0.0)
    steps += live.push("mixed", tone(0.02, 8000), 8000, at_s=1800.0)
    for i in range(1, 50):  # the rest of a second, contiguous with the jumped chunk
        steps += live.push("mixed", tone(0.02, 8000), 8000, at_s=1800.0 + i * 0.02)
    steps += live.flush()
    audio = _audio(steps)
    assert len(audio) / 16000 == pytest.approx(0.02 + MAX_GAP_S + 1.0, abs=0.1)
    assert np.abs(audio[round(0.2 * 16000) : round(4.9 * 16000)]).max() < 50  # silence stands for the gap
    assert np.count_nonzero(audio[round(5.1 * 16000) :]) > 0.9 * 16000  # the second of tone, all of it
    assert live.skipped_s["mixed"] == pytest.approx(1800.0 - 0.02 - MAX_GAP_S, abs=0.01)
    assert live.fault is None


def test_a_jump_on_every_message_cannot_multiply_the_stream() -> None:
    """Each 20 ms chunk 4 s after the last: the silence filled is paid for by audio sent, at most 1:1."""
    live = LiveInput(("mixed",))
    steps: list[Step] = []
    for i in range(500):  # 10 s of audio sent, claiming 2000 s
        steps += live.push("mixed", tone(0.02, 8000), 8000, at_s=i * 4.0)
    steps += live.flush()
    call_s = len(_audio(steps)) / 16000
    assert call_s <= 2 * 10.0 + MAX_GAP_S + 0.1, call_s


def test_a_leg_quiet_while_the_other_talks_is_filled_up_to_the_call_and_stays_in_step() -> None:
    """Silence suppression on one leg for 20 s (longer than the cap) costs nothing: the agent was heard
    meanwhile, so the customer's later audio lands at its timestamp, beside the agent's."""
    live = LiveInput(("agent", "customer"))
    steps: list[Step] = []
    for i in range(1500):  # 30 s of agent; the customer speaks for the first and the last 5 s only
        at_s = i * 0.02
        steps += live.push("agent", tone(0.02, 8000, 300.0), 8000, at_s=at_s)
        if at_s < 5.0 or at_s >= 25.0:
            steps += live.push("customer", tone(0.02, 8000), 8000, at_s=at_s)
    steps += live.flush()
    customer = _audio(steps, 1)
    assert len(customer) / 16000 == pytest.approx(30.0, abs=0.1)
    assert np.abs(customer[round(5.5 * 16000) : round(24.5 * 16000)]).max() < 50
    assert np.count_nonzero(customer[round(25.1 * 16000) : round(29.9 * 16000)]) > 0.9 * 4.8 * 16000
    assert live.skipped_s == {"agent": 0.0, "customer": 0.0}


@pytest.mark.parametrize("rate", [0, 8, 7, 4000, 11025, 8001])
def test_a_rate_that_is_not_a_telephony_rate_is_refused_naming_the_rates(rate: int) -> None:
    with pytest.raises(ValueError, match=r"8000, 12000, 16000, 24000, 32000, 44100, 48000"):
        LiveInput(("mixed",)).push("mixed", tone(0.02, 8000), rate)
    assert rate_refusal(rate) is not None and f"{rate} Hz" in str(rate_refusal(rate))


@pytest.mark.parametrize("rate", ACCEPTED_RATES_HZ)
def test_every_accepted_rate_is_taken(rate: int) -> None:
    steps = LiveInput(("mixed",)).push("mixed", tone(0.2, rate), rate)
    assert len(steps) >= 1 and rate_refusal(rate) is None


def test_a_call_past_max_call_s_stops_there_with_call_too_long() -> None:
    live = LiveInput(("agent", "customer"), max_call_s=5.0)
    steps: list[Step] = []
    for i in range(400):  # 8 s offered
        steps += live.push("agent", tone(0.02, 8000), 8000, at_s=i * 0.02)
        steps += live.push("customer", tone(0.02, 8000), 8000, at_s=i * 0.02)
    steps += live.flush()
    assert len(steps) == 50 and steps[-1][0].end_s == pytest.approx(5.0)
    assert live.fault is not None and live.fault.code == "call_too_long"
    assert live.fault.at_s == 5.0 and "--max-call-s" in live.fault.message
    assert live.push("agent", tone(1.0, 8000), 8000) == [] and live.flush() == []


def test_a_call_of_exactly_max_call_s_is_not_too_long() -> None:
    live = LiveInput(("mixed",), max_call_s=5.0)
    steps = live.push("mixed", tone(5.0, 16000), 16000) + live.flush()
    assert len(steps) == 50 and live.fault is None
