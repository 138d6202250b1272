"""The replay gate releases a recording's events as the player reaches them, never from the future."""

from __future__ import annotations

import pytest

from callcoach.live.events import Alert, CallStarted, Event, Note, Pin, Speech, Transcript
from callcoach.web.replay import ReplayGate

SILENCE = Alert("silence-1", 0, "silence", "coach", None, 16.0, None, 21.0, "Silence", "", "why", "try")
EVENTS: list[Event] = [
    CallStarted("c1", "file", "", ("agent", "customer")),
    Speech("agent", 0.5),
    Transcript("agent", "hello", 0.5, 2.0, True),
    Speech("agent", 0.5, 2.0),
    SILENCE,
    Speech("agent", 21.5),
]


def released(gate: ReplayGate, now: float) -> list[int]:
    return [seq for seq, _ in gate.release(EVENTS, now)]


def test_nothing_beyond_the_player_plus_lead() -> None:
    gate = ReplayGate(lead_s=1.0)
    gate.report(0.0, playing=False, now=100.0)
    assert released(gate, 100.0) == [1, 2]  # call start, and speech starting at 0.5
    assert released(gate, 500.0) == []  # paused: the clock running does not move the player


def test_playing_extrapolates_between_reports() -> None:
    gate = ReplayGate(lead_s=1.0)
    gate.report(0.0, playing=True, now=100.0)
    assert released(gate, 100.0) == [1, 2]
    assert released(gate, 101.0) == [3, 4]  # horizon 2.0
    assert gate.wait_s(EVENTS, 101.0) == 19.0  # the silence alert (21.0) is due when horizon reaches it
    assert released(gate, 119.9) == []
    assert released(gate, 120.0) == [5]


def test_seek_forward_releases_everything_before_the_point_and_back_releases_nothing() -> None:
    gate = ReplayGate(lead_s=0.5)
    gate.report(25.0, playing=False, now=0.0)
    assert released(gate, 0.0) == [1, 2, 3, 4, 5, 6]
    gate.report(1.0, playing=True, now=1.0)
    assert released(gate, 2.0) == []


def test_wait_is_none_when_paused_or_drained() -> None:
    gate = ReplayGate()
    gate.report(0.0, playing=False, now=0.0)
    assert gate.wait_s(EVENTS, 0.0) is None
    gate.report(100.0, playing=True, now=0.0)
    gate.release(EVENTS, 0.0)
    assert gate.wait_s(EVENTS, 0.0) is None


def test_a_note_added_after_the_call_is_released_at_its_moment_not_held_behind_later_events() -> None:
    note = Note("note-1", 1.0, "coach", "too slow", "bo", "Bo")
    events = [*EVENTS, note]  # logged after the call ended, about a moment near its start
    gate = ReplayGate(lead_s=0.5)
    gate.report(0.0, playing=False, now=0.0)
    assert [seq for seq, _ in gate.release(events, 0.0)] == [1, 2]  # the call's start, speech at 0.5
    gate.report(0.6, playing=True, now=0.0)
    assert [seq for seq, _ in gate.release(events, 0.0)] == [7]  # the note at 1.0, before the line at 2.0
    assert round(gate.wait_s(events, 0.0) or 0, 6) == 0.9  # the transcript line ending at 2.0
    gate.report(30.0, playing=False, now=1.0)
    assert [seq for seq, _ in gate.release(events, 1.0)] == [3, 4, 5, 6]


def test_a_held_note_is_due_before_the_cursor_event_when_earlier() -> None:
    late_pin = Pin("silence-1", True, 3.0, "ana")
    events = [*EVENTS[:2], Transcript("agent", "long line", 0.5, 10.0, True), late_pin]
    gate = ReplayGate(lead_s=0.0)
    gate.report(0.5, playing=True, now=0.0)
    assert [seq for seq, _ in gate.release(events, 0.0)] == [1, 2]
    assert gate.wait_s(events, 0.0) == 2.5  # the transcript (10.0) blocks the cursor; the pin (3.0) is held
    assert [seq for seq, _ in gate.release(events, 2.5)] == [4]


def test_a_player_that_seeks_and_one_that_plays_get_the_same_order() -> None:
    events = [
        *EVENTS,
        Note("note-1", 10.0, "praise", "nice", "bo", "Bo"),
        Pin("silence-1", True, 21.0, "ana"),
    ]
    playing, seeking = ReplayGate(lead_s=0.0), ReplayGate(lead_s=0.0)
    playing.report(0.0, playing=True, now=0.0)
    seeking.report(30.0, playing=False, now=0.0)
    order = [seq for now in (0.0, 2.0, 10.0, 21.0, 30.0) for seq, _ in playing.release(events, now)]
    assert order == [seq for seq, _ in seeking.release(events, 0.0)] == [1, 2, 3, 4, 7, 5, 8, 6]


@pytest.mark.parametrize("after_seq", [-1, -3, 1.5, True])
def test_a_cursor_that_is_not_a_seq_is_refused(after_seq: int) -> None:
    with pytest.raises(ValueError, match="a log cursor must be a whole number from 0"):
        ReplayGate(after_seq=after_seq)
    gate = ReplayGate()
    with pytest.raises(ValueError, match="a log cursor"):
        gate.cursor = after_seq
    assert gate.cursor == 0


def test_after_seq_resumes_after_it_with_the_log_s_own_numbers() -> None:
    gate = ReplayGate(lead_s=0.0, after_seq=3)
    gate.report(1e6, playing=False, now=0.0)
    assert released(gate, 0.0) == [4, 5, 6]
