"""What a listening page is given: LiveInput's steps at the platform's rate, the samples the platform sent,
stamped on the pipeline's clock, and nothing at all while nobody listens."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from callcoach.audio.listen_tap import HeardStep
from callcoach.audio.live_input import LiveInput
from callcoach.live.events import Speaker

RATE = 8000
LEGS: tuple[tuple[Speaker, int], ...] = (("customer", 1), ("agent", -1))  # Twilio sends inbound first


def ramp(start: int, n: int, sign: int) -> npt.NDArray[np.int16]:
    """Distinct samples: sample ``k`` of a speaker's stream is ``sign * (k % 30000)``."""
    return (sign * (np.arange(start, start + n) % 30000)).astype(np.int16)


def twilio(
    live: LiveInput, seconds: float, *, first_chunk: int = 0, listen_at: int | None = None
) -> list[HeardStep]:
    """Push 20 ms chunks on both legs as Twilio sends them (customer first); the heard steps."""
    heard: list[HeardStep] = []
    for i in range(first_chunk, round(seconds / 0.02)):
        if i == listen_at:
            live.listen()
        for speaker, sign in LEGS:
            live.push(speaker, ramp(i * 160, 160, sign), RATE, at_s=i * 0.02)
            heard += live.heard()
    return heard


def test_steps_carry_the_platforms_samples_at_its_rate_on_the_pipelines_clock() -> None:
    live = LiveInput(("agent", "customer"))
    live.listen()
    pipeline = []
    heard: list[HeardStep] = []
    for i in range(100):
        for speaker, sign in LEGS:
            pipeline += live.push(speaker, ramp(i * 160, 160, sign), RATE, at_s=i * 0.02)
            heard += live.heard()
    pipeline += live.flush()
    heard += live.heard()
    assert [h.start_s for h in heard] == [round(i * 0.1, 1) for i in range(20)]
    # The same clock as the pipeline's steps: the same floats for the same stretch of the call.
    assert [h.start_s for h in heard] == [s[0].start_s for s in pipeline[: len(heard)]]
    assert all(h.sample_rate_hz == RATE and h.speakers == ("agent", "customer") for h in heard)
    assert all(h.pcm.shape == (2, 800) and h.pcm.dtype == np.int16 for h in heard)
    agent = np.concatenate([h.pcm[0] for h in heard])
    customer = np.concatenate([h.pcm[1] for h in heard])
    np.testing.assert_array_equal(agent, ramp(0, 16000, -1))
    np.testing.assert_array_equal(customer, ramp(0, 16000, 1))


def test_nothing_is_made_while_nobody_listens() -> None:
    live = LiveInput(("agent", "customer"))
    assert twilio(live, 1.0) == []
    live.listen()
    live.stop_listening()
    assert twilio(live, 2.0, first_chunk=50) == []
    assert live.flush() and live.heard() == []


def test_a_page_that_starts_mid_call_starts_at_the_next_step() -> None:
    live = LiveInput(("agent", "customer"))
    # Listening starts when 0.32 s of both legs went by: the first step it gives is the next one, at 0.4 s.
    heard = twilio(live, 1.0, listen_at=16)
    assert heard[0].start_s == 0.4
    assert [h.start_s for h in heard] == [0.4, 0.5, 0.6, 0.7, 0.8, 0.9][: len(heard)]
    customer = np.concatenate([h.pcm[1] for h in heard])
    np.testing.assert_array_equal(customer, ramp(round(0.4 * RATE), len(customer), 1))


def test_a_timestamp_gap_reaches_the_page_as_the_silence_the_pipeline_hears() -> None:
    live = LiveInput(("mixed",))
    live.listen()
    live.push("mixed", ramp(0, 4000, 1), RATE, at_s=0.0)
    live.push("mixed", ramp(4000, 4000, 1), RATE, at_s=1.0)  # half a second never sent
    live.flush()
    heard = live.heard()
    audio = np.concatenate([h.pcm[0] for h in heard])
    assert [h.start_s for h in heard] == [round(i * 0.1, 1) for i in range(15)]
    np.testing.assert_array_equal(audio[:4000], ramp(0, 4000, 1))
    assert not audio[4000:8000].any()
    np.testing.assert_array_equal(audio[8000:12000], ramp(4000, 4000, 1))


def test_speakers_at_two_rates_come_at_the_first_ones_rate() -> None:
    live = LiveInput(("agent", "customer"))
    live.listen()
    for _ in range(50):  # AudioSocket legs may each pick a rate: 1 s of each
        live.push("agent", np.full(160, 1000, np.int16), 8000)
        live.push("customer", np.full(320, 1000, np.int16), 16000)
    live.flush()
    heard = live.heard()
    assert {h.sample_rate_hz for h in heard} == {8000}
    assert all(h.pcm.shape == (2, 800) for h in heard)
    assert sum(h.pcm.shape[1] for h in heard) >= 0.9 * 8000


def test_a_page_hears_no_more_than_max_call_s() -> None:
    live = LiveInput(("agent", "customer"), max_call_s=1.0)
    heard = twilio(live, 2.0, listen_at=0)
    live.flush()
    heard += live.heard()
    assert live.fault is not None
    assert [h.start_s for h in heard] == [round(i * 0.1, 1) for i in range(10)]
