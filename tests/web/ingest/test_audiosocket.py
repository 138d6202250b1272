"""Asterisk AudioSocket: the documented frames byte for byte, any split of the stream, every refusal."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from callcoach.audio.live_input import ACCEPTED_RATES_HZ
from callcoach.web.ingest.audiosocket import SLIN_RATES, AudioSocketEncoder, AudioSocketParser
from callcoach.web.ingest.types import AudioChunk, Dtmf, IngestError, IngestEvent, StreamClosed, StreamOpened

UUID = "40325ec2-5efd-4bd3-805f-53576e581d13"  # the example UUID of the AudioSocket README
ENC = AudioSocketEncoder()


def _call(tone: Callable[..., np.ndarray]) -> tuple[bytes, np.ndarray]:
    pcm = tone(2400, 8000)[:, 0]
    stream = ENC.uuid(UUID) + ENC.audio(pcm[:160]) + ENC.dtmf("5") + ENC.audio(pcm[160:]) + ENC.hangup()
    return stream, pcm


def _feed_all(parser: AudioSocketParser, pieces: list[bytes]) -> list[IngestEvent]:
    events: list[IngestEvent] = []
    for piece in pieces:
        events += parser.feed(piece)
    return events


def test_a_call_decodes_exactly(tone: Callable[..., np.ndarray]) -> None:
    stream, pcm = _call(tone)
    events = AudioSocketParser().feed(stream)
    assert events == [
        StreamOpened("asterisk", UUID, {}, ("inbound",), 8000, 1),
        AudioChunk("inbound", pcm[:160].reshape(-1, 1), 8000),
        Dtmf("5"),
        AudioChunk("inbound", pcm[160:].reshape(-1, 1), 8000),
        StreamClosed("hangup", "Asterisk sent hang-up"),
    ]


def test_every_split_of_the_stream_gives_the_same_events(tone: Callable[..., np.ndarray]) -> None:
    stream, _ = _call(tone)
    whole = AudioSocketParser().feed(stream)
    for cut in range(len(stream) + 1):
        assert _feed_all(AudioSocketParser(), [stream[:cut], stream[cut:]]) == whole, cut
    for cut in range(0, len(stream), 97):  # three pieces, the middle one short
        pieces = [stream[:cut], stream[cut : cut + 2], stream[cut + 2 :]]
        assert _feed_all(AudioSocketParser(), pieces) == whole, cut
    assert _feed_all(AudioSocketParser(), [bytes([b]) for b in stream]) == whole


def test_hand_written_frames_from_the_protocol_definition() -> None:
    parser = AudioSocketParser()
    uuid_frame = b"\x01\x00\x10" + bytes.fromhex(UUID.replace("-", ""))
    # 0x10, length 6 (big-endian), then samples 1, -1, 256 as 16-bit little-endian.
    audio_frame = b"\x10\x00\x06" + b"\x01\x00" + b"\xff\xff" + b"\x00\x01"
    events = parser.feed(uuid_frame + audio_frame + b"\x03\x00\x01#" + b"\x00\x00\x00")
    assert events == [
        StreamOpened("asterisk", UUID, {}, ("inbound",), 8000, 1),
        AudioChunk("inbound", np.array([[1], [-1], [256]], dtype=np.int16), 8000),
        Dtmf("#"),
        StreamClosed("hangup", "Asterisk sent hang-up"),  # "Hangup indication ... is 0x00 0x00 0x00"
    ]


def test_the_uuid_example_of_the_rust_audiosocket_crate() -> None:
    frame = bytes([1, 0, 16, 4, 54, 67, 12, 43, 2, 98, 76, 32, 50, 87, 5, 1, 33, 43, 87])
    [opened, closed] = AudioSocketParser().feed(frame + ENC.hangup())
    assert isinstance(opened, StreamOpened) and opened.call_key == "0436430c-2b02-624c-2032-570501212b57"
    assert isinstance(closed, StreamClosed)


@pytest.mark.parametrize(
    ("kind", "rate"),
    [
        (0x10, 8000),
        (0x11, 12000),
        (0x12, 16000),
        (0x13, 24000),
        (0x14, 32000),
        (0x15, 44100),
        (0x16, 48000),
        (0x17, 96000),
        (0x18, 192000),
    ],
)
def test_each_slin_kind_has_its_rate(kind: int, rate: int) -> None:
    assert SLIN_RATES[kind] == rate
    pcm = np.arange(-50, 50, dtype=np.int16)
    wire = ENC.audio(pcm, rate)
    assert wire[0] == kind
    opened, chunk = AudioSocketParser().feed(ENC.uuid(UUID) + wire)
    assert isinstance(opened, StreamOpened) and opened.sample_rate == rate
    assert chunk == AudioChunk("inbound", pcm.reshape(-1, 1), rate)


def test_long_audio_is_split_at_the_payload_limit(tone: Callable[..., np.ndarray]) -> None:
    pcm = tone(40000, 16000)[:, 0]
    wire = ENC.audio(pcm, 16000)
    assert len(wire) == 2 * 3 + 80000 and wire[1:3] == b"\xff\xfe"
    events = AudioSocketParser().feed(ENC.uuid(UUID) + wire)
    chunks = [e.pcm for e in events if isinstance(e, AudioChunk)]
    assert len(chunks) == 2
    np.testing.assert_array_equal(np.concatenate(chunks)[:, 0], pcm)


def test_the_stream_opens_at_8k_when_it_ends_before_any_audio() -> None:
    parser = AudioSocketParser()
    assert parser.feed(ENC.uuid(UUID)) == []
    assert parser.close() == [
        StreamOpened("asterisk", UUID, {}, ("inbound",), 8000, 1),
        StreamClosed("hangup", "the connection closed"),
    ]
    assert parser.close() == []
    assert AudioSocketParser().close() == []


def test_eof_inside_a_frame_is_an_error_end() -> None:
    parser = AudioSocketParser()
    parser.feed(ENC.uuid(UUID) + ENC.audio(np.zeros(10, dtype=np.int16))[:8])
    [_opened, closed] = parser.close()
    assert closed == StreamClosed("error", "the connection closed inside a frame, 8 bytes into it")


@pytest.mark.parametrize(
    ("code", "reason", "named"),
    [
        (0x01, "hangup", "hangup of calling party"),
        (0x02, "error", "frame forwarding"),
        (0x06, "error", "frame forwarding, memory"),
        (0x40, "error", "application-specific"),
        (None, "error", "without a code"),
    ],
)
def test_error_frames_end_the_stream(code: int | None, reason: str, named: str) -> None:
    events = AudioSocketParser().feed(ENC.uuid(UUID) + ENC.error(code))
    closed = events[-1]
    assert isinstance(closed, StreamClosed) and closed.reason == reason and named in closed.detail


@pytest.mark.parametrize(
    ("stream", "code", "named"),
    [
        (ENC.audio(np.zeros(4, dtype=np.int16)), "out_of_order", "kind 0x10 before the UUID"),
        (ENC.hangup(), "out_of_order", "kind 0x00 before the UUID"),
        (ENC.uuid(UUID) + ENC.uuid(UUID), "out_of_order", "second UUID"),
        (ENC.frame(0x01, b"\x00" * 15), "bad_frame", "15 bytes"),
        (ENC.uuid(UUID) + ENC.frame(0x10, b"\x00" * 5), "bad_frame", "5 bytes"),
        (ENC.uuid(UUID) + ENC.frame(0x03, b"x"), "bad_frame", "'x'"),
        (ENC.uuid(UUID) + ENC.frame(0x03, b"12"), "bad_frame", "'12'"),
        (ENC.uuid(UUID) + ENC.frame(0x02, b"\x01\x31"), "unsupported_format", "kind 0x02"),
        (ENC.uuid(UUID) + ENC.frame(0x19, b"\x00\x00"), "unsupported_format", "kind 0x19"),
        (
            ENC.uuid(UUID)
            + ENC.audio(np.zeros(2, dtype=np.int16))
            + ENC.audio(np.zeros(2, dtype=np.int16), 16000),
            "unsupported_format",
            "from 8000 to 16000 Hz",
        ),
        (ENC.uuid(UUID) + ENC.hangup() + b"\x10", "out_of_order", "after the hang-up"),
    ],
)
def test_refusals_are_named(stream: bytes, code: str, named: str) -> None:
    with pytest.raises(IngestError) as caught:
        AudioSocketParser().feed(stream)
    assert caught.value.code == code
    assert named in caught.value.message


def test_events_before_a_bad_frame_ride_on_the_error_and_the_stream_goes_on() -> None:
    parser = AudioSocketParser()
    good = ENC.audio(np.array([5, 6], dtype=np.int16))
    with pytest.raises(IngestError) as caught:
        parser.feed(ENC.uuid(UUID) + good + ENC.frame(0x02, b"\x01") + good)
    assert [type(e) for e in caught.value.events] == [StreamOpened, AudioChunk]
    # The bad frame was consumed; the frame after it is still buffered and comes out on the next read.
    assert parser.feed(b"") == [AudioChunk("inbound", np.array([[5], [6]], dtype=np.int16), 8000)]


def test_encoder_refuses_what_audiosocket_cannot_carry() -> None:
    with pytest.raises(ValueError, match="mono int16"):
        ENC.audio(np.zeros(4, dtype=np.int16), 22050)
    with pytest.raises(ValueError, match="mono int16"):
        ENC.audio(np.zeros((4, 2), dtype=np.int16))


def test_every_audio_kind_is_at_a_rate_the_pipeline_accepts() -> None:
    """AudioSocket states its rate by frame kind, so no rate outside the accepted ones can arrive."""
    assert set(SLIN_RATES.values()) == set(ACCEPTED_RATES_HZ)
