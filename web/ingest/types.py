"""The events every ingest parser returns, and the one exception they raise.

Whatever the platform (Twilio, FreeSWITCH, Asterisk), a call arrives as: one :class:`StreamOpened`, then
:class:`AudioChunk` s interleaved with :class:`Dtmf` and :class:`Mark`, then one :class:`StreamClosed`.
A *track* is one separately delivered run of samples (Twilio's ``inbound`` and ``outbound`` legs are two
tracks); a chunk's ``pcm`` has one column per channel of its track, as the wire carries it (a FreeSWITCH
stereo fork is one track of two channels, caller left, callee right).

A parser raises :class:`IngestError` for input it cannot use. The message or frame that caused it is
consumed and the parser's state is as before it, so the caller may log the error and go on feeding, or
close the connection; events decoded earlier in the same call travel on the error (``error.events``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal, TypeAlias

import numpy as np
import numpy.typing as npt

BAD_FRAME: Final = "bad_frame"
UNSUPPORTED_FORMAT: Final = "unsupported_format"
OUT_OF_ORDER: Final = "out_of_order"
NO_CALL_KEY: Final = "no_call_key"
CODES: Final[frozenset[str]] = frozenset({BAD_FRAME, UNSUPPORTED_FORMAT, OUT_OF_ORDER, NO_CALL_KEY})

DTMF_DIGITS: Final = "0123456789*#ABCD"


@dataclass(frozen=True)
class StreamOpened:
    """A call's audio stream began. ``call_key`` identifies the call on its platform (Twilio's CallSid,
    the FreeSWITCH or Asterisk channel UUID); ``metadata`` is what the platform or dialplan passed along."""

    platform: str
    call_key: str
    metadata: dict[str, str]
    tracks: tuple[str, ...]
    sample_rate: int
    channels: int


@dataclass(frozen=True, eq=False)
class AudioChunk:
    """Samples of one track: int16 shaped ``(n, channels)`` at ``sample_rate``.

    ``timestamp_s`` is the chunk's offset in the stream when the protocol states it (Twilio's
    ``media.timestamp``), else None: then the chunk follows the previous one of its track.
    """

    track: str
    pcm: npt.NDArray[np.int16] = field(repr=False)
    sample_rate: int
    timestamp_s: float | None = None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AudioChunk):
            return NotImplemented
        same = (self.track, self.sample_rate, self.timestamp_s) == (
            other.track,
            other.sample_rate,
            other.timestamp_s,
        )
        return same and self.pcm.shape == other.pcm.shape and np.array_equal(self.pcm, other.pcm)

    __hash__ = None  # type: ignore[assignment]  # mutable payload: chunks are not dict keys


@dataclass(frozen=True)
class Dtmf:
    """A key pressed on a handset: one of ``0-9 * # A-D``; ``track`` when the protocol names it."""

    digit: str
    track: str | None = None


@dataclass(frozen=True)
class Mark:
    """Twilio's echo of a named mark: the audio sent before it has played (or was cleared)."""

    name: str


@dataclass(frozen=True)
class StreamClosed:
    """The stream ended: the caller hung up, the platform stopped streaming, or an error ended it."""

    reason: Literal["hangup", "stop", "error"]
    detail: str = ""


IngestEvent: TypeAlias = StreamOpened | AudioChunk | Dtmf | Mark | StreamClosed


class IngestError(Exception):
    """Input a parser cannot use. ``code`` is one of :data:`CODES` and never changes meaning; ``message``
    is one line naming the cause and the fix. ``events`` were decoded before the bad input, in the same call.
    """

    def __init__(self, code: str, message: str, events: tuple[IngestEvent, ...] = ()) -> None:
        if code not in CODES:
            # A typo in a code would silently break whatever switches on it downstream.
            raise ValueError(f"unknown ingest error code {code!r}; expected one of {sorted(CODES)}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.events = events

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"IngestError({self.code!r}, {self.message!r})"


def dtmf_digit(value: object, where: str) -> str:
    """A valid DTMF digit (upper-cased), or :class:`IngestError` ``bad_frame`` naming ``where``."""
    if not isinstance(value, str) or len(value) != 1 or value.upper() not in DTMF_DIGITS:
        raise IngestError(BAD_FRAME, f"{where} must be one DTMF key of {DTMF_DIGITS}, got {value!r}")
    return value.upper()


def pcm_le16(data: bytes | bytearray | memoryview, channels: int) -> npt.NDArray[np.int16]:
    """Interleaved 16-bit little-endian PCM bytes (a whole number of sample frames) as ``(n, channels)``."""
    samples = np.frombuffer(data, dtype="<i2").astype(np.int16)  # astype: a native-order, owned copy
    return samples.reshape(-1, channels)
