"""The messages between a coach's page and the server, and those of a listening session.

Each is a frozen dataclass with a wire ``TYPE``; they travel in the same envelope as a call's events (see
:mod:`callcoach.live.codec`). What a page may send is :data:`ClientMessage`; the server answers with the
rest. Notes and pins are not here: they are kept in the call's log, with its events.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import ClassVar, TypeAlias

from callcoach.live.events import AlertKind, CallInfo, Polarity, Quote, Role


@dataclass(frozen=True)
class Welcome:
    """Server → page, first on every connection: who the login session belongs to and what they may do."""

    TYPE: ClassVar[str] = "welcome"
    user: str
    name: str
    role: Role
    teams: tuple[str, ...]
    kinds: tuple[AlertKind, ...] = ()  # every kind of alert the server's detectors raise


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


# --- Listening sessions: several coaches on one call, one of them (a lead) steering the playback ---


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


# What a page sends in a listening session, and everything a page may send: the one list of each.
SessionMessage: TypeAlias = StartSession | JoinSession | LeaveSession | AddNote | SetPin | SessionPlayback
ClientMessage: TypeAlias = Subscribe | Unsubscribe | Playback | SessionMessage
SESSION_MESSAGES: tuple[type[SessionMessage], ...] = typing.get_args(SessionMessage)
CLIENT_MESSAGES: tuple[type[ClientMessage], ...] = typing.get_args(ClientMessage)
# What the server sends a page besides a call's events.
ServerMessage: TypeAlias = Welcome | CallList | Subscribed | Presence | PlaybackSync
Message: TypeAlias = ClientMessage | ServerMessage
