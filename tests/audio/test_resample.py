"""StreamResampler: duration kept over streamed odd-sized blocks, frequency kept, pass-through."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from callcoach.audio.resample import StreamResampler

ODD_SIZES = (1, 7, 160, 333, 1001, 4097, 13)


def _stream(
    resampler: StreamResampler, samples: np.ndarray, sizes: tuple[int, ...] = ODD_SIZES
) -> np.ndarray:
    out, at, i = [], 0, 0
    while at < len(samples):
        block = samples[at : at + sizes[i % len(sizes)]]
        out.append(resampler.process(block))
        at, i = at + len(block), i + 1
    out.append(resampler.flush())
    assert all(o.dtype == np.int16 and o.ndim == 2 for o in out)
    return np.concatenate(out)


def _peak_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[np.argmax(spectrum)])


@pytest.mark.parametrize("in_rate", [8000, 44100, 48000])
def test_duration_is_kept_over_a_streamed_run(in_rate: int, tone: Callable[..., np.ndarray]) -> None:
    samples = tone(440, 7.3, rate=in_rate).reshape(-1, 1)
    out = _stream(StreamResampler(in_rate, 16000, 1), samples)
    assert abs(len(out) - len(samples) * 16000 / in_rate) <= 2


@pytest.mark.parametrize(("in_rate", "freq"), [(8000, 1000.0), (44100, 3000.0)])
def test_sine_keeps_its_frequency_and_level(
    in_rate: int, freq: float, tone: Callable[..., np.ndarray]
) -> None:
    out = _stream(StreamResampler(in_rate, 16000, 1), tone(freq, 2.0, rate=in_rate).reshape(-1, 1))[:, 0]
    assert _peak_hz(out, 16000) == pytest.approx(freq, abs=1.0)
    middle = out[1000:-1000].astype(np.float64)  # skip the filter's ramp at both ends
    assert np.sqrt(np.mean(middle**2)) == pytest.approx(0.5 * 32767 / np.sqrt(2), rel=0.02)


def test_channels_stay_separate(tone: Callable[..., np.ndarray]) -> None:
    stereo = np.stack([tone(440, 1.0, rate=8000), tone(1500, 1.0, rate=8000)], axis=1)
    out = _stream(StreamResampler(8000, 16000, 2), stereo)
    assert out.shape[1] == 2
    assert _peak_hz(out[:, 0], 16000) == pytest.approx(440, abs=1.0)
    assert _peak_hz(out[:, 1], 16000) == pytest.approx(1500, abs=1.0)


def test_block_sizes_do_not_change_the_output(tone: Callable[..., np.ndarray]) -> None:
    samples = tone(700, 1.0, rate=44100).reshape(-1, 1)
    whole = _stream(StreamResampler(44100, 16000, 1), samples, (len(samples),))
    pieces = _stream(StreamResampler(44100, 16000, 1), samples)
    assert whole.shape == pieces.shape
    assert np.abs(whole.astype(np.int32) - pieces).max() <= 2  # soxr's internal rounding, a few LSB


def test_non_contiguous_blocks_are_accepted(tone: Callable[..., np.ndarray]) -> None:
    stereo = np.stack([tone(440, 0.5, rate=8000), tone(440, 0.5, rate=8000)], axis=1)
    left = stereo[:, :1]  # a column view: not C-contiguous
    assert not left.flags.c_contiguous
    assert len(_stream(StreamResampler(8000, 16000, 1), left)) == 8000


def test_equal_rates_pass_through(tone: Callable[..., np.ndarray]) -> None:
    resampler = StreamResampler(16000, 16000, 1)
    block = tone(440, 0.1).reshape(-1, 1)
    assert resampler.passthrough
    assert resampler.process(block) is block
    assert resampler.flush().shape == (0, 1)


def test_misuse_is_refused(tone: Callable[..., np.ndarray]) -> None:
    resampler = StreamResampler(8000, 16000, 2)
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        resampler.process(tone(440, 0.1, rate=8000).reshape(-1, 1))
    with pytest.raises(ValueError):
        resampler.process(np.zeros((10, 2), np.float32))
    resampler.flush()
    with pytest.raises(RuntimeError):
        resampler.process(np.zeros((10, 2), np.int16))
    with pytest.raises(RuntimeError):
        resampler.flush()
    with pytest.raises(ValueError):
        StreamResampler(0, 16000, 1)
    with pytest.raises(ValueError):
        StreamResampler(8000, 16000, 0)


def test_the_same_stream_resampled_again_gives_the_same_samples() -> None:
    # soxr's own 16-bit output is dithered from a generator that lives on in the process: the same call
    # resampled twice differed (issue 16). Converted in float and rounded by us, it does not.
    rng = np.random.default_rng(7)
    audio = rng.integers(-8000, 8000, size=(8000 * 3, 2)).astype(np.int16)

    def once(block: int) -> np.ndarray:
        r = StreamResampler(8000, 16000, 2)
        out = [r.process(audio[at : at + block]) for at in range(0, len(audio), block)]
        return np.concatenate([*out, r.flush()])

    first = once(800)
    assert np.array_equal(once(800), first)
    assert np.array_equal(once(333), first)  # cut into other blocks: the same samples too
