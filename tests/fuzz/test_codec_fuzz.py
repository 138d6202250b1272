"""The event codec (``live/codec.py``), fuzzed: every valid event round-trips through its JSON and its wire
text, which is strict JSON a page can parse; anything else is refused with :class:`EventDecodeError`."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from callcoach.live.codec import EVENT_TYPES, EventDecodeError, envelope, from_json, to_json, wire_text
from callcoach.live.events import CallStarted, Event, Note, Quote
from tests.fuzz.strategies import BY_TYPE, EVENTS, JSON, TEXT


def strict_json(text: str) -> Any:
    """What a page's ``JSON.parse`` accepts: no NaN or Infinity; sent as UTF-8, so no lone surrogates."""

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} is not JSON")

    text.encode("utf-8")
    return json.loads(text, parse_constant=refuse)


@given(EVENTS)
def test_every_event_round_trips_through_its_json(event: Event) -> None:
    assert from_json(to_json(event)) == event
    assert from_json(json.loads(json.dumps(envelope(event, seq=3, call_id="c")))) == event


@given(EVENTS, st.integers(min_value=1), TEXT)
@example(CallStarted("c", "twilio", "", ("agent",), agent="\ud800"), 1, "c")  # a Twilio parameter's "\ud800"
@example(Note("n", 1.0, "coach", "\udfff", "bo", "Bo", Quote("agent", "x\ud83d", 0.0, 1.0)), 2, "c\udc00")
def test_wire_text_is_json_a_page_parses_and_decodes_back(event: Event, seq: int, call_id: str) -> None:
    data = strict_json(wire_text(event, seq=seq, call_id=call_id))
    assert (data["v"], data["seq"], data["call"], data["type"]) == (1, seq, call_id, type(event).TYPE)
    assert from_json(data) == event


@given(JSON)
def test_any_json_is_an_event_or_refused_by_name(data: Any) -> None:
    try:
        event = from_json(data)
    except EventDecodeError:
        return
    strict_json(wire_text(event))


@given(st.sampled_from(sorted(EVENT_TYPES)), st.data())
def test_an_event_with_one_field_replaced_by_any_json_is_valid_or_refused(
    kind: str, data: st.DataObject
) -> None:
    good = to_json(data.draw(BY_TYPE[kind]))
    key = data.draw(st.sampled_from(sorted(good)))
    broken = {**good, key: data.draw(JSON)}
    try:
        event = from_json(broken)
    except EventDecodeError:
        return
    strict_json(wire_text(event))
