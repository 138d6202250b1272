"""What a page may send, and the named refusals for everything else (sans I/O)."""

from __future__ import annotations

import json

import pytest

from callcoach.live.codec import from_json, wire_text
from callcoach.live.errors import CallcoachError
from callcoach.live.events import Alert
from callcoach.live.messages import Playback, Subscribe, Unsubscribe
from callcoach.web.protocol import parse_client_message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"type": "subscribe", "call_id": "c1"}', Subscribe("c1", 0)),
        ('{"v": 1, "type": "subscribe", "call_id": "c1", "after_seq": 9}', Subscribe("c1", 9)),
        ('{"type": "unsubscribe", "call_id": "c1"}', Unsubscribe("c1")),
        (
            '{"type": "playback", "call_id": "c1", "position_s": 3, "playing": true}',
            Playback("c1", 3.0, True),
        ),
    ],
)
def test_client_messages(text: str, expected: object) -> None:
    assert parse_client_message(text) == expected


@pytest.mark.parametrize(
    ("text", "code", "named"),
    [
        ("not json", "bad_json", "not JSON"),
        ("[1, 2]", "bad_message", "JSON object"),
        ('{"v": 2, "type": "subscribe", "call_id": "c1"}', "unsupported_version", "version 2"),
        (
            '{"type": "alert"}',
            "unknown_type",
            "a page may send: add_note, join_session, leave_session, playback, session_playback, set_pin, "
            "start_session, subscribe, unsubscribe",
        ),
        ('{"type": "subscribe"}', "bad_message", "missing the field 'call_id'"),
        ('{"type": "subscribe", "call_id": 7}', "bad_message", "call_id must be a string"),
        (
            '{"type": "playback", "call_id": "c", "position_s": null, "playing": true}',
            "bad_message",
            "position_s",
        ),
    ],
)
def test_refusals_name_the_problem(text: str, code: str, named: str) -> None:
    with pytest.raises(CallcoachError) as caught:
        parse_client_message(text)
    assert caught.value.code == code
    assert named in caught.value.message
    assert caught.value.as_event().code == code


def test_wire_text_envelope_decodes_back() -> None:
    alert = Alert(
        "silence-1", 1, "silence", "coach", None, 16.0, 21.5, 21.0, "5.5 s of silence", "", "w", "s"
    )
    data = json.loads(wire_text(alert, seq=4, call_id="c1"))
    assert (data["v"], data["seq"], data["call"]) == (1, 4, "c1")
    assert from_json(data) == alert


def _refusal(text: str) -> CallcoachError:
    with pytest.raises(CallcoachError) as caught:
        parse_client_message(text)
    return caught.value


@pytest.mark.parametrize("cursor", ["-3", "-1", "1.5", "true", '"2"', "null"])
def test_a_subscribe_cursor_that_is_not_a_seq_is_refused(cursor: str) -> None:
    refusal = _refusal(f'{{"type": "subscribe", "call_id": "c1", "after_seq": {cursor}}}')
    assert refusal.code == "bad_message"
    assert "after_seq" in refusal.message


NOTE = '{"type": "add_note", "call_id": "c1", "at_s": %s, "tag": "coach", "text": "t", "quote": %s}'
QUOTE = '{"speaker": "agent", "text": "well", "start_s": %s, "end_s": %s}'
SYNC = '{"type": "session_playback", "session_id": "s1", "position_s": %s, "playing": true, "rate": %s}'


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999", "9" * 400])
@pytest.mark.parametrize(
    ("template", "field"),
    [
        (NOTE % ("1.0", QUOTE % ("{n}", "2.0")), "add_note.quote.start_s"),
        (NOTE % ("1.0", QUOTE % ("1.0", "{n}")), "add_note.quote.end_s"),
        (NOTE % ("{n}", "null"), "add_note.at_s"),
        (SYNC % ("{n}", "1.0"), "session_playback.position_s"),
        (SYNC % ("3.0", "{n}"), "session_playback.rate"),
        ('{"type": "playback", "call_id": "c1", "position_s": {n}, "playing": true}', "playback.position_s"),
    ],
)
def test_non_finite_numbers_are_refused_by_name(template: str, field: str, number: str) -> None:
    refusal = _refusal(template.replace("{n}", number))
    assert refusal.code == "bad_message"
    assert f"{field} must be a finite number" in refusal.message


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[" * 30_000, "nests lists or objects too deeply"),
        ('{"type": "subscribe", "call_id": "c1", "after_seq": ' + "[" * 30_000, "too deeply"),
        ("9" * 5000, "thousands of digits"),
        ('{"type": "subscribe", "call_id": "c1", "after_seq": ' + "9" * 5000 + "}", "thousands of digits"),
    ],
    ids=["deep", "deep inside", "long number", "long number inside"],
)
def test_what_python_s_json_cannot_read_is_bad_json(text: str, named: str) -> None:
    refusal = _refusal(text)
    assert refusal.code == "bad_json"
    assert named in refusal.message


@pytest.mark.parametrize("kind", ["[]", "{}", '["subscribe"]'])
def test_a_type_that_is_not_a_string_is_an_unknown_type(kind: str) -> None:
    assert _refusal(f'{{"type": {kind}, "call_id": "c1"}}').code == "unknown_type"
