"""The ingest endpoints, the thin asyncio shell around the platform parsers.

- ``GET /ingest/twilio`` (websocket): Twilio Media Streams.
- ``GET /ingest/audiofork`` (websocket): FreeSWITCH ``uuid_audio_fork``: a JSON metadata text frame, then
  binary 16-bit little-endian PCM; ``?mix=stereo|mono&rate=8000|16000`` say what the fork sends.
- AudioSocket (TCP, :func:`start_audiosocket`): one port for the customer's leg, one for the agent's; two
  connections with the same call UUID are the two legs of one call.

The websockets require the shared ingest token (``?token=`` or ``Authorization: Bearer``); a request
without it is refused with 401 and the reason. AudioSocket has no field to carry a token, so its ports
accept only the peer addresses in the settings (loopback by default). Whatever the platform sends that a
parser refuses is logged and skipped; a connection that goes without a hang-up ends its call as dropped,
keeping everything received before.

Bounds, so that one connection cannot hold the server: an audio fork URL whose ``mix`` or ``rate`` cannot
be used is answered 400 naming the parameter; a stream whose format is refused before its call opens
(Twilio's ``"sampleRate": 8``) is closed with 1003 and the reason; a connection (or AudioSocket leg) that
sends nothing for ``ingest_idle_s`` is closed (1008 on a websocket) and its call ends as dropped, saying
so; a call past ``max_call_s`` is ended by its :class:`LiveCall` and the connection closed (1008).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from aiohttp import WSCloseCode, WSMessage, WSMsgType, web

from callcoach.live.catalog import CallCatalog
from callcoach.live.events import Speaker
from callcoach.live.live_call import LiveCall
from callcoach.live.settings import Settings
from callcoach.web.ingest.audiofork import AudioForkParser, check_mix, check_rate
from callcoach.web.ingest.audiosocket import AudioSocketParser
from callcoach.web.ingest.twilio import TwilioParser
from callcoach.web.ingest.types import (
    UNSUPPORTED_FORMAT,
    AudioChunk,
    IngestError,
    IngestEvent,
    StreamClosed,
    StreamOpened,
)
from callcoach.web.ingest_bridge import IngestBridge, audiofork_speakers, started_from, twilio_speakers
from callcoach.web.protocol import HEARTBEAT_S

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_INGEST_BYTES = 1024 * 1024  # a media frame is a few KiB; a megabyte refuses abuse, not audio


def check_token(request: web.Request, token: str) -> None:
    given = request.query.get("token", "")
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        given = auth.removeprefix("Bearer ")
    if not given:
        raise web.HTTPUnauthorized(text="callcoach ingest needs the shared token: add ?token=... to the URL")
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise web.HTTPUnauthorized(text="callcoach ingest refused the token: use the server's ingest token")


async def twilio_socket(
    request: web.Request, catalog: CallCatalog, settings: Settings
) -> web.WebSocketResponse:
    check_token(request, settings.ingest_token)
    parser, bridge = TwilioParser(), IngestBridge(catalog, twilio_speakers(settings.twilio_agent_track))
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S, max_msg_size=MAX_INGEST_BYTES)
    await ws.prepare(request)

    def feed(msg: WSMessage) -> Sequence[IngestEvent]:
        return parser.feed(msg.data) if msg.type == WSMsgType.TEXT else []

    try:
        await _pump(ws, bridge, feed, settings, "Twilio stream")
    finally:
        await bridge.handle(parser.close())
        await bridge.finish(clean=False, detail="the Twilio stream closed without a stop message")
    return ws


async def audiofork_socket(
    request: web.Request, catalog: CallCatalog, settings: Settings
) -> web.WebSocketResponse:
    check_token(request, settings.ingest_token)
    try:  # the fork's own arguments, checked before the upgrade so a mistake is a 400 naming it
        mix = check_mix(request.query.get("mix", "stereo"), "the URL's mix")
        rate = check_rate(request.query.get("rate", "16k"), "the URL's rate")
    except IngestError as exc:
        raise web.HTTPBadRequest(text=f"callcoach audio fork: {exc.message}") from exc
    parser = AudioForkParser(uuid=request.query.get("uuid", ""), mix_type=mix, sampling=rate)
    bridge = IngestBridge(catalog, audiofork_speakers(settings.audiofork_agent_side))
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S, max_msg_size=MAX_INGEST_BYTES)
    await ws.prepare(request)

    def feed(msg: WSMessage) -> Sequence[IngestEvent]:
        return parser.text(msg.data) if msg.type == WSMsgType.TEXT else parser.binary(msg.data)

    try:
        # The fork closes its websocket (a close frame) when the call ends: that is a clean end. A
        # connection lost without one (a reset, a peer gone quiet past the heartbeat) is a drop.
        if await _pump(ws, bridge, feed, settings, "audio fork"):
            await bridge.handle(parser.close())
            await bridge.finish(clean=True)
    finally:
        await bridge.finish(clean=False, detail="the audio fork connection broke")
    return ws


async def _pump(
    ws: web.WebSocketResponse,
    bridge: IngestBridge,
    feed: Callable[[WSMessage], Sequence[IngestEvent]],
    settings: Settings,
    what: str,
) -> bool:
    """Feed the peer's messages to the bridge until the connection ends; True if the peer closed it.

    The server closes it instead when the peer sends nothing for ``ingest_idle_s`` (the call ends as
    dropped, saying so), when the stream's format is refused before a call opened (nothing after it could
    be used), or when the call ran into a limit (``max_call_s``).
    """
    while (msg := await _next(ws, settings.ingest_idle_s)) is not None:
        if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
            return msg.type == WSMsgType.CLOSE
        try:
            events = feed(msg)
        except IngestError as exc:
            log.warning("ingest refused a message (%s): %s", exc.code, exc.message)
            if exc.code == UNSUPPORTED_FORMAT and bridge.live is None:
                await _close(ws, WSCloseCode.UNSUPPORTED_DATA, exc.message)
                return False
            events = exc.events  # nothing decoded before the refusal is lost
        await bridge.handle(events)
        if bridge.fault is not None:
            await _close(ws, WSCloseCode.POLICY_VIOLATION, bridge.fault)
            return False
    idle = _idle_detail(what, settings.ingest_idle_s)
    await bridge.finish(clean=False, detail=idle)
    await _close(ws, WSCloseCode.POLICY_VIOLATION, idle)
    return False


async def _next(ws: web.WebSocketResponse, idle_s: float) -> WSMessage | None:
    """The peer's next message, or None when it sent none for ``idle_s``. One deadline for the wait: the
    heartbeat's pongs, which aiohttp reads inside ``receive``, must not keep a silent peer alive."""
    try:
        async with asyncio.timeout(idle_s):
            return await ws.receive()
    except TimeoutError:
        return None


def _idle_detail(what: str, idle_s: float) -> str:
    return f"the {what} sent nothing for {idle_s:g} s and was closed (--ingest-idle-s)"


async def _close(ws: web.WebSocketResponse, code: WSCloseCode, reason: str) -> None:
    log.warning("ingest connection closed (%s): %s", int(code), reason)
    # A close frame's reason holds at most 123 bytes; the log has it whole.
    await ws.close(code=code, message=reason.encode()[:123].decode(errors="ignore").encode())


def _parsed(parse: Callable[[T], Sequence[IngestEvent]], data: T) -> Sequence[IngestEvent]:
    """Feed a parser; a refusal is logged and the events decoded before it are kept (nothing is lost)."""
    try:
        return parse(data)
    except IngestError as exc:
        log.warning("ingest refused a message (%s): %s", exc.code, exc.message)
        return exc.events


@dataclass
class _Leg:
    """One AudioSocket connection: whose leg, its call once known, and why it ended (None: a hang-up)."""

    speaker: Speaker
    key: str | None = None
    problem: str | None = "an AudioSocket leg closed without a hang-up"


@dataclass
class _Call:
    """One AudioSocket call: its live call, the legs still connected, why any leg ended badly."""

    live: LiveCall
    legs: set[Speaker] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)


class AudioSocketCalls:
    """The AudioSocket legs of each call, joined by call UUID; the call ends when its last leg goes."""

    def __init__(self, catalog: CallCatalog, settings: Settings) -> None:
        self._catalog = catalog
        self._settings = settings
        self._calls: dict[str, _Call] = {}

    async def serve_leg(
        self, speaker: Speaker, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        peer = writer.get_extra_info("peername")
        host = peer[0] if peer else ""
        if host not in self._settings.audiosocket_allow:
            log.warning("AudioSocket connection from %s refused: not in CALLCOACH_AUDIOSOCKET_ALLOW", host)
            writer.close()
            return
        leg = _Leg(speaker)
        try:
            await self._read(leg, reader)
        except ConnectionError:
            leg.problem = "the AudioSocket connection broke"
        finally:
            writer.close()
            if leg.key is not None:
                await self._leave(leg)

    async def _read(self, leg: _Leg, reader: asyncio.StreamReader) -> None:
        """Read the leg to its end: a hang-up, the connection closing, going idle or the call's limit."""
        parser, idle_s = AudioSocketParser(), self._settings.ingest_idle_s
        while leg.problem is not None:
            try:
                async with asyncio.timeout(idle_s):
                    data = await reader.read(65536)
            except TimeoutError:
                leg.problem = _idle_detail(f"AudioSocket {leg.speaker} leg", idle_s)
                return
            if not data:
                break
            for event in _parsed(parser.feed, data):
                await self._event(leg, event)
                # The two legs arrive on two sockets; after a stall one read may hold seconds of a
                # leg. Yield after each frame so the other leg's reader keeps pace: a leg that falls
                # behind by more than the aligner's lag is taken as dead and its late audio dropped.
                await asyncio.sleep(0)
            call = self._calls.get(leg.key or "")
            if call is not None and call.live.fault is not None:
                leg.problem = call.live.fault.message  # the call ended at its limit: stop reading it
                return
        if leg.problem is not None:
            for event in parser.close():
                await self._event(leg, event)

    async def _event(self, leg: _Leg, event: IngestEvent) -> None:
        if isinstance(event, StreamOpened):
            self._join(event, leg.speaker)
            leg.key = event.call_key
        elif isinstance(event, AudioChunk) and leg.key in self._calls:
            live = self._calls[leg.key].live
            await live.push(leg.speaker, event.pcm[:, 0], event.sample_rate, event.timestamp_s)
        elif isinstance(event, StreamClosed):
            leg.problem = None if event.reason == "hangup" else event.detail or leg.problem

    def _join(self, opened: StreamOpened, speaker: Speaker) -> None:
        call = self._calls.get(opened.call_key)
        if call is None:
            live = self._catalog.start_live(started_from(opened, ("agent", "customer")))
            call = self._calls[opened.call_key] = _Call(live)
        call.legs.add(speaker)

    async def _leave(self, leg: _Leg) -> None:
        call = self._calls.get(leg.key or "")
        if call is None:
            return
        call.legs.discard(leg.speaker)
        if leg.problem is not None:
            call.problems.append(leg.problem)
        if not call.legs:
            del self._calls[leg.key or ""]
            await call.live.end("dropped" if call.problems else "completed", "; ".join(call.problems))


async def start_audiosocket(catalog: CallCatalog, settings: Settings) -> list[asyncio.Server]:
    """Listen for the customer's leg and the agent's leg on their two ports.

    A port that cannot be had (in use, not allowed) leaves AudioSocket off with a warning naming the
    setting to change: the page and the other platforms still work.
    """
    calls = AudioSocketCalls(catalog, settings)
    servers = []
    for speaker, port in (
        ("customer", settings.audiosocket_port),
        ("agent", settings.audiosocket_agent_port),
    ):
        try:
            servers.append(
                await asyncio.start_server(
                    lambda r, w, s=speaker: calls.serve_leg(s, r, w),  # type: ignore[misc]
                    host=settings.host,
                    port=port,
                )
            )
        except OSError as exc:
            log.warning(
                "AudioSocket (%s leg) is off: port %s: %s; pick another with --audiosocket-port / "
                "--audiosocket-agent-port",
                speaker,
                port,
                exc.strerror,
            )
    return servers
