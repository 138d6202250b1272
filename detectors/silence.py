"""Dead air: nobody on the call speaks for at least ``silence_threshold_s``.

Owns the silence rule. It works from voice activity (``Speech`` events), not from gaps between
transcripts: the recogniser drops quiet or unclear words, and a gap in the text is not a gap in the
audio. The alert fires live, on the tick at which the silence reaches the threshold, and is revised
once with its full length when someone speaks again or the call ends.
"""

from __future__ import annotations

from typing import ClassVar

from callcoach.detectors.alerts import AlertIds, clock, quote_of, secs
from callcoach.detectors.config import DetectorConfig
from callcoach.live.events import Alert, AlertKind, Event, Speaker, Speech, Transcript

KIND = "silence"
# Ticks land on float multiples of 0.1 s; 4.9999999 must count as 5.0.
_EPSILON_S = 1e-6
# Finals kept to find the line said before a silence; finals arrive late but not many lines late.
_RECENT_FINALS = 20

# Keyed by who the silence followed: "customer", "agent", "someone" (mono calls) or "start" of the call.
_AFTER: dict[str, str] = {
    "customer": "after the customer spoke",
    "agent": "after the agent spoke",
    "someone": "after the last thing said",
    "start": "since the call started",
}
_WHY_AFTER: dict[str, str] = {
    "customer": (
        "A long pause after the customer speaks can feel like nobody is listening, and after difficult "
        "news it comes across as cold."
    ),
    "agent": "Unexplained dead air leaves the customer wondering whether they are still connected.",
    "someone": "Dead air this long makes a call feel stalled.",
    "start": "A slow start leaves the customer unsure anyone is there.",
}
_SUGGESTION_AFTER: dict[str, str] = {
    "customer": (
        'Answer within a beat or two, even if only to acknowledge what they said: "I hear you, give me '
        'a moment." If you need time to check something, say so out loud.'
    ),
    "agent": (
        'If you are waiting on the customer, check in gently: "Take your time, I\'m still here." If you '
        'are looking something up, say so: "I\'m just pulling that up now."'
    ),
    "someone": 'Fill long pauses with a word about what is happening: "Bear with me while I check that."',
    "start": "Open as soon as the call connects, with a greeting and your name.",
}


class SilenceDetector:
    """Fires once per silence of ``config.silence_threshold_s`` or more; works for any speakers."""

    name = "silence"
    KINDS: ClassVar[dict[str, AlertKind]] = {KIND: AlertKind(KIND, "Silence", "coach", "bulb")}

    def __init__(self, config: DetectorConfig) -> None:
        self._threshold_s = config.silence_threshold_s
        self._ids = AlertIds()
        self._speaking: dict[Speaker, float] = {}
        self._last_end_s = 0.0
        self._last_speaker: Speaker | None = None
        # Start of the current silence, None while someone speaks; the call opens in silence.
        self._silence_start_s: float | None = 0.0
        self._open: Alert | None = None  # fired for the current silence, not yet closed
        self._finals: list[Transcript] = []
        self._finished = False

    def feed(self, event: Event) -> list[Alert]:
        if isinstance(event, Transcript) and event.final:
            self._finals = [*self._finals[-(_RECENT_FINALS - 1) :], event]
        if isinstance(event, Speech):
            return self._on_speech(event)
        return []

    def tick(self, now_s: float) -> list[Alert]:
        start_s = self._silence_start_s
        if start_s is None or self._open is not None or self._finished:
            return []
        if now_s + _EPSILON_S < start_s + self._threshold_s:
            return []
        self._open = self._alert(self._ids.next(KIND), start_s, None, start_s + self._threshold_s, 0)
        return [self._open]

    def finish(self, end_s: float) -> list[Alert]:
        if self._finished:
            return []
        self._finished = True
        start_s = self._silence_start_s
        if self._open is not None:
            return [self._close(end_s, end_s)]
        if start_s is not None and end_s - start_s + _EPSILON_S >= self._threshold_s:
            # The call ended before a tick reached the threshold: one alert, already closed.
            return [self._alert(self._ids.next(KIND), start_s, end_s, start_s + self._threshold_s, 0)]
        return []

    def _on_speech(self, event: Speech) -> list[Alert]:
        out: list[Alert] = []
        if event.end_s is None or event.speaker not in self._speaking:
            # Speech begins (or a whole segment arrives that we never saw begin): any silence is over.
            if self._open is not None:
                out.append(self._close(event.start_s, event.start_s))
            self._silence_start_s = None
            self._speaking[event.speaker] = event.start_s
        if event.end_s is not None:
            del self._speaking[event.speaker]
            if event.end_s >= self._last_end_s:
                self._last_end_s, self._last_speaker = event.end_s, event.speaker
            if not self._speaking:
                self._silence_start_s = self._last_end_s
        return out

    def _close(self, end_s: float, detected_s: float) -> Alert:
        assert self._open is not None
        opened = self._open
        self._open = None
        end_s = max(end_s, opened.start_s)
        return self._alert(opened.id, opened.start_s, end_s, max(detected_s, opened.detected_s), 1)

    def _alert(self, id_: str, start_s: float, end_s: float | None, detected_s: float, rev: int) -> Alert:
        line = self._line_before(start_s)
        who = self._who(start_s, line)
        duration = secs((end_s if end_s is not None else detected_s) - start_s)
        if end_s is None:
            title, lead = f"Silence since {clock(start_s)}", f"Nobody has spoken for {duration}"
        else:
            title, lead = f"{duration} of silence at {clock(start_s)}", f"Nobody spoke for {duration}"
        return Alert(
            id=id_,
            revision=rev,
            kind=KIND,
            polarity="coach",
            speaker=None,
            start_s=start_s,
            end_s=end_s,
            detected_s=detected_s,
            title=title,
            quote=line.text if line else "",
            why=f"{lead} {_AFTER[who]}. {_WHY_AFTER[who]}",
            suggestion=_SUGGESTION_AFTER[who],
            quotes=(quote_of(line),) if line else (),
        )

    def _line_before(self, start_s: float) -> Transcript | None:
        """The last final line that began before the silence (word ends and VAD ends differ slightly)."""
        before = [t for t in self._finals if t.start_s < start_s and t.text.strip()]
        return max(before, key=lambda t: t.end_s, default=None)

    def _who(self, start_s: float, line: Transcript | None) -> str:
        """Who the silence followed: the quoted line's speaker, else whoever stopped talking last."""
        speaker = line.speaker if line else self._last_speaker
        if speaker is None and start_s <= 0.0:
            return "start"
        return speaker if speaker in ("agent", "customer") else "someone"
