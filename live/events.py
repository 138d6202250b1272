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
import json
import math
import reprlib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeAlias

import numpy as np
import numpy.typing as npt

PROTOCOL_VERSION = 1
T = typing.TypeVar("T")

Speaker: TypeAlias = Literal["agent", "customer", "mixed"]
Polarity: TypeAlias = Literal["coach", "praise"]
Role: TypeAlias = Literal["coach", "lead", "admin"]  # what an account may do (see live/accounts.py)
# What a redaction hid: a card number, the CVV or expiry read after it, a US SSN, another long number.
RedactionKind: TypeAlias = Literal["card", "cvv", "expiry", "ssn", "number"]
SPEAKERS: tuple[Speaker, ...] = ("agent", "customer", "mixed")


class EventDecodeError(ValueError):
    """A JSON object that is not a valid event; the message names the field and what was expected."""


# How a refused value is quoted in an error: a page may send 64 KiB of it, or a list nested hundreds deep.
_SHOWN = reprlib.Repr()
_SHOWN.maxstring = _SHOWN.maxother = 60
_SHOWN.maxlevel = 3


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
    agent: str = ""  # the agent's name, when the platform says
    customer: str = ""  # the customer's number, masked to its last digits
    team: str = ""  # the team the call belongs to (its agent's); empty: the server's default team


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


@dataclass(frozen=True)
class Redaction:
    """Personal data a speaker said between ``start_s`` and ``end_s``, hidden: the transcript says
    ``[kind]`` there instead, and the stored recording is silent there on that speaker's channel."""

    TYPE: ClassVar[str] = "redaction"
    speaker: Speaker
    kind: RedactionKind
    start_s: float
    end_s: float


# --- Messages between a coach's page and the server (the events above travel inside the same envelope) ---


@dataclass(frozen=True)
class CallInfo:
    """One line of the call list: a recording or a live call."""

    call_id: str
    title: str
    source: str
    started_at: str
    duration_s: float | None
    live: bool
    # "dropped": a live call the server stopped in the middle of without ending it; ``error`` says where.
    status: Literal["analysing", "ready", "live", "error", "dropped"]
    coach_alerts: int = 0
    praise_alerts: int = 0
    audio_url: str | None = None
    error: str | None = None  # why the call could not be analysed, when status is "error"
    agent: str = ""
    customer: str = ""  # masked
    team: str = ""  # only the team's members (and admins) see the call


@dataclass(frozen=True)
class Welcome:
    """Server → page, first on every connection: who the login session belongs to and what they may do."""

    TYPE: ClassVar[str] = "welcome"
    user: str
    name: str
    role: Role
    teams: tuple[str, ...]


@dataclass(frozen=True)
class CallList:
    """Server → page: every call the coach can open; sent on connect and whenever the list changes."""

    TYPE: ClassVar[str] = "calls"
    calls: tuple[CallInfo, ...]


@dataclass(frozen=True)
class Subscribe:
    """Page → server: send me this call's events after ``after_seq`` (0: from the start), and a live
    call's audio unless ``audio`` is false (a wallboard or script that only wants the events)."""

    TYPE: ClassVar[str] = "subscribe"
    call_id: str
    after_seq: int = 0
    audio: bool = True


@dataclass(frozen=True)
class Subscribed:
    """Server → page: the subscription stands; a replay's events follow its playback position."""

    TYPE: ClassVar[str] = "subscribed"
    call_id: str
    live: bool
    duration_s: float | None = None


@dataclass(frozen=True)
class Unsubscribe:
    """Page → server: stop sending this call."""

    TYPE: ClassVar[str] = "unsubscribe"
    call_id: str


@dataclass(frozen=True)
class Playback:
    """Page → server: where the coach's player stands in a replay, and whether it is playing.

    Sent on play, pause and seek, and a few times a second while playing; the server releases a replay's
    events up to this position (a little ahead, so they are there when the audio reaches them).
    """

    TYPE: ClassVar[str] = "playback"
    call_id: str
    position_s: float
    playing: bool


# --- Listening sessions: several coaches on one call, their notes and pins (kept in the call's log) ---


@dataclass(frozen=True)
class Note:
    """A coach's remark at a moment of the call, tagged like an alert; kept with the call for every replay."""

    TYPE: ClassVar[str] = "note"
    id: str
    at_s: float
    tag: Polarity
    text: str
    author: str
    author_name: str
    quote: Quote | None = None  # the transcript line it is about, if any
    created_at: str = ""  # wall-clock ISO 8601


@dataclass(frozen=True)
class Pin:
    """A lead marks an alert or a note as a moment to cover with the agent (``pinned=False`` unmarks)."""

    TYPE: ClassVar[str] = "pin"
    target_id: str
    pinned: bool
    at_s: float
    by: str


@dataclass(frozen=True)
class Participant:
    user: str
    name: str
    role: str
    lead: bool = False


@dataclass(frozen=True)
class Presence:
    """Server → session: who is listening now (sent whenever someone joins or leaves)."""

    TYPE: ClassVar[str] = "presence"
    session_id: str
    call_id: str
    participants: tuple[Participant, ...]


@dataclass(frozen=True)
class StartSession:
    """Page → server (a lead): open a listening session on a call; the answer is its first ``presence``."""

    TYPE: ClassVar[str] = "start_session"
    call_id: str


@dataclass(frozen=True)
class JoinSession:
    TYPE: ClassVar[str] = "join_session"
    session_id: str


@dataclass(frozen=True)
class LeaveSession:
    TYPE: ClassVar[str] = "leave_session"
    session_id: str


@dataclass(frozen=True)
class AddNote:
    """Page → server: a note at ``at_s``; everyone on the call gets it back as a ``note`` in the log."""

    TYPE: ClassVar[str] = "add_note"
    call_id: str
    at_s: float
    tag: Polarity
    text: str
    quote: Quote | None = None


@dataclass(frozen=True)
class SetPin:
    TYPE: ClassVar[str] = "set_pin"
    call_id: str
    target_id: str
    pinned: bool


@dataclass(frozen=True)
class SessionPlayback:
    """Page → server (the session's lead): play, pause or seek for everyone in the session."""

    TYPE: ClassVar[str] = "session_playback"
    session_id: str
    position_s: float
    playing: bool
    rate: float = 1.0  # the lead's playback speed


@dataclass(frozen=True)
class PlaybackSync:
    """Server → session: the lead's player; every page follows it."""

    TYPE: ClassVar[str] = "playback_sync"
    session_id: str
    position_s: float
    playing: bool
    by: str
    rate: float = 1.0


Message: TypeAlias = (
    Welcome
    | CallList
    | Subscribe
    | Subscribed
    | Unsubscribe
    | Playback
    | Note
    | Pin
    | Presence
    | StartSession
    | JoinSession
    | LeaveSession
    | AddNote
    | SetPin
    | SessionPlayback
    | PlaybackSync
)
MESSAGE_TYPES: tuple[type[Message], ...] = typing.get_args(Message)
Event: TypeAlias = Frame | CallStarted | CallEnded | Transcript | Speech | Alert | Error | Redaction | Message
EVENT_TYPES: dict[str, type[Event]] = {
    cls.TYPE: cls
    for cls in (Frame, CallStarted, CallEnded, Transcript, Speech, Alert, Error, Redaction, *MESSAGE_TYPES)
}
CLIENT_MESSAGES: tuple[type[Event], ...] = (Subscribe, Unsubscribe, Playback)
# What a page sends in a listening session.
SESSION_MESSAGES: tuple[type[Event], ...] = (
    StartSession,
    JoinSession,
    LeaveSession,
    AddNote,
    SetPin,
    SessionPlayback,
)


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
        if dataclasses.is_dataclass(value):
            value = dataclasses.asdict(value)  # type: ignore[arg-type]
        elif isinstance(value, tuple):  # JSON has lists; nested dataclasses become objects
            value = [dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v for v in value]  # type: ignore[arg-type]
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
    return from_fields(cls, data, kind)


def from_fields(cls: type[T], data: Mapping[str, Any], where: str) -> T:
    """Construct the dataclass ``cls`` from JSON data, checking every field against its type hint."""
    if not isinstance(data, Mapping):
        raise EventDecodeError(f"{where} must be a JSON object")
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]  # every caller passes a dataclass
        if f.name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise EventDecodeError(f"{where} is missing the field {f.name!r}")
            continue
        kwargs[f.name] = _field_from_json(f"{where}.{f.name}", data[f.name], hints[f.name])
    return cls(**kwargs)


def _field_from_json(where: str, value: Any, hint: Any) -> Any:
    """The field's value as the dataclass holds it, or :class:`EventDecodeError` saying what was expected."""
    if typing.get_origin(hint) is tuple:
        item_hint = typing.get_args(hint)[0]
        if not isinstance(value, list):
            raise EventDecodeError(f"{where} must be a list")
        if dataclasses.is_dataclass(item_hint):
            return tuple(from_fields(item_hint, item, f"{where}[{i}]") for i, item in enumerate(value))  # type: ignore[arg-type]
        value = tuple(value)
    nested = [a for a in typing.get_args(hint) if dataclasses.is_dataclass(a)]
    if nested and isinstance(value, Mapping):  # an optional nested object, e.g. a note's quote
        return from_fields(nested[0], value, where)  # type: ignore[arg-type]
    if not _conforms(value, hint):
        if isinstance(value, int | float) and not isinstance(value, bool) and _conforms(0.0, hint):
            # Python's json reads NaN, Infinity and 400-digit numbers; a page's JSON.parse reads none back.
            raise EventDecodeError(
                f"{where} must be a finite number (no NaN or Infinity), got {_SHOWN.repr(value)}"
            )
        raise EventDecodeError(f"{where} must be {_describe(hint)}, got {_SHOWN.repr(value)}")
    return float(value) if hint is float and isinstance(value, int) else value


def _conforms(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin is Literal:
        return value in typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_conforms(value, arg) for arg in typing.get_args(hint))
    if origin is tuple:
        return isinstance(value, tuple) and all(_conforms(v, typing.get_args(hint)[0]) for v in value)
    if hint is type(None):
        return value is None
    if hint is float:
        return _finite(value)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint) if isinstance(hint, type) else True


def _finite(value: Any) -> bool:
    """A number a float field can hold and a page can parse back: not NaN or Infinity (not JSON, though
    Python's json reads and writes them), nor a whole number too long for a float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond the largest float
        return False


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(hint))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(hint))
    if origin is tuple:
        return f"a list of {_describe(typing.get_args(hint)[0])}"
    return {
        type(None): "null",
        float: "a number",
        int: "a whole number",
        str: "a string",
        bool: "true or false",
    }.get(hint, str(hint))


def _frame_from_json(data: Mapping[str, Any]) -> Frame:
    # The same field checks as every other event: a frame is decoded from pages' and storage's JSON too.
    hints = typing.get_type_hints(Frame)
    fields: dict[str, Any] = {}
    for name in ("speaker", "start_s", "sample_rate", "pcm_b64"):
        if name not in data:
            raise EventDecodeError(f"frame event is malformed: it is missing the field {name!r}")
        fields[name] = _field_from_json(f"frame.{name}", data[name], hints.get(name, str))
    if fields["sample_rate"] <= 0:
        raise EventDecodeError(
            f"frame.sample_rate must be a positive whole number, got {fields['sample_rate']}"
        )
    try:
        pcm = np.frombuffer(base64.b64decode(fields["pcm_b64"], validate=True), dtype="<i2").astype(np.int16)
    except ValueError as exc:  # not base64, or an odd number of bytes
        raise EventDecodeError(
            f"frame event is malformed: pcm_b64 is not 16-bit PCM in base64 ({exc})"
        ) from exc
    return Frame(fields["speaker"], fields["start_s"], fields["sample_rate"], pcm)


def envelope(event: Event, *, seq: int, call_id: str) -> dict[str, Any]:
    """The wire form: protocol version, sequence number in the call's log and the call id, then the event."""
    return {"v": PROTOCOL_VERSION, "seq": seq, "call": call_id, **to_json(event)}


def wire_text(event: Event, *, seq: int | None = None, call_id: str | None = None) -> str:
    """The text frame for a server → page message: the envelope's keys that apply, then the event."""
    head: dict[str, Any] = {"v": PROTOCOL_VERSION}
    if seq is not None:
        head["seq"] = seq
    if call_id is not None:
        head["call"] = call_id
    message = {**head, **to_json(event)}
    text = json.dumps(message, ensure_ascii=False)
    if not text.isascii() and not _utf8(text):
        # A lone surrogate (JSON's "\ud800" from a page or a platform decodes to one) cannot go out as
        # UTF-8, and the socket's send would fail: escaped, it is JSON every page reads.
        text = json.dumps(message)
    return text


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def moment_s(event: Event) -> float:
    """The point in the call at which an event exists: a replay releases it when playback gets there.

    An alert exists once it could be detected; a transcript line once it was said; a speech segment at
    its start, then again at its end.
    """
    if isinstance(event, Alert):
        return event.detected_s
    if isinstance(event, Transcript | Redaction):
        return event.end_s
    if isinstance(event, Speech):
        return event.start_s if event.end_s is None else event.end_s
    if isinstance(event, CallEnded):
        return event.end_s
    if isinstance(event, Error):
        return event.at_s or 0.0
    if isinstance(event, Frame):
        return event.start_s
    if isinstance(event, Note | Pin):
        return event.at_s
    return 0.0
