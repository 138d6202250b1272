"""What a page may send, and the named refusals for everything else (sans I/O)."""

from __future__ import annotations

import json

import pytest

from callcoach.live.events import Alert, Playback, Subscribe, Unsubscribe, from_json
from callcoach.web.protocol import ProtocolError, outgoing, parse_client_message


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
    with pytest.raises(ProtocolError) as caught:
        parse_client_message(text)
    assert caught.value.code == code
    assert named in caught.value.message
    assert caught.value.as_event().code == code


def test_outgoing_envelope_decodes_back() -> None:
    alert = Alert(
        "silence-1", 1, "silence", "coach", None, 16.0, 21.5, 21.0, "5.5 s of silence", "", "w", "s"
    )
    data = json.loads(outgoing(alert, seq=4, call_id="c1"))
    assert (data["v"], data["seq"], data["call"]) == (1, 4, "c1")
    assert from_json(data) == alert
