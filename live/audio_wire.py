"""A live call's audio for pages, as binary websocket messages: the layout, its encoder and its decoder.

Sans I/O. One message per step carries every speaker, at the rate the platform sent (8 kHz for Twilio and
AudioSocket): about 32 kB per call-second at 8 kHz, where the base64 JSON ``frame`` per speaker at 16 kHz
it replaces took about 88 kB, and one message for the page to route instead of two. The layout is
little-endian throughout (the page reads it with a ``DataView``; ``docs/protocol.md`` has the table and a
worked example):

====== ====== ===================================================================================
offset bytes  field
====== ====== ===================================================================================
0      1      version: 1
1      1      encoding: 1, 16-bit signed little-endian PCM
2      1      channels: C, one per speaker
3      1      the call id's length in bytes, L (UTF-8, 1 to 255)
4      4      sample rate in Hz, unsigned
8      8      start_s, float64: where the step starts in call time, the clock of every event
16     C      each channel's speaker: 0 agent, 1 customer, 2 mixed
16+C   L      the call id, UTF-8
…      0–1    one zero byte when 16+C+L is odd, so the samples start on an even byte
…      2·C·N  the samples, planar: channel 0's N samples, then channel 1's
====== ====== ===================================================================================

Planar, not interleaved: each speaker plays through its own panner, so the page wants one buffer per
speaker (Web Audio's buffers are planar too), and the pipeline holds each speaker's samples apart: neither
end shuffles a sample. ``N`` is not sent: it is what the samples' bytes come to.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from callcoach.audio.listen_tap import HeardStep
from callcoach.live.events import SPEAKERS, Speaker

VERSION: Final = 1
PCM16: Final = 1  # the only encoding so far
_HEAD = struct.Struct("<BBBBId")  # version, encoding, channels, id length, rate, start_s: 16 bytes
_CODES: Final = {speaker: code for code, speaker in enumerate(SPEAKERS)}  # agent 0, customer 1, mixed 2


class AudioWireError(ValueError):
    """A message that is not live audio this version can read."""


@dataclass(frozen=True, eq=False)
class AudioMessage:
    """A decoded message: ``pcm`` shaped ``(len(speakers), n)``, a row per speaker."""

    call_id: str
    start_s: float
    sample_rate_hz: int
    speakers: tuple[Speaker, ...]
    pcm: npt.NDArray[np.int16]


def encode_audio(call_id: str, step: HeardStep) -> bytes:
    """The binary message for one step of ``call_id``'s audio, for every page that listens."""
    name = call_id.encode("utf-8")
    channels = len(step.speakers)
    if not 1 <= len(name) <= 255:
        raise ValueError(f"a call id must be 1 to 255 bytes of UTF-8 to go out as audio, got {call_id!r}")
    if step.pcm.shape[0] != channels or not 1 <= channels <= 255:
        raise ValueError(f"expected a row of samples per speaker {step.speakers}, got {step.pcm.shape}")
    head = _HEAD.pack(VERSION, PCM16, channels, len(name), step.sample_rate_hz, step.start_s)
    codes = bytes(_CODES[speaker] for speaker in step.speakers)
    pad = b"\0" * ((len(head) + channels + len(name)) % 2)
    return b"".join((head, codes, name, pad, step.pcm.astype("<i2", copy=False).tobytes()))


def decode_audio(data: bytes) -> AudioMessage:
    """Read a message :func:`encode_audio` made; :class:`AudioWireError` says what is wrong with one
    that is not."""
    if len(data) < _HEAD.size:
        raise AudioWireError(f"a live audio message has at least {_HEAD.size} bytes, this one {len(data)}")
    version, encoding, channels, id_len, rate, start_s = _HEAD.unpack_from(data)
    if version != VERSION or encoding != PCM16:
        raise AudioWireError(
            f"live audio version {version}, encoding {encoding}: this reader knows version {VERSION}, "
            f"encoding {PCM16} (16-bit PCM); update it"
        )
    at = _HEAD.size + channels + id_len
    samples_at = at + at % 2
    body = len(data) - samples_at
    if channels == 0 or id_len == 0 or body < 0 or body % (2 * channels):
        raise AudioWireError(
            f"a live audio message of {len(data)} bytes cannot hold {channels} channels of whole "
            f"16-bit samples after a call id of {id_len} bytes"
        )
    codes = data[_HEAD.size : _HEAD.size + channels]
    if max(codes) >= len(SPEAKERS):
        raise AudioWireError(f"unknown speaker codes {list(codes)}: known are 0 to {len(SPEAKERS) - 1}")
    pcm = np.frombuffer(data, dtype="<i2", offset=samples_at).astype(np.int16).reshape(channels, -1)
    return AudioMessage(
        call_id=data[_HEAD.size + channels : at].decode("utf-8"),
        start_s=start_s,
        sample_rate_hz=rate,
        speakers=tuple(SPEAKERS[code] for code in codes),
        pcm=pcm,
    )
