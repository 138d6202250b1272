"""The kudos wall over hand-built stored calls: praise only, the week's, ranked by what a coach values
most then by recency, the featured moment first."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from callcoach.live.accounts import User
from callcoach.live.events import Alert, CallInfo, Event, Note, Polarity, Quote
from callcoach.live.kudos import kudos
from callcoach.live.trends import CallEvents
from callcoach.web.team_view import wall_json

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
NAMES = {"bo": "Bo Berg", "cy": "Cy"}


def alert(alert_id: str, kind: str, polarity: Polarity, start_s: float = 1.0, revision: int = 0) -> Alert:
    return Alert(
        alert_id,
        revision,
        kind,
        polarity,
        "agent",
        start_s,
        None,
        start_s,
        "t",
        f"quote {alert_id}",
        "w",
        "s",
    )


def call(
    call_id: str, started_at: str, *events: Event, agent: str = "bo", status: str = "ready"
) -> CallEvents:
    info = CallInfo(call_id, f"Line {call_id}", "twilio", started_at, 30.0, False, status, agent=agent)  # type: ignore[arg-type]
    return info, tuple(events)


def praise_note(note_id: str, at_s: float) -> Note:
    quote = Quote("agent", "I will sort this out myself", at_s, at_s + 2)
    return Note(note_id, at_s, "praise", "took it on", "fay", "Fay", quote)


def test_the_wall_ranks_valued_kinds_then_notes_then_other_praise_then_recency() -> None:
    calls = [
        call("old", "2026-11-20T10:00:00Z", alert("e0", "empathy_shown", "praise")),  # last week's
        call(
            "a",
            "2026-11-30T10:00:00Z",
            alert("e1", "empathy_shown", "praise", 3.0),
            alert("x1", "cold_reply_to_bad_news", "coach"),  # never on the wall
            alert("t1", "turned_around", "praise", 20.0),
            alert("t1", "turned_around", "praise", 21.0, revision=1),  # its latest revision, once
            praise_note("n1", 5.0),
            Note("n2", 6.0, "coach", "too fast", "fay", "Fay"),
        ),
        call("b", "2026-12-01T10:00:00Z", alert("e2", "empathy_shown", "praise"), agent="cy"),
        call("c", "2026-12-02T09:00:00Z", alert("r1", "rule", "praise")),
        call("live", "2026-12-02T11:00:00Z", alert("e3", "empathy_shown", "praise"), status="live"),
    ]
    wall = kudos(calls, NAMES, None, NOW)
    assert [(k.call_id, k.moment_id) for k in wall] == [
        ("a", "t1"),
        ("b", "e2"),  # empathy: the more recent first
        ("a", "e1"),
        ("a", "n1"),
        ("c", "r1"),
    ]
    turned, empathy = wall[0], wall[1]
    assert (turned.label, turned.start_s, turned.agent_name, turned.quote) == (
        "Turned around",
        21.0,
        "Bo Berg",
        "quote t1",
    )
    assert (empathy.agent, empathy.agent_name) == ("cy", "Cy")
    note = wall[3]
    assert (note.source, note.quote, note.note, note.by) == (
        "note",
        "I will sort this out myself",
        "took it on",
        "Fay",
    )


def test_the_featured_moment_comes_first_and_is_marked() -> None:
    calls = [
        call("a", "2026-12-01T10:00:00Z", alert("t1", "turned_around", "praise")),
        call("b", "2026-12-01T11:00:00Z", alert("r1", "rule", "praise")),
    ]
    wall = kudos(calls, NAMES, ("b", "r1"), NOW)
    assert [(k.moment_id, k.featured) for k in wall] == [("r1", True), ("t1", False)]


def test_the_wall_is_a_wall_not_a_list() -> None:
    many = [alert(f"e{i}", "empathy_shown", "praise", float(i)) for i in range(30)]
    assert len(kudos([call("a", "2026-12-01T10:00:00Z", *many)], NAMES, None, NOW)) == 12
    assert len(kudos([call("a", "2026-12-01T10:00:00Z", *many)], NAMES, None, NOW, limit=None)) == 30


def test_the_protocol_docs_example_has_the_walls_fields() -> None:
    """docs/protocol.md shows the wall (HTTP, not a message of the wire): its fields are the page's."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()
    [block] = re.findall(r"```text\n *(\{\"team\": \"north\", \"kudos\".*?)\n *```", doc, flags=re.S)
    [example] = json.loads(block)["kudos"]
    coach = User(1, "di", "Di", "lead", ("north",))
    calls = [call("a", "2026-12-01T10:00:00Z", alert("e1", "empathy_shown", "praise"))]
    [shown] = wall_json(coach, calls, [], None, NOW)
    assert example.keys() == shown.keys()
