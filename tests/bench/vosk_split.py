"""Vosk on speech against Vosk on silence, measured directly: a stack cannot tell them apart.

A call's recording is decoded one recognizer per channel in 0.1 s chunks, timing (thread CPU time) each
``AcceptWaveform`` with the ``Result``/``PartialResult`` the transcriber asks for after it; a chunk is
speech when :class:`callcoach.audio.vad.VoiceActivity` finds that speaker's speech in it. As in the
pipeline, each channel's :class:`callcoach.live.gating.SpeechGate` decides which chunks its recognizer gets
(speech and its padding, and where to close an utterance): "silence" is then the padding around speech,
and the skipped audio costs nothing. Frames are on the gate's grid here (0.1 s from 0), so no chunk is cut.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from callcoach.audio.vad import VoiceActivity
from callcoach.live.events import Frame, Speaker
from callcoach.live.gating import Feed, SpeechGate
from callcoach.live.model import load_model  # before vosk: it chooses the OpenBLAS kernels
from callcoach.live.transcriber import dithered

CHUNK_S = 0.1


@dataclass(frozen=True)
class Split:
    speech_cpu_s: float
    silence_cpu_s: float
    speech_audio_s: float  # channel-seconds decoded
    silence_audio_s: float
    skipped_audio_s: float  # channel-seconds the gates did not pass on
    results_cpu_s: float  # of both, in Result/PartialResult after AcceptWaveform

    @property
    def speech_share(self) -> float:
        return self.speech_cpu_s / (self.speech_cpu_s + self.silence_cpu_s)


def speech_spans(
    pcm: np.ndarray[Any, np.dtype[np.int16]], rate: int, speaker: Speaker
) -> list[tuple[float, float]]:
    """The speaker's speech, as :class:`VoiceActivity` finds it fed 0.1 s frames."""
    vad, chunk, spans = VoiceActivity(speaker, rate), round(CHUNK_S * rate), []
    for i in range(0, len(pcm), chunk):
        for speech in vad.feed(Frame(speaker, i / rate, rate, np.ascontiguousarray(pcm[i : i + chunk]))):
            if speech.end_s is not None:
                spans.append((speech.start_s, speech.end_s))
    spans += [(s.start_s, s.end_s) for s in vad.finish(len(pcm) / rate) if s.end_s is not None]
    return spans


def vosk_split(recording: Path, model_dir: Path) -> Split:
    """Each decoded 0.1 s chunk's decoding time (thread CPU), summed by whether the chunk holds speech."""
    import vosk

    model = load_model(model_dir)  # as the server loads it (endpointing, features, OpenBLAS kernels)
    audio, rate = sf.read(str(recording), dtype="int16", always_2d=True)
    speakers: tuple[Speaker, ...] = ("agent", "customer")
    cpu = {True: 0.0, False: 0.0}
    seconds = {True: 0.0, False: 0.0}
    results_s = 0.0
    for channel, speaker in zip(range(audio.shape[1]), speakers, strict=False):
        pcm = np.ascontiguousarray(audio[:, channel])
        spans = speech_spans(pcm, rate, speaker)
        recognizer = vosk.KaldiRecognizer(model, rate)
        recognizer.SetWords(True)
        for feed in _feeds(pcm, rate, speaker):
            for frame in feed.frames:
                speech = any(a < frame.end_s and b > frame.start_s for a, b in spans)
                t0 = time.thread_time()
                pcm16 = dithered(frame.pcm, round(frame.start_s * rate))
                final = recognizer.AcceptWaveform(pcm16.tobytes())
                t1 = time.thread_time()
                # As the transcriber does: a final when Vosk ends an utterance, else the partial.
                recognizer.Result() if final else recognizer.PartialResult()
                t2 = time.thread_time()
                cpu[speech] += t2 - t0
                results_s += t2 - t1
                seconds[speech] += frame.end_s - frame.start_s
            if feed.close:  # the gate closed the utterance: the transcriber asks for its result
                t0 = time.thread_time()
                recognizer.Result()
                spent = time.thread_time() - t0
                results_s += spent
                cpu[False] += spent  # it comes at the end of the padding
        recognizer.FinalResult()
    skipped_s = audio.shape[0] / rate * min(audio.shape[1], len(speakers)) - sum(seconds.values())
    return Split(cpu[True], cpu[False], seconds[True], seconds[False], skipped_s, results_s)


def _feeds(pcm: np.ndarray[Any, np.dtype[np.int16]], rate: int, speaker: Speaker) -> Iterator[Feed]:
    """What the channel's gate passes on, in order, fed 0.1 s frames and voice activity as the session is."""
    vad, gate, chunk = VoiceActivity(speaker, rate), SpeechGate(speaker), round(CHUNK_S * rate)
    for i in range(0, len(pcm), chunk):
        frame = Frame(speaker, i / rate, rate, np.ascontiguousarray(pcm[i : i + chunk]))
        feed = gate.feed(frame, vad.feed(frame))
        if feed is not None:
            yield feed
