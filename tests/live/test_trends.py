"""Trends over hand-built stored calls: moments per kind per week, each alert once in its latest
revision, only finished calls of the period, and the two findings with their floor."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Literal

from callcoach.live.events import Alert, CallInfo, Event, Polarity
from callcoach.live.trends import CallEvents, floor, trends, week_of
from callcoach.web.agent_view import trends_json

TODAY = date(2026, 12, 2)  # a Wednesday: its week is Monday 30 November
Status = Literal["analysing", "ready", "live", "error", "dropped"]


def alert(alert_id: str, kind: str, polarity: Polarity, revision: int = 0) -> Alert:
    return Alert(alert_id, revision, kind, polarity, "agent", 1.0, 2.0, 2.0, "t", "q", "w", "s")


def cold(n: int) -> Alert:
    return alert(f"cold-{n}", "cold_reply_to_bad_news", "coach")


def empathy(n: int) -> Alert:
    return alert(f"empathy-{n}", "empathy_shown", "praise")


def call(call_id: str, started_at: str, *events: Event, status: Status = "ready") -> CallEvents:
    info = CallInfo(call_id, call_id, "twilio", started_at, 30.0, False, status, agent="bo", team="north")
    return info, tuple(events)


def test_weeks_run_monday_to_sunday_oldest_first() -> None:
    assert week_of(TODAY) == date(2026, 11, 30)
    assert week_of(date(2026, 11, 29)) == date(2026, 11, 23)  # a Sunday belongs to the week before
    found = trends([], TODAY, weeks=3)
    assert found.weeks == ("2026-11-16", "2026-11-23", "2026-11-30")
    assert (found.calls, found.calls_per_week, found.kinds) == (0, (0, 0, 0), ())


def test_moments_are_counted_per_kind_per_week_each_alert_once() -> None:
    silence_raised = alert("s-1", "silence", "coach", revision=0)
    silence_revised = alert("s-1", "silence", "coach", revision=1)  # the same silence, its full length
    calls = [
        call("a", "2026-11-17T10:00:00Z", cold(1), cold(2), empathy(1)),
        call("b", "2026-11-24T09:00:00+01:00", silence_raised, silence_revised),
        call("c", "2026-12-01T10:00:00Z", cold(1)),
    ]
    found = trends(calls, TODAY, weeks=3)
    assert found.calls_per_week == (1, 1, 1)
    by_kind = {k.kind: (k.polarity, k.per_week, k.moments, k.calls) for k in found.kinds}
    assert by_kind == {
        "cold_reply_to_bad_news": ("coach", (2, 0, 1), 3, 2),
        "silence": ("coach", (0, 1, 0), 1, 1),
        "empathy_shown": ("praise", (1, 0, 0), 1, 1),
    }
    assert [k.kind for k in found.kinds] == ["cold_reply_to_bad_news", "silence", "empathy_shown"]
    assert found.kinds[0].label == "Cold reply"


def test_only_finished_calls_of_the_period_count() -> None:
    calls = [
        call("old", "2026-10-01T10:00:00Z", cold(1)),  # before the period
        call("live", "2026-12-01T10:00:00Z", cold(1), status="live"),
        call("busy", "2026-12-01T11:00:00Z", cold(1), status="analysing"),
        call("failed", "2026-12-01T12:00:00Z", status="error"),
        call("unknown-start", "", cold(1)),
        call("dropped", "2026-12-01T13:00:00Z", cold(1), status="dropped"),
    ]
    found = trends(calls, TODAY)
    assert found.calls == 1 and found.kinds[0].per_week[-1] == 1


def test_the_recurring_opportunity_and_the_steady_strength_are_named() -> None:
    calls = [call(f"c{i}", f"2026-11-{20 + i}T10:00:00Z", cold(i), empathy(i)) for i in range(4)]
    calls += [call("c4", "2026-11-25T10:00:00Z", empathy(9)), call("c5", "2026-11-26T10:00:00Z")]
    found = trends(calls, TODAY)
    assert (found.recurring.kind, found.recurring.calls, found.recurring.of_calls) == (
        "cold_reply_to_bad_news",
        4,
        6,
    )
    assert found.recurring.said == "Recurring: Cold reply (4 of 6 calls)"
    assert found.steady.said == "Steady strength: Empathy (5 of 6 calls)"


def test_findings_need_two_calls_and_a_quarter_of_them() -> None:
    assert [floor(n) for n in (0, 1, 4, 8, 9, 40)] == [2, 2, 2, 2, 3, 10]
    one_bad_day = [
        call("a", "2026-12-01T10:00:00Z", cold(1), cold(2), cold(3)),
        call("b", "2026-12-01T11:00Z"),
    ]
    found = trends(one_bad_day, TODAY)
    assert found.recurring.kind is None and found.recurring.calls == 1  # three moments, but one call
    assert found.recurring.said == (
        "No recurring opportunity yet: too few calls to tell (a kind must be on 2 of 2 calls;"
        " the most was Cold reply, on 1)."
    )
    assert found.steady.said == "No steady strength: no praise moments on 2 calls."
    many = [call(f"c{i}", f"2026-11-{10 + i}T10:00:00Z") for i in range(9)]
    many[0] = call("c0", "2026-11-10T10:00:00Z", cold(1))
    many[1] = call("c1", "2026-11-11T10:00:00Z", cold(2))
    assert trends(many, TODAY).recurring.kind is None  # 2 of 9 calls is under a quarter
    assert trends([], TODAY).steady.said == "No steady strength: no finished calls in the period."


def test_ties_go_to_the_kind_that_matters_most() -> None:
    interruption = alert("i", "interruption", "coach")
    calls = [call(f"c{i}", f"2026-12-01T1{i}:00:00Z", cold(i), interruption) for i in range(2)]
    assert trends(calls, TODAY).recurring.kind == "cold_reply_to_bad_news"


def test_the_protocol_docs_example_has_the_trends_fields() -> None:
    """docs/protocol.md shows trends (HTTP, not a message of the wire): its fields are the builder's."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()
    [block] = re.findall(r"```text\n *(\{\"weeks\".*?)\n *```", doc, flags=re.S)
    example = json.loads(block)
    found = trends_json(trends([call("a", "2026-12-01T10:00:00Z", cold(1))], TODAY))
    assert example.keys() == found.keys()
    assert example["kinds"][0].keys() == found["kinds"][0].keys()
    assert example["recurring"].keys() == found["recurring"].keys() == example["steady"].keys()
