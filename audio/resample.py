"""Streaming sample-rate conversion of int16 blocks, with libsoxr (a real band-limited resampler).

Recognition wants 16 kHz; calls arrive at 8 kHz (telephone, G.711), 44.1 or 48 kHz (recordings).
Dropping or repeating samples, or interpolating linearly, would alias and smear the audio the
recogniser and the voice-activity detector depend on; soxr filters properly and keeps its state
between blocks, so a stream cut into blocks of any sizes gives the same output as one call would.

Timing: soxr compensates its filter delay, so output sample ``k`` is at the same time as input sample
``k * in_rate / out_rate``, and after :meth:`StreamResampler.flush` the total output is the input
length times the ratio, rounded. Sample counts therefore stay a clock across the conversion.

soxr works in float here and the result is rounded to 16 bits by us: soxr's own 16-bit output adds TPDF
dither from a generator that lives on in the process, so the same call resampled twice gave different
samples, and Vosk different words (issue 16: the same recording must give the same result every run).
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt
import soxr

# "HQ" is soxr's 20-bit quality: far beyond 16-bit telephone audio, and fast enough for many calls.
_QUALITY: Final = "HQ"


class StreamResampler:
    """Resample a stream of int16 blocks shaped ``(n, channels)`` from ``in_rate`` to ``out_rate``.

    Feed blocks in order with :meth:`process`, then call :meth:`flush` once at the end for the tail
    soxr holds back. When the rates are equal the blocks pass through untouched.
    """

    def __init__(self, in_rate: int, out_rate: int, channels: int) -> None:
        if in_rate <= 0 or out_rate <= 0:
            raise ValueError(f"sample rates must be positive, got {in_rate} -> {out_rate}")
        if channels < 1:
            raise ValueError(f"channels must be at least 1, got {channels}")
        self.in_rate = in_rate
        self.out_rate = out_rate
        self.channels = channels
        # soxr has no type stubs: the stream is Any, or None when there is nothing to convert.
        self._stream: Any = (
            None
            if in_rate == out_rate
            else soxr.ResampleStream(in_rate, out_rate, channels, dtype="float32", quality=_QUALITY)
        )
        self._flushed = False

    @property
    def passthrough(self) -> bool:
        """True when the rates are equal and blocks are returned as they came."""
        return self._stream is None

    def process(self, block: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
        """Resample one block; the result may be shorter or empty while soxr fills its filter."""
        self._check(block)
        if self._stream is None:
            return block
        return self._resample(block, last=False)

    def flush(self) -> npt.NDArray[np.int16]:
        """The samples soxr still holds at the end of the stream; call once, after the last block."""
        if self._flushed:
            raise RuntimeError("StreamResampler.flush() was already called; make a new one per stream")
        self._flushed = True
        empty = np.zeros((0, self.channels), dtype=np.int16)
        if self._stream is None:
            return empty
        return self._resample(empty, last=True)

    def _resample(self, block: npt.NDArray[np.int16], *, last: bool) -> npt.NDArray[np.int16]:
        # soxr reads the buffer directly, so it needs C order (a column slice of a stereo block is not).
        out = self._stream.resample_chunk(np.ascontiguousarray(block, dtype=np.float32), last=last)
        rounded: npt.NDArray[np.int16] = np.clip(np.rint(out), -32768, 32767).astype(np.int16)
        return rounded.reshape(-1, self.channels)

    def _check(self, block: npt.NDArray[np.int16]) -> None:
        if self._flushed:
            raise RuntimeError("StreamResampler.process() after flush(); make a new one per stream")
        if block.dtype != np.int16 or block.ndim != 2 or block.shape[1] != self.channels:
            raise ValueError(
                f"expected an int16 block shaped (n, {self.channels}), got {block.dtype} {block.shape}"
            )
