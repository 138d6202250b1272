"""The Twilio Media Streams parser (``web/ingest/twilio.py``), fuzzed: any message is events or an
:class:`IngestError` that leaves the parser as it was; a stream spoken by :class:`TwilioEncoder` comes back
event for event, every field kept."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from callcoach.audio.g711 import mulaw_decode
from callcoach.web.ingest.twilio import TwilioEncoder, TwilioParser
from callcoach.web.ingest.types import (
    DTMF_DIGITS,
    AudioChunk,
    Dtmf,
    IngestError,
    IngestEvent,
    Mark,
    StreamClosed,
    StreamOpened,
)
from tests.fuzz.strategies import JSON, TEXT

TRACKS = st.lists(st.sampled_from(["inbound", "outbound"]), min_size=1, max_size=2, unique=True)
PARAMETERS = st.dictionaries(TEXT, TEXT, max_size=4)


def started(tracks: tuple[str, ...] = ("inbound",)) -> tuple[TwilioParser, TwilioEncoder]:
    parser, encoder = TwilioParser(), TwilioEncoder("MZ1", "CA1", {"agent": "Sam"})
    parser.feed(encoder.connected())
    parser.feed(encoder.start(tracks))
    return parser, encoder


def feed_or_refuse(parser: TwilioParser, text: str) -> list[IngestEvent]:
    """The parser's events, or [] after an :class:`IngestError` that left its state untouched."""
    before = copy.deepcopy(vars(parser))
    try:
        return parser.feed(text)
    except IngestError:
        assert vars(parser) == before, "a refused message changed the parser"
        return []


@given(st.text(st.characters(exclude_categories=())), st.booleans())
@example("[" * 30_000, False)  # RecursionError out of json.loads
@example('{"event": "start", "sequenceNumber": ' + "9" * 5000 + "}", False)  # ValueError, likewise
@example('{"event": "media", "sequenceNumber": "' + "9" * 5000 + '"}', True)  # int() of 5000 digits
def test_any_text_is_events_or_an_ingest_error(text: str, opened: bool) -> None:
    parser = started()[0] if opened else TwilioParser()
    feed_or_refuse(parser, text)


def _mutations() -> st.SearchStrategy[tuple[int, list[str], Any]]:
    """A valid stream's message index, a path of keys into it, and what to put there (or None: delete)."""
    return st.tuples(st.integers(0, 5), st.lists(st.sampled_from(KEYS), max_size=2), JSON | st.just(DELETE))


DELETE = object()
KEYS = [
    "event", "sequenceNumber", "streamSid", "start", "media", "dtmf", "mark", "stop", "tracks", "mediaFormat",
    "encoding", "sampleRate", "channels", "customParameters", "callSid", "track", "timestamp", "payload",
    "digit", "name",
]  # fmt: skip


def _valid_stream() -> list[str]:
    encoder = TwilioEncoder("MZ1", "CA1", {"agent": "Sam"})
    return [
        encoder.connected(),
        encoder.start(("inbound", "outbound")),
        encoder.media("inbound", b"\xff\x7f\x00\x80"),
        encoder.dtmf("5"),
        encoder.mark("greeting"),
        encoder.stop(),
    ]


@given(_mutations())
@example((2, ["media", "timestamp"], 10**400))  # OverflowError: milliseconds to seconds as a float
@example((2, ["media", "timestamp"], "9" * 400))  # likewise, as Twilio's string of digits
@example((1, ["start", "customParameters"], {"a": [[[[[[[[]]]]]]]]}))
def test_a_valid_stream_with_one_field_broken_is_events_or_ingest_errors(
    mutation: tuple[int, list[str], Any],
) -> None:
    index, path, value = mutation
    messages = [json.loads(m) for m in _valid_stream()]
    target = messages[index]
    for key in path[:-1]:
        target = target.get(key) if isinstance(target, dict) else None
    if isinstance(target, dict) and path:
        if value is DELETE:
            target.pop(path[-1], None)
        else:
            target[path[-1]] = value
    parser = TwilioParser()
    for message in messages:
        feed_or_refuse(parser, json.dumps(message))
    parser.close()


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("media"), st.integers(0, 1), st.binary(max_size=320)),
        st.tuples(st.just("dtmf"), st.integers(0, 1), st.sampled_from(DTMF_DIGITS + DTMF_DIGITS.lower())),
        st.tuples(st.just("mark"), st.integers(0, 1), TEXT),
    ),
    max_size=12,
)


@given(TEXT, TEXT, PARAMETERS, TRACKS, OPS)
def test_an_encoded_stream_comes_back_event_for_event(
    stream_sid: str, call_sid: str, parameters: dict[str, str], tracks: list[str], ops: list[Any]
) -> None:
    encoder, parser = TwilioEncoder(stream_sid, call_sid, parameters), TwilioParser()
    metadata = {**parameters, "twilio.streamSid": stream_sid, "twilio.accountSid": encoder.account_sid}
    expected: list[IngestEvent] = [StreamOpened("twilio", call_sid, metadata, tuple(tracks), 8000, 1)]
    texts = [encoder.connected(), encoder.start(tracks)]
    sent = dict.fromkeys(tracks, 0)
    for kind, which, value in ops:
        track = tracks[which % len(tracks)]
        if kind == "media":
            texts.append(encoder.media(track, value))
            if value:
                expected.append(
                    AudioChunk(track, mulaw_decode(value).reshape(-1, 1), 8000, sent[track] // 8 / 1000)
                )
            sent[track] += len(value)
        elif kind == "dtmf":
            texts.append(encoder.dtmf(value, f"{track}_track"))
            expected.append(Dtmf(value.upper(), track))
        else:
            texts.append(encoder.mark(value))
            expected.append(Mark(value))
    texts.append(encoder.stop())
    events = [event for text in texts for event in parser.feed(text)]
    assert events[:-1] == expected
    assert isinstance(events[-1], StreamClosed) and events[-1].reason == "stop"
    assert parser.close() == [] and parser.missing_messages == parser.ignored_messages == 0
