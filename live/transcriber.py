"""One speaker's speech recognition: Vosk frames in, typed :class:`Transcript` events out.

A :class:`SpeakerTranscriber` owns one ``KaldiRecognizer`` (the ``Model`` is shared by the whole process)
and is fed that speaker's frames in order, from the call's start. Its calls block while Vosk decodes, so the
session runs them in an executor; the class itself knows nothing of threads or asyncio.

Vosk's word times count from the first sample the recognizer was given, so with every frame of the call
fed they are offsets in the call already; ``offset_s`` covers a recognizer started later than the call.
"""

from __future__ import annotations

import json
from typing import Any

from callcoach.audio.framing import PIPELINE_RATE_HZ
from callcoach.live.events import Frame, Speaker, Transcript, Word


class SpeakerTranscriber:
    """Feed with :meth:`accept`; close with :meth:`finish`. Partials are emitted only when they change."""

    def __init__(self, model: Any, speaker: Speaker, *, offset_s: float = 0.0) -> None:
        import vosk  # imported here so that modules that only handle events need no native library

        self.speaker: Speaker = speaker
        self._offset_s = offset_s
        self._recognizer = vosk.KaldiRecognizer(model, PIPELINE_RATE_HZ)
        self._recognizer.SetWords(True)
        self._recognizer.SetPartialWords(True)
        self._last_partial = ""
        self._last_final_end_s = offset_s

    def accept(self, frame: Frame) -> list[Transcript]:
        """Decode one frame; return a final when Vosk ends an utterance, else a partial if it changed."""
        if frame.sample_rate != PIPELINE_RATE_HZ:
            raise ValueError(
                f"the transcriber takes {PIPELINE_RATE_HZ} Hz frames, got {frame.sample_rate} Hz"
            )
        if self._recognizer.AcceptWaveform(frame.pcm.tobytes()):
            return self._final(self._recognizer.Result(), frame.end_s)
        return self._partial(self._recognizer.PartialResult(), frame.end_s)

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
        return tuple(
            Word(
                text=item["word"],
                start_s=round(item["start"] + self._offset_s, 3),
                end_s=round(item["end"] + self._offset_s, 3),
                confidence=round(float(item.get("conf", 1.0)), 3),
            )
            for item in items
        )
