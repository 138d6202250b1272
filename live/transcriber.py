"""One speaker's speech recognition: Vosk frames in, typed :class:`Transcript` events out, in call time.

A :class:`SpeakerTranscriber` owns one ``KaldiRecognizer`` (the ``Model`` is shared by the whole process)
and is fed that speaker's frames in call order. Its calls block while Vosk decodes, so the session runs
them in an executor; the class itself knows nothing of threads or asyncio.

The frames need not be contiguous: with speech gating the recognizer hears only the stretches around
speech. Vosk's word times count the audio it was fed (vosk-api ``src/recognizer.cc``, the same in v0.3.45
and since: a word's time is ``samples_round_start_ / rate + (frame_offset_ + frame) * 0.03``;
``Result()`` keeps the feature pipeline and ``frame_offset_`` goes on counting its frames, while
``FinalResult()`` and the 20000-frame restart add every sample fed to ``samples_round_start_``), so they
are offsets into the fed audio. The transcriber
keeps the runs of contiguous audio it fed (fed offset ↔ call offset) and maps every time back through them.

Dither is added here, not by Kaldi. The model's features want it: the acoustic model was trained on dithered
features, and without it the digital silence of a synthesised or VoIP call (runs of exact zeros) gives
features it never saw (the generated evaluation calls lost words at every turn: "this call may be recorded
for quality" became "disloyal maybe recorded for a while"). Kaldi's own dither draws from the process-wide
``rand()`` and made every run differ, so it is off (``live/decoder_search.py``) and the same amount (Gaussian,
one 16-bit step) comes from a fixed table indexed by the sample's position in the call: the same audio at the
same place gets the same noise in every run, process and thread, live or replayed.
"""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from typing import Any

import numpy as np

from callcoach.audio.framing import PIPELINE_RATE_HZ
from callcoach.live.events import Frame, Speaker, Transcript, Word

# Kaldi's default --dither=1.0: Gaussian noise of one 16-bit step; rounded, as Vosk takes 16-bit samples.
# A fixed seed and 2^17 samples (8 s, so no period lines up with a 0.1 s frame or a word).
_DITHER = np.rint(np.random.default_rng(20261201).normal(0.0, 1.0, 1 << 17)).astype(np.int32)


def dithered(pcm: np.ndarray, first_sample: int) -> np.ndarray:
    """``pcm`` (16-bit) with the dither for its place in the call, ``first_sample`` its first sample."""
    noise = _DITHER[(first_sample + np.arange(len(pcm))) % len(_DITHER)]
    out: np.ndarray = np.clip(pcm.astype(np.int32) + noise, -32768, 32767).astype(np.int16)
    return out


class FedAudio:
    """The runs of audio a recognizer was fed: where each starts in the fed audio and in the call."""

    def __init__(self) -> None:
        self._fed_starts_s: list[float] = []  # run starts in fed time, ascending
        self._call_starts_s: list[float] = []  # the same runs' starts in call time
        self._fed = 0  # samples fed so far
        self._next: int | None = None  # call sample one past the last fed one

    @property
    def end_s(self) -> float:
        """Call time one past the last sample fed (0 before any)."""
        return 0.0 if self._next is None else self._next / PIPELINE_RATE_HZ

    def add(self, frame: Frame) -> None:
        """Note a frame about to be fed; a gap since the last one starts a new run."""
        first = round(frame.start_s * PIPELINE_RATE_HZ)
        if first != self._next:
            self._fed_starts_s.append(self._fed / PIPELINE_RATE_HZ)
            self._call_starts_s.append(first / PIPELINE_RATE_HZ)
        self._fed += len(frame.pcm)
        self._next = first + len(frame.pcm)

    def call_s(self, fed_s: float, *, end: bool = False) -> float:
        """The call time of a fed-audio time. Where two runs meet, a start belongs to the later run and
        an end (``end=True``) to the earlier one."""
        if not self._fed_starts_s:
            return fed_s
        i = self._run(fed_s, end=end)
        return self._call_starts_s[i] + (fed_s - self._fed_starts_s[i])

    def span_s(self, fed_start_s: float, fed_end_s: float) -> tuple[float, float]:
        """The call times of a word's fed start and end. A word never stretches across skipped audio:
        Vosk may start the first word of an utterance early, in the silence before it, and that silence
        can reach back over a skip (the padding of the stretch before), so such a start moves to the
        start of the stretch the word ends in."""
        start_s, end_s = self.call_s(fed_start_s), self.call_s(fed_end_s, end=True)
        if self._fed_starts_s:
            last = self._run(fed_end_s, end=True)
            if self._run(fed_start_s, end=False) < last:
                start_s = min(self._call_starts_s[last], end_s)
        return start_s, end_s

    def _run(self, fed_s: float, *, end: bool) -> int:
        if end:
            return max(bisect_left(self._fed_starts_s, fed_s - 1e-9) - 1, 0)
        return max(bisect_right(self._fed_starts_s, fed_s + 1e-9) - 1, 0)


class SpeakerTranscriber:
    """Feed with :meth:`accept`; :meth:`end_utterance` where a speech stretch ends; close with
    :meth:`finish`. Partials are emitted only when they change."""

    def __init__(self, model: Any, speaker: Speaker) -> None:
        import vosk  # imported here so that modules that only handle events need no native library

        self.speaker: Speaker = speaker
        self._recognizer = vosk.KaldiRecognizer(model, PIPELINE_RATE_HZ)
        self._recognizer.SetWords(True)
        self._recognizer.SetPartialWords(True)
        self._fed = FedAudio()
        self._last_partial = ""
        self._last_final_end_s = 0.0

    def accept(self, frame: Frame) -> list[Transcript]:
        """Decode one frame; return a final when Vosk ends an utterance, else a partial if it changed."""
        if frame.sample_rate != PIPELINE_RATE_HZ:
            raise ValueError(
                f"the transcriber takes {PIPELINE_RATE_HZ} Hz frames, got {frame.sample_rate} Hz"
            )
        self._fed.add(frame)
        pcm = dithered(frame.pcm, round(frame.start_s * PIPELINE_RATE_HZ))
        if self._recognizer.AcceptWaveform(pcm.tobytes()):
            return self._final(self._recognizer.Result(), frame.end_s)
        return self._partial(self._recognizer.PartialResult(), frame.end_s)

    def end_utterance(self) -> list[Transcript]:
        """The speaker stopped talking: the utterance's final now, not when they next talk. ``Result()``
        keeps the recognizer's features (and its time base) going, as its own endpoint does; after an
        endpoint it returns nothing."""
        return self._final(self._recognizer.Result(), self._fed.end_s)

    def finish(self, end_s: float) -> list[Transcript]:
        """Flush what Vosk still holds at the end of the call as a last final."""
        return self._final(self._recognizer.FinalResult(), end_s)

    def _final(self, raw: str, now_s: float) -> list[Transcript]:
        self._last_partial = ""
        result = json.loads(raw)
        words = self._words(result.get("result", []))
        text = result.get("text", "").strip()
        if not text:
            return []
        start_s = words[0].start_s if words else self._last_final_end_s
        end_s = words[-1].end_s if words else round(now_s, 3)
        self._last_final_end_s = end_s
        return [Transcript(self.speaker, text, start_s, end_s, final=True, words=words)]

    def _partial(self, raw: str, now_s: float) -> list[Transcript]:
        result = json.loads(raw)
        text = result.get("partial", "").strip()
        if not text or text == self._last_partial:
            return []
        self._last_partial = text
        words = self._words(result.get("partial_result", []))
        start_s = words[0].start_s if words else self._last_final_end_s
        return [Transcript(self.speaker, text, start_s, round(now_s, 3), final=False, words=words)]

    def _words(self, items: list[dict[str, Any]]) -> tuple[Word, ...]:
        words = []
        for item in items:
            start_s, end_s = self._fed.span_s(item["start"], item["end"])
            confidence = round(float(item.get("conf", 1.0)), 3)
            words.append(Word(item["word"], round(start_s, 3), round(end_s, 3), confidence))
        return tuple(words)
