"""A node's copy of a call's log on the bus (:class:`BusLog`), fed entries as Redis gives them: it keeps
the bus's numbering and text, reads each event once, closes at the call's end, and takes pipeline events
only on the call's own node. The local bus is today's plain log."""

from __future__ import annotations

import asyncio
import json

import pytest

from callcoach.live.bus import TRIMMED, BusLog, LocalBus
from callcoach.live.bus_streams import split_wire
from callcoach.live.codec import wire_text
from callcoach.live.eventlog import EventLog
from callcoach.live.events import CallEnded, CallStarted, Event, Note, Transcript

STARTED = CallStarted("c1", "twilio", "2026-12-01T10:00:00+00:00", ("agent", "customer"))
LINE = Transcript("customer", "my card was stolen", 1.0, 2.5, True)
NOTE = Note("note-1-bo", 1.5, "coach", "listen", "bo", "Bo")
ENDED = CallEnded(3.0, "completed")


def entry(seq: int, event: Event) -> tuple[str, dict[str, str]]:
    """The stream entry the bus's script makes: id ``0-<seq>``, the wire text around the seq."""
    head, tail = split_wire(event, "c1")
    return f"0-{seq}", {"w": f"{head}{seq}{tail}"}


def closed(log: EventLog) -> bool:
    return log.closed


def test_the_stored_text_is_the_wire_text_a_single_node_sends() -> None:
    events: list[Event] = [STARTED, LINE, NOTE, ENDED]
    for seq, event in enumerate(events, start=1):
        assert entry(seq, event)[1]["w"] == wire_text(event, seq=seq, call_id="c1")


async def test_entries_keep_their_seq_and_text_and_come_once() -> None:
    log = BusLog("c1")
    log.receive_entries([entry(1, STARTED), entry(2, LINE)])
    log.receive_entries([entry(2, LINE), entry(3, NOTE)])  # a reader that reconnected reads 2 again
    assert list(log.events) == [STARTED, LINE, NOTE]
    assert log.wire(3) == wire_text(NOTE, seq=3, call_id="c1")
    assert not closed(log)
    log.receive_entries([entry(4, ENDED), entry(5, NOTE)])  # a note after the end joins all the same
    assert closed(log) and len(log) == 5
    followed = [seq async for seq, _ in log.follow(after_seq=2)]
    assert followed == [3, 4, 5]


def test_events_trimmed_off_before_they_were_read_keep_the_numbering() -> None:
    log = BusLog("c1")
    log.receive_entries([entry(3, LINE)])
    assert [getattr(e, "code", None) for e in log.events] == [TRIMMED, TRIMMED, None]
    assert json.loads(log.wire(3))["seq"] == 3


def test_an_entry_that_does_not_decode_is_an_error_in_its_place() -> None:
    log = BusLog("c1")
    log.receive_entries([("0-1", {"w": '{"v": 1, "seq": 1, "type": "no_such_thing"}'})])
    assert len(log) == 1 and json.loads(log.wire(1))["code"] == "bad_event"


async def test_only_the_calls_own_node_appends_and_it_closes_when_the_end_comes_back() -> None:
    sent: list[Event] = []
    origin = BusLog("c1", sent.append)
    origin.append(STARTED)
    origin.append(ENDED)
    origin.close()
    assert sent == [STARTED, ENDED] and len(origin) == 0 and not closed(origin)
    with pytest.raises(RuntimeError):
        origin.append(LINE)  # the pipeline is done
    with pytest.raises(RuntimeError):
        BusLog("c1").append(LINE)  # another node's copy
    with pytest.raises(RuntimeError):
        origin.annotate(NOTE)  # notes go through the bus, which numbers them
    origin.receive_entries([entry(1, STARTED), entry(2, ENDED)])
    await asyncio.wait_for(origin.wait_closed(), 1)
    origin.gone()  # the stream expired: a later note stays on this node
    assert origin.annotate(NOTE) == 3


async def test_the_local_bus_is_a_plain_log() -> None:
    bus = LocalBus()
    log = bus.origin_log("c1")
    assert type(log) is EventLog
    assert await bus.annotate(log, NOTE) == 1
    assert bus.live_elsewhere() == set() and bus.listen_audio("c1", lambda _m: None) is None
