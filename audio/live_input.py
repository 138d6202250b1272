"""A live call's audio, per speaker and at whatever rate the platform sends, turned into pipeline steps.

Sans I/O: the platform adapters push each speaker's mono chunks as they arrive; out come the same steps a
recording gives (one :class:`Frame` per speaker, 16 kHz, ``start_s`` from the sample count). Per speaker, a
timestamp that jumps ahead (a platform that skipped sending silence) is filled with silence at the input
rate and a chunk that overlaps what came before is trimmed, so each speaker's stream is contiguous before
it is resampled; the :class:`StepAligner` then lines the speakers up and pads a leg that is missing.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from callcoach.audio.aligner import StepAligner
from callcoach.audio.framing import Framer, Step
from callcoach.audio.resample import StreamResampler
from callcoach.live.events import Speaker

PIPELINE_RATE = 16000
_JITTER_S = 0.01  # timestamps this close to where a speaker's audio left off count as contiguous


class _Speaker:
    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.resampler = StreamResampler(sample_rate, PIPELINE_RATE, 1)
        self.samples_in = 0  # input samples taken so far, silence fill included: this speaker's clock

    def contiguous(self, pcm: npt.NDArray[np.int16], at_s: float | None) -> npt.NDArray[np.int16]:
        """The chunk placed at ``at_s``: preceded by silence for a gap, trimmed where it overlaps."""
        if at_s is not None:
            offset = round(at_s * self.sample_rate) - self.samples_in
            if offset > _JITTER_S * self.sample_rate:
                pcm = np.concatenate([np.zeros(offset, np.int16), pcm])
            elif offset < -_JITTER_S * self.sample_rate:
                pcm = pcm[-offset:]
        self.samples_in += len(pcm)
        return pcm


class LiveInput:
    def __init__(
        self, speakers: tuple[Speaker, ...], *, frame_samples: int = 1600, max_lag_s: float = 0.3
    ) -> None:
        self.speakers = speakers
        self._aligner = StepAligner(speakers, PIPELINE_RATE, frame_samples, max_lag_s)
        self._framer = Framer(speakers, PIPELINE_RATE, frame_samples)
        self._inputs: dict[Speaker, _Speaker] = {}

    def push(
        self, speaker: Speaker, pcm: npt.NDArray[np.int16], sample_rate: int, at_s: float | None = None
    ) -> list[Step]:
        """One speaker's mono chunk (``at_s``: where the platform says it starts); the steps it completes."""
        state = self._input(speaker, sample_rate)
        placed = state.contiguous(np.asarray(pcm, dtype=np.int16).reshape(-1), at_s)
        resampled = state.resampler.process(placed.reshape(-1, 1))[:, 0]
        return self._frames(self._aligner.push(speaker, resampled))

    def flush(self) -> list[Step]:
        """The call ended: everything still held, the last step padded with silence."""
        blocks = []
        for speaker, state in self._inputs.items():
            blocks += self._aligner.push(speaker, state.resampler.flush()[:, 0])
        return self._frames([*blocks, *self._aligner.flush()])

    def _input(self, speaker: Speaker, sample_rate: int) -> _Speaker:
        if speaker not in self.speakers:
            raise ValueError(f"{speaker!r} is not a speaker of this call ({', '.join(self.speakers)})")
        state = self._inputs.get(speaker)
        if state is None:
            state = self._inputs[speaker] = _Speaker(sample_rate)
        elif state.sample_rate != sample_rate:
            raise ValueError(
                f"the {speaker}'s audio changed rate mid-call ({state.sample_rate} → {sample_rate} Hz)"
            )
        return state

    def _frames(self, blocks: list[npt.NDArray[np.int16]]) -> list[Step]:
        steps: list[Step] = []
        for block in blocks:
            steps += self._framer.push(block)
        return steps
