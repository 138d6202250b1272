"""A live call's audio as the platform sent it, in the pipeline's steps, for the pages that listen to it.

Sans I/O. The pipeline resamples every speaker to 16 kHz; a coach's page does not need that: Twilio and
AudioSocket send 8 kHz, and sending a page 16 kHz doubles its bytes for nothing it can hear. A
:class:`ListenTap` takes each speaker's contiguous chunks *before* resampling (where :class:`LiveInput`
has placed them: gaps filled, overlaps trimmed) and lines them up in steps of the pipeline's length, at
the platform's rate, each stamped in call time like every event. ``start_s`` is the first sample's index
over the rate, the same clock as the pipeline's steps: a step here and there with the same ``start_s``
cover the same stretch of the call.

A tap exists only while a page listens, so a call nobody listens to pays nothing for it. One made
mid-call starts at the next step boundary past the audio already taken (``origin_s``): what came before
has gone by. Should the speakers come at different rates (two AudioSocket legs), the later ones are
resampled to the first one's rate, so that one message carries every speaker at one rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from callcoach.audio.aligner import StepAligner
from callcoach.audio.resample import StreamResampler
from callcoach.live.events import Speaker


@dataclass(frozen=True, eq=False)
class HeardStep:
    """One step of the call at the platform's rate: ``pcm`` is shaped ``(len(speakers), n)`` (a row per
    speaker, in the call's speaker order), starting ``start_s`` into the call."""

    start_s: float
    sample_rate_hz: int
    speakers: tuple[Speaker, ...]
    pcm: npt.NDArray[np.int16]


class ListenTap:
    def __init__(
        self, speakers: tuple[Speaker, ...], *, step_s: float, origin_s: float, max_lag_s: float = 0.3
    ) -> None:
        self.speakers = speakers
        self._step_s = step_s
        self._origin_s = origin_s
        self._max_lag_s = max_lag_s
        # Set by the first chunk: the rate of the tap, and from it the step and origin in samples.
        self._rate = 0
        self._step = 0
        self._origin = 0  # where the tap starts in the call, in samples at its rate: the aligner's 0
        self._next = 0  # the call position (samples at the tap's rate) of the next step's first sample
        self._aligner: StepAligner | None = None
        self._resamplers: dict[Speaker, StreamResampler] = {}  # a speaker at another rate than the first
        self._placed: set[Speaker] = set()  # speakers whose audio has reached the tap's origin
        self._ready: list[HeardStep] = []

    @property
    def sample_rate_hz(self) -> int | None:
        """The rate of the steps: the first speaker's rate, once one has sent audio."""
        return self._rate or None

    def push(self, speaker: Speaker, position: int, pcm: npt.NDArray[np.int16], sample_rate_hz: int) -> None:
        """A speaker's chunk, contiguous with its previous one, starting ``position`` samples (at its
        own rate) into the call."""
        aligner = self._aligner or self._start(sample_rate_hz)
        if sample_rate_hz != self._rate:
            resampler = self._resamplers.get(speaker) or self._resamplers.setdefault(
                speaker, StreamResampler(sample_rate_hz, self._rate, 1)
            )
            pcm = resampler.process(pcm.reshape(-1, 1))[:, 0]
            position = round(position * self._rate / sample_rate_hz)
        at_sample = None  # after its first chunk, a speaker's audio follows on (LiveInput placed it)
        if speaker not in self._placed:
            at_sample = position - self._origin
            if at_sample < 0:  # it began before the tap did: that part has gone by
                pcm, at_sample = pcm[-at_sample:], 0
            if not len(pcm):
                return
            self._placed.add(speaker)
        self._collect(aligner.push(speaker, pcm, at_sample))

    def flush(self) -> None:
        """The call ended: the last step, padded with silence."""
        if self._aligner is not None:
            self._collect(self._aligner.flush())

    def take(self) -> list[HeardStep]:
        """The steps completed since the last take."""
        ready, self._ready = self._ready, []
        return ready

    def _start(self, sample_rate_hz: int) -> StepAligner:
        self._rate = sample_rate_hz
        self._step = round(self._step_s * sample_rate_hz)
        self._origin = self._next = round(self._origin_s * sample_rate_hz)
        self._aligner = StepAligner(self.speakers, sample_rate_hz, self._step, self._max_lag_s)
        return self._aligner

    def _collect(self, blocks: list[npt.NDArray[np.int16]]) -> None:
        for block in blocks:
            start_s = self._next / self._rate
            self._next += len(block)
            self._ready.append(HeardStep(start_s, self._rate, self.speakers, np.ascontiguousarray(block.T)))
