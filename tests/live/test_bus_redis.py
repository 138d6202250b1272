"""The Redis bus's call logs against a real ``redis-server`` (one per test session, its own database per
test): ``seq`` runs 1..n with no gap and no repeat however many nodes append at once, every node reads
the same log in the same order from wherever its cursor stands, and a call's stream is capped and
expires once the call is stored."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import pytest
import pytest_asyncio

from callcoach.live.bus import BusLog
from callcoach.live.bus_redis import LIVE, RedisBus
from callcoach.live.bus_streams import CallStreams
from callcoach.live.errors import CallcoachError
from callcoach.live.eventlog import EventLog
from callcoach.live.events import CallEnded, CallInfo, CallStarted, Event, Note, Pin, Transcript
from callcoach.live.settings import Settings
from callcoach.live.storage import Storage
from tests.helpers.redis_server import RedisServer
from tests.helpers.server import free_port

pytestmark = pytest.mark.asyncio
_DBS = itertools.count(1)
STARTED = CallStarted("c1", "twilio", "2026-12-01T10:00:00+00:00", ("agent", "customer"))


def line(n: int) -> Transcript:
    return Transcript("agent", f"line {n}", n * 0.1, n * 0.1 + 0.05, True)


def note(node: str, n: int) -> Note:
    return Note(f"note-{node}-{n}", 1.0, "coach", f"{node} says {n}", node, node.upper())


@pytest_asyncio.fixture
async def nodes(redis_server: RedisServer, tmp_path: Path) -> AsyncIterator[list[RedisBus]]:
    """Three nodes' buses on a database of this test's own, each with its storage (none is used here)."""
    settings = Settings(bus=redis_server.url(next(_DBS)), data_dir=tmp_path, bus_max_events=1000)
    storage = Storage(tmp_path / "calls.sqlite3", tmp_path / "recordings")
    buses = [RedisBus(settings, storage) for _ in range(3)]
    await buses[0].redis.flushdb()
    for bus in buses:
        await bus.connect()
    yield buses
    for bus in buses:
        await bus.close()
    storage.close()


async def closed(call_log: EventLog) -> list[str]:
    """The log's wire texts once its ``call_ended`` has come back from the bus."""
    await asyncio.wait_for(call_log.wait_closed(), 20)
    return [call_log.wire(seq) for seq in range(1, len(call_log) + 1)]


async def test_seq_is_contiguous_and_the_same_on_every_node_with_appenders_on_all(
    nodes: list[RedisBus],
) -> None:
    a, b, c = nodes
    origin = a.origin_log("c1")
    assert isinstance(origin, BusLog)
    on_b, on_c = b.mirror("c1"), c.mirror("c1")
    pipeline: list[Event] = [STARTED, *(line(n) for n in range(300))]

    async def produce() -> None:
        for n, event in enumerate(pipeline):
            origin.append(event)
            if n % 7 == 0:
                await asyncio.sleep(0)  # the pipeline's events come in bursts, between the notes

    async def notes(bus: RedisBus, name: str, mirror: BusLog) -> list[int]:
        return [await bus.annotate(mirror, note(name, n)) for n in range(40)]

    _, seqs_a, seqs_b, seqs_c = await asyncio.gather(
        produce(), notes(a, "a", origin), notes(b, "b", on_b), notes(c, "c", on_c)
    )
    origin.append(CallEnded(30.0, "completed"))
    origin.close()
    wires = await closed(origin)
    assert await closed(on_b) == wires and await closed(on_c) == wires  # one order, byte for byte
    messages = [json.loads(w) for w in wires]
    assert [m["seq"] for m in messages] == list(range(1, 300 + 1 + 120 + 1 + 1))
    assert all(m["call"] == "c1" for m in messages)
    texts = [m["text"] for m in messages if m["type"] == "transcript"]
    assert texts == [f"line {n}" for n in range(300)]  # the pipeline's order is kept
    noted = [m["id"] for m in messages if m["type"] == "note"]
    assert sorted(noted) == sorted(f"note-{x}-{n}" for x in "abc" for n in range(40))  # each once
    for name, seqs in (("a", seqs_a), ("b", seqs_b), ("c", seqs_c)):  # annotate's seq is the note's
        assert [messages[s - 1]["id"] for s in seqs] == [f"note-{name}-{n}" for n in range(40)]
    assert messages[-1]["type"] == "call_ended"


async def test_a_node_that_joins_late_or_from_a_cursor_reads_each_event_once(nodes: list[RedisBus]) -> None:
    a, b, c = nodes
    origin = a.origin_log("c1")
    events: list[Event] = [STARTED, *(line(n) for n in range(20))]
    for event in events:
        origin.append(event)
    await asyncio.wait_for(origin.wait_longer(20), 10)
    late = b.mirror("c1")  # a node that learns of the call now reads it from its first event
    await asyncio.wait_for(late.wait_longer(20), 10)
    partial = BusLog("c1")  # a node that had read 12 events before it lost the bus
    partial.receive_entries(cast(Any, await c.redis.xrange("callcoach:{c1}:log", count=12)))
    assert len(partial) == 12
    follower = asyncio.create_task(c.streams.follow(partial))
    origin.append(CallEnded(3.0, "completed"))
    origin.close()
    wires = await closed(origin)
    assert await closed(late) == wires
    assert await closed(partial) == wires  # from its cursor on: nothing missed, nothing twice
    follower.cancel()


async def test_a_batch_sent_again_is_not_added_twice(nodes: list[RedisBus]) -> None:
    """The pipeline's sender retries a batch whose reply it lost: the bus skips what it already has."""
    bus = nodes[0]
    assert await bus.append("c1", [STARTED, line(1)], first=1) == 2
    assert await bus.append("c1", [STARTED, line(1), line(2)], first=1) == 3  # only line 2 is new
    assert await bus.redis.xlen("callcoach:{c1}:log") == 3


async def test_the_stream_is_capped_and_expires_once_the_call_is_stored(nodes: list[RedisBus]) -> None:
    bus = nodes[0]
    for start in range(0, 3000, 500):
        await bus.append("c1", [line(n) for n in range(start, start + 500)], first=start + 1)
    length = await bus.redis.xlen("callcoach:{c1}:log")
    assert 1000 <= length < 1200  # trimmed to about bus_max_events (Redis trims whole nodes of 100)
    info = CallInfo("c1", "c1", "twilio", STARTED.started_at, None, live=True, status="live")
    bus.start(_NoDirectory())  # the node's publisher writes its live calls to the shared list
    bus.publish(info)
    async with asyncio.timeout(10):
        while True:
            if await bus.redis.hexists(LIVE, "c1"):
                break
            await asyncio.sleep(0.05)
    assert await bus.redis.ttl("callcoach:{c1}:log") == -1  # kept while the call goes on
    await bus.stored("c1")
    assert not await bus.redis.hexists(LIVE, "c1")
    for key in ("callcoach:{c1}:log", "callcoach:{c1}:n", "callcoach:{c1}:sent"):
        assert 0 < await bus.redis.ttl(key) <= 3600


async def test_a_call_that_redis_loses_goes_on_whole_on_its_node(nodes: list[RedisBus]) -> None:
    """Redis restarted mid-call with nothing on disk: the call's node logs what the bus did not give
    back and the rest of the call itself, and its log closes, so the call is stored whole."""
    bus = nodes[0]
    streams = CallStreams(bus.redis, 1000, asyncio.create_task, lost_after_s=1.0)
    origin = streams.origin_log("c1")
    origin.append(STARTED)
    origin.append(line(1))
    await asyncio.wait_for(origin.wait_longer(1), 10)
    await bus.redis.flushdb()  # what a restarted Redis without persistence has of the call: nothing
    for event in (line(2), line(3), CallEnded(3.0, "completed")):
        origin.append(event)
    origin.close()
    wires = await closed(origin)
    messages = [json.loads(w) for w in wires]
    assert [m["seq"] for m in messages] == [1, 2, 3, 4, 5]
    assert [m.get("text") for m in messages] == [None, "line 1", "line 2", "line 3", None]
    assert not origin.on_bus
    assert origin.annotate(note("a", 1)) == 6  # a note now joins its node's copy (and storage) only


async def test_another_nodes_copy_of_a_call_redis_lost_closes_where_it_got(nodes: list[RedisBus]) -> None:
    a, b = nodes[0], nodes[1]
    listing = _Listing()
    a.start(_NoDirectory())
    b.start(listing)
    origin = a.origin_log("c1")
    a.publish(CallInfo("c1", "c1", "twilio", STARTED.started_at, None, live=True, status="live"))
    origin.append(STARTED)
    async with asyncio.timeout(10):  # B lists it within a look or two, and reads its first event
        await listing.added.wait()
        await listing.log.wait_longer(0)
    await a.redis.flushdb()  # Redis restarted with nothing on disk: the list and the stream are gone
    await asyncio.wait_for(listing.log.wait_closed(), 10)
    assert len(listing.log) == 1 and not listing.log.on_bus


class _Listing:
    def __init__(self) -> None:
        self.added = asyncio.Event()
        self.log = BusLog("")

    def add_remote(self, info: CallInfo, call_log: BusLog) -> None:
        self.log = call_log
        self.added.set()

    def update_remote(self, info: CallInfo) -> None:
        pass

    def annotate_here(self, call_id: str, event: Note | Pin) -> int | None:
        return None


class _NoDirectory:
    def add_remote(self, info: CallInfo, call_log: BusLog) -> None:
        pass

    def update_remote(self, info: CallInfo) -> None:
        pass

    def annotate_here(self, call_id: str, event: Note | Pin) -> int | None:
        return None


async def test_a_note_or_session_change_that_cannot_reach_redis_is_refused_with_its_code(
    tmp_path: Path,
) -> None:
    settings = Settings(bus=f"redis://127.0.0.1:{free_port()}/0", data_dir=tmp_path)  # nothing listens
    storage = Storage(tmp_path / "calls.sqlite3", tmp_path / "recordings")
    bus = RedisBus(settings, storage)
    try:
        with pytest.raises(CallcoachError) as refused:
            await bus.annotate(BusLog("c1"), note("a", 1))
        assert refused.value.code == "bus_unreachable" and "try again in a moment" in refused.value.message
        with pytest.raises(CallcoachError, match="could not be shared with the other servers"):
            await bus.send_room({"op": "leave", "member": "x#1"})
    finally:
        await bus.close()
        storage.close()
