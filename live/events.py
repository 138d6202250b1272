"""The typed events of a call: frozen dataclasses, every time an offset into the call in seconds.

Everything downstream of the audio speaks in these events: the detectors consume them, the CLI's
``--json`` prints them, the call's log keeps them. Every time is derived from sample counts (audio time,
never wall time), and every unit is in the field's name. Coaches' notes and pins are here too: they are
kept in the call's log like the pipeline's events. What a page and the server say to each other about
calls is in :mod:`callcoach.live.messages`; the JSON form and the envelope are in :mod:`callcoach.live.codec`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal, TypeAlias

import numpy as np
import numpy.typing as npt

Speaker: TypeAlias = Literal["agent", "customer", "mixed"]
Polarity: TypeAlias = Literal["coach", "praise"]
Role: TypeAlias = Literal["coach", "lead", "admin", "agent"]  # what an account may do (see live/accounts.py)
# What a redaction hid: a card number, the CVV or expiry read after it, a US SSN, another long number.
RedactionKind: TypeAlias = Literal["card", "cvv", "expiry", "ssn", "number"]
SPEAKERS: tuple[Speaker, ...] = ("agent", "customer", "mixed")


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
class AlertKind:
    """A kind of alert as a coach reads it: its label, which way it points, and the page's icon for it.
    Each detector declares the kinds it raises; the page learns them from the server (``welcome``), so a
    new detector needs no change to the page."""

    kind: str
    label: str
    polarity: Polarity
    icon: str  # a name from the page's icon set (web/static/js/dom.js): bulb, star, ...


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
    rule: str | None = None  # for ``kind == "rule"``: the coach-defined rule's name
    # How sure the recogniser was of the words the alert was raised on (0-1: the lowest confidence of the
    # trigger's words); None for an alert raised on timing alone (a silence, an interruption's overlap).
    confidence: float | None = None

    @property
    def duration_s(self) -> float | None:
        return None if self.end_s is None else round(self.end_s - self.start_s, 3)


@dataclass(frozen=True)
class Sentiment:
    """How positive or negative one final line of a speaker sounded: ``score`` from -1 (very negative)
    through 0 (neutral) to 1 (very positive), scored from the words of the line between ``start_s`` and
    ``end_s``. The page draws the customer's as a thin line on the timeline."""

    TYPE: ClassVar[str] = "sentiment"
    speaker: Speaker
    start_s: float
    end_s: float
    score: float


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
    # While a recording is analysed: how far into it the analysis is (of ``duration_s``); None otherwise.
    analysed_s: float | None = None


# --- Coaches' notes and pins: made in a listening session, kept in the call's log for every replay ---


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


Event: TypeAlias = (
    Frame | CallStarted | CallEnded | Transcript | Speech | Sentiment | Alert | Error | Redaction | Note | Pin
)
