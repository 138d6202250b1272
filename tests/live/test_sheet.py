"""The coaching sheet's builder on hand-built calls: strengths first, at most three opportunities ranked by
severity then pins then time, alerts in their final revision and once each, notes and pins, the balance,
and the agent's records of this call only."""

from __future__ import annotations

import json
import re
from pathlib import Path

from callcoach.detectors.registry import KINDS
from callcoach.live.coaching import Commitment, SelfAssessment
from callcoach.live.events import (
    Alert,
    CallEnded,
    CallInfo,
    CallStarted,
    Event,
    Note,
    Pin,
    Polarity,
    Quote,
    Speech,
    Transcript,
)
from callcoach.live.sheet import MAX_OPPORTUNITIES, SEVERITY, UNKNOWN_SEVERITY, build_sheet, severity


def alert(
    alert_id: str,
    kind: str,
    start_s: float,
    *,
    polarity: Polarity = "coach",
    revision: int = 0,
    end_s: float | None = None,
    quote: str = "",
) -> Alert:
    return Alert(
        id=alert_id,
        revision=revision,
        kind=kind,
        polarity=polarity,
        speaker="agent",
        start_s=start_s,
        end_s=end_s,
        detected_s=start_s + 1,
        title=f"{kind} at {start_s}",
        quote=quote or f"said at {start_s}",
        why=f"why {alert_id}",
        suggestion=f"try {alert_id}",
    )


def note(note_id: str, at_s: float, tag: Polarity, text: str = "") -> Note:
    return Note(note_id, at_s, tag, text or f"note {note_id}", "ana", "Ana Lead")


def call(*events: Event, agent: str = "sam") -> list[Event]:
    started = CallStarted(
        "c1", "twilio", "2026-11-30T10:00:00+00:00", ("agent", "customer"), "Line 1", None, agent
    )
    return [started, Transcript("customer", "my uncle passed away", 0.5, 2.0, True), *events, CallEnded(60.0)]


def test_every_coach_kind_the_registry_knows_has_a_severity() -> None:
    coach_kinds = {name for name, kind in KINDS.items() if kind.polarity == "coach"}
    assert coach_kinds - SEVERITY.keys() == set(), "rank the new kind in SEVERITY (live/sheet.py)"
    assert SEVERITY.keys() <= KINDS.keys()  # no rank for a kind nothing raises (a renamed kind)
    assert len(set(SEVERITY.values())) == len(SEVERITY)  # a strict order: no two kinds tie
    assert severity("cold_reply_to_bad_news") < severity("silence")
    assert severity("a_kind_from_an_older_server") == UNKNOWN_SEVERITY > max(SEVERITY.values())
    [old] = build_sheet("c1", call(alert("x1", "a_kind_from_an_older_server", 9.0))).opportunities
    assert old.label == "A kind from an older server"  # still readable, ranked last


def test_strengths_first_then_at_most_three_opportunities_by_severity_then_time() -> None:
    sheet = build_sheet(
        "c1",
        call(
            alert("s1", "silence", 3.0),
            alert("p1", "empathy_shown", 9.0, polarity="praise"),
            alert("m1", "monologue", 20.0),
            alert("b1", "cold_reply_to_bad_news", 30.0),
            alert("s2", "silence", 1.0),
            alert("r1", "rule", 40.0),
            alert("p2", "ownership", 5.0, polarity="praise"),
        ),
    )
    assert [s.id for s in sheet.strengths] == ["p2", "p1"]  # by time
    assert [o.id for o in sheet.opportunities] == ["b1", "r1", "m1"]
    assert len(sheet.opportunities) == MAX_OPPORTUNITIES
    assert [m.id for m in sheet.more] == ["s2", "s1"]  # the rest in the same order, earlier silence first
    first = sheet.opportunities[0]
    assert (first.quote, first.start_s, first.why, first.suggestion) == (
        "said at 30.0",
        30.0,
        "why b1",
        "try b1",
    )
    assert (sheet.praise_count, sheet.coach_count) == (2, 5)
    assert [o.label for o in sheet.opportunities] == [
        "Cold reply",
        "Team rule",
        "Monologue",
    ]  # the registry's
    assert (sheet.title, sheet.agent, sheet.duration_s) == ("Line 1", "sam", 60.0)


def test_a_pin_ranks_a_moment_above_others_of_its_kind_but_not_above_a_more_severe_kind() -> None:
    events = call(
        alert("s1", "silence", 3.0),
        alert("s2", "silence", 8.0),
        alert("i1", "interruption", 50.0),
        Pin("s2", True, 8.0, "ana"),
    )
    assert [o.id for o in build_sheet("c1", events).opportunities] == ["i1", "s2", "s1"]
    assert [o.pinned for o in build_sheet("c1", events).opportunities] == [False, True, False]
    unpinned = [*events, Pin("s2", False, 8.0, "ana")]  # the latest pin says: unpinned again
    assert [o.id for o in build_sheet("c1", unpinned).opportunities] == ["i1", "s1", "s2"]


def test_each_alert_once_in_its_latest_revision() -> None:
    sheet = build_sheet(
        "c1",
        call(
            alert("s1", "silence", 3.0, end_s=None),
            Speech("agent", 8.0),
            alert("s1", "silence", 3.0, revision=1, end_s=9.5, quote="9.5 s of silence"),
            alert("p1", "empathy_shown", 12.0, polarity="praise"),
            alert("p1", "empathy_shown", 12.0, polarity="praise", revision=1, quote="so sorry to hear that"),
        ),
    )
    assert [(o.id, o.end_s, o.quote) for o in sheet.opportunities] == [("s1", 9.5, "9.5 s of silence")]
    assert [(s.id, s.quote) for s in sheet.strengths] == [("p1", "so sorry to hear that")]
    assert (sheet.praise_count, sheet.coach_count) == (1, 1)


def test_notes_and_pins_and_praise_notes_among_the_strengths() -> None:
    quoted = Note(
        "n2", 14.0, "praise", "lovely warmth", "bo", "Bo", Quote("agent", "I'm so sorry", 13.0, 14.0)
    )
    sheet = build_sheet(
        "c1",
        call(
            alert("p1", "empathy_shown", 20.0, polarity="praise"),
            note("n1", 4.0, "coach", "ask before you explain"),
            quoted,
            Pin("n1", True, 4.0, "ana"),
            note("n1", 4.0, "coach", "ask before you explain"),  # a note read twice counts once
        ),
    )
    assert [(n.id, n.tag, n.pinned) for n in sheet.notes] == [("n1", "coach", True), ("n2", "praise", False)]
    assert [(s.source, s.id) for s in sheet.strengths] == [("note", "n2"), ("alert", "p1")]
    assert sheet.opportunities == ()  # a coach's note is in the notes, not ranked among the moments
    assert (sheet.praise_count, sheet.coach_count) == (2, 1)


def test_the_agents_records_of_this_call_only() -> None:
    own = SelfAssessment("c1", "sam", "I stayed calm", "say sorry first", "2026-11-30T11:00:00Z")
    other = SelfAssessment("c2", "sam", "fine", "nothing", "2026-11-30T11:00:00Z")
    commitment = Commitment(
        "k1", "sam", "c1", "cold_reply_to_bad_news", "acknowledge bad news before business",
        "2026-12-01", "ana", "2026-11-30T11:05:00Z",
    )  # fmt: skip
    elsewhere = Commitment("k2", "sam", "c2", "silence", "answer within a beat", "2026-12-01", "ana", "x")
    sheet = build_sheet("c1", call(), self_assessment=own, commitments=[commitment, elsewhere])
    assert sheet.self_assessment == own and sheet.commitments == (commitment,)
    assert build_sheet("c1", call(), self_assessment=other).self_assessment is None


def test_json_has_the_issues_fields_and_survives_a_round_trip_through_text() -> None:
    own = SelfAssessment("c1", "sam", "I stayed calm", "say sorry first", "2026-11-30T11:00:00Z")
    sheet = build_sheet("c1", call(alert("b1", "cold_reply_to_bad_news", 30.0)), self_assessment=own)
    data = json.loads(json.dumps(sheet.to_json()))
    for field in ("call_id", "strengths", "opportunities", "notes", "praise_count", "coach_count"):
        assert field in data
    assert data["self_assessment"]["went_well"] == "I stayed calm" and data["commitments"] == []
    assert {"quote", "start_s", "why", "suggestion", "kind", "title"} <= data["opportunities"][0].keys()


def test_the_call_lists_line_names_the_call_when_given() -> None:
    info = CallInfo("c1", "Line 7, Sam", "twilio", "", 61.5, False, "ready", agent="sam.k")
    sheet = build_sheet("c1", call(agent=""), info=info)
    assert (sheet.title, sheet.agent, sheet.duration_s) == ("Line 7, Sam", "sam.k", 61.5)


def test_an_empty_call_has_an_empty_sheet() -> None:
    sheet = build_sheet("c1", [])
    assert (sheet.strengths, sheet.opportunities, sheet.more, sheet.notes) == ((), (), (), ())
    assert (sheet.title, sheet.duration_s, sheet.self_assessment) == ("", None, None)


def test_the_protocol_docs_example_has_the_sheets_fields() -> None:
    """docs/protocol.md shows a sheet (not a message of the wire, so not in a ```json block): its fields
    are the builder's, at every level."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()
    [block] = re.findall(r"```text\n *(\{\"call_id\".*?)\n *```", doc, flags=re.S)
    example = json.loads(block)
    own = SelfAssessment("c1", "sam", "calm", "sorry first", "2026-11-30T11:00:00Z")
    commitment = Commitment("k1", "sam", "c1", "silence", "answer within a beat", "2026-12-01", "ana", "x")
    events = call(alert("b1", "cold_reply_to_bad_news", 30.0), note("n1", 1.0, "praise"))
    sheet = build_sheet("c1", events, self_assessment=own, commitments=[commitment]).to_json()
    assert example.keys() == sheet.keys()
    assert example["strengths"][0].keys() == sheet["strengths"][0].keys()  # a note
    assert example["opportunities"][0].keys() == sheet["opportunities"][0].keys()  # an alert
    assert example["self_assessment"].keys() == sheet["self_assessment"].keys()
    assert example["commitments"][0].keys() == sheet["commitments"][0].keys()
