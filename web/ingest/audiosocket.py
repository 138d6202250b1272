"""Asterisk AudioSocket, sans I/O: the TCP byte stream in (cut anywhere), typed ingest events out; and the
encoder a test caller uses to speak as Asterisk.

Followed: the AudioSocket protocol definition in the Asterisk documentation
(https://docs.asterisk.org/Configuration/Channel-Drivers/AudioSocket/) and the CyCoreSystems/audiosocket
README, checked against Asterisk's ``include/asterisk/res_audiosocket.h``. Each frame is a 1-byte kind, a
2-byte big-endian payload length, then the payload. Kinds: ``0x00`` hang-up, ``0x01`` the stream's UUID
(16 bytes), ``0x03`` one ASCII DTMF digit, ``0x10`` signed linear 16-bit mono little-endian PCM at 8 kHz
and ``0x11``-``0x18`` the same at 12, 16, 24, 32, 44.1, 48, 96 and 192 kHz, ``0xff`` an error with an
optional code (Asterisk's are bit flags: ``0x01`` hang-up of the calling party, ``0x02`` frame forwarding,
``0x04`` memory). Closing the socket is also a hang-up.

Ambiguities and choices:

- ``0x11``: an earlier docs revision (asterisk/documentation#158) and a draft header called it 16 kHz; the
  merged Asterisk change ("res_audiosocket: add message types for all slin sample rates") and the current
  docs make it 12 kHz, with 16 kHz at ``0x12``. This parser follows the merged header.
- The UUID must come first; anything before it is refused (``out_of_order``). The stream opens at its first
  frame after the UUID, at that frame's sample rate when it is audio (else 8 kHz, the dialplan
  application's fixed rate), so no rate needs configuring; a later change of rate is refused
  (``unsupported_format``), as the stream's consumers were set up for the first.
- An ``0xff`` error ends the stream; its reason is ``hangup`` when the code is exactly ``0x01``.
- Unknown kinds are refused (``unsupported_format``) rather than skipped: a future audio kind skipped
  silently would lose the call's audio. The length framing stays intact, so the caller may go on feeding.
"""

from __future__ import annotations

import uuid as uuidlib
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from callcoach.web.ingest.types import (
    BAD_FRAME,
    OUT_OF_ORDER,
    UNSUPPORTED_FORMAT,
    AudioChunk,
    Dtmf,
    IngestError,
    IngestEvent,
    StreamClosed,
    StreamOpened,
    dtmf_digit,
    pcm_le16,
)

PLATFORM: Final = "asterisk"
TRACK: Final = "inbound"  # the audio Asterisk reads from its channel
KIND_HANGUP: Final = 0x00
KIND_UUID: Final = 0x01
KIND_DTMF: Final = 0x03
KIND_ERROR: Final = 0xFF
SLIN_RATES: Final[dict[int, int]] = {
    0x10: 8000,
    0x11: 12000,
    0x12: 16000,
    0x13: 24000,
    0x14: 32000,
    0x15: 44100,
    0x16: 48000,
    0x17: 96000,
    0x18: 192000,
}
ASTERISK_ERRORS: Final[dict[int, str]] = {
    0x01: "hangup of calling party",
    0x02: "frame forwarding",
    0x04: "memory",
}
_HEADER: Final = 3
_KINDS: Final = "0x00 hang-up, 0x01 UUID, 0x03 DTMF, 0x10-0x18 audio, 0xff error"


class AudioSocketParser:
    """One AudioSocket connection: :meth:`feed` every read, in order, then :meth:`close` at end of file."""

    def __init__(self) -> None:
        self._buffer = bytearray()  # the unparsed tail: at most one unfinished frame
        self._call_key: str | None = None
        self._opened: StreamOpened | None = None
        self._closed = False

    def feed(self, data: bytes | bytearray | memoryview) -> list[IngestEvent]:
        """Events of every frame completed by ``data``; a frame split across reads waits for its end."""
        self._buffer += data
        events: list[IngestEvent] = []
        at = 0
        try:
            while not self._closed and len(self._buffer) - at >= _HEADER:
                kind = self._buffer[at]
                end = at + _HEADER + int.from_bytes(self._buffer[at + 1 : at + _HEADER], "big")
                if end > len(self._buffer):
                    break
                payload = bytes(self._buffer[at + _HEADER : end])
                at = end  # consumed even if it raises: the framing is intact, the caller may go on
                events += self._frame(kind, payload)
            if self._closed and len(self._buffer) > at:
                at = len(self._buffer)
                raise IngestError(OUT_OF_ORDER, "bytes after the hang-up; make a new parser per connection")
        except IngestError as error:
            error.events = tuple(events)  # what came before the bad frame is not lost
            raise
        finally:
            del self._buffer[:at]
        return events

    def close(self) -> list[IngestEvent]:
        """End of the byte stream: a hang-up, or an error if it stopped inside a frame."""
        if self._call_key is None or self._closed:
            return []
        events = self._open(SLIN_RATES[0x10])
        self._closed = True
        if self._buffer:
            detail = f"the connection closed inside a frame, {len(self._buffer)} bytes into it"
            return [*events, StreamClosed("error", detail)]
        return [*events, StreamClosed("hangup", "the connection closed")]

    def _frame(self, kind: int, payload: bytes) -> list[IngestEvent]:
        if kind == KIND_UUID:
            self._call_key = _uuid(payload, self._call_key)
            return []
        if self._call_key is None:
            raise IngestError(OUT_OF_ORDER, f"a frame of kind 0x{kind:02x} before the UUID frame (0x01)")
        if kind in SLIN_RATES:
            return self._audio(SLIN_RATES[kind], payload)
        if kind == KIND_DTMF:
            digit = dtmf_digit(payload.decode("latin-1"), "an AudioSocket DTMF payload")
            return [*self._open(SLIN_RATES[0x10]), Dtmf(digit)]
        if kind == KIND_HANGUP:
            return [*self._open(SLIN_RATES[0x10]), self._close("hangup", "Asterisk sent hang-up")]
        if kind == KIND_ERROR:
            return [*self._open(SLIN_RATES[0x10]), self._error(payload)]
        raise IngestError(UNSUPPORTED_FORMAT, f"unknown AudioSocket kind 0x{kind:02x}; known: {_KINDS}")

    def _audio(self, rate: int, payload: bytes) -> list[IngestEvent]:
        if len(payload) % 2:
            raise IngestError(BAD_FRAME, f"an audio frame of {len(payload)} bytes; 16-bit samples need even")
        if self._opened is not None and self._opened.sample_rate != rate:
            raise IngestError(
                UNSUPPORTED_FORMAT,
                f"audio changed from {self._opened.sample_rate} to {rate} Hz mid-call; keep one slin format",
            )
        events = self._open(rate)
        if payload:
            events.append(AudioChunk(TRACK, pcm_le16(payload, 1), rate))
        return events

    def _error(self, payload: bytes) -> StreamClosed:
        if not payload:
            return self._close("error", "Asterisk reported an error without a code")
        code = payload[0]
        names = [name for bit, name in ASTERISK_ERRORS.items() if code & bit] or ["application-specific"]
        detail = f"Asterisk reported error 0x{payload.hex()} ({', '.join(names)})"
        return self._close("hangup" if payload == b"\x01" else "error", detail)

    def _open(self, rate: int) -> list[IngestEvent]:
        if self._opened is not None:
            return []
        assert self._call_key is not None
        self._opened = StreamOpened(PLATFORM, self._call_key, {}, (TRACK,), rate, 1)
        return [self._opened]

    def _close(self, reason: Literal["hangup", "error"], detail: str) -> StreamClosed:
        self._closed = True
        return StreamClosed(reason, detail)


def _uuid(payload: bytes, known: str | None) -> str:
    if known is not None:
        raise IngestError(
            OUT_OF_ORDER, f"a second UUID frame on stream {known}; one connection is one stream"
        )
    if len(payload) != 16:
        raise IngestError(BAD_FRAME, f"a UUID frame of {len(payload)} bytes; it must hold 16 binary bytes")
    return str(uuidlib.UUID(bytes=payload))


class AudioSocketEncoder:
    """Frames as Asterisk sends them."""

    def frame(self, kind: int, payload: bytes = b"") -> bytes:
        return bytes([kind]) + len(payload).to_bytes(2, "big") + payload

    def uuid(self, value: uuidlib.UUID | str) -> bytes:
        return self.frame(KIND_UUID, uuidlib.UUID(str(value)).bytes)

    def audio(self, pcm: npt.NDArray[np.int16], sample_rate: int = 8000) -> bytes:
        """Mono int16 ``pcm`` as audio frames of the rate's kind, split at the 65535-byte payload limit."""
        kind = {rate: kind for kind, rate in SLIN_RATES.items()}.get(sample_rate)
        if kind is None or pcm.dtype != np.int16 or pcm.shape[1:] not in ((), (1,)):  # (n,) or (n, 1)
            raise ValueError(f"expected mono int16 at one of {sorted(SLIN_RATES.values())} Hz")
        data = pcm.astype("<i2").tobytes()
        step = 0xFFFE  # the largest even payload: frames never split a sample
        return b"".join(self.frame(kind, data[at : at + step]) for at in range(0, len(data), step))

    def dtmf(self, digit: str) -> bytes:
        return self.frame(KIND_DTMF, digit.encode("ascii"))

    def hangup(self) -> bytes:
        return self.frame(KIND_HANGUP)

    def error(self, code: int | None = None) -> bytes:
        return self.frame(KIND_ERROR, b"" if code is None else bytes([code]))
