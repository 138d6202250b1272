"""Cutting a stream of multi-speaker sample blocks into fixed-size, timestamped :class:`Frame` steps.

Blocks arrive in whatever sizes the decoder and resampler produce; recognition and voice activity
want steady frames (100 ms by default). The :class:`Framer` keeps the remainder between pushes and
stamps each frame with ``first_sample_index / sample_rate``: the count of samples is the clock, so
no rounding error from adding up float durations can creep in over an hour-long call.
"""

from __future__ import annotations

from typing import Final, TypeAlias

import numpy as np
import numpy.typing as npt

from callcoach.live.events import Frame, Speaker

# The one rate of the pipeline's audio: every source is resampled to it, and voice activity, recognition
# and the stored recordings all take it.
PIPELINE_RATE_HZ: Final = 16000

Step: TypeAlias = tuple[Frame, ...]
"""One frame per speaker, all covering the same stretch of the call, in speaker order."""


class Framer:
    """Cut ``(n, len(speakers))`` int16 blocks into steps of ``frame_samples`` samples per speaker."""

    def __init__(
        self, speakers: tuple[Speaker, ...], sample_rate: int = PIPELINE_RATE_HZ, frame_samples: int = 1600
    ) -> None:
        if not speakers:
            raise ValueError("a Framer needs at least one speaker")
        if sample_rate <= 0 or frame_samples <= 0:
            raise ValueError(
                f"sample_rate and frame_samples must be positive, got {sample_rate}, {frame_samples}"
            )
        self.speakers = speakers
        self.sample_rate = sample_rate
        self.frame_samples = frame_samples
        self._pending = np.zeros((0, len(speakers)), dtype=np.int16)
        self._next_sample = 0  # index of the first sample in _pending, counted from the call's start

    @property
    def samples_done(self) -> int:
        """Samples per speaker already emitted in frames (the clock, in samples)."""
        return self._next_sample

    def push(self, block: npt.NDArray[np.int16]) -> list[Step]:
        """Add a block (channels already in speaker order); return every whole step it completes."""
        self._check(block)
        pending = np.concatenate([self._pending, block]) if len(self._pending) else block
        whole = len(pending) // self.frame_samples * self.frame_samples
        steps = [
            self._step(pending[at : at + self.frame_samples]) for at in range(0, whole, self.frame_samples)
        ]
        # Copy the remainder so it does not pin the caller's (possibly large) block in memory.
        self._pending = pending[whole:].copy()
        return steps

    def flush(self) -> list[Step]:
        """The last partial step, if samples are left over; the framer is empty afterwards."""
        if not len(self._pending):
            return []
        step = self._step(self._pending)
        self._pending = self._pending[:0]
        return [step]

    def _step(self, samples: npt.NDArray[np.int16]) -> Step:
        start_s = self._next_sample / self.sample_rate
        self._next_sample += len(samples)
        return tuple(
            Frame(
                speaker=speaker,
                start_s=start_s,
                sample_rate=self.sample_rate,
                # Each speaker's pcm is its own contiguous array: consumers hand it to C code (Vosk).
                pcm=np.ascontiguousarray(samples[:, column]),
            )
            for column, speaker in enumerate(self.speakers)
        )

    def _check(self, block: npt.NDArray[np.int16]) -> None:
        if block.dtype != np.int16 or block.ndim != 2 or block.shape[1] != len(self.speakers):
            raise ValueError(
                f"expected an int16 block shaped (n, {len(self.speakers)}), got {block.dtype} {block.shape}"
            )
