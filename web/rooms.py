"""Listening sessions, sans I/O: who is in which session, who leads it, and what each may do.

A lead (or admin) opens a session on a call; coaches who may see the call join it. Each connection is an
opaque key the caller chooses (its socket); the caller sends the returned ``Presence`` and ``PlaybackSync``
messages to the session's members. Notes and pins are made here from the page's request and the user's
rights, then appended to the call's log by the caller, which is what gives every participant the same
order. Nodes that share sessions apply the same changes in one order to a :class:`Rooms` each, so every
change is idempotent (applied where it was asked, then again as every node applies it). No asyncio, no
sockets, no clock: time comes in as arguments.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from callcoach.live.accounts import User
from callcoach.live.errors import CallcoachError
from callcoach.live.events import Note, Pin
from callcoach.live.messages import AddNote, Participant, PlaybackSync, Presence, SetPin

C = TypeVar("C", bound=Hashable)  # the caller's key for a connection
LEADS = ("lead", "admin")
MAX_NOTE_CHARS = 2000
MIN_RATE, MAX_RATE = 0.25, 4.0


@dataclass
class _Session(Generic[C]):
    session_id: str
    call_id: str
    lead: str  # username
    members: dict[C, User] = field(default_factory=dict)
    sync: PlaybackSync | None = None  # the lead's player, last heard: where a joiner starts


class Rooms(Generic[C]):
    def __init__(self, note_prefix: str = "") -> None:
        """``note_prefix`` tells this run's note ids from those of earlier runs: notes are kept with their
        calls across restarts, and a pin names its note by id, so an id must never be made twice."""
        self._sessions: dict[str, _Session[C]] = {}
        self._ids = itertools.count(1)
        self._notes = itertools.count(1)
        self._note_prefix = f"{note_prefix}-" if note_prefix else ""

    def start(self, call_id: str, team: str, user: User, conn: C, session_id: str = "") -> Presence:
        """A lead opens a session on the call. ``session_id``, when given, names it (nodes sharing
        sessions name them so that the name is the same on each); starting it again changes nothing."""
        user.check_can_see(team, call_id)
        if user.role not in LEADS:
            raise CallcoachError(
                "not_a_lead", "only a lead can start a listening session: ask your team lead"
            )
        session_id = session_id or f"s{next(self._ids)}-{call_id}"
        session = self._sessions.get(session_id)
        if session is None:
            session = self._sessions[session_id] = _Session(session_id, call_id, user.username)
        session.members[conn] = user
        return self._presence(session)

    def join(self, session_id: str, team: str, user: User, conn: C) -> Presence:
        session = self._get(session_id)
        user.check_can_see(team, session.call_id)
        session.members[conn] = user
        return self._presence(session)

    def leave(self, session_id: str, conn: C) -> Presence | None:
        """The session's presence after ``conn`` left, or None once nobody is left (it closes)."""
        session = self._sessions.get(session_id)
        if session is None or session.members.pop(conn, None) is None:
            return None
        if not session.members:
            del self._sessions[session_id]
            return None
        return self._presence(session)

    def disconnect(self, conn: C) -> list[Presence]:
        """A socket went: leave every session it was in; the presences to send to those left."""
        left = [s.session_id for s in self._sessions.values() if conn in s.members]
        return [p for sid in left if (p := self.leave(sid, conn)) is not None]

    def connections(self) -> set[C]:
        """Every connection in any session."""
        return {conn for session in self._sessions.values() for conn in session.members}

    def members(self, session_id: str) -> list[C]:
        session = self._sessions.get(session_id)
        return list(session.members) if session else []

    def call_of(self, session_id: str) -> str:
        return self._get(session_id).call_id

    def presence(self, session_id: str) -> Presence | None:
        """Who is in the session now (None once it has ended)."""
        session = self._sessions.get(session_id)
        return self._presence(session) if session else None

    def last_sync(self, session_id: str) -> PlaybackSync | None:
        session = self._sessions.get(session_id)
        return session.sync if session else None

    def playback(
        self, session_id: str, conn: C, position_s: float, playing: bool, rate: float = 1.0
    ) -> PlaybackSync:
        session = self._get(session_id)
        user = session.members.get(conn)
        if user is None:
            raise CallcoachError("not_in_session", f"join session {session_id!r} before steering it")
        if user.username != session.lead:
            raise CallcoachError("not_the_lead", "only the session's lead moves everyone's playback")
        speed = min(MAX_RATE, max(MIN_RATE, rate))  # what a player can do
        session.sync = PlaybackSync(session_id, max(0.0, position_s), playing, user.username, speed)
        return session.sync

    def note(self, request: AddNote, team: str, user: User, created_at: str) -> Note:
        user.check_can_see(team, request.call_id)
        text = request.text.strip()
        if not text or len(text) > MAX_NOTE_CHARS:
            raise CallcoachError("bad_note", f"a note needs 1 to {MAX_NOTE_CHARS} characters of text")
        return Note(
            id=f"note-{self._note_prefix}{next(self._notes)}-{user.username}",
            at_s=max(0.0, request.at_s),
            tag=request.tag,
            text=text,
            author=user.username,
            author_name=user.display_name,
            quote=request.quote,
            created_at=created_at,
        )

    def pin(self, request: SetPin, team: str, user: User, at_s: float | None) -> Pin:
        """A lead's pin on the alert or note at ``at_s`` (None: the call has no such target). Who may pin
        is checked before the target, so that nobody learns anything of a call they may not see."""
        user.check_can_see(team, request.call_id)
        if user.role not in LEADS:
            raise CallcoachError("not_a_lead", "only a lead pins moments to cover with the agent")
        if at_s is None:
            raise CallcoachError(
                "unknown_target",
                f"call {request.call_id!r} has no alert or note {request.target_id!r} to pin",
            )
        return Pin(request.target_id, request.pinned, at_s, user.username)

    def _get(self, session_id: str) -> _Session[C]:
        session = self._sessions.get(session_id)
        if session is None:
            raise CallcoachError(
                "unknown_session", f"there is no listening session {session_id!r} (it may have ended)"
            )
        return session

    def _presence(self, session: _Session[C]) -> Presence:
        seen: dict[str, Participant] = {}
        for user in session.members.values():  # one line per person, however many tabs they have open
            seen[user.username] = Participant(
                user.username, user.display_name, user.role, user.username == session.lead
            )
        return Presence(session.session_id, session.call_id, tuple(seen.values()))
