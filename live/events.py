"""The typed events of a call: one module, frozen dataclasses, JSON that round-trips every field.

Everything downstream of the audio speaks in these events: the detectors consume them, the CLI's
``--json`` prints them, the websocket carries them. Every time is an offset into the call in seconds,
derived from sample counts (audio time, never wall time), and every unit is in the field's name.

On the wire each event is wrapped in an envelope ``{"v": 1, "type": ..., "seq": n, "call": id, ...}``
(see :func:`envelope`); ``docs/protocol.md`` shows an example of each type.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeAlias

import numpy as np
import numpy.typing as npt

PROTOCOL_VERSION = 1

Speaker: TypeAlias = Literal["agent", "customer", "mixed"]
Polarity: TypeAlias = Literal["coach", "praise"]
SPEAKERS: tuple[Speaker, ...] = ("agent", "customer", "mixed")


class EventDecodeError(ValueError):
    """A JSON object that is not a valid event; the message names the field and what was expected."""


@dataclass(frozen=True)
class Word:
    """One recognised word with its place in the call."""

    text: str
    start_s: float
    end_s: float
    confidence: float = 1.0


@dataclass(frozen=True)
class Quote:
    """A line of the call quoted by an alert: who said it, what, and when."""

    speaker: Speaker
    text: str
    start_s: float
    end_s: float


@dataclass(frozen=True, eq=False)
class Frame:
    """A block of one speaker's audio: 16-bit mono PCM at ``sample_rate``, starting ``start_s`` in.

    ``start_s`` is ``first_sample / sample_rate``: the sample count is the clock.
    """

    TYPE: ClassVar[str] = "frame"
    speaker: Speaker
    start_s: float
    sample_rate: int
    pcm: npt.NDArray[np.int16] = field(repr=False)

    @property
    def duration_s(self) -> float:
        return len(self.pcm) / self.sample_rate

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Frame):
            return NotImplemented
        return (self.speaker, self.start_s, self.sample_rate) == (
            other.speaker,
            other.start_s,
            other.sample_rate,
        ) and np.array_equal(self.pcm, other.pcm)

    __hash__ = None  # type: ignore[assignment]  # mutable payload: frames are not dict keys


@dataclass(frozen=True)
class CallStarted:
    """A call began. ``speakers`` have a channel each; ``started_at`` is the wall-clock start, ISO 8601."""

    TYPE: ClassVar[str] = "call_started"
    call_id: str
    source: str
    started_at: str
    speakers: tuple[Speaker, ...]
    title: str = ""
    duration_s: float | None = None  # known up front for recordings, None for live calls


@dataclass(frozen=True)
class CallEnded:
    """A call ended at ``end_s``: ``completed`` (the audio ran out or the caller hung up), ``dropped``
    (the connection broke mid-call), or ``error`` (the audio could not be read further)."""

    TYPE: ClassVar[str] = "call_ended"
    end_s: float
    reason: Literal["completed", "dropped", "error"] = "completed"


@dataclass(frozen=True)
class Transcript:
    """What one speaker said. Partials (``final=False``) are revised until a final replaces them."""

    TYPE: ClassVar[str] = "transcript"
    speaker: Speaker
    text: str
    start_s: float
    end_s: float
    final: bool
    words: tuple[Word, ...] = ()


@dataclass(frozen=True)
class Speech:
    """Voice activity of one speaker, from the audio itself. ``end_s`` is None while the speech goes on:
    a segment is announced once when it starts and again, with its end, when it stops."""

    TYPE: ClassVar[str] = "speech"
    speaker: Speaker
    start_s: float
    end_s: float | None = None


@dataclass(frozen=True)
class Alert:
    """A moment worth a coach's attention, to praise or to correct.

    ``start_s``/``end_s`` span the moment itself; ``detected_s`` is the point in the call at which it could
    be known (a replay shows the alert when playback reaches it). An alert may be revised: the same ``id``
    with a higher ``revision`` replaces the earlier one (a silence first fires at its threshold, then again
    with its full length when it ends). ``end_s`` is None while the moment is still going on.
    """

    TYPE: ClassVar[str] = "alert"
    id: str
    revision: int
    kind: str
    polarity: Polarity
    speaker: Speaker | None
    start_s: float
    end_s: float | None
    detected_s: float
    title: str
    quote: str
    why: str
    suggestion: str
    quotes: tuple[Quote, ...] = ()
    pause_s: float | None = None

    @property
    def duration_s(self) -> float | None:
        return None if self.end_s is None else round(self.end_s - self.start_s, 3)


@dataclass(frozen=True)
class Error:
    """Something went wrong that a user can act on: ``code`` is stable, ``message`` names cause and fix.

    ``fatal`` errors end the call; ``at_s`` says where in the call it happened, when that is known.
    """

    TYPE: ClassVar[str] = "error"
    code: str
    message: str
    fatal: bool = False
    at_s: float | None = None


Event: TypeAlias = Frame | CallStarted | CallEnded | Transcript | Speech | Alert | Error
EVENT_TYPES: dict[str, type[Event]] = {
    cls.TYPE: cls for cls in (Frame, CallStarted, CallEnded, Transcript, Speech, Alert, Error)
}

# Fields holding tuples of nested dataclasses, by name: JSON turns tuples into lists and back.
_NESTED: dict[str, type[Word] | type[Quote]] = {"words": Word, "quotes": Quote}


def to_json(event: Event) -> dict[str, Any]:
    """A JSON-ready dict of every field, plus ``type`` (and derived ``duration_s`` for alerts)."""
    if isinstance(event, Frame):
        return {
            "type": Frame.TYPE,
            "speaker": event.speaker,
            "start_s": event.start_s,
            "sample_rate": event.sample_rate,
            "pcm_b64": base64.b64encode(event.pcm.astype("<i2").tobytes()).decode("ascii"),
        }
    out: dict[str, Any] = {"type": event.TYPE}
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if f.name in _NESTED:
            value = [dataclasses.asdict(item) for item in value]
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    if isinstance(event, Alert):
        out["duration_s"] = event.duration_s
    return out


def from_json(data: Mapping[str, Any]) -> Event:
    """Rebuild an event from :func:`to_json`'s output (envelope keys are ignored).

    Raises :class:`EventDecodeError` naming the problem for anything that is not a valid event.
    """
    if not isinstance(data, Mapping):
        raise EventDecodeError(f"an event must be a JSON object, got {type(data).__name__}")
    kind = data.get("type")
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None or not isinstance(kind, str):
        known = ", ".join(sorted(EVENT_TYPES))
        raise EventDecodeError(f"unknown event type {kind!r}; expected one of: {known}")
    if cls is Frame:
        return _frame_from_json(data)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise EventDecodeError(f"{kind} event is missing the field {f.name!r}")
            continue
        kwargs[f.name] = _field_from_json(kind, f.name, data[f.name])
    try:
        return cls(**kwargs)
    except TypeError as exc:  # pragma: no cover - fields are checked above
        raise EventDecodeError(f"{kind} event: {exc}") from exc


def _field_from_json(kind: str, name: str, value: Any) -> Any:
    nested = _NESTED.get(name)
    if nested is not None:
        if not isinstance(value, list):
            raise EventDecodeError(f"{kind}.{name} must be a list")
        try:
            return tuple(nested(**item) for item in value)
        except TypeError as exc:
            raise EventDecodeError(f"{kind}.{name}: {exc}") from exc
    if isinstance(value, list):
        return tuple(value)
    return value


def _frame_from_json(data: Mapping[str, Any]) -> Frame:
    try:
        pcm = np.frombuffer(base64.b64decode(data["pcm_b64"], validate=True), dtype="<i2").astype(np.int16)
        return Frame(
            speaker=data["speaker"],
            start_s=float(data["start_s"]),
            sample_rate=int(data["sample_rate"]),
            pcm=pcm,
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise EventDecodeError(f"frame event is malformed: {exc}") from exc


def envelope(event: Event, *, seq: int, call_id: str) -> dict[str, Any]:
    """The wire form: protocol version, sequence number in the call's log and the call id, then the event."""
    return {"v": PROTOCOL_VERSION, "seq": seq, "call": call_id, **to_json(event)}


def moment_s(event: Event) -> float:
    """The point in the call at which an event exists: a replay releases it when playback gets there.

    An alert exists once it could be detected; a transcript line once it was said; a speech segment at
    its start, then again at its end.
    """
    if isinstance(event, Alert):
        return event.detected_s
    if isinstance(event, Transcript):
        return event.end_s
    if isinstance(event, Speech):
        return event.start_s if event.end_s is None else event.end_s
    if isinstance(event, CallEnded):
        return event.end_s
    if isinstance(event, Error):
        return event.at_s or 0.0
    if isinstance(event, Frame):
        return event.start_s
    return 0.0
