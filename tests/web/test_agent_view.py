"""What an agent's page shows, built from calls and kept records: which calls a commitment follows, and
what the lead is told when the behaviour holds or slips."""

from __future__ import annotations

from typing import Literal

from callcoach.live.accounts import User
from callcoach.live.coaching import Commitment, SelfAssessment
from callcoach.live.coaching_store import AgentRecords
from callcoach.live.events import CallInfo, Event
from callcoach.web.agent_view import CallEvents, agent_page, follow_ups_of, notices
from tests.helpers.coaching import moment

BO = User(1, "bo", "Bo Berg", "agent", ("north",))
DI = User(2, "di", "Di", "lead", ("north",))
MADE = Commitment(
    "c-1",
    "bo",
    "bo-0",
    "cold_reply_to_bad_news",
    "acknowledge bad news first",
    "2026-12-01",
    "di",
    "2026-12-01T09:00:00+00:00",
    "2026-12-01T09:05:00+00:00",
)


Status = Literal["analysing", "ready", "live", "error", "dropped"]


def call(call_id: str, started_at: str, *events: Event, status: Status = "ready") -> CallEvents:
    info = CallInfo(
        call_id, f"Call {call_id}", "twilio", started_at, 30.0, False, status, agent="bo", team="north"
    )
    return info, tuple(events)


def records(*commitments: Commitment) -> AgentRecords:
    seen = SelfAssessment("bo-0", "bo", "calm", "sorry first", "2026-12-01T08:00:00+00:00")
    return AgentRecords(frozenset({"bo-0"}), {"bo-0": seen}, commitments)


def test_a_slip_is_told_with_the_call_it_slipped_on() -> None:
    calls = [
        call("bo-0", "2026-11-30T10:00:00Z", moment(1, "cold_reply_to_bad_news", "coach")),  # its own call
        call("bo-1", "2026-12-01T10:00:00Z", moment(1, "empathy_shown", "praise")),
        call("bo-2", "2026-12-02T10:00:00Z", moment(1, "cold_reply_to_bad_news", "coach")),
        call("bo-3", "2026-12-03T10:00:00Z", status="live"),  # not judged until it ends
    ]
    ups = follow_ups_of(calls, records(MADE), 3)
    assert [(c.call_id, c.coach, c.praise) for c in ups["c-1"].calls] == [("bo-1", 0, 1), ("bo-2", 1, 0)]
    [told] = notices(BO, [MADE], ups)
    assert told["status"] == "slipped"
    assert (
        told["message"]
        == "Bo Berg: \u201cacknowledge bad news first\u201d slipped on Call bo-2 (1 coach moment)"
    )


def test_nothing_is_told_while_following_nor_of_a_commitment_not_accepted() -> None:
    calls = [call("bo-1", "2026-12-01T10:00:00Z")]
    proposed = Commitment(**{**MADE.__dict__, "id": "c-2", "accepted_at": None})
    ups = follow_ups_of(calls, records(MADE, proposed), 3)
    assert set(ups) == {"c-1"} and ups["c-1"].status == "following"
    assert notices(BO, [MADE, proposed], ups) == []


def test_the_page_says_who_may_open_each_sheet() -> None:
    calls = [call("bo-0", "2026-11-30T10:00:00Z"), call("bo-1", "2026-12-01T10:00:00Z")]
    mine = agent_page(BO, BO, calls, records(MADE), 3)
    assert {c["call_id"]: c["may_see_sheet"] for c in mine["calls"]} == {"bo-0": True, "bo-1": False}
    coach = agent_page(DI, BO, calls, records(MADE), 3)
    assert all(c["may_see_sheet"] for c in coach["calls"])
    [commitment] = coach["commitments"]
    assert (commitment["label"], commitment["twin"], commitment["twin_label"]) == (
        "Cold reply",
        "empathy_shown",
        "Empathy",
    )
