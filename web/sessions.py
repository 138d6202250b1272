"""Listening sessions on the coach websocket: the thin shell around :class:`~callcoach.web.rooms.Rooms`.

A coach connection hands its session messages here. The sans-I/O rooms decide who may do what and build
the replies; this module looks up the call (its team), writes notes and pins into the call's log through
the catalog (which is what gives every participant the same order, and keeps them for later replays), and
sends presence and the lead's playback to the session's members. Sending never waits: a member whose page
has fallen far behind misses a presence or a sync (the next one corrects it) and nobody else waits for it.

Presence is sent a moment after a change, once for all the changes of that moment: each join would
otherwise send the whole list to every member, and a team of 200 joining at the start of a session would
be 40,000 messages where a handful say the same.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from typing import Protocol

from callcoach.live.accounts import User
from callcoach.live.catalog import CallCatalog, CallRecord
from callcoach.live.codec import wire_text
from callcoach.live.errors import CallcoachError
from callcoach.live.messages import (
    AddNote,
    JoinSession,
    LeaveSession,
    PlaybackSync,
    Presence,
    SessionMessage,
    SessionPlayback,
    SetPin,
    StartSession,
)
from callcoach.web.rooms import Rooms

PRESENCE_DELAY_S = 0.05  # changes within this long go out as one presence


class Member(Protocol):
    """A coach's connection as a session sees it: who is on it, and a way to send that never waits."""

    user: User

    def push(self, text: str) -> None: ...

    def __hash__(self) -> int: ...


class SessionHub:
    def __init__(self, catalog: CallCatalog) -> None:
        self._catalog = catalog
        self._rooms: Rooms[Member] = Rooms(note_prefix=secrets.token_hex(3))
        self._changed: set[str] = set()  # sessions whose presence is still to be sent
        self._flush: asyncio.TimerHandle | None = None

    async def handle(self, member: Member, message: SessionMessage) -> None:
        """Act on one session message from ``member``; a refusal raises :class:`CallcoachError`."""
        rooms, user = self._rooms, member.user
        if isinstance(message, StartSession):
            record = self._record(message.call_id)
            self._announce(rooms.start(message.call_id, record.info.team, user, member))
        elif isinstance(message, JoinSession):
            record = self._record(rooms.call_of(message.session_id))
            self._announce(rooms.join(message.session_id, record.info.team, user, member))
            sync = rooms.last_sync(message.session_id)
            if sync is not None:  # start where the lead is
                member.push(wire_text(sync))
        elif isinstance(message, LeaveSession):
            presence = rooms.leave(message.session_id, member)
            if presence is not None:
                self._announce(presence)
        elif isinstance(message, SessionPlayback):
            sync = rooms.playback(
                message.session_id, member, message.position_s, message.playing, message.rate
            )
            self._send(sync, skip=member)
        elif isinstance(message, AddNote):
            record = self._record(message.call_id)
            note = rooms.note(message, record.info.team, user, _now_iso())
            await self._catalog.annotate(message.call_id, note)
        else:
            await self._pin(user, message)

    async def _pin(self, user: User, message: SetPin) -> None:
        record = self._record(message.call_id)
        at_s = self._catalog.moment_of(message.call_id, message.target_id)
        pin = self._rooms.pin(message, record.info.team, user, at_s)  # the team first, then the target
        await self._catalog.annotate(message.call_id, pin)

    def disconnect(self, member: Member) -> None:
        """The member's socket closed: it leaves every session, and those left are told."""
        for presence in self._rooms.disconnect(member):
            self._announce(presence)

    def _record(self, call_id: str) -> CallRecord:
        record = self._catalog.get(call_id)
        if record is None:
            raise CallcoachError("unknown_call", f"there is no call {call_id!r}; pick one from the list")
        return record

    def _announce(self, presence: Presence) -> None:
        self._changed.add(presence.session_id)
        if self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(PRESENCE_DELAY_S, self._send_presence)

    def _send_presence(self) -> None:
        changed, self._changed, self._flush = self._changed, set(), None
        for session_id in changed:
            presence = self._rooms.presence(session_id)
            if presence is not None:
                self._send(presence)

    def _send(self, message: Presence | PlaybackSync, *, skip: Member | None = None) -> None:
        text = wire_text(message)
        for member in self._rooms.members(message.session_id):
            if member is not skip:
                member.push(text)


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
