"""A live call's audio, per speaker and at whatever rate the platform sends, turned into pipeline steps.

Sans I/O: the platform adapters push each speaker's mono chunks as they arrive; out come the same steps a
recording gives (one :class:`Frame` per speaker, 16 kHz, ``start_s`` from the sample count). Per speaker, a
timestamp that jumps ahead (a platform that skipped sending silence) is filled with silence at the input
rate and a chunk that overlaps what came before is trimmed, so each speaker's stream is contiguous before
it is resampled; the :class:`StepAligner` then lines the speakers up and pads a leg that is missing.

What the platform says is bounded here, once for every platform, because a few bytes must never become a
call's worth of audio (a timestamp 30 minutes ahead was 115 MB of WAV and 320 MB of memory):

- Rates: only :data:`ACCEPTED_RATES_HZ`. A rate of 8 Hz would be 2000 samples out for each sample in.
- Timestamp gaps: a speaker's jump is filled up to where the call already is (another speaker was heard
  there, so it costs nothing), and beyond that with at most ``max_gap_s`` of silence; the rest is skipped
  and the speaker's later timestamps are taken relative to the skip. The call goes on, its time the audio
  heard plus bounded silence. Silence beyond the call is paid for by audio: each speaker may fill at most
  ``max_gap_s`` plus as much as it has sent, so a timestamp jump on every message cannot multiply a
  stream either. What was skipped is counted in :attr:`LiveInput.skipped_s`.
- Length: ``max_call_s``. Steps past it are not given out; :attr:`LiveInput.fault` says so
  (``call_too_long``) and the caller ends the call with it.

While a page listens (:meth:`LiveInput.listen`), the placed chunks also go, at the platform's rate, to a
:class:`ListenTap`, whose steps :meth:`LiveInput.heard` gives out; when none does, there is no tap.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from callcoach.audio.aligner import StepAligner
from callcoach.audio.errors import CALL_TOO_LONG, AudioError
from callcoach.audio.framing import PIPELINE_RATE_HZ, Framer, Step
from callcoach.audio.listen_tap import HeardStep, ListenTap
from callcoach.audio.resample import StreamResampler
from callcoach.live.events import Speaker

# Asterisk's signed-linear rates (slin to slin192): every rate a telephony platform (Twilio 8000, the audio
# fork 8000/16000, AudioSocket all of these) or a sound card (44100, 48000 and up) sends.
ACCEPTED_RATES_HZ: Final = (8000, 12000, 16000, 24000, 32000, 44100, 48000, 96000, 192000)
MAX_GAP_S: Final = 5.0  # silence that may stand for a jump in a speaker's timestamps past the call
_JITTER_S = 0.01  # timestamps this close to where a speaker's audio left off count as contiguous


def rate_refusal(sample_rate: object) -> str | None:
    """Why ``sample_rate`` cannot be taken (naming the rates that can), or None if it can."""
    if (
        isinstance(sample_rate, int)
        and not isinstance(sample_rate, bool)
        and sample_rate in ACCEPTED_RATES_HZ
    ):
        return None
    accepted = ", ".join(str(rate) for rate in ACCEPTED_RATES_HZ)
    return f"a sample rate of {sample_rate!r} Hz is not a telephony rate; send one of {accepted} Hz"


class _Speaker:
    def __init__(self, sample_rate: int, max_gap_s: float) -> None:
        self.sample_rate = sample_rate
        self.resampler = StreamResampler(sample_rate, PIPELINE_RATE_HZ, 1)
        self.samples_in = 0  # input samples taken so far, silence fill included: this speaker's clock
        self.skipped = 0  # input samples of timestamp gaps not filled: where its timestamps are ahead
        self._cap = round(max_gap_s * sample_rate)
        self._budget = self._cap  # silence it may still fill past the call; refilled by audio it sends

    def contiguous(
        self, pcm: npt.NDArray[np.int16], at_s: float | None, lead_s: float
    ) -> npt.NDArray[np.int16]:
        """The chunk placed at ``at_s``: preceded by silence for a gap, trimmed where it overlaps.

        ``lead_s`` is how far the call's audio reaches on any speaker: a gap up to it is filled in full.
        """
        heard = len(pcm)
        if at_s is not None:
            offset = round(at_s * self.sample_rate) - self.skipped - self.samples_in
            if offset > _JITTER_S * self.sample_rate:
                pcm = np.concatenate([np.zeros(self._fill(offset, lead_s), np.int16), pcm])
            elif offset < -_JITTER_S * self.sample_rate:
                heard = max(0, heard + offset)
                pcm = pcm[-offset:]
        self.samples_in += len(pcm)
        self._budget = min(self._cap, self._budget + heard)
        return pcm

    def _fill(self, gap: int, lead_s: float) -> int:
        """How much of a ``gap`` (input samples) to fill; the rest is skipped."""
        free = max(0, round(lead_s * self.sample_rate) - self.samples_in)
        fill = min(gap, free + self._budget)
        self._budget -= max(0, fill - free)
        self.skipped += gap - fill
        return fill


class LiveInput:
    def __init__(
        self,
        speakers: tuple[Speaker, ...],
        *,
        frame_samples: int = 1600,
        max_lag_s: float = 0.3,
        max_call_s: float | None = None,
        max_gap_s: float = MAX_GAP_S,
    ) -> None:
        self.speakers = speakers
        self._aligner = StepAligner(speakers, PIPELINE_RATE_HZ, frame_samples, max_lag_s)
        self._framer = Framer(speakers, PIPELINE_RATE_HZ, frame_samples)
        self._inputs: dict[Speaker, _Speaker] = {}
        self._max_gap_s = max_gap_s
        self._max_call_s = max_call_s
        # Steps the call may have: the one that reaches max_call_s is the last.
        self._max_steps = (
            None if max_call_s is None else -(-round(max_call_s * PIPELINE_RATE_HZ) // frame_samples)
        )
        self._steps_out = 0
        self._max_lag_s = max_lag_s
        self._tap: ListenTap | None = None  # only while a page listens
        self.fault: AudioError | None = None  # the call went past max_call_s: end it with this

    @property
    def skipped_s(self) -> dict[Speaker, float]:
        """Per speaker, seconds of timestamp gaps skipped rather than filled with silence."""
        return {speaker: state.skipped / state.sample_rate for speaker, state in self._inputs.items()}

    def push(
        self, speaker: Speaker, pcm: npt.NDArray[np.int16], sample_rate: int, at_s: float | None = None
    ) -> list[Step]:
        """One speaker's mono chunk (``at_s``: where the platform says it starts); the steps it completes.

        Nothing once the call has gone past ``max_call_s`` (see :attr:`fault`).
        """
        state = self._input(speaker, sample_rate)
        if self.fault is not None:
            return []
        lead_s = max(s.samples_in / s.sample_rate for s in self._inputs.values())
        placed = state.contiguous(np.asarray(pcm, dtype=np.int16).reshape(-1), at_s, lead_s)
        if self._tap is not None:
            self._tap.push(speaker, state.samples_in - len(placed), placed, sample_rate)
        resampled = state.resampler.process(placed.reshape(-1, 1))[:, 0]
        return self._frames(self._aligner.push(speaker, resampled))

    def flush(self) -> list[Step]:
        """The call ended: everything still held, the last step padded with silence."""
        if self.fault is not None:
            return []
        if self._tap is not None:
            self._tap.flush()
        blocks = []
        for speaker, state in self._inputs.items():
            blocks += self._aligner.push(speaker, state.resampler.flush()[:, 0])
        return self._frames([*blocks, *self._aligner.flush()])

    def listen(self) -> None:
        """Start giving out the call's audio at the platform's rate (:meth:`heard`), from the next step
        boundary past the audio already taken. Nothing if it already does."""
        if self._tap is not None:
            return
        frame = self._framer.frame_samples
        # The first step not yet reached by any speaker, counted in whole samples (no float rounding).
        first = max(
            (
                -(-state.samples_in * PIPELINE_RATE_HZ // (state.sample_rate * frame))
                for state in self._inputs.values()
            ),
            default=0,
        )
        self._tap = ListenTap(
            self.speakers,
            step_s=frame / PIPELINE_RATE_HZ,
            origin_s=first * frame / PIPELINE_RATE_HZ,
            max_lag_s=self._max_lag_s,
        )

    def stop_listening(self) -> None:
        """No page listens any more: drop the tap and whatever it held."""
        self._tap = None

    def heard(self) -> list[HeardStep]:
        """The steps at the platform's rate completed since the last call (none when nobody listens),
        none past ``max_call_s``: a page hears no more of the call than is kept of it."""
        if self._tap is None:
            return []
        if self._max_steps is None:
            return self._tap.take()
        end_s = self._max_steps * self._framer.frame_samples / PIPELINE_RATE_HZ
        return [step for step in self._tap.take() if step.start_s < end_s]

    def _input(self, speaker: Speaker, sample_rate: int) -> _Speaker:
        if speaker not in self.speakers:
            raise ValueError(f"{speaker!r} is not a speaker of this call ({', '.join(self.speakers)})")
        refusal = rate_refusal(sample_rate)
        if refusal is not None:
            raise ValueError(f"the {speaker}'s audio: {refusal}")
        state = self._inputs.get(speaker)
        if state is None:
            state = self._inputs[speaker] = _Speaker(sample_rate, self._max_gap_s)
        elif state.sample_rate != sample_rate:
            raise ValueError(
                f"the {speaker}'s audio changed rate mid-call ({state.sample_rate} → {sample_rate} Hz)"
            )
        return state

    def _frames(self, blocks: list[npt.NDArray[np.int16]]) -> list[Step]:
        steps: list[Step] = []
        for block in blocks:
            steps += self._framer.push(block)
        return self._within_length(steps)

    def _within_length(self, steps: list[Step]) -> list[Step]:
        if self._max_steps is None or self._steps_out + len(steps) <= self._max_steps:
            self._steps_out += len(steps)
            return steps
        kept = steps[: self._max_steps - self._steps_out]
        self._steps_out = self._max_steps
        end_s = round(self._max_steps * self._framer.frame_samples / PIPELINE_RATE_HZ, 3)
        self.fault = AudioError(
            CALL_TOO_LONG,
            f"the call ran past {self._max_call_s:g} s, the longest a live call may be (--max-call-s, "
            f"CALLCOACH_MAX_CALL_S): it was ended at {end_s:g} s and everything before is kept; raise "
            "--max-call-s to take longer calls",
            at_s=end_s,
        )
        return kept
