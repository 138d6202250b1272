"""G.711 mu-law and A-law: known codes, round-trip error bounds, and agreement with libsndfile and sox."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from callcoach.audio import g711
from callcoach.audio.containers import wav_data_frames

ALL_INT16 = np.arange(-32768, 32768, dtype=np.int16)
ALL_CODES = np.arange(256, dtype=np.uint8)


def test_known_mulaw_values() -> None:
    np.testing.assert_array_equal(
        g711.mulaw_decode(b"\xff\x7f\x00\x80\xfe\x7e"), [0, 0, -32124, 32124, 8, -8]
    )
    np.testing.assert_array_equal(g711.mulaw_encode(np.array([0, 32767, -32768, 8, -8], np.int16)), [
        0xFF, 0x80, 0x00, 0xFE, 0x7E,
    ])  # fmt: skip


def test_known_alaw_values() -> None:
    np.testing.assert_array_equal(g711.alaw_decode(b"\xd5\x55\xaa\x2a"), [8, -8, 32256, -32256])
    np.testing.assert_array_equal(g711.alaw_encode(np.array([0, -1, 32767, -32768], np.int16)), [
        0xD5, 0x55, 0xAA, 0x2A,
    ])  # fmt: skip


@pytest.mark.parametrize(
    ("encode", "decode", "max_error"),
    [(g711.mulaw_encode, g711.mulaw_decode, 644), (g711.alaw_encode, g711.alaw_decode, 512)],
)
def test_round_trip_error_is_bounded(
    encode: Callable[..., np.ndarray], decode: Callable[..., np.ndarray], max_error: int
) -> None:
    back = decode(encode(ALL_INT16)).astype(np.int32)
    error = np.abs(back - ALL_INT16)
    assert error.max() <= max_error  # half the top segment's step, plus mu-law's clip at 32124
    # Logarithmic: the error stays within ~1/16 of the value (4-bit mantissa) above the linear range.
    loud = np.abs(ALL_INT16.astype(np.int32)) > 256
    assert np.all(error[loud] <= np.abs(ALL_INT16[loud].astype(np.int32)) / 16 + 8)
    assert np.all(error[~loud] <= 16)


@pytest.mark.parametrize(
    ("encode", "decode"), [(g711.mulaw_encode, g711.mulaw_decode), (g711.alaw_encode, g711.alaw_decode)]
)
def test_decoded_values_re_encode_to_themselves(
    encode: Callable[..., np.ndarray], decode: Callable[..., np.ndarray]
) -> None:
    values = decode(ALL_CODES)
    np.testing.assert_array_equal(decode(encode(values)), values)


@pytest.mark.parametrize("encode", [g711.mulaw_encode, g711.alaw_encode])
def test_sign_symmetry(encode: Callable[..., np.ndarray]) -> None:
    positive = np.arange(1, 32768, dtype=np.int16)
    np.testing.assert_array_equal(encode(-positive), encode(positive) ^ 0x80)


@pytest.mark.parametrize(
    ("subtype", "encode", "decode"),
    [("ULAW", g711.mulaw_encode, g711.mulaw_decode), ("ALAW", g711.alaw_encode, g711.alaw_decode)],
)
def test_bit_exact_with_libsndfile(
    subtype: str, encode: Callable[..., np.ndarray], decode: Callable[..., np.ndarray]
) -> None:
    raw = io.BytesIO()
    sf.write(raw, ALL_INT16, 8000, format="RAW", subtype=subtype)
    np.testing.assert_array_equal(encode(ALL_INT16), np.frombuffer(raw.getvalue(), np.uint8))
    theirs, _ = sf.read(
        io.BytesIO(ALL_CODES.tobytes()),
        samplerate=8000,
        channels=1,
        format="RAW",
        subtype=subtype,
        dtype="int16",
    )
    np.testing.assert_array_equal(decode(ALL_CODES), theirs)


@pytest.mark.parametrize(
    ("encoding", "encode", "decode"),
    [("mu-law", g711.mulaw_encode, g711.mulaw_decode), ("a-law", g711.alaw_encode, g711.alaw_decode)],
)
def test_agrees_with_a_sox_written_file(
    tmp_path: Path,
    sox: Callable[..., None],
    write_audio: Callable[..., Path],
    tone: Callable[..., np.ndarray],
    encoding: str,
    encode: Callable[..., np.ndarray],
    decode: Callable[..., np.ndarray],
) -> None:
    phone = tmp_path / "phone.wav"
    sox(write_audio("in.wav", tone(300, 0.5, amplitude=0.9)), "-r", 8000, "-e", encoding, phone)
    frames = wav_data_frames(phone)
    assert frames == 4000
    codes = np.frombuffer(phone.read_bytes()[-frames:], np.uint8)  # sox puts the data chunk last
    via_libsndfile, _ = sf.read(phone, dtype="int16")
    np.testing.assert_array_equal(decode(codes), via_libsndfile)
    np.testing.assert_array_equal(encode(via_libsndfile), codes)


def test_accepts_bytes_like_and_arrays_of_any_shape() -> None:
    data = bytes([0x00, 0x80, 0xFF, 0x7F])
    expected = g711.mulaw_decode(data)
    np.testing.assert_array_equal(g711.mulaw_decode(bytearray(data)), expected)
    np.testing.assert_array_equal(g711.mulaw_decode(memoryview(data)), expected)
    grid = np.frombuffer(data, np.uint8).reshape(2, 2)
    assert g711.mulaw_decode(grid).shape == (2, 2)
    stereo = np.array([[1000, -1000], [5, 6]], np.int16)
    assert g711.alaw_encode(stereo).shape == (2, 2)
    assert g711.alaw_encode(stereo[:, 0]).tolist() == g711.alaw_encode(np.array([1000, 5], np.int16)).tolist()


def test_refuses_other_dtypes() -> None:
    with pytest.raises(TypeError):
        g711.mulaw_encode(np.array([1, 2], np.int32))
    with pytest.raises(TypeError):
        g711.alaw_decode(np.array([1, 2], np.int16))


def test_tables_are_read_only() -> None:
    with pytest.raises(ValueError):
        g711.MULAW_DECODE[0] = 1
