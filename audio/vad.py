"""Voice activity of one speaker, from the energy of their audio: when they start and stop talking.

The detectors need turn-taking (who is talking, silences, interruptions) even where recognition hears
nothing it can spell. This is a plain energy detector, run on 20 ms windows:

* **Adaptive noise floor.** A window is voiced when its level is ``margin_db`` above the noise floor,
  and at least ``min_level_db``. The floor is the quietest 100 ms-smoothed level of the last
  ``floor_memory_s`` seconds: speech always has quieter moments within a few seconds, so the floor
  settles on the background whether that is digital silence (synthetic audio) or line hiss (phone
  audio), and follows a change in background within ``floor_memory_s``. Smoothing first keeps a
  short quiet moment (a stop consonant, a lost packet of up to ~60 ms) from dragging the floor down.
  Known limit: after a longer digital-silence mute on a noisy line (or a sudden rise in background),
  the background can read as speech until the floor catches up, at most ``floor_memory_s`` later.
* **Hangover.** Speech ends only after ``hangover_s`` without a voiced window, so the gaps between
  words and syllables do not split it; the end reported is still the end of the last voiced window.
* **Minimum length.** A segment is announced only once it has ``min_speech_s`` of voiced windows
  (clicks and pops are shorter), with its start back-dated to its first voiced window.

Every level computation is vectorised over the windows of a frame; only the small state machine
steps through windows (50 per second of audio), never through samples.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from callcoach.audio.framing import PIPELINE_RATE_HZ
from callcoach.live.events import Frame, Speaker, Speech

_WINDOW_S: Final = 0.02
_SMOOTH_WINDOWS: Final = 5  # 100 ms of level smoothing before the floor takes its minimum
_SILENCE_DB: Final = -100.0  # the level of digital silence: log10(0) needs a stand-in
_FULL_SCALE_POWER: Final = 32768.0**2


class VoiceActivity:
    """Energy-based voice activity for one speaker's frames (contiguous, in order, at ``sample_rate``)."""

    def __init__(
        self,
        speaker: Speaker,
        sample_rate: int = PIPELINE_RATE_HZ,
        *,
        margin_db: float = 10.0,
        hold_margin_db: float = 6.0,
        min_level_db: float = -55.0,
        hangover_s: float = 0.35,
        min_speech_s: float = 0.1,
        onset_gap_s: float = 0.1,
        floor_memory_s: float = 3.0,
    ) -> None:
        self.speaker: Speaker = speaker
        self.sample_rate = sample_rate
        self.margin_db = margin_db
        self.hold_margin_db = hold_margin_db
        self.min_level_db = min_level_db
        self._window = max(1, round(_WINDOW_S * sample_rate))
        self._hangover = round(hangover_s * sample_rate)
        self._min_speech = round(min_speech_s * sample_rate)
        # A click just before a word must not back-date the word, so a would-be start is dropped
        # after this much unvoiced audio (much shorter than the hangover).
        self._onset_gap = round(onset_gap_s * sample_rate)
        self._floor_windows = max(1, round(floor_memory_s / _WINDOW_S))
        self._carry = np.zeros(0, dtype=np.int16)  # samples short of a whole window
        self._next_sample: int | None = None  # index of the first sample in _carry
        self._powers = np.zeros(0)  # last few window powers, for smoothing across frames
        self._smoothed_db = np.zeros(0)  # last floor_memory_s of smoothed levels
        self._start: int | None = None  # first sample of the candidate or ongoing segment
        self._announced = False  # True once the start was emitted (a segment, not a candidate)
        self._voiced = 0  # voiced samples in the candidate
        self._last_voiced_end = 0  # one past the last sample of the last voiced window

    def feed(self, frame: Frame) -> list[Speech]:
        """Take the next frame of this speaker; return any speech starts and ends it settles."""
        self._check(frame)
        first = round(frame.start_s * self.sample_rate)
        if self._next_sample is None or first != self._next_sample + len(self._carry):
            # First frame, or a gap in the stream: windows are placed from this frame on.
            self._carry, self._next_sample = self._carry[:0], first
        samples = np.concatenate([self._carry, frame.pcm]) if len(self._carry) else frame.pcm
        whole = len(samples) // self._window * self._window
        self._carry = samples[whole:].copy()
        start = self._next_sample
        self._next_sample += whole
        return self._run(samples[:whole].reshape(-1, self._window), start)

    def finish(self, end_s: float) -> list[Speech]:
        """The stream ended at ``end_s``: close a segment still going on (at its last voiced window)."""
        events: list[Speech] = []
        if self._next_sample is not None and 2 * len(self._carry) >= self._window:
            # A last partial window long enough to have a meaningful level.
            events += self._run(self._carry.reshape(1, -1), self._next_sample)
        if self._start is not None and self._announced:
            start_s = self._seconds(self._start)
            end = min(self._seconds(self._last_voiced_end), end_s)
            events.append(Speech(self.speaker, start_s, max(end, start_s)))
        self._start, self._announced = None, False
        self._carry = self._carry[:0]
        return events

    def _seconds(self, sample: int) -> float:
        """Call time of a sample index: the sample count is the clock."""
        return sample / self.sample_rate

    def _run(self, windows: npt.NDArray[np.int16], first_sample: int) -> list[Speech]:
        """Classify whole windows starting at ``first_sample`` and step the state machine through them."""
        if not len(windows):
            return []
        # Above the floor by how much, per window; the state machine picks the margin that applies.
        above_db = self._above_floor(windows)
        width = windows.shape[1]
        events: list[Speech] = []
        for i, above in enumerate(above_db.tolist()):
            # Hysteresis: a lower bar to go on than to begin keeps weak word endings in the segment.
            voiced = above > (self.margin_db if self._start is None else self.hold_margin_db)
            begin = first_sample + i * width
            event = self._step(begin, begin + width, voiced)
            if event is not None:
                events.append(event)
        return events

    def _above_floor(self, windows: npt.NDArray[np.int16]) -> npt.NDArray[np.float64]:
        """Each window's level above the adaptive floor in dB (-inf below ``min_level_db``)."""
        # Variance, not mean square: a DC offset on the line is not speech.
        power = windows.astype(np.float64).var(axis=1) / _FULL_SCALE_POWER
        level_db = _db(power)
        floor_db = self._floor(_db(self._smooth(power)))
        above: npt.NDArray[np.float64] = np.where(level_db > self.min_level_db, level_db - floor_db, -np.inf)
        return above

    def _smooth(self, power: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Mean power over each window and the 4 before it (100 ms), carried across frames."""
        history = np.concatenate([self._powers, power])
        sums = np.concatenate([[0.0], np.cumsum(history)])
        ends = np.arange(len(self._powers), len(history)) + 1
        begins = np.maximum(ends - _SMOOTH_WINDOWS, 0)
        self._powers = history[-(_SMOOTH_WINDOWS - 1) :]
        smoothed: npt.NDArray[np.float64] = (sums[ends] - sums[begins]) / (ends - begins)
        return smoothed

    def _floor(self, smoothed_db: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """The running minimum of the smoothed level over the last ``floor_memory_s``, per window."""
        keep = self._floor_windows - 1
        history = np.concatenate([self._smoothed_db, smoothed_db])
        # Pad the front so every new window has a full-length view; +inf never wins a minimum.
        padded = np.concatenate([np.full(max(0, self._floor_windows - len(history)), np.inf), history])
        floor: npt.NDArray[np.float64] = sliding_window_view(padded, self._floor_windows)[
            -len(smoothed_db) :
        ].min(axis=1)
        self._smoothed_db = history[-keep:] if keep else history[:0]
        return floor

    def _step(self, begin: int, end: int, voiced: bool) -> Speech | None:
        """Advance the segment state by one window ``[begin, end)``; return an event if one is settled."""
        if voiced:
            if self._start is None:
                self._start, self._voiced = begin, 0
            self._voiced += end - begin
            self._last_voiced_end = end
            if not self._announced and self._voiced >= self._min_speech:
                self._announced = True
                return Speech(self.speaker, self._seconds(self._start), None)
            return None
        if self._start is None:
            return None
        silent_for = end - self._last_voiced_end
        if not self._announced:
            if silent_for > self._onset_gap:
                self._start = None  # too short to be speech: a click, a breath, a pop
            return None
        if silent_for >= self._hangover:
            speech = Speech(self.speaker, self._seconds(self._start), self._seconds(self._last_voiced_end))
            self._start, self._announced = None, False
            return speech
        return None

    def _check(self, frame: Frame) -> None:
        if frame.speaker != self.speaker or frame.sample_rate != self.sample_rate:
            raise ValueError(
                f"VoiceActivity for {self.speaker} at {self.sample_rate} Hz got a frame of "
                f"{frame.speaker} at {frame.sample_rate} Hz"
            )


def _db(power: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    with np.errstate(divide="ignore"):
        level: npt.NDArray[np.float64] = np.maximum(10.0 * np.log10(power), _SILENCE_DB)
    return level
