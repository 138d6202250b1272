"""The transcriber's own dither: the same noise for the same place in the call, however the audio is cut
into frames, about one 16-bit step of it, and never wrapping around at full scale."""

from __future__ import annotations

import numpy as np

from callcoach.live.transcriber import dithered


def test_the_noise_depends_only_on_the_place_in_the_call() -> None:
    audio = np.zeros(4800, dtype=np.int16)
    whole = dithered(audio, 16000)
    # Cut into other frames, or dithered again later in the process: the same samples.
    parts = np.concatenate([dithered(audio[:1000], 16000), dithered(audio[1000:], 17000)])
    assert np.array_equal(whole, parts)
    assert np.array_equal(dithered(audio, 16000), whole)
    assert not np.array_equal(dithered(audio, 0), whole)  # another place, other noise


def test_digital_silence_gets_about_one_step_of_noise() -> None:
    noise = dithered(np.zeros(16000 * 4, dtype=np.int16), 0).astype(np.float64)
    assert abs(noise.mean()) < 0.05
    assert 0.9 < noise.std() < 1.2
    assert np.mean(noise == 0) < 0.5  # exact zeros are what the model never saw


def test_full_scale_samples_clip_instead_of_wrapping() -> None:
    loud = np.array([32767, -32768] * 800, dtype=np.int16)
    out = dithered(loud, 123)
    assert out.dtype == np.int16
    assert np.all(np.abs(out.astype(np.int32) - loud.astype(np.int32)) <= 8)
