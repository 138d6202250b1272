"""The follow-up of a commitment: which calls count, how each is tallied, and held or slipped."""

from __future__ import annotations

from callcoach.live.coaching import Commitment
from callcoach.live.events import Alert, CallInfo, Event, Polarity
from callcoach.live.follow_up import CallTally, follow_up, is_later, judge, tally

MADE = Commitment(
    "c-1",
    "bo",
    "call-0",
    "cold_reply_to_bad_news",
    "acknowledge bad news first",
    "2026-12-02",
    "di",
    "2026-12-01T15:00:00+00:00",
    "2026-12-01T15:05:00+00:00",
)


def call(call_id: str, started_at: str) -> CallInfo:
    return CallInfo(call_id, f"Call {call_id}", "twilio", started_at, 30.0, False, "ready", agent="bo")


def alert(alert_id: str, kind: str, polarity: Polarity, revision: int = 0) -> Alert:
    return Alert(
        alert_id,
        revision,
        kind,
        polarity,
        "agent",
        1.0,
        2.0,
        2.0,
        "t",
        "q",
        "w",
        "s",
    )


def tallied(call_id: str, coach: int, praise: int = 0) -> CallTally:
    return CallTally(call_id, "", f"2026-12-0{2 + int(call_id[-1])}T10:00:00Z", coach, praise)


def test_held_after_the_next_n_calls_without_a_slip() -> None:
    assert judge([], 3) == ("following", None)
    assert judge([tallied("c1", 0, 1), tallied("c2", 0)], 3) == ("following", None)
    assert judge([tallied("c1", 0, 1), tallied("c2", 0), tallied("c3", 0, 2)], 3) == ("held", None)


def test_one_coach_moment_of_the_kind_is_a_slip_even_after_it_held() -> None:
    assert judge([tallied("c1", 1)], 3) == ("slipped", "c1")
    calls = [tallied("c1", 0), tallied("c2", 0), tallied("c3", 0), tallied("c4", 2, 1)]
    assert judge(calls, 3) == ("slipped", "c4")


def test_tally_counts_each_moment_once_whatever_its_revisions() -> None:
    events: list[Event] = [
        alert("cold-1", "cold_reply_to_bad_news", "coach"),
        alert("cold-1", "cold_reply_to_bad_news", "coach", revision=1),
        alert("warm-1", "empathy_shown", "praise"),
        alert("warm-2", "empathy_shown", "praise"),
        alert("sil-1", "silence", "coach"),  # another kind: not this commitment's
    ]
    assert tally(call("c1", "2026-12-03T10:00:00Z"), events, "cold_reply_to_bad_news") == CallTally(
        "c1", "Call c1", "2026-12-03T10:00:00Z", 1, 2
    )
    assert tally(call("c1", "x"), events, "silence").praise == 0  # a kind without a praise twin


def test_later_calls_start_after_the_commitment_on_or_after_its_date() -> None:
    assert is_later(call("c1", "2026-12-02T08:00:00Z"), MADE)
    assert is_later(call("c1", "2026-12-02T08:00:00+01:00"), MADE)  # offsets are read as such
    assert not is_later(call("c1", "2026-12-01T16:00:00Z"), MADE)  # after it was made, before its date
    assert not is_later(call("call-0", "2026-12-05T08:00:00Z"), MADE)  # the call it came from
    assert not is_later(call("c1", ""), MADE)


def test_follow_up_orders_the_calls_and_names_the_twin() -> None:
    up = follow_up(MADE, [tallied("c3", 0), tallied("c1", 0, 1), tallied("c2", 1)], 3)
    assert [c.call_id for c in up.calls] == ["c1", "c2", "c3"]
    assert (up.status, up.slipped_on, up.twin, up.needed) == ("slipped", "c2", "empathy_shown", 3)
