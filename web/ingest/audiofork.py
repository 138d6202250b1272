"""FreeSWITCH mod_audio_fork, sans I/O: the websocket's text and binary messages in, typed ingest events out;
and the encoder a test caller uses to speak as FreeSWITCH.

Followed: the mod_audio_fork README (drachtio/drachtio-freeswitch-modules, modules/mod_audio_fork), and its
source where the README is silent. ``uuid_audio_fork <uuid> start <wss-url> <mix-type> <sampling-rate>
<metadata>`` streams 16-bit linear PCM in binary frames: ``mono`` (the caller), ``mixed`` (both parties
summed, one channel) or ``stereo`` (two interleaved channels), at ``8k`` or ``16k`` (the source also takes
any multiple of 8000 Hz). ``metadata`` is sent as a text frame "immediately upon connecting", before audio.

Choices where the README is silent or loose:

- Byte order: little-endian. The README says only "linear 16"; the module sends FreeSWITCH's native int16
  buffers, which are little-endian on the x86 and ARM hosts FreeSWITCH runs on.
- Stereo channel order: caller left, callee right (FreeSWITCH's media bug puts the read stream left unless
  ``SMBF_STEREO_SWAP``). The one track of a stereo fork is named ``caller+callee``, in column order.
- Metadata is optional (the module sends none when it is empty), so audio may come first: the stream then
  opens with the constructor's settings. When sent, it must be a JSON object (the module itself only
  recognises metadata starting with ``{`` or ``[``); ``sampleRate``/``sample_rate`` and
  ``channels``/``mixType``/``mix_type`` in it override the constructor. Values that are not strings are
  kept as their JSON text. Later text frames (``send_text``, ``stop <metadata>``) are application-defined:
  they are skipped and counted in :attr:`AudioForkParser.ignored_texts`.
- The call key is the constructor's ``uuid`` (the endpoint knows it, e.g. from its URL), else the first of
  ``uuid``, ``callUuid``, ``call_uuid``, ``callid``, ``callId``, ``call_id`` in the metadata.
- Rates: of the module's multiples of 8000 Hz, those the pipeline accepts (:data:`RATES`); any other, in
  the constructor or the metadata, is refused (``unsupported_format``) naming where it was given, so a
  ``rate=7`` in the endpoint's URL can be answered with the parameter to fix.
- A binary message need not hold whole sample frames: the remainder is carried to the next one, so an odd
  split never misaligns samples or channels.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from callcoach.audio.live_input import ACCEPTED_RATES_HZ
from callcoach.web.ingest.types import (
    BAD_FRAME,
    NO_CALL_KEY,
    OUT_OF_ORDER,
    UNSUPPORTED_FORMAT,
    AudioChunk,
    IngestError,
    IngestEvent,
    StreamClosed,
    StreamOpened,
    pcm_le16,
)

PLATFORM: Final = "freeswitch"
MIX_TYPES: Final[dict[str, int]] = {"mono": 1, "mixed": 1, "stereo": 2}
TRACKS: Final[dict[str, str]] = {"mono": "caller", "mixed": "mixed", "stereo": "caller+callee"}
_RATE_WORDS: Final[dict[str, int]] = {"8k": 8000, "16k": 16000}
# The module takes multiples of 8000 Hz; of those, the telephony rates the pipeline accepts.
RATES: Final = tuple(rate for rate in ACCEPTED_RATES_HZ if rate % 8000 == 0)
_CALL_KEYS: Final = ("uuid", "callUuid", "call_uuid", "callid", "callId", "call_id")


class AudioForkParser:
    """One mod_audio_fork websocket. The arguments mirror ``uuid_audio_fork <uuid> start <url> <mix-type>
    <sampling-rate>``; feed text messages to :meth:`text`, binary ones to :meth:`binary`, then :meth:`close`.
    """

    def __init__(self, uuid: str = "", mix_type: str = "mono", sampling: str | int = "8k") -> None:
        """:class:`IngestError` (``unsupported_format``) naming the argument if one cannot be used."""
        self._uuid = uuid
        self._mix = check_mix(mix_type, "mix_type")
        self._rate = check_rate(sampling, "sampling")
        self._opened: StreamOpened | None = None
        self._closed = False
        self._carry = b""  # bytes of a sample frame split across binary messages
        self.ignored_texts = 0

    def text(self, text: str) -> list[IngestEvent]:
        """The first text frame is the metadata and opens the stream; later ones are skipped."""
        self._check_open()
        if self._opened is not None:
            self.ignored_texts += 1
            return []
        self._opened = self._open(_metadata(text))
        return [self._opened]

    def binary(self, data: bytes | bytearray | memoryview) -> list[IngestEvent]:
        """The whole sample frames so far as one chunk (opening the stream if no metadata came first)."""
        self._check_open()
        events: list[IngestEvent] = []
        if self._opened is None:
            self._opened = self._open({})
            events.append(self._opened)
        opened = self._opened
        buffered = self._carry + bytes(data)
        whole = len(buffered) - len(buffered) % (2 * opened.channels)
        self._carry = buffered[whole:]
        if whole:
            pcm = pcm_le16(buffered[:whole], opened.channels)
            events.append(AudioChunk(opened.tracks[0], pcm, opened.sample_rate))
        return events

    def close(self) -> list[IngestEvent]:
        """The websocket closed (``uuid_audio_fork stop`` or the end of the call)."""
        if self._opened is None or self._closed:
            return []
        self._closed = True
        detail = "the audio fork's websocket closed"
        if self._carry:
            detail += f"; {len(self._carry)} trailing bytes of an incomplete sample frame were dropped"
        return [StreamClosed("stop", detail)]

    def _check_open(self) -> None:
        if self._closed:
            raise IngestError(OUT_OF_ORDER, "a message after close(); make a new parser per websocket")

    def _open(self, raw: Mapping[str, Any]) -> StreamOpened:
        mix = check_mix(raw.get("mixType", raw.get("mix_type", self._mix)), "the metadata's mixType")
        channels = raw.get("channels", MIX_TYPES[mix])
        if not isinstance(channels, int) or isinstance(channels, bool) or channels not in (1, 2):  # 1.0 == 1
            raise IngestError(UNSUPPORTED_FORMAT, f"{channels!r} channels; mod_audio_fork sends 1 or 2")
        if channels != MIX_TYPES[mix]:  # the channel count is the more direct statement of the layout
            mix = "stereo" if channels == 2 else "mono"
        rate = check_rate(
            raw.get("sampleRate", raw.get("sample_rate", self._rate)), "the metadata's sampleRate"
        )
        return StreamOpened(PLATFORM, self._call_key(raw), _strings(raw), (TRACKS[mix],), rate, channels)

    def _call_key(self, raw: Mapping[str, Any]) -> str:
        found = [raw[k] for k in _CALL_KEYS if isinstance(raw.get(k), str) and raw[k]]
        if self._uuid or found:
            return self._uuid or str(found[0])
        raise IngestError(
            NO_CALL_KEY,
            'no call key: pass the channel uuid to AudioForkParser(uuid=...) or put "uuid" in the metadata',
        )


def _metadata(text: str) -> dict[str, Any]:
    try:
        raw = json.loads(text)
    except (RecursionError, ValueError):  # not JSON, nested thousands deep, or a number of 4300+ digits
        raw = None
    if not isinstance(raw, dict):
        raise IngestError(
            BAD_FRAME,
            f"the metadata text frame is not a JSON object ({text[:40]!r}); pass {{...}} to uuid_audio_fork",
        )
    return raw


def check_mix(value: object, name: str) -> str:
    """``value`` if it is a mix type, else :class:`IngestError` naming ``name`` (where it was given)."""
    if not isinstance(value, str) or value not in MIX_TYPES:
        raise IngestError(
            UNSUPPORTED_FORMAT, f"{name} {value!r} is not a mix type: use mono, mixed or stereo"
        )
    return value


def check_rate(value: object, name: str) -> int:
    """Hz from ``8k``, ``16k``, digits or a number, if one of :data:`RATES`, else :class:`IngestError`
    naming ``name``."""
    rate = value
    if isinstance(value, str):
        digits = value.isascii() and value.isdigit() and len(value) <= 9  # int() refuses 4300+ digits
        rate = _RATE_WORDS.get(value, int(value) if digits else None)
    if isinstance(rate, int) and not isinstance(rate, bool) and rate in RATES:
        return rate
    raise IngestError(
        UNSUPPORTED_FORMAT,
        f"{name} {value!r} is not a rate the audio fork sends: use 8k or 16k "
        f"(or one of {', '.join(map(str, RATES))} Hz)",
    )


def _strings(raw: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()}


class AudioForkEncoder:
    """What mod_audio_fork sends: the metadata text frame, then little-endian interleaved PCM frames."""

    def __init__(self, metadata: Mapping[str, Any], sample_rate: int = 8000, channels: int = 1) -> None:
        self.metadata = dict(metadata)
        self.sample_rate = sample_rate
        self.channels = channels

    def metadata_text(self) -> str:
        return json.dumps(self.metadata)

    def audio(self, pcm: npt.NDArray[np.int16]) -> bytes:
        """One binary frame of ``pcm`` shaped ``(n, channels)``."""
        if pcm.dtype != np.int16 or pcm.ndim != 2 or pcm.shape[1] != self.channels:
            raise ValueError(f"expected int16 shaped (n, {self.channels}), got {pcm.dtype} {pcm.shape}")
        return pcm.astype("<i2").tobytes()

    def frames(self, pcm: npt.NDArray[np.int16], frame_ms: int = 20) -> list[bytes]:
        """``pcm`` cut into binary frames of ``frame_ms`` (FreeSWITCH's packetization is 20 ms)."""
        step = self.sample_rate * frame_ms // 1000
        return [self.audio(pcm[at : at + step]) for at in range(0, len(pcm), step)]
