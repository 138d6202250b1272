"""The coach websocket's parser (``web/protocol.py``), fuzzed: any text a page sends is a client message or
a :class:`CallcoachError`, never another exception (which would end the page's socket); every valid message
round-trips field for field."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from callcoach.live.codec import to_json, wire_text
from callcoach.live.errors import CallcoachError
from callcoach.live.events import Event
from callcoach.live.messages import CLIENT_MESSAGES, Subscribe
from callcoach.web.protocol import MAX_MESSAGE_BYTES, parse_client_message
from tests.fuzz.strategies import BY_TYPE, JSON, TEXT
from tests.fuzz.test_codec_fuzz import strict_json

PAGE_TYPES = sorted(cls.TYPE for cls in CLIENT_MESSAGES)
PAGE_MESSAGES = st.one_of(*(BY_TYPE[kind] for kind in PAGE_TYPES))


def parsed_or_refused(text: str) -> None:
    try:
        message = parse_client_message(text)
    except CallcoachError as refusal:
        assert refusal.code in {"too_large", "bad_json", "bad_message", "unsupported_version", "unknown_type"}
        strict_json(wire_text(refusal.as_event()))  # the answer itself reaches the page
        return
    if isinstance(message, Subscribe):
        assert message.after_seq >= 0
    strict_json(wire_text(message))


@given(st.text(st.characters(exclude_categories=())))
@example("[" * 30_000)  # RecursionError inside json.loads closed the socket
@example('{"type": "subscribe", "call_id": "c", "after_seq": ' + "9" * 5000 + "}")  # ValueError, likewise
@example('{"type": []}')  # TypeError: an unhashable type looked up among the known ones
def test_any_text_is_a_message_or_a_protocol_error(text: str) -> None:
    parsed_or_refused(text)


@given(JSON)
@example({"type": "subscribe", "call_id": "c", "after_seq": -3})
@example({"type": "session_playback", "session_id": "s", "position_s": float("nan"), "playing": True})
@example({"type": "playback", "call_id": "c", "position_s": 10**400, "playing": True})
def test_any_json_is_a_message_or_a_protocol_error(data: Any) -> None:
    parsed_or_refused(json.dumps(data))


@given(st.sampled_from(PAGE_TYPES), st.data())
def test_a_page_message_with_one_field_replaced_by_any_json_is_valid_or_refused(
    kind: str, data: st.DataObject
) -> None:
    good = to_json(data.draw(BY_TYPE[kind]))
    key = data.draw(st.sampled_from(sorted(good)))
    parsed_or_refused(json.dumps({**good, key: data.draw(JSON)}))


@given(PAGE_MESSAGES, st.sampled_from([{}, {"v": 1}]))
def test_every_page_message_round_trips(message: Event, head: dict[str, Any]) -> None:
    text = json.dumps({**head, **to_json(message)})
    if len(text.encode("utf-8", "surrogatepass")) > MAX_MESSAGE_BYTES:
        return
    assert parse_client_message(text) == message
    assert parse_client_message(wire_text(message)) == message


@given(TEXT)
def test_a_message_over_the_limit_is_too_large_whatever_it_holds(filler: str) -> None:
    text = json.dumps({"type": "subscribe", "call_id": "c", "x": "y" * MAX_MESSAGE_BYTES + filler})
    try:
        parse_client_message(text)
    except CallcoachError as refusal:
        assert refusal.code == "too_large"
    else:
        raise AssertionError("a message over the limit was accepted")
