"""A realistic caller: stream a recording to callcoach in a phone platform's own wire format.

``callcoach simulate-call FILE --twilio URL`` (or ``--audiofork URL``, ``--audiosocket HOST:PORT``) sends
the recording as that platform would: Twilio's JSON media messages with 20 ms of 8 kHz mu-law per leg,
the audio fork's metadata then 20 ms binary frames of 16 kHz stereo, or two AudioSocket connections (the
customer's leg on PORT, the agent's on the next port) with 20 ms signed-linear frames. It is paced by the
audio clock (``speed`` times real time) and ends with the platform's hang-up, or, with ``drop_after_s``,
breaks the connection mid-call as a failing network would. ``progress``, if given, is called after each
20 ms packet is handed to the connection with how far into the call the audio sent so far reaches (tests
and benchmarks measure alert latency in audio terms with it).
"""

from __future__ import annotations

import asyncio
import socket
import struct
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import numpy as np
import numpy.typing as npt

from callcoach.audio.channels import channel_map, select
from callcoach.audio.decode import probe, read_blocks
from callcoach.audio.g711 import mulaw_encode
from callcoach.audio.resample import StreamResampler
from callcoach.live.settings import Settings
from callcoach.web.ingest.audiofork import AudioForkEncoder
from callcoach.web.ingest.audiosocket import AudioSocketEncoder
from callcoach.web.ingest.twilio import TwilioEncoder

CHUNK_S = 0.02  # every platform here packetises audio in 20 ms
DEMO_PARAMETERS = {"agent": "Sam Patel", "customer": "+44 7700 900123"}
Progress = Callable[[float], None]  # seconds of the call's audio sent so far
_LINGER_0 = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() resets the connection


def _break(ws: aiohttp.ClientWebSocketResponse) -> None:
    """End the websocket's TCP connection without the closing handshake, as a failing network does: the
    server sees the connection go with no close frame (a close frame is how a platform hangs up)."""
    ws.get_extra_info("socket").shutdown(socket.SHUT_RDWR)


def load_legs(
    path: Path, settings: Settings, rate: int
) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.int16]]:
    """The recording's (agent, customer) audio at ``rate``; a mono file gives the customer silence."""
    info = probe(path)
    cmap = channel_map(info.channels, settings.agent_channel, settings.customer_channel)
    blocks = [select(b, cmap) for b in read_blocks(path, 65536)]
    audio = np.concatenate(blocks) if blocks else np.zeros((0, len(cmap.speakers)), np.int16)
    resampler = StreamResampler(info.sample_rate, rate, audio.shape[1])
    audio = np.concatenate([resampler.process(audio), resampler.flush()])
    if audio.shape[1] == 1:
        return audio[:, 0], np.zeros(len(audio), np.int16)
    return audio[:, 0].copy(), audio[:, 1].copy()


async def _paced(
    total: int, rate: int, speed: float, drop_after_s: float | None, progress: Progress | None
) -> AsyncIterator[slice]:
    """The 20 ms packets of a ``total``-sample call at ``rate``, as slices, released by the audio clock;
    stops early at ``drop_after_s``. After each packet is sent, ``progress`` hears how far the call got."""
    loop = asyncio.get_running_loop()
    t0, step = loop.time(), round(rate * CHUNK_S)
    for i in range(-(-total // step)):
        if drop_after_s is not None and i * CHUNK_S >= drop_after_s:
            return
        delay = t0 + i * CHUNK_S / speed - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        yield slice(i * step, (i + 1) * step)
        if progress is not None:
            progress(min((i + 1) * step, total) / rate)


async def twilio(
    path: Path,
    settings: Settings,
    url: str,
    speed: float,
    drop_after_s: float | None,
    progress: Progress | None = None,
) -> None:
    agent, customer = load_legs(path, settings, 8000)
    enc = TwilioEncoder("MZ" + uuid.uuid4().hex, "CA" + uuid.uuid4().hex, DEMO_PARAMETERS)
    legs = {"inbound": mulaw_encode(customer).tobytes(), "outbound": mulaw_encode(agent).tobytes()}
    if settings.twilio_agent_track == "inbound":
        legs = {"inbound": legs["outbound"], "outbound": legs["inbound"]}
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        await ws.send_str(enc.connected())
        await ws.send_str(enc.start(("inbound", "outbound")))
        async for packet in _paced(len(agent), 8000, speed, drop_after_s, progress):
            for track, audio in legs.items():
                await ws.send_str(enc.media(track, audio[packet]))
        if drop_after_s is None:
            await ws.send_str(enc.stop())
        else:
            _break(ws)


async def audiofork(
    path: Path,
    settings: Settings,
    url: str,
    speed: float,
    drop_after_s: float | None,
    progress: Progress | None = None,
) -> None:
    agent, customer = load_legs(path, settings, 16000)
    # The fork's stereo is caller left, callee right; which of them is the agent is a setting.
    pair = (customer, agent) if settings.audiofork_agent_side == "callee" else (agent, customer)
    stereo = np.column_stack(pair)
    enc = AudioForkEncoder({"callId": str(uuid.uuid4()), **DEMO_PARAMETERS}, 16000, 2)
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        await ws.send_str(enc.metadata_text())
        async for packet in _paced(len(stereo), 16000, speed, drop_after_s, progress):
            await ws.send_bytes(enc.audio(stereo[packet]))
        if drop_after_s is not None:
            _break(ws)


async def audiosocket(
    path: Path,
    settings: Settings,
    host: str,
    port: int,
    agent_port: int,
    speed: float,
    drop_after_s: float | None,
    progress: Progress | None = None,
) -> None:
    agent, customer = load_legs(path, settings, 8000)
    enc, call = AudioSocketEncoder(), uuid.uuid4()
    legs = [await asyncio.open_connection(host, p) for p in (port, agent_port)]
    for _reader, writer in legs:
        writer.write(enc.uuid(call))
    async for packet in _paced(len(agent), 8000, speed, drop_after_s, progress):
        for (_reader, writer), audio in zip(legs, (customer, agent), strict=True):
            writer.write(enc.audio(audio[packet]))
            await writer.drain()
    for _reader, writer in legs:
        if drop_after_s is not None:
            # A reset, as a failing network gives. A plain close would be a FIN, which AudioSocket
            # reads as a hang-up; linger 0 makes the close a reset.
            writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_0)
            writer.transport.abort()
            continue
        writer.write(enc.hangup())
        await writer.drain()
        writer.close()
        await writer.wait_closed()
