"""G.711 telephone audio: mu-law and A-law bytes to int16 PCM and back (ITU-T G.711), by table lookup.

Twilio media streams carry 8 kHz mu-law; European trunks carry A-law. Decoding is exact (each of the
256 codes has one value, the same ones libsndfile and sox use). Encoding rounds the magnitude toward
zero before quantising, as libsndfile does, so the two produce identical bytes for every int16 value;
the sign is handled symmetrically, so ``-x`` encodes to the mirror code of ``x``.

Both directions are a single numpy indexing operation into tables built once at import: 256 entries
to decode, 65536 (one per int16 value) to encode.
"""

from __future__ import annotations

from typing import Final, TypeAlias

import numpy as np
import numpy.typing as npt

Codes: TypeAlias = bytes | bytearray | memoryview | npt.NDArray[np.uint8]

_MULAW_BIAS: Final = 33  # added to the 14-bit magnitude so every segment starts at a power of two
_MULAW_MAX_MAGNITUDE: Final = 8191 - _MULAW_BIAS  # larger magnitudes clip to the loudest code
_ALAW_MAX_MAGNITUDE: Final = 4095


def _mulaw_decode_table() -> npt.NDArray[np.int16]:
    code = ~np.arange(256, dtype=np.int32) & 0xFF  # mu-law codes are sent bit-inverted
    exponent = (code >> 4) & 0x07
    mantissa = code & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(code & 0x80, -magnitude, magnitude).astype(np.int16)


def _alaw_decode_table() -> npt.NDArray[np.int16]:
    code = np.arange(256, dtype=np.int32) ^ 0x55  # A-law codes have every other bit inverted
    segment = (code >> 4) & 0x07
    mantissa = code & 0x0F
    # Segment 0 is linear with the same step as segment 1; above that each segment doubles the step.
    magnitude = np.where(
        segment == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << np.maximum(segment - 1, 0)
    )
    return np.where(code & 0x80, magnitude, -magnitude).astype(np.int16)


def _int16_magnitudes() -> tuple[npt.NDArray[np.int32], npt.NDArray[np.bool_]]:
    """|x| and x < 0 for every int16 value, in the order of their uint16 bit patterns (0..65535)."""
    values = np.arange(65536, dtype=np.uint16).view(np.int16).astype(np.int32)
    return np.abs(values), values < 0


def _segments(biased: npt.NDArray[np.int32], first_edge: int) -> npt.NDArray[np.int32]:
    """Segment number 0..7: how many doublings ``biased`` is above ``first_edge``."""
    edges = first_edge << np.arange(1, 8, dtype=np.int32)
    return np.searchsorted(edges, biased, side="right").astype(np.int32)


def _mulaw_encode_table() -> npt.NDArray[np.uint8]:
    magnitude, negative = _int16_magnitudes()
    biased = np.minimum(magnitude >> 2, _MULAW_MAX_MAGNITUDE) + _MULAW_BIAS  # 14-bit, 33..8191
    segment = _segments(biased, 32)
    mantissa = (biased >> (segment + 1)) & 0x0F
    code = (segment << 4) | mantissa
    table: npt.NDArray[np.uint8] = (code ^ np.where(negative, 0x7F, 0xFF)).astype(np.uint8)
    return table


def _alaw_encode_table() -> npt.NDArray[np.uint8]:
    magnitude, negative = _int16_magnitudes()
    scaled = np.minimum(magnitude >> 3, _ALAW_MAX_MAGNITUDE)  # 12-bit magnitude of the 13-bit code space
    segment = _segments(scaled, 16)
    # Segments 0 and 1 share one step size, so both drop one bit; each later segment drops one more.
    mantissa = (scaled >> np.maximum(segment, 1)) & 0x0F
    code = (segment << 4) | mantissa
    table: npt.NDArray[np.uint8] = (code ^ np.where(negative, 0x55, 0xD5)).astype(np.uint8)
    return table


def _frozen(table: npt.NDArray[np.generic]) -> None:
    table.flags.writeable = False  # shared module state: a stray write would corrupt every call


MULAW_DECODE: Final[npt.NDArray[np.int16]] = _mulaw_decode_table()
ALAW_DECODE: Final[npt.NDArray[np.int16]] = _alaw_decode_table()
MULAW_ENCODE: Final[npt.NDArray[np.uint8]] = _mulaw_encode_table()
ALAW_ENCODE: Final[npt.NDArray[np.uint8]] = _alaw_encode_table()
for _table in (MULAW_DECODE, ALAW_DECODE, MULAW_ENCODE, ALAW_ENCODE):
    _frozen(_table)


def mulaw_decode(codes: Codes) -> npt.NDArray[np.int16]:
    """mu-law bytes (or a uint8 array of any shape) to int16 PCM of the same shape."""
    return MULAW_DECODE[_as_codes(codes)]


def alaw_decode(codes: Codes) -> npt.NDArray[np.int16]:
    """A-law bytes (or a uint8 array of any shape) to int16 PCM of the same shape."""
    return ALAW_DECODE[_as_codes(codes)]


def mulaw_encode(pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.uint8]:
    """int16 PCM of any shape to mu-law codes (``.tobytes()`` for the wire)."""
    return MULAW_ENCODE[_as_table_index(pcm)]


def alaw_encode(pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.uint8]:
    """int16 PCM of any shape to A-law codes (``.tobytes()`` for the wire)."""
    return ALAW_ENCODE[_as_table_index(pcm)]


def _as_codes(codes: Codes) -> npt.NDArray[np.uint8]:
    if isinstance(codes, np.ndarray):
        if codes.dtype != np.uint8:
            raise TypeError(f"G.711 codes must be uint8, got {codes.dtype}")
        return codes
    return np.frombuffer(codes, dtype=np.uint8)


def _as_table_index(pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.uint16]:
    # Refuse other dtypes rather than cast: int32 or float samples would wrap or truncate silently.
    if not isinstance(pcm, np.ndarray) or pcm.dtype != np.int16:
        raise TypeError(f"G.711 encoding takes int16 PCM, got {getattr(pcm, 'dtype', type(pcm).__name__)}")
    # The uint16 view of an int16 array is its table index; no arithmetic, no copy.
    return np.ascontiguousarray(pcm).view(np.uint16)
