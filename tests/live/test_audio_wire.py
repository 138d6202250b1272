"""The binary live-audio message: its byte layout (the table in docs/protocol.md) and a round trip."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from callcoach.audio.listen_tap import HeardStep
from callcoach.live.audio_wire import AudioWireError, decode_audio, encode_audio


def step(pcm: list[list[int]], *, start_s: float = 1.5, rate: int = 8000) -> HeardStep:
    speakers = ("agent", "customer", "mixed")[: len(pcm)]
    return HeardStep(start_s, rate, speakers, np.array(pcm, dtype=np.int16))  # type: ignore[arg-type]


def test_the_layout_byte_by_byte() -> None:
    data = encode_audio("call-1", step([[0, 1, -1], [-32768, 32767, 256]]))
    assert data[:4] == bytes([1, 1, 2, 6])  # version, PCM16, two channels, a 6-byte call id
    assert struct.unpack_from("<Id", data, 4) == (8000, 1.5)
    assert data[16:18] == bytes([0, 1])  # agent, customer
    assert data[18:24] == b"call-1"
    # 24 is even: no padding; then planar samples, little-endian.
    assert data[24:] == bytes.fromhex("00000100ffff0080ff7f0001")


def test_an_odd_header_is_padded_so_samples_start_on_an_even_byte() -> None:
    data = encode_audio("abc", step([[7, 8]]))  # 16 + 1 channel + 3 bytes of id = 20: even
    assert len(data) == 20 + 4
    data = encode_audio("abcd", step([[7, 8]]))  # 16 + 1 + 4 = 21: one zero byte
    assert data[21] == 0 and data[22:] == bytes.fromhex("07000800")


def test_a_round_trip_keeps_every_field() -> None:
    rng = np.random.default_rng(12)
    pcm = rng.integers(-32768, 32767, size=(2, 800), dtype=np.int16)
    sent = HeardStep(1234.5, 8000, ("agent", "customer"), pcm)
    got = decode_audio(encode_audio("ça-va-☎", sent))
    assert (got.call_id, got.start_s, got.sample_rate_hz, got.speakers) == (
        "ça-va-☎",
        1234.5,
        8000,
        ("agent", "customer"),
    )
    np.testing.assert_array_equal(got.pcm, pcm)


def test_the_doc_example_decodes() -> None:
    """The worked example in docs/protocol.md."""
    example = bytes.fromhex("01010206401f0000000000000000f83f000163616c6c2d3100000100ffff0080ff7f0001")
    got = decode_audio(example)
    assert (got.call_id, got.start_s, got.sample_rate_hz, got.speakers) == (
        "call-1",
        1.5,
        8000,
        ("agent", "customer"),
    )
    assert got.pcm.tolist() == [[0, 1, -1], [-32768, 32767, 256]]
    assert encode_audio("call-1", step([[0, 1, -1], [-32768, 32767, 256]])) == example


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"\x01\x01", "at least 16 bytes"),
        (bytes([2, 1, 1, 1]) + bytes(12) + b"\0x", "version 2"),
        (bytes([1, 1, 2, 1]) + bytes(12) + b"\0\1x" + b"\0\0", "whole"),  # 2 bytes: not 2 channels' worth
        (bytes([1, 1, 1, 1]) + bytes(12) + b"\7x", "speaker codes"),
    ],
)
def test_a_message_it_cannot_read_says_why(data: bytes, says: str) -> None:
    with pytest.raises(AudioWireError, match=says):
        decode_audio(data)


def test_a_call_id_too_long_for_its_byte_is_refused() -> None:
    with pytest.raises(ValueError, match="1 to 255 bytes"):
        encode_audio("x" * 256, step([[0]]))
