"""Listening sessions on the coach websocket: the thin shell around :class:`~callcoach.web.rooms.Rooms`.

A coach connection hands its session messages here. The sans-I/O rooms decide who may do what and build
the replies; this module looks up the call (its team), writes notes and pins into the call's log through
the catalog (which is what gives every participant the same order, and keeps them for later replays), and
sends presence and the lead's playback to the session's members. Sending never waits: a member whose page
has fallen far behind misses a presence or a sync (the next one corrects it) and nobody else waits for it.

Presence is sent a moment after a change, once for all the changes of that moment: each join would
otherwise send the whole list to every member, and a team of 200 joining at the start of a session would
be 40,000 messages where a handful say the same.

With nodes sharing a bus (a :class:`RoomRelay`), a session's members may be on any node. Each change
(start, join, leave, a socket gone, the lead's playback) is checked and applied where it is asked, so a
refusal comes back at once, then goes on the relay; every node applies the relay's changes in its one
order to its own rooms and tells its own members. A connection is named by a key that is the same on
every node (this node's name and a number).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import itertools
import logging
import secrets
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from callcoach.live.accounts import User
from callcoach.live.catalog import CallCatalog, CallRecord
from callcoach.live.codec import from_fields, wire_text
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

log = logging.getLogger(__name__)
PRESENCE_DELAY_S = 0.05  # changes within this long go out as one presence


class Member(Protocol):
    """A coach's connection as a session sees it: who is on it, and a way to send that never waits."""

    user: User

    def push(self, text: str) -> None: ...

    def __hash__(self) -> int: ...


class RoomRelay(Protocol):
    """Nodes' shared, ordered stream of session changes (:mod:`live.bus_redis`)."""

    node: str

    async def send_room(self, change: Mapping[str, Any]) -> None: ...

    def follow_rooms(self, apply: Callable[[dict[str, Any]], None]) -> None: ...


class SessionHub:
    def __init__(self, catalog: CallCatalog, relay: RoomRelay | None = None) -> None:
        self._catalog = catalog
        self._relay = relay
        self._rooms: Rooms[str] = Rooms(note_prefix=secrets.token_hex(3))
        self._node = relay.node if relay is not None else "here"
        self._serial = itertools.count(1)
        self._keys: dict[Member, str] = {}  # the key each of this node's connections is known by
        self._local: dict[str, Member] = {}
        self._leaving: set[asyncio.Task[None]] = set()  # sockets' leaving, on its way to the relay
        self._changed: set[str] = set()  # sessions whose presence is still to be sent
        self._flush: asyncio.TimerHandle | None = None
        if relay is not None:
            relay.follow_rooms(self._apply_shared)

    async def handle(self, member: Member, message: SessionMessage) -> None:
        """Act on one session message from ``member``; a refusal raises :class:`CallcoachError`."""
        rooms, user, key = self._rooms, member.user, self._key(member)
        if isinstance(message, StartSession):
            record = self._record(message.call_id)
            team = record.info.team
            named = f"s{secrets.token_hex(4)}-{message.call_id}" if self._relay is not None else ""
            presence = rooms.start(message.call_id, team, user, key, named)
            await self._share(
                presence, "start", key, user, presence.session_id, call_id=message.call_id, team=team
            )
        elif isinstance(message, JoinSession):
            record = self._record(rooms.call_of(message.session_id))
            presence = rooms.join(message.session_id, record.info.team, user, key)
            await self._share(presence, "join", key, user, message.session_id, team=record.info.team)
            sync = rooms.last_sync(message.session_id)
            if sync is not None:  # start where the lead is
                member.push(wire_text(sync))
        elif isinstance(message, LeaveSession):
            left = rooms.leave(message.session_id, key)
            await self._share(left, "leave", key, user, message.session_id)
        elif isinstance(message, SessionPlayback):
            sync = rooms.playback(message.session_id, key, message.position_s, message.playing, message.rate)
            await self._share(sync, "playback", key, user, message.session_id, sync=dataclasses.asdict(sync))
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
        key = self._keys.pop(member, None)
        if key is None:  # never in a session
            return
        del self._local[key]
        for presence in self._rooms.disconnect(key):
            self._announce(presence)
        if self._relay is not None:
            task = asyncio.get_running_loop().create_task(
                self._relay.send_room({"op": "disconnect", "member": key})
            )
            self._leaving.add(task)  # referenced until done: the loop keeps only a weak one
            task.add_done_callback(self._leaving.discard)
            task.add_done_callback(_logged)

    def _key(self, member: Member) -> str:
        key = self._keys.get(member)
        if key is None:
            key = self._keys[member] = f"{self._node}#{next(self._serial)}"
            self._local[key] = member
        return key

    async def _share(
        self,
        result: Presence | PlaybackSync | None,
        op: str,
        key: str,
        user: User,
        session_id: str,
        **fields: Any,
    ) -> None:
        """Tell the members of one change applied here: this node's at once, with no relay; else every
        node's, each as its node applies it from the relay (this one included)."""
        if self._relay is None:
            self._effect(result, key)
            return
        change = {"op": op, "member": key, "user": dataclasses.asdict(user), "session_id": session_id}
        await self._relay.send_room(change | fields)

    def _effect(self, result: Presence | PlaybackSync | None, key: str) -> None:
        if isinstance(result, PlaybackSync):
            self._send(result, skip=key)
        elif result is not None:
            self._announce(result)

    def _apply_shared(self, change: dict[str, Any]) -> None:
        """A change from the relay, in its order: applied to this node's rooms (again, if asked here),
        and told to this node's members. One refused here was refused alike where it was asked."""
        try:
            self._effect(self._apply(change), str(change["member"]))
        except (CallcoachError, KeyError, TypeError, ValueError) as exc:
            log.debug("session change %r not applied: %s", change.get("op"), exc)

    def _apply(self, change: dict[str, Any]) -> Presence | PlaybackSync | None:
        rooms, op, key = self._rooms, change["op"], str(change["member"])
        if op in ("disconnect", "node_gone"):  # a socket closed; every socket of a node that died
            node = f"{change.get('node')}#"
            gone = [k for k in rooms.connections() if k.startswith(node)] if op == "node_gone" else [key]
            for presence in (p for k in gone for p in rooms.disconnect(k)):
                self._announce(presence)
            return None
        user, session_id = from_fields(User, change["user"], "session member"), str(change["session_id"])
        if op == "start":
            return rooms.start(change["call_id"], change["team"], user, key, session_id)
        if op == "join":
            return rooms.join(session_id, change["team"], user, key)
        if op == "leave":
            return rooms.leave(session_id, key)
        sync = from_fields(PlaybackSync, change["sync"], "playback")
        return rooms.playback(session_id, key, sync.position_s, sync.playing, sync.rate)

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

    def _send(self, message: Presence | PlaybackSync, *, skip: str | None = None) -> None:
        text = wire_text(message)
        for key in self._rooms.members(message.session_id):
            member = self._local.get(key)  # another node's member: that node tells it
            if member is not None and key != skip:
                member.push(text)


def _logged(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("could not share a socket's leaving its sessions: %s", task.exception())


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
