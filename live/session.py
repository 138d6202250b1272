"""A call session: one per call, live or replayed; owns the call's recognizers, voice activity and detectors.

It takes the call's frames step by step (one frame per speaker, all starting at the same sample): voice
activity runs at once (cheap, on the loop), each speaker's Vosk decodes in the executor at its own pace
(:class:`OrderedDecoding`), and each step, once every speaker has decoded it, goes to the detectors in
audio time and ticks them with the end of the step. Everything it produces goes into the
call's :class:`EventLog`. With ``gate_speech`` (the default) each speaker's recognizer hears only their
speech and a little padding (:class:`SpeechGate`): long silences cost no decoding. Live calls and
recordings run exactly this code; only the source differs.

With redaction on (the default), every event passes through the call's :class:`Redactor` on its way
to the log, so card numbers and the like never reach the log, the detectors, storage or the pages.

Whatever happens, the log ends with a ``CallEnded`` (as Home Assistant's pipeline always emits its end
event): a source that breaks, bad audio, or a decoder failure become ``Error`` events, and everything
already received stays in the log.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import Executor
from typing import Any, Literal

from callcoach.audio.errors import AudioError
from callcoach.audio.vad import VoiceActivity
from callcoach.detectors.base import Detector
from callcoach.detectors.registry import create_detectors
from callcoach.detectors.rules import NO_RULES, RuleSet
from callcoach.detectors.sentiment import SentimentScorer
from callcoach.live.decoding import OrderedDecoding, decode_last
from callcoach.live.eventlog import EventLog
from callcoach.live.events import CallEnded, CallStarted, Error, Event, Frame, Speaker
from callcoach.live.gating import Feed, SpeechGate
from callcoach.live.redaction import Redactor
from callcoach.live.settings import Settings
from callcoach.live.transcriber import SpeakerTranscriber

log = logging.getLogger(__name__)
DECODE_AHEAD_S = 30.0


class SourceDropped(Exception):
    """Raised by a live source that stopped before the call ended properly: its connection broke
    (``call_dropped``), or the call ran into a limit (``call_too_long``). Either way the call is a good
    replay up to there, so it ends ``dropped``; ``message`` says why, ``at_s`` where (default: as far as
    the source got)."""

    def __init__(self, message: str, code: str = "call_dropped", at_s: float | None = None) -> None:
        super().__init__(message)
        self.message, self.code, self.at_s = message, code, at_s


class CallSession:
    """Run with :meth:`run`; the result is in :attr:`log`."""

    def __init__(
        self,
        started: CallStarted,
        *,
        model: Any,
        settings: Settings,
        executor: Executor,
        log: EventLog | None = None,
        rules: RuleSet = NO_RULES,
        notices: Sequence[Error] = (),
    ) -> None:
        self.started = started
        self._notices = tuple(notices)  # said right after the start (a broken rules file, say)
        self.log = log if log is not None else EventLog(started.call_id)
        self._executor = executor
        self._model = model
        self._transcribers: list[SpeakerTranscriber] = []  # made in run(), off the event loop
        self._vads = [VoiceActivity(s) for s in started.speakers]
        self._gates = [SpeechGate(s) for s in started.speakers] if settings.gate_speech else None
        self._detectors: list[Detector] = create_detectors(settings.detectors, rules)
        self._redactor = Redactor() if settings.redact else None
        self._sentiment = SentimentScorer()  # shares the process's one lexicon
        # How far one speaker's recognizer may run ahead of the other's: longer than a typical turn, so that
        # while one speaker talks the other's (quick, silent) audio never waits; a few MiB of frames at most.
        self._depth = max(settings.queue_frames, round(DECODE_AHEAD_S / settings.frame_s))
        self._now_s = 0.0  # audio released to the log and detectors
        self._fed_s = 0.0  # audio taken from the source

    async def run(self, frames: AsyncIterator[Sequence[Frame]]) -> CallEnded:
        """Consume the source to its end; always close the log with a ``CallEnded``."""
        self._emit(self.started)
        for notice in self._notices:
            self.notice(notice)
        # A recognizer takes ~0.1 s of Vosk's work to make (its decoding graph): in the decoders' pool, so
        # that a call starting never stalls the other calls on the event loop.
        self._transcribers = await asyncio.get_running_loop().run_in_executor(
            self._executor, _recognizers, self._model, self.started.speakers
        )
        decoding = OrderedDecoding(self._transcribers, self._executor, self._depth, self._release)
        reason: Literal["completed", "dropped", "error"] = "completed"
        fault: Error | None = None
        try:
            try:
                async for step in frames:
                    await self._push(decoding, step)
            except AudioError as exc:
                reason, fault = "error", Error(exc.code, exc.message, fatal=True, at_s=exc.at_s)
            except SourceDropped as exc:
                at_s = self._fed_s if exc.at_s is None else exc.at_s
                reason, fault = "dropped", Error(exc.code, exc.message, fatal=True, at_s=at_s)
            await decoding.drain()  # whatever arrived before a fault is still decoded and judged
        except Exception as exc:  # one bad call must never take the server down
            log.exception("call %s failed", self.started.call_id)
            reason = "error"
            fault = Error("internal_error", f"the pipeline failed on this call: {exc!r}", True, self._now_s)
        finally:
            await decoding.close()
        if fault is not None:
            self._emit(fault)
        return await self._finish(reason)

    def notice(self, error: Error) -> None:
        """Something the call's coaches should see now (the rules file broke mid-call), at this point."""
        self._emit(dataclasses.replace(error, at_s=round(self._now_s, 3)))

    async def _push(self, decoding: OrderedDecoding, frames: Sequence[Frame]) -> None:
        """Voice activity now (cheap, on the loop); recognition of what the gates pass on, per speaker."""
        events: list[Event] = []
        feeds: list[Feed | None] = []
        for i, (vad, frame) in enumerate(zip(self._vads, frames, strict=True)):
            speech = vad.feed(frame)
            events.extend(speech)
            if self._gates is not None:
                feeds.append(self._gates[i].feed(frame, speech))
        self._fed_s = frames[0].end_s
        await decoding.push(frames, events, feeds if self._gates is not None else None)

    def _release(self, events: list[Event], end_s: float) -> None:
        """A step every speaker has decoded: its events to the log and the detectors, then the tick."""
        self._now_s = max(self._now_s, end_s)
        for event in events:
            self._emit(event)
        if self._redactor is not None:  # lines held back in case a number went on are due
            for event in self._redactor.tick(self._now_s):
                self._log(event)
        self._tick(self._now_s)

    async def _finish(self, reason: Literal["completed", "dropped", "error"]) -> CallEnded:
        end_s = self._now_s
        events: list[Event] = []
        last: list[Feed | None] = []
        for i, vad in enumerate(self._vads):
            speech = vad.finish(end_s)
            events.extend(speech)
            last.append(self._gates[i].finish(speech) if self._gates is not None else None)
        try:
            loop = asyncio.get_running_loop()
            for transcriber, feed in zip(self._transcribers, last, strict=True):
                events.extend(
                    await loop.run_in_executor(self._executor, decode_last, transcriber, feed, end_s)
                )
        except Exception as exc:
            log.exception("flushing the recognizers of call %s failed", self.started.call_id)
            events.append(Error("internal_error", f"the last words could not be decoded: {exc!r}"))
        for event in events:
            self._emit(event)
        for event in self._redactor.finish() if self._redactor is not None else []:
            self._log(event)
        # Detectors close what is still open (an ongoing silence) before the log's last word, CallEnded.
        for detector in self._detectors:
            for alert in detector.finish(end_s):
                self.log.append(alert)
        ended = CallEnded(end_s=round(end_s, 3), reason=reason)
        self.log.append(ended)
        self.log.close()
        return ended

    def _emit(self, event: Event) -> None:
        """An event of the call, redacted (a transcript line may be held back a moment) and logged."""
        for out in self._redactor.feed(event) if self._redactor is not None else [event]:
            self._log(out)

    def _log(self, event: Event) -> None:
        """Log an event (and the sentiment of a customer's final right after it), then let every
        detector see them in that order and log what they raise."""
        sentiment = self._sentiment.score(event)
        seen = [event] if sentiment is None else [event, sentiment]
        for each in seen:
            self.log.append(each)
        for each in seen:
            for detector in self._detectors:
                for alert in detector.feed(each):
                    self.log.append(alert)

    def _tick(self, now_s: float) -> None:
        for detector in self._detectors:
            for alert in detector.tick(now_s):
                self.log.append(alert)


def _recognizers(model: Any, speakers: Sequence[Speaker]) -> list[SpeakerTranscriber]:
    return [SpeakerTranscriber(model, s) for s in speakers]
