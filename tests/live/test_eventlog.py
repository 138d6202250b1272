"""The event log: numbered appends, readers with their own cursors, late joiners, closing."""

from __future__ import annotations

import asyncio
import json

import pytest

from callcoach.live.eventlog import EventLog, final_transcripts, latest_alerts
from callcoach.live.events import Alert, Event, Speech, Transcript


def _alert(revision: int, end_s: float | None) -> Alert:
    return Alert("silence-1", revision, "silence", "coach", None, 1.0, end_s, 6.0, "t", "", "w", "s")


async def test_readers_follow_from_their_own_cursor() -> None:
    log = EventLog("c1")
    seen: list[int] = []

    async def reader() -> None:
        async for seq, _event in log.follow():
            seen.append(seq)

    task = asyncio.create_task(reader())
    assert log.append(Speech("agent", 0.0)) == 1
    await asyncio.sleep(0)
    log.append(Speech("agent", 0.0, 1.0))
    log.close()
    await asyncio.wait_for(task, 1)
    assert seen == [1, 2]
    late = [seq async for seq, _ in log.follow(after_seq=1)]
    assert late == [2]


async def test_a_reader_that_never_reads_costs_the_writer_nothing() -> None:
    log = EventLog("c1")
    stalled = log.follow()
    for i in range(10_000):
        log.append(Speech("agent", float(i)))
    log.close()
    assert len(log) == 10_000
    first = await anext(stalled)
    assert first[0] == 1


def test_latest_alerts_keep_the_newest_revision_in_first_seen_order() -> None:
    events: list[Event] = [_alert(0, None), Speech("agent", 7.0), _alert(1, 7.0)]
    assert latest_alerts(events) == [_alert(1, 7.0)]


def test_final_transcripts_sorted_by_time() -> None:
    b = Transcript("agent", "b", 5.0, 6.0, True)
    a = Transcript("customer", "a", 1.0, 2.0, True)
    partial = Transcript("agent", "x", 0.0, 1.0, False)
    assert final_transcripts([b, partial, a]) == [a, b]


def _log_of_three() -> EventLog:
    log = EventLog("c1")
    for i in range(3):
        log.append(Speech("agent", float(i)))
    return log


@pytest.mark.parametrize("seq", [0, -1, -3, 4])
def test_wire_refuses_a_seq_outside_the_log(seq: int) -> None:
    log = _log_of_three()
    with pytest.raises(IndexError, match=f"seq {seq} is not in the log of call c1"):
        log.wire(seq)
    # Nothing was cached under a wrong number: every reader still gets each event with its own seq.
    assert [json.loads(log.wire(s))["seq"] for s in (1, 2, 3)] == [1, 2, 3]


@pytest.mark.parametrize("after_seq", [-1, -3, 1.5])
async def test_follow_refuses_a_cursor_that_is_not_a_seq(after_seq: int) -> None:
    log = _log_of_three()
    log.close()
    with pytest.raises(ValueError, match="a log cursor must be a whole number from 0"):
        [seq async for seq, _ in log.follow(after_seq)]
    assert [seq async for seq, _ in log.follow(0)] == [1, 2, 3]
