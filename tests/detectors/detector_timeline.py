"""Hand-built call timelines for detector tests, fed the way the live pipeline feeds them.

``say`` makes the events of one utterance (voice activity start and end, a final with word times);
``play`` delivers events in arrival order (a speech start at once, a speech end and a final a little
after the audio they describe, as the VAD and Vosk report them) with a tick every 0.1 s of audio,
then ``CallEnded`` and ``finish``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from callcoach.detectors.base import Detector
from callcoach.live.events import (
    Alert,
    CallEnded,
    CallStarted,
    Event,
    Sentiment,
    Speaker,
    Speech,
    Transcript,
    Word,
)

# How late the VAD reports a speech end, and Vosk a final, after the audio they describe.
END_LAG_S = 0.3
FINAL_LAG_S = 0.6


def words_between(
    text: str, start_s: float, end_s: float, confidences: Sequence[float] | None = None
) -> tuple[Word, ...]:
    """``text``'s words spread evenly over ``start_s``..``end_s``, heard with ``confidences`` (one per
    word; default: all sure)."""
    tokens = text.split()
    sure = confidences if confidences is not None else [1.0] * len(tokens)
    assert len(sure) == len(tokens), "one confidence per word"
    step = (end_s - start_s) / max(1, len(tokens))
    return tuple(
        Word(tok, round(start_s + i * step, 3), round(start_s + (i + 1) * step, 3), conf)
        for i, (tok, conf) in enumerate(zip(tokens, sure, strict=True))
    )


def final(
    speaker: Speaker, text: str, start_s: float, end_s: float, confidences: Sequence[float] | None = None
) -> Transcript:
    words = words_between(text, start_s, end_s, confidences)
    return Transcript(speaker, text, start_s, end_s, final=True, words=words)


def say(
    speaker: Speaker, text: str, start_s: float, end_s: float, confidences: Sequence[float] | None = None
) -> list[Event]:
    """One utterance: voice activity start, the final transcript, and the voice activity end. Vosk's
    confidence in each word may be given (ASR doubt: a spelled name, a mumble); by default all are 1.0."""
    line = final(speaker, text, start_s, end_s, confidences)
    return [Speech(speaker, start_s), line, Speech(speaker, start_s, end_s)]


def arrival_s(event: Event) -> float:
    """When the pipeline would hand ``event`` to a detector, in audio time."""
    if isinstance(event, Speech):
        return event.start_s if event.end_s is None else event.end_s + END_LAG_S
    if isinstance(event, Transcript):
        return event.end_s + (FINAL_LAG_S if event.final else 0.0)
    if isinstance(event, Sentiment):  # the session scores a final as it logs it
        return event.end_s + FINAL_LAG_S
    return 0.0


@dataclass(frozen=True)
class Emitted:
    at_s: float  # the tick (or end) at which the detector returned it
    alert: Alert


def play(detector: Detector, events: Iterable[Event], end_s: float, step_s: float = 0.1) -> list[Emitted]:
    """Run a whole call through ``detector``; every alert with the audio time it came out at."""
    pending = sorted(events, key=arrival_s)
    out: list[Emitted] = []
    voiced = {e.speaker for e in pending if isinstance(e, Speech | Transcript)}
    speakers: tuple[Speaker, ...] = tuple(sorted(voiced))
    out += [Emitted(0.0, a) for a in detector.feed(CallStarted("c1", "test", "", speakers))]
    steps = round(end_s / step_s)
    for k in range(1, steps + 1):
        now_s = round(k * step_s, 6)
        while pending and arrival_s(pending[0]) <= now_s:
            out += [Emitted(now_s, a) for a in detector.feed(pending.pop(0))]
        out += [Emitted(now_s, a) for a in detector.tick(now_s)]
    for event in pending:  # reported after the audio ran out
        out += [Emitted(end_s, a) for a in detector.feed(event)]
    out += [Emitted(end_s, a) for a in detector.feed(CallEnded(end_s))]
    out += [Emitted(end_s, a) for a in detector.finish(end_s)]
    return out


def alerts(emitted: list[Emitted], kind: str | None = None) -> list[Alert]:
    return [e.alert for e in emitted if kind is None or e.alert.kind == kind]
