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
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

from aiohttp import WSMsgType, web

from callcoach.live.catalog import CallCatalog
from callcoach.live.events import Speaker
from callcoach.live.live_call import LiveCall
from callcoach.live.settings import Settings
from callcoach.web.ingest.audiofork import AudioForkParser
from callcoach.web.ingest.audiosocket import AudioSocketParser
from callcoach.web.ingest.twilio import TwilioParser
from callcoach.web.ingest.types import AudioChunk, IngestError, IngestEvent, StreamClosed, StreamOpened
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
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await bridge.handle(_parsed(parser.feed, msg.data))
    finally:
        await bridge.handle(parser.close())
        await bridge.finish(clean=False, detail="the Twilio stream closed without a stop message")
    return ws


async def audiofork_socket(
    request: web.Request, catalog: CallCatalog, settings: Settings
) -> web.WebSocketResponse:
    check_token(request, settings.ingest_token)
    mix = request.query.get("mix", "stereo")
    parser = AudioForkParser(
        uuid=request.query.get("uuid", ""), mix_type=mix, sampling=request.query.get("rate", "16k")
    )
    bridge = IngestBridge(catalog, audiofork_speakers(settings.audiofork_agent_side))
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S, max_msg_size=MAX_INGEST_BYTES)
    await ws.prepare(request)
    try:
        while (msg := await ws.receive()).type in (WSMsgType.TEXT, WSMsgType.BINARY):
            if msg.type == WSMsgType.TEXT:
                await bridge.handle(_parsed(parser.text, msg.data))
            else:
                await bridge.handle(_parsed(parser.binary, msg.data))
        # The fork closes its websocket (a close frame) when the call ends: that is a clean end. A
        # connection lost without one (a reset, a peer gone quiet past the heartbeat) is a drop.
        if msg.type == WSMsgType.CLOSE:
            await bridge.handle(parser.close())
            await bridge.finish(clean=True)
    finally:
        await bridge.finish(clean=False, detail="the audio fork connection broke")
    return ws


def _parsed(parse: Callable[[T], Sequence[IngestEvent]], data: T) -> Sequence[IngestEvent]:
    """Feed a parser; a refusal is logged and the events decoded before it are kept (nothing is lost)."""
    try:
        return parse(data)
    except IngestError as exc:
        log.warning("ingest refused a message (%s): %s", exc.code, exc.message)
        return exc.events


class AudioSocketCalls:
    """The AudioSocket legs of each call, joined by call UUID; the call ends when its last leg goes."""

    def __init__(self, catalog: CallCatalog, settings: Settings) -> None:
        self._catalog = catalog
        self._settings = settings
        self._calls: dict[str, tuple[LiveCall, set[Speaker], list[bool]]] = {}

    async def serve_leg(
        self, speaker: Speaker, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        peer = writer.get_extra_info("peername")
        host = peer[0] if peer else ""
        if host not in self._settings.audiosocket_allow:
            log.warning("AudioSocket connection from %s refused: not in CALLCOACH_AUDIOSOCKET_ALLOW", host)
            writer.close()
            return
        parser, key, clean = AudioSocketParser(), None, False
        try:
            while data := await reader.read(65536):
                for event in _parsed(parser.feed, data):
                    key, clean = await self._event(speaker, event, key, clean)
                    # The two legs arrive on two sockets; after a stall one read may hold seconds of a
                    # leg. Yield after each frame so the other leg's reader keeps pace: a leg that falls
                    # behind by more than the aligner's lag is taken as dead and its late audio dropped.
                    await asyncio.sleep(0)
                if clean:
                    break
            if not clean:
                for event in parser.close():
                    key, clean = await self._event(speaker, event, key, clean)
        except ConnectionError:
            clean = False
        finally:
            writer.close()
            if key is not None:
                await self._leave(key, speaker, clean)

    async def _event(
        self, speaker: Speaker, event: IngestEvent, key: str | None, clean: bool
    ) -> tuple[str | None, bool]:
        if isinstance(event, StreamOpened):
            self._join(event, speaker)
            return event.call_key, clean
        if isinstance(event, AudioChunk) and key in self._calls:
            await self._calls[key][0].push(speaker, event.pcm[:, 0], event.sample_rate, event.timestamp_s)
        if isinstance(event, StreamClosed):
            return key, event.reason == "hangup"
        return key, clean

    def _join(self, opened: StreamOpened, speaker: Speaker) -> None:
        entry = self._calls.get(opened.call_key)
        if entry is None:
            live = self._catalog.start_live(started_from(opened, ("agent", "customer")))
            entry = self._calls[opened.call_key] = (live, set(), [])
        entry[1].add(speaker)

    async def _leave(self, key: str, speaker: Speaker, clean: bool) -> None:
        entry = self._calls.get(key)
        if entry is None:
            return
        live, legs, cleanly = entry
        legs.discard(speaker)
        cleanly.append(clean)
        if not legs:
            del self._calls[key]
            await live.end(
                "completed" if all(cleanly) else "dropped", "an AudioSocket leg closed without a hang-up"
            )


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
