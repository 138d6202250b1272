"""Twilio Media Streams, sans I/O: each websocket text message in, typed ingest events out; and the encoder a
test caller uses to speak as Twilio.

Followed: Twilio's "Media Streams - WebSocket Messages" reference
(https://www.twilio.com/docs/voice/media-streams/websocket-messages). ``connected`` comes first, without a
``sequenceNumber``; ``start`` (sequence ``"1"``) carries ``streamSid``, ``accountSid``, ``callSid``,
``tracks`` (``inbound``, ``outbound``), ``customParameters`` and ``mediaFormat`` (always
``audio/x-mulaw``, 8000 Hz, 1 channel); then ``media`` (``track``, ``chunk``, ``timestamp`` in ms from the
stream's start, base64 ``payload``), ``dtmf`` (``track`` is ``inbound_track``), ``mark`` and finally
``stop``. Numbers other than the format's are sent as strings.

Choices where the reference is silent:

- ``sequenceNumber``: a number going back or repeating is refused (``out_of_order``): one websocket keeps
  order, so it means a message was fed twice or from elsewhere. A gap is tolerated, since the audio is placed
  by ``media.timestamp`` anyway, and counted in :attr:`TwilioParser.missing_messages`.
- Event types this parser does not know are skipped and counted in :attr:`TwilioParser.ignored_messages`,
  so a new Twilio message cannot break a live call.
- ``StreamOpened.call_key`` is the CallSid (a call may carry several streams); ``metadata`` holds the custom
  parameters, plus ``twilio.streamSid`` and ``twilio.accountSid``. Dtmf tracks lose their ``_track`` suffix
  so they match media tracks.
- The reference's media examples number ``chunk`` across both tracks; the encoder does the same, and the
  parser does not check chunk numbers.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

from callcoach.audio.g711 import mulaw_decode
from callcoach.audio.live_input import rate_refusal
from callcoach.web.ingest.types import (
    BAD_FRAME,
    OUT_OF_ORDER,
    UNSUPPORTED_FORMAT,
    AudioChunk,
    Dtmf,
    IngestError,
    IngestEvent,
    Mark,
    StreamClosed,
    StreamOpened,
    dtmf_digit,
)

PLATFORM: Final = "twilio"
ENCODING: Final = "audio/x-mulaw"
# Beyond it a timestamp in ms overflows as seconds (a float), and int() of thousands of digits refuses.
_MAX_WHOLE: Final = 2**53
_ORDER_FIX: Final = "feed each websocket message once, in the order received, starting with the first"


class TwilioParser:
    """Feed every text message of one Media Streams websocket to :meth:`feed`; call :meth:`close` when the
    connection ends."""

    def __init__(self) -> None:
        self._opened: StreamOpened | None = None
        self._closed = False
        self._last_seq: int | None = None
        self.missing_messages = 0  # sequence numbers skipped over (tolerated; see the module docstring)
        self.ignored_messages = 0  # messages of event types this parser does not know

    def feed(self, text: str) -> list[IngestEvent]:
        """The events one message carries; :class:`IngestError` (state unchanged) if it cannot be used."""
        message = _load(text)
        event = _str(message, "event", "the message")
        if event == "connected":
            self._check_phase(event, want_open=False)
            return []
        if event not in ("start", "media", "dtmf", "mark", "stop"):
            self.ignored_messages += 1
            return []
        self._check_phase(event, want_open=event != "start")
        seq = self._check_sequence(message)
        events = self._decode(event, message)
        self._commit(seq)  # only now: a message that raised leaves the parser as it was
        return events

    def close(self) -> list[IngestEvent]:
        """The connection ended: a :class:`StreamClosed` error if Twilio never sent ``stop``."""
        if self._opened is None or self._closed:
            return []
        self._closed = True
        return [StreamClosed("error", "the websocket closed before Twilio's stop message")]

    def _decode(self, event: str, message: dict[str, Any]) -> list[IngestEvent]:
        if event == "start":
            self._opened = _start(message)
            return [self._opened]
        opened = self._opened
        assert opened is not None  # _check_phase refused anything else before start
        _check_stream(message, opened.metadata["twilio.streamSid"])
        if event == "media":
            return _media(message, opened)
        if event == "dtmf":
            dtmf = _obj(message, "dtmf", "the dtmf message")
            track = dtmf.get("track")
            name = track.removesuffix("_track") if isinstance(track, str) else None
            return [Dtmf(dtmf_digit(dtmf.get("digit"), "dtmf.digit"), name)]
        if event == "mark":
            return [Mark(_str(_obj(message, "mark", "the mark message"), "name", "mark"))]
        self._closed = True
        return [StreamClosed("stop", f"Twilio stopped the stream of call {opened.call_key}")]

    def _check_phase(self, event: str, *, want_open: bool) -> None:
        if self._closed:
            raise IngestError(OUT_OF_ORDER, f"a {event} message after the stream ended (stop, or close())")
        if want_open and self._opened is None:
            raise IngestError(OUT_OF_ORDER, f"a {event} message before start; {_ORDER_FIX}")
        if not want_open and self._opened is not None:
            raise IngestError(OUT_OF_ORDER, f"a {event} message after start; {_ORDER_FIX}")

    def _check_sequence(self, message: dict[str, Any]) -> int:
        seq = _int(message, "sequenceNumber", "the message")
        if self._last_seq is not None and seq <= self._last_seq:
            raise IngestError(OUT_OF_ORDER, f"sequenceNumber {seq} came after {self._last_seq}; {_ORDER_FIX}")
        return seq

    def _commit(self, seq: int) -> None:
        if self._last_seq is not None:
            self.missing_messages += seq - self._last_seq - 1
        self._last_seq = seq


def _start(message: dict[str, Any]) -> StreamOpened:
    start = _obj(message, "start", "the start message")
    stream_sid = _str(start, "streamSid", "start")
    _check_stream(message, stream_sid)
    tracks = start.get("tracks")
    if not isinstance(tracks, list) or not tracks or not all(isinstance(t, str) for t in tracks):
        raise IngestError(
            BAD_FRAME, f'start.tracks must be a list of track names like ["inbound"], got {tracks!r}'
        )
    fmt = _obj(start, "mediaFormat", "start")
    encoding = _str(fmt, "encoding", "start.mediaFormat")
    if encoding != ENCODING:
        raise IngestError(
            UNSUPPORTED_FORMAT, f"media encoding {encoding!r} is not supported; send {ENCODING}"
        )
    channels = _int(fmt, "channels", "start.mediaFormat")
    if channels != 1:
        raise IngestError(UNSUPPORTED_FORMAT, f"{channels} channels per track; Media Streams send 1")
    rate = _int(fmt, "sampleRate", "start.mediaFormat")
    refusal = rate_refusal(rate)
    if refusal is not None:  # 8 Hz would be 2000 samples out per sample in: refused before the call opens
        raise IngestError(
            UNSUPPORTED_FORMAT, f"start.mediaFormat.sampleRate: {refusal} (Media Streams send 8000)"
        )
    custom = start.get("customParameters", {})
    if not isinstance(custom, dict):
        raise IngestError(BAD_FRAME, f"start.customParameters must be an object, got {custom!r}")
    metadata = {k: v if isinstance(v, str) else json.dumps(v) for k, v in custom.items()}
    metadata["twilio.streamSid"] = stream_sid
    metadata["twilio.accountSid"] = str(start.get("accountSid", ""))
    call_sid = _str(start, "callSid", "start")
    return StreamOpened(PLATFORM, call_sid, metadata, tuple(tracks), rate, channels)


def _media(message: dict[str, Any], opened: StreamOpened) -> list[IngestEvent]:
    media = _obj(message, "media", "the media message")
    track = _str(media, "track", "media")
    if track not in opened.tracks:
        raise IngestError(BAD_FRAME, f"media for track {track!r}; the start message named {opened.tracks}")
    timestamp_ms = _int(media, "timestamp", "media")
    try:
        codes = base64.b64decode(_str(media, "payload", "media"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise IngestError(BAD_FRAME, f"media.payload is not base64 ({exc}); send base64 mu-law") from exc
    if not codes:
        return []
    pcm = mulaw_decode(codes).reshape(-1, 1)
    return [AudioChunk(track, pcm, opened.sample_rate, timestamp_ms / 1000)]


def _check_stream(message: dict[str, Any], stream_sid: str) -> None:
    got = message.get("streamSid", stream_sid)
    if got != stream_sid:
        raise IngestError(BAD_FRAME, f"a message for stream {got!r} on stream {stream_sid!r}'s connection")


def _load(text: str) -> dict[str, Any]:
    try:
        message = json.loads(text)
    except json.JSONDecodeError as exc:
        raise IngestError(BAD_FRAME, f"a message that is not JSON ({exc.msg} at {exc.pos})") from exc
    except (RecursionError, ValueError) as exc:  # nested thousands deep, or a number of 4300+ digits
        raise IngestError(
            BAD_FRAME,
            "a message nested too deeply or with a number thousands of digits long; Twilio sends neither",
        ) from exc
    if not isinstance(message, dict):
        raise IngestError(BAD_FRAME, 'a message must be a JSON object with an "event"')
    return message


def _obj(parent: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    value = parent.get(key)
    if not isinstance(value, dict):
        raise IngestError(BAD_FRAME, f"{where} needs an object {key!r}, got {value!r}")
    return value


def _str(parent: Mapping[str, Any], key: str, where: str) -> str:
    value = parent.get(key)
    if not isinstance(value, str):
        raise IngestError(BAD_FRAME, f"{where} needs a string {key!r}, got {value!r}")
    return value


def _int(parent: Mapping[str, Any], key: str, where: str) -> int:
    """A whole number, which Twilio sends as a string of digits (``"1"``) except in ``mediaFormat``."""
    value = parent.get(key)
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= len(str(_MAX_WHOLE)):
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) <= _MAX_WHOLE:
        return value
    raise IngestError(
        BAD_FRAME, f"{where} needs a whole number {key!r} up to {_MAX_WHOLE}, got {value!r:.60}"
    )


class TwilioEncoder:
    """The messages Twilio sends for one stream, as JSON text, numbered as Twilio numbers them."""

    def __init__(
        self,
        stream_sid: str,
        call_sid: str,
        custom_parameters: Mapping[str, str] | None = None,
        account_sid: str = "AC" + "0" * 32,
    ) -> None:
        self.stream_sid = stream_sid
        self.call_sid = call_sid
        self.account_sid = account_sid
        self.custom_parameters = dict(custom_parameters or {})
        self._seq = 0
        self._chunk = 0
        self._samples: dict[str, int] = {}  # per track: mu-law bytes sent, the default timestamp's clock

    def connected(self) -> str:
        return json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"})

    def start(self, tracks: Iterable[str] = ("inbound",)) -> str:
        start = {
            "accountSid": self.account_sid,
            "streamSid": self.stream_sid,
            "callSid": self.call_sid,
            "tracks": list(tracks),
            "mediaFormat": {"encoding": ENCODING, "sampleRate": 8000, "channels": 1},
            "customParameters": self.custom_parameters,
        }
        return self._send("start", start=start, streamSid=self.stream_sid)

    def media(
        self, track: str, mulaw: bytes, timestamp_ms: int | None = None, chunk: int | None = None
    ) -> str:
        """A media message; by default ``timestamp`` follows the track's audio and ``chunk`` counts up."""
        sent = self._samples.get(track, 0)
        self._samples[track] = sent + len(mulaw)
        self._chunk = self._chunk + 1 if chunk is None else chunk
        media = {
            "track": track,
            "chunk": str(self._chunk),
            "timestamp": str(sent // 8 if timestamp_ms is None else timestamp_ms),
            "payload": base64.b64encode(mulaw).decode("ascii"),
        }
        return self._send("media", media=media, streamSid=self.stream_sid)

    def dtmf(self, digit: str, track: str = "inbound_track") -> str:
        seq = self._next()
        body = {"track": track, "digit": digit}
        return json.dumps(
            {"event": "dtmf", "streamSid": self.stream_sid, "sequenceNumber": seq, "dtmf": body}
        )

    def mark(self, name: str) -> str:
        seq = self._next()
        return json.dumps(
            {"event": "mark", "sequenceNumber": seq, "streamSid": self.stream_sid, "mark": {"name": name}}
        )

    def stop(self) -> str:
        stop = {"accountSid": self.account_sid, "callSid": self.call_sid}
        return self._send("stop", stop=stop, streamSid=self.stream_sid)

    def _send(self, event: str, **fields: Any) -> str:
        # Key order as in the reference's examples: event, sequenceNumber, the body, streamSid.
        return json.dumps({"event": event, "sequenceNumber": self._next(), **fields})

    def _next(self) -> str:
        self._seq += 1
        return str(self._seq)
