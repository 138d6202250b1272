"""Listening sessions (sans I/O): presence as people come and go, the lead's authority, team walls."""

from __future__ import annotations

import pytest

from callcoach.live.accounts import User
from callcoach.live.errors import CallcoachError
from callcoach.live.events import Quote
from callcoach.live.messages import AddNote, SetPin
from callcoach.web.rooms import Rooms

LEAD = User(1, "ana", "Ana", "lead", ("north",))
COACH = User(2, "bo", "Bo", "coach", ("north",))
OUTSIDER = User(3, "cy", "Cy", "coach", ("south",))


def names(presence: object) -> list[tuple[str, bool]]:
    return [(p.user, p.lead) for p in presence.participants]  # type: ignore[attr-defined]


def test_presence_follows_joins_and_leaves() -> None:
    rooms: Rooms[str] = Rooms()
    started = rooms.start("c1", "north", LEAD, "ws-ana")
    sid = started.session_id
    assert names(started) == [("ana", True)]
    assert names(rooms.join(sid, "north", COACH, "ws-bo")) == [("ana", True), ("bo", False)]
    assert names(rooms.join(sid, "north", COACH, "ws-bo-tab2")) == [("ana", True), ("bo", False)]
    assert names(rooms.leave(sid, "ws-bo")) == [("ana", True), ("bo", False)]  # still in another tab
    assert names(rooms.disconnect("ws-bo-tab2")[0]) == [("ana", True)]
    assert rooms.leave(sid, "ws-ana") is None
    with pytest.raises(CallcoachError, match="no listening session"):
        rooms.join(sid, "north", COACH, "ws-bo")


def test_only_leads_start_and_only_the_sessions_lead_steers() -> None:
    rooms: Rooms[str] = Rooms()
    with pytest.raises(CallcoachError) as refused:
        rooms.start("c1", "north", COACH, "ws-bo")
    assert refused.value.code == "not_a_lead"
    sid = rooms.start("c1", "north", LEAD, "ws-ana").session_id
    rooms.join(sid, "north", COACH, "ws-bo")
    sync = rooms.playback(sid, "ws-ana", 15.0, True)
    assert (sync.position_s, sync.playing, sync.by, sync.rate) == (15.0, True, "ana", 1.0)
    assert rooms.playback(sid, "ws-ana", 15.0, True, rate=1.5).rate == 1.5
    assert rooms.playback(sid, "ws-ana", 15.0, True, rate=100.0).rate == 4.0  # what a player can do
    latest = rooms.playback(sid, "ws-ana", 16.0, False)
    assert rooms.last_sync(sid) == latest  # where a joiner starts
    with pytest.raises(CallcoachError, match="only the session's lead"):
        rooms.playback(sid, "ws-bo", 3.0, False)


def test_a_session_named_by_the_caller_started_and_joined_again_is_unchanged() -> None:
    """Nodes sharing sessions apply each change where it is asked, then again in the bus's order."""
    rooms: Rooms[str] = Rooms()
    first = rooms.start("c1", "north", LEAD, "b#1", "s9f-c1")
    assert first.session_id == "s9f-c1"
    rooms.join("s9f-c1", "north", COACH, "c#4")
    assert rooms.start("c1", "north", LEAD, "b#1", "s9f-c1") == rooms.join("s9f-c1", "north", COACH, "c#4")
    assert names(rooms.start("c1", "north", LEAD, "b#1", "s9f-c1")) == [("ana", True), ("bo", False)]
    assert rooms.connections() == {"b#1", "c#4"}
    assert rooms.leave("s9f-c1", "c#4") == first
    assert rooms.leave("s9f-c1", "c#4") is None  # gone already: nothing to tell anyone
    assert rooms.presence("s9f-c1") == first


def test_team_walls() -> None:
    rooms: Rooms[str] = Rooms()
    sid = rooms.start("c1", "north", LEAD, "ws-ana").session_id
    with pytest.raises(CallcoachError) as refused:
        rooms.join(sid, "north", OUTSIDER, "ws-cy")
    assert refused.value.code == "forbidden_call" and "team 'north'" in refused.value.message


def test_notes_and_pins() -> None:
    rooms: Rooms[str] = Rooms()
    quote = Quote("agent", "well if you can get those docs in", 21.5, 24.0)
    note = rooms.note(AddNote("c1", 21.6, "coach", "  We all winced here.  ", quote), "north", COACH, "t0")
    assert (note.text, note.author, note.author_name, note.quote, note.tag) == (
        "We all winced here.",
        "bo",
        "Bo",
        quote,
        "coach",
    )
    with pytest.raises(CallcoachError, match="1 to 2000 characters"):
        rooms.note(AddNote("c1", 1.0, "praise", "   "), "north", COACH, "t0")
    pin = rooms.pin(SetPin("c1", note.id, True), "north", LEAD, note.at_s)
    assert (pin.target_id, pin.pinned, pin.by) == (note.id, True, "ana")
    with pytest.raises(CallcoachError, match="only a lead pins"):
        rooms.pin(SetPin("c1", note.id, True), "north", COACH, 1.0)


def test_note_ids_of_two_runs_never_meet() -> None:
    """Notes outlive a restart with their call: a new run's note must not take a kept note's id."""
    before: Rooms[str] = Rooms(note_prefix="a1")
    after: Rooms[str] = Rooms(note_prefix="b2")
    first = before.note(AddNote("c1", 1.0, "coach", "slow"), "north", COACH, "t0")
    again = after.note(AddNote("c1", 1.0, "coach", "slow"), "north", COACH, "t1")
    assert first.id != again.id
    assert first.id == "note-a1-1-bo"
