"""Twilio Media Streams: the reference's own example messages, encoder round trips, and every refusal."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import numpy as np
import pytest

from callcoach.audio.g711 import mulaw_decode, mulaw_encode
from callcoach.web.ingest.twilio import TwilioEncoder, TwilioParser
from callcoach.web.ingest.types import AudioChunk, Dtmf, IngestError, Mark, StreamClosed, StreamOpened

SID = "MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
CALL = "CAXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
ACCOUNT = "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"

# Copied from https://www.twilio.com/docs/voice/media-streams/websocket-messages (payloads there are
# abbreviated with "..."; the dots are left out so that what remains is valid base64).
DOC_CONNECTED = '{ "event": "connected", "protocol": "Call", "version": "1.0.0" }'
DOC_START = """{
  "event": "start",
  "sequenceNumber": "1",
  "start": {
    "accountSid": "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "streamSid": "MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "callSid": "CAXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "tracks": [ "inbound" ],
    "mediaFormat": { "encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1 },
    "customParameters": { "FirstName": "Jane", "LastName": "Doe", "RemoteParty": "Bob" }
  },
  "streamSid": "MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
}"""
DOC_MEDIA_INBOUND = """{ "event": "media", "sequenceNumber": "4",
 "media": { "track": "inbound", "chunk": "2", "timestamp": "5", "payload": "no+JhoaJjpzS" },
 "streamSid": "MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX" }"""
DOC_DTMF = """{ "event": "dtmf", "streamSid":"MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "sequenceNumber":"5",
  "dtmf": { "track":"inbound_track", "digit": "1" } }"""
DOC_MARK = """{ "event": "mark", "sequenceNumber": "4", "streamSid": "MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
 "mark": { "name": "my label" } }"""
DOC_STOP = """{ "event": "stop", "sequenceNumber": "5",
 "stop": { "accountSid": "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "callSid": "CAXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX" },
 "streamSid": "MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX" }"""


def _started(tracks: str = '[ "inbound" ]') -> TwilioParser:
    parser = TwilioParser()
    assert parser.feed(DOC_CONNECTED) == []
    parser.feed(DOC_START.replace('[ "inbound" ]', tracks))
    return parser


def test_the_reference_start_message_opens_the_stream() -> None:
    parser = TwilioParser()
    assert parser.feed(DOC_CONNECTED) == []
    [opened] = parser.feed(DOC_START)
    assert opened == StreamOpened(
        platform="twilio",
        call_key=CALL,
        metadata={
            "FirstName": "Jane",
            "LastName": "Doe",
            "RemoteParty": "Bob",
            "twilio.streamSid": SID,
            "twilio.accountSid": ACCOUNT,
        },
        tracks=("inbound",),
        sample_rate=8000,
        channels=1,
    )


def test_the_reference_media_message_decodes_to_mulaw_pcm_at_its_timestamp() -> None:
    parser = _started()
    [chunk] = parser.feed(DOC_MEDIA_INBOUND)
    codes = base64.b64decode("no+JhoaJjpzS")
    assert chunk == AudioChunk("inbound", mulaw_decode(codes).reshape(-1, 1), 8000, 0.005)
    assert isinstance(chunk, AudioChunk) and chunk.pcm.shape == (9, 1) and chunk.pcm.dtype == np.int16
    assert parser.missing_messages == 2  # the reference's example jumps from 1 to 4: tolerated, counted


def test_the_reference_dtmf_mark_and_stop_messages() -> None:
    parser = _started()
    assert parser.feed(DOC_MARK) == [Mark("my label")]
    assert parser.feed(DOC_DTMF) == [Dtmf("1", "inbound")]
    other = _started()
    assert other.feed(DOC_STOP) == [StreamClosed("stop", f"Twilio stopped the stream of call {CALL}")]
    assert other.close() == []


def test_encoder_writes_the_reference_messages_exactly() -> None:
    custom = {"FirstName": "Jane", "LastName": "Doe", "RemoteParty": "Bob"}
    enc = TwilioEncoder(SID, CALL, custom, ACCOUNT)
    assert json.loads(enc.connected()) == json.loads(DOC_CONNECTED)
    assert json.loads(enc.start(["inbound"])) == json.loads(DOC_START)
    enc.mark("sequence 2")
    enc.media("outbound", b"\xff" * 40)  # sequence 3, chunk 1, as in the reference's outbound example
    inbound = json.loads(enc.media("inbound", base64.b64decode("no+JhoaJjpzS"), timestamp_ms=5))
    assert inbound == json.loads(DOC_MEDIA_INBOUND)
    assert list(inbound) == ["event", "sequenceNumber", "media", "streamSid"]
    assert json.loads(enc.stop()) == json.loads(DOC_STOP)
    other = TwilioEncoder(SID, CALL, custom, ACCOUNT)
    other.start(), other.mark("2"), other.media("inbound", b"\xff")
    assert json.loads(other.mark("my label")) == json.loads(DOC_MARK)
    assert json.loads(other.dtmf("1")) == json.loads(DOC_DTMF)


def test_both_tracks_round_trip_through_mulaw_within_the_codecs_error(
    tone: Callable[..., np.ndarray],
) -> None:
    enc = TwilioEncoder(SID, CALL, {"agent": "a-17"})
    parser = TwilioParser()
    pcm = {"inbound": tone(8000, 8000, 300.0)[:, 0], "outbound": tone(8000, 8000, 500.0)[:, 0]}
    events = parser.feed(enc.connected()) + parser.feed(enc.start(["inbound", "outbound"]))
    for at in range(0, 8000, 160):  # 20 ms per message, the legs interleaved as Twilio sends them
        for track in ("inbound", "outbound"):
            events += parser.feed(enc.media(track, mulaw_encode(pcm[track][at : at + 160]).tobytes()))
    events += parser.feed(enc.dtmf("#")) + parser.feed(enc.mark("greeting")) + parser.feed(enc.stop())
    opened, *chunks, dtmf, mark, closed = events
    assert isinstance(opened, StreamOpened) and opened.tracks == ("inbound", "outbound")
    assert opened.metadata["agent"] == "a-17"
    assert (dtmf, mark) == (Dtmf("#", "inbound"), Mark("greeting"))
    assert isinstance(closed, StreamClosed) and closed.reason == "stop"
    assert parser.missing_messages == 0
    for track in ("inbound", "outbound"):
        mine = [c for c in chunks if isinstance(c, AudioChunk) and c.track == track]
        assert [c.timestamp_s for c in mine] == [k * 20 / 1000 for k in range(50)]
        got = np.concatenate([c.pcm for c in mine])[:, 0].astype(np.int32)
        want = pcm[track].astype(np.int32)
        assert np.all(np.abs(got - want) <= np.abs(want) / 16 + 4)  # mu-law: 4-bit mantissa per segment


def test_a_gap_is_counted_and_an_unknown_event_skipped() -> None:
    parser = _started()
    media = json.loads(DOC_MEDIA_INBOUND)
    media["sequenceNumber"] = "9"
    assert len(parser.feed(json.dumps(media))) == 1
    assert parser.missing_messages == 7
    assert parser.feed(json.dumps({"event": "clear", "streamSid": SID})) == []
    assert parser.ignored_messages == 1


def test_close_without_stop_is_an_error_end() -> None:
    assert TwilioParser().close() == []
    parser = _started()
    assert parser.close() == [StreamClosed("error", "the websocket closed before Twilio's stop message")]
    assert parser.close() == []


def _media(**changes: object) -> str:
    message = json.loads(DOC_MEDIA_INBOUND)
    media = message["media"]
    for key, value in changes.items():
        target = media if key in media else message
        if value is None:
            del target[key]
        else:
            target[key] = value
    return json.dumps(message)


@pytest.mark.parametrize(
    ("message", "code", "named"),
    [
        ("not json", "bad_frame", "not JSON"),
        ("[1]", "bad_frame", "JSON object"),
        ('{"sequenceNumber": "2"}', "bad_frame", "'event'"),
        (_media(sequenceNumber="1"), "out_of_order", "sequenceNumber 1 came after 1"),
        (_media(sequenceNumber=None), "bad_frame", "'sequenceNumber'"),
        (_media(sequenceNumber="two"), "bad_frame", "'two'"),
        (_media(track="outbound"), "bad_frame", "'outbound'"),
        (_media(timestamp=None), "bad_frame", "'timestamp'"),
        (_media(payload="not base64!"), "bad_frame", "not base64"),
        (_media(streamSid="MZother"), "bad_frame", "'MZother'"),
        (DOC_START, "out_of_order", "start message after start"),
        (DOC_CONNECTED, "out_of_order", "connected message after start"),
        (DOC_DTMF.replace('"1"', '"x"'), "bad_frame", "'x'"),
        (DOC_MARK.replace('"my label"', "7"), "bad_frame", "'name'"),
    ],
)
def test_refusals_name_the_problem_and_leave_the_parser_usable(message: str, code: str, named: str) -> None:
    parser = _started()
    with pytest.raises(IngestError) as caught:
        parser.feed(message)
    assert caught.value.code == code
    assert named in caught.value.message
    assert len(parser.feed(DOC_MEDIA_INBOUND)) == 1  # the refused message changed nothing


@pytest.mark.parametrize("message", [DOC_MEDIA_INBOUND, DOC_DTMF, DOC_MARK, DOC_STOP])
def test_anything_before_start_is_out_of_order(message: str) -> None:
    with pytest.raises(IngestError) as caught:
        TwilioParser().feed(message)
    assert caught.value.code == "out_of_order"
    assert "before start" in caught.value.message


def test_messages_after_stop_are_out_of_order() -> None:
    parser = _started()
    parser.feed(DOC_STOP)
    with pytest.raises(IngestError, match="after the stream ended") as caught:
        parser.feed(DOC_MEDIA_INBOUND.replace('"4"', '"6"'))
    assert caught.value.code == "out_of_order"


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ('"audio/x-mulaw"', '"audio/x-l16"', "'audio/x-l16'"),
        ('"channels": 1', '"channels": 2', "2 channels"),
        ('"sampleRate": 8000', '"sampleRate": 0', "sample rate of 0 Hz"),
        ('"sampleRate": 8000', '"sampleRate": 8', "sample rate of 8 Hz"),
        ('"sampleRate": 8000', '"sampleRate": 8001', "sample rate of 8001 Hz"),
    ],
)
def test_unsupported_media_formats_are_named(old: str, new: str, named: str) -> None:
    with pytest.raises(IngestError) as caught:
        TwilioParser().feed(DOC_START.replace(old, new))
    assert caught.value.code == "unsupported_format"
    assert named in caught.value.message


def test_a_sample_rate_of_8_hz_is_refused_naming_the_rates_accepted() -> None:
    """2000 times the audio once resampled: refused at start, before any call opens."""
    parser = TwilioParser()
    parser.feed(DOC_CONNECTED)
    with pytest.raises(IngestError) as caught:
        parser.feed(DOC_START.replace('"sampleRate": 8000', '"sampleRate": 8'))
    assert caught.value.code == "unsupported_format"
    assert "sampleRate" in caught.value.message and "8 Hz" in caught.value.message
    assert "8000, 12000, 16000" in caught.value.message


@pytest.mark.parametrize("rate", [8000, 16000])
def test_telephony_rates_open_the_stream(rate: int) -> None:
    [opened] = TwilioParser().feed(DOC_START.replace('"sampleRate": 8000', f'"sampleRate": {rate}'))
    assert isinstance(opened, StreamOpened) and opened.sample_rate == rate


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ('[ "inbound" ]', "[]", "start.tracks"),
        ('"callSid": "CAXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",', "", "'callSid'"),
        ('"customParameters": {', '"customParameters": [], "x": {', "customParameters"),
    ],
)
def test_malformed_start_messages_are_named(old: str, new: str, named: str) -> None:
    with pytest.raises(IngestError) as caught:
        TwilioParser().feed(DOC_START.replace(old, new))
    assert caught.value.code == "bad_frame"
    assert named in caught.value.message
