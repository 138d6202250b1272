"""Lining up a live call's separately delivered tracks into fixed steps, one column per track.

Live platforms deliver each leg of a call on its own: Twilio sends inbound and outbound media as separate
messages, in bursts; a leg may go quiet when the platform suppresses silence, or start late. Recognition and
the detectors want steady steps covering the same stretch of the call on every track. The
:class:`StepAligner` keeps each track's samples until every track has reached the end of a step, and only
counts samples: there is no clock, so it behaves the same in a test as on a live call. Resample each track
to the aligner's rate first (:class:`callcoach.audio.resample.StreamResampler`, one per track).

Placement. Each track has an *end*: the call position (in samples) up to which it holds audio or silence.

- Audio pushed with ``at_sample`` (from a protocol timestamp) is placed there: a gap before it becomes
  silence, and whatever of it overlaps what the track already holds is dropped. Offsets within
  ``jitter_s`` of where the track's audio left off count as contiguous, so rounding in timestamps never
  clips or pads a few samples.
- Audio pushed without ``at_sample`` follows the track's previous audio: the track is taken to be
  continuous (every sample delivered, perhaps late). A source that suppresses silence must pass
  ``at_sample``. A track's very first audio without ``at_sample`` starts at the track's end, so a leg that
  joins late starts where it joins, not at the start of the call.
- A track more than ``max_lag_s`` behind the leading one is padded with silence up to that lag, so the
  call keeps stepping when a leg is dead. When its late audio does come, the part that falls where
  silence was padded is dropped: the steps already went out, and keeping the legs aligned matters more
  than those samples. Keep ``max_lag_s`` above the platform's burstiness.

:attr:`StepAligner.padded` and :attr:`StepAligner.dropped` count, per track, the samples each rule added
or threw away.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from callcoach.audio.framing import PIPELINE_RATE_HZ


class _Lane:
    """One track's samples not yet stepped out, and where in the call they end."""

    def __init__(self) -> None:
        self.parts: list[npt.NDArray[np.int16]] = []
        self.end = 0  # call position after the last sample held (audio or padding)
        self.audio_end = 0  # call position after the track's own last audio sample
        self.started = False

    def append(self, samples: npt.NDArray[np.int16]) -> None:
        self.parts.append(samples)
        self.end += len(samples)

    def take(self, n: int) -> npt.NDArray[np.int16]:
        held = np.concatenate(self.parts) if len(self.parts) != 1 else self.parts[0]
        # Copy the remainder so it does not pin the caller's (possibly large) block in memory.
        self.parts = [held[n:].copy()] if len(held) > n else []
        return held[:n]


class StepAligner:
    """Align per-track mono int16 audio into steps shaped ``(frame_samples, len(tracks))``."""

    def __init__(
        self,
        tracks: tuple[str, ...],
        sample_rate: int = PIPELINE_RATE_HZ,
        frame_samples: int = 1600,
        max_lag_s: float = 0.3,
        jitter_s: float = 0.01,
    ) -> None:
        if not tracks or len(set(tracks)) != len(tracks):
            raise ValueError(f"a StepAligner needs distinct track names, got {tracks!r}")
        if sample_rate <= 0 or frame_samples <= 0 or max_lag_s < 0 or jitter_s < 0:
            raise ValueError(
                "sample_rate and frame_samples must be positive, max_lag_s and jitter_s not negative; got "
                f"{sample_rate}, {frame_samples}, {max_lag_s}, {jitter_s}"
            )
        self.tracks = tracks
        self.sample_rate = sample_rate
        self.frame_samples = frame_samples
        self._max_lag = round(max_lag_s * sample_rate)
        self._jitter = round(jitter_s * sample_rate)
        self._lanes = {track: _Lane() for track in tracks}
        self._done = 0  # samples per track already stepped out: the clock, in samples
        self._flushed = False
        self.padded = dict.fromkeys(tracks, 0)
        self.dropped = dict.fromkeys(tracks, 0)

    @property
    def samples_done(self) -> int:
        """Samples per track already returned in steps."""
        return self._done

    def push(
        self, track: str, pcm: npt.NDArray[np.int16], at_sample: int | None = None
    ) -> list[npt.NDArray[np.int16]]:
        """Add one track's audio (``at_sample``: its position in the call); return every step completed."""
        samples = self._check(track, pcm, at_sample)
        self._place(track, samples, at_sample)
        lead = max(lane.end for lane in self._lanes.values())
        for name, lane in self._lanes.items():
            self._pad(name, lead - self._max_lag - lane.end)
        return self._steps()

    def flush(self) -> list[npt.NDArray[np.int16]]:
        """The remaining steps at the end of the call, every track padded with silence to a whole step."""
        if self._flushed:
            return []
        self._flushed = True
        lead = max(lane.end for lane in self._lanes.values())
        target = self._done + -(-(lead - self._done) // self.frame_samples) * self.frame_samples
        for name, lane in self._lanes.items():
            self._pad(name, target - lane.end)
        return self._steps()

    def _place(self, track: str, samples: npt.NDArray[np.int16], at_sample: int | None) -> None:
        lane = self._lanes[track]
        if at_sample is None:
            start = lane.audio_end if lane.started else lane.end
        elif lane.started and abs(at_sample - lane.audio_end) <= self._jitter:
            start = lane.audio_end
        else:
            start = at_sample
        lane.started = True
        lane.audio_end = max(lane.audio_end, start + len(samples))
        self._pad(track, start - lane.end)
        overlap = min(max(lane.end - start, 0), len(samples))
        self.dropped[track] += overlap
        if overlap < len(samples):
            lane.append(samples[overlap:].copy())  # the caller may reuse its buffer

    def _pad(self, track: str, n: int) -> None:
        if n > 0:
            self._lanes[track].append(np.zeros(n, dtype=np.int16))
            self.padded[track] += n

    def _steps(self) -> list[npt.NDArray[np.int16]]:
        ready = min(lane.end for lane in self._lanes.values()) - self._done
        count = ready // self.frame_samples
        if count <= 0:
            return []
        n = count * self.frame_samples
        block = np.stack([lane.take(n) for lane in self._lanes.values()], axis=1)
        self._done += n
        return [block[at : at + self.frame_samples] for at in range(0, n, self.frame_samples)]

    def _check(self, track: str, pcm: npt.NDArray[np.int16], at_sample: int | None) -> npt.NDArray[np.int16]:
        if self._flushed:
            raise RuntimeError("StepAligner.push() after flush(); make a new one per call")
        if track not in self._lanes:
            raise ValueError(f"unknown track {track!r}; this aligner has {self.tracks}")
        if not isinstance(pcm, np.ndarray) or pcm.dtype != np.int16 or pcm.ndim == 0 or pcm.size != len(pcm):
            shape = getattr(pcm, "shape", None)
            raise ValueError(f"expected mono int16 PCM shaped (n,) or (n, 1), got {shape}")
        if at_sample is not None and (isinstance(at_sample, bool) or at_sample < 0):
            raise ValueError(f"at_sample must be a sample index from 0, got {at_sample!r}")
        return pcm.reshape(-1)
