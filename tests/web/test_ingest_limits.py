"""Live ingest within bounds, against the real ``callcoach serve``: what a platform (or anyone with the
token) sends cannot make the server hold more audio than it heard, keep a dead connection live, or answer
500.

The exact inputs of the reports: a Twilio stream whose second media message jumps to timestamp
1,800,000 ms (once a 115 MB WAV and +320 MB of memory); ``"sampleRate": 8`` (2000 times the audio);
``/ingest/audiofork?mix=bogus`` and ``?rate=7`` (a 500); connections that open a call and then send
nothing (live forever); and a call longer than ``--max-call-s``. One server runs with a 2 s idle timeout
and the default call length; another with a 5 s call length, so that the gap test shows the gap cap, not
the length cap, keeping the recording small.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
import pytest_asyncio
import soundfile as sf

from callcoach.audio.g711 import mulaw_encode
from callcoach.audio.live_input import MAX_GAP_S
from callcoach.live.settings import Settings
from callcoach.web import simulate
from callcoach.web.ingest.audiofork import AudioForkEncoder
from callcoach.web.ingest.audiosocket import AudioSocketEncoder
from callcoach.web.ingest.twilio import TwilioEncoder
from tests.helpers.calls import replay, wait_stored
from tests.helpers.server import Server, get_calls, start_server, stop_server

pytestmark = [pytest.mark.vosk, pytest.mark.asyncio(loop_scope="module")]

IDLE_S = 2
MAX_CALL_S = 5
JUMP_MS = 1_800_000
GUARD_S = 60  # only a bound for a test that would otherwise hang on the old code; nothing is timed


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def server(
    callcoach: Path, model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Server]:
    data = tmp_path_factory.mktemp("limits") / "data"
    running = await start_server(callcoach, model_dir, data, env={"CALLCOACH_INGEST_IDLE_S": str(IDLE_S)})
    try:
        yield running
    finally:
        await stop_server(running)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def short_server(
    callcoach: Path, model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Server]:
    data = tmp_path_factory.mktemp("short") / "data"
    running = await start_server(callcoach, model_dir, data, env={"CALLCOACH_MAX_CALL_S": str(MAX_CALL_S)})
    try:
        yield running
    finally:
        await stop_server(running)


def memory_kib(server: Server) -> dict[str, int]:
    """The server's resident memory now (VmRSS) and at its peak so far (VmHWM), from /proc."""
    fields = (line.split(":") for line in Path(f"/proc/{server.proc.pid}/status").read_text().splitlines())
    return {k: int(v.split()[0]) for k, v in fields if k in ("VmRSS", "VmHWM")}


async def stored_events(server: Server, call_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The call's line in the list once it is stored, and its events as a replay gives them."""
    async with server.client() as http:
        calls = await wait_stored(http, server, {call_id})
    (info,) = [c for c in calls if c["call_id"] == call_id]
    return info, await replay(server, call_id)


def twilio_url(server: Server) -> str:
    return server.ws_url(f"/ingest/twilio?token={server.token}")


async def closed_by_server(ws: aiohttp.ClientWebSocketResponse) -> aiohttp.WSMessage:
    """Read until the server closes the websocket; its close message (code in ``data``, reason in
    ``extra``)."""
    async with asyncio.timeout(GUARD_S):
        while True:
            msg = await ws.receive()
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                return msg


def errors(events: list[dict[str, Any]]) -> list[tuple[str, bool]]:
    return [(e["code"], e["fatal"]) for e in events if e["type"] == "error"]


# --- amplification ---------------------------------------------------------------------------------------


async def test_a_twilio_timestamp_jump_of_half_an_hour_keeps_the_wav_small_and_the_call_going(
    server: Server, samples: Path
) -> None:
    agent, _customer = simulate.load_legs(samples / "plain.wav", Settings(), 8000)
    speech = mulaw_encode(agent[: 6 * 8000]).tobytes()  # "thank you for calling northwind home loans..."
    chunk = 160  # 20 ms, as Twilio sends it
    enc = TwilioEncoder("MZ" + uuid.uuid4().hex, "CA" + uuid.uuid4().hex)
    before = memory_kib(server)
    async with aiohttp.ClientSession() as http, http.ws_connect(twilio_url(server)) as ws:
        await ws.send_str(enc.connected())
        await ws.send_str(enc.start(("inbound",)))
        await ws.send_str(enc.media("inbound", speech[:chunk], timestamp_ms=0))
        for i, at in enumerate(range(chunk, len(speech), chunk)):  # the second message jumps 30 minutes
            await ws.send_str(enc.media("inbound", speech[at : at + chunk], timestamp_ms=JUMP_MS + 20 * i))
        await ws.send_str(enc.stop())
    call_id = f"twilio-{enc.call_sid}"
    info, events = await stored_events(server, call_id)
    heard_s = len(speech) / 8000
    assert events[-1]["type"] == "call_ended" and events[-1]["reason"] == "completed"
    assert events[-1]["end_s"] == pytest.approx(heard_s + MAX_GAP_S, abs=0.2)  # seconds, not 30 minutes
    wav = server.data / "recordings" / f"{call_id}.wav"
    assert sf.info(str(wav)).duration == pytest.approx(heard_s + MAX_GAP_S, abs=0.2)
    assert wav.stat().st_size < 1_000_000
    # The audio after the jump is still heard and transcribed: the call went on.
    said = " ".join(e["text"] for e in events if e["type"] == "transcript" and e["final"])
    assert "calling" in said, said
    assert info["status"] == "ready" and errors(events) == []
    # Peak against peak: an earlier peak (loading the model) can only hide growth, never invent it.
    after = memory_kib(server)
    print(f"server memory (KiB): before {before}, after {after}")  # for the record (pytest -rP)
    grown_mib = (after["VmHWM"] - before["VmHWM"]) / 1024
    assert grown_mib < 100, f"the server's peak memory grew by {grown_mib:.0f} MiB for an 11 s call"


async def test_a_twilio_sample_rate_of_8_hz_is_refused_naming_the_rates_accepted(server: Server) -> None:
    enc = TwilioEncoder("MZ" + uuid.uuid4().hex, "CA" + uuid.uuid4().hex)
    start = json.loads(enc.start(("inbound",)))
    start["start"]["mediaFormat"]["sampleRate"] = 8
    async with aiohttp.ClientSession() as http, http.ws_connect(twilio_url(server)) as ws:
        await ws.send_str(enc.connected())
        await ws.send_str(json.dumps(start))
        await ws.send_str(enc.media("inbound", b"\xff" * 160))  # audio after the refusal opens nothing
        closed = await closed_by_server(ws)
    assert ws.close_code == aiohttp.WSCloseCode.UNSUPPORTED_DATA, closed
    assert "sampleRate" in str(closed.extra) and "8 Hz" in str(closed.extra), closed
    assert "8000, 12000, 16000" in str(closed.extra), closed
    async with server.client() as http:
        assert f"twilio-{enc.call_sid}" not in {c["call_id"] for c in await get_calls(http, server)}
    assert "8 Hz is not a telephony rate" in server.output()


@pytest.mark.parametrize(
    ("query", "named"),
    [("mix=bogus&rate=16000", "mix 'bogus'"), ("mix=stereo&rate=7", "rate '7'")],
    ids=["mix=bogus", "rate=7"],
)
async def test_an_audiofork_url_with_a_bad_parameter_is_answered_400_naming_it(
    server: Server, query: str, named: str
) -> None:
    path = f"/ingest/audiofork?token={server.token}&{query}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.base}{path}") as resp:
            assert resp.status == 400
            text = await resp.text()
        assert named in text and ("mono, mixed or stereo" in text or "8k or 16k" in text), text
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(server.ws_url(path))
        assert refused.value.status == 400


# --- connections that go quiet ---------------------------------------------------------------------------


async def test_a_twilio_connection_quiet_after_start_is_dropped_after_the_idle_timeout(
    server: Server,
) -> None:
    enc = TwilioEncoder("MZ" + uuid.uuid4().hex, "CA" + uuid.uuid4().hex)
    async with aiohttp.ClientSession() as http, http.ws_connect(twilio_url(server)) as ws:
        await ws.send_str(enc.connected())
        await ws.send_str(enc.start(("inbound", "outbound")))
        closed = await closed_by_server(ws)  # the client answers the server's pings all along
    assert ws.close_code == aiohttp.WSCloseCode.POLICY_VIOLATION, closed
    assert "--ingest-idle-s" in str(closed.extra), closed
    info, events = await stored_events(server, f"twilio-{enc.call_sid}")
    assert info["live"] is False and info["status"] == "ready"
    assert f"sent nothing for {IDLE_S} s" in info["error"] and "dropped" in info["error"]
    assert errors(events) == [("call_dropped", True)]
    assert events[-1]["type"] == "call_ended" and events[-1]["reason"] == "dropped"


async def test_an_audiofork_connection_that_goes_quiet_is_dropped_after_the_idle_timeout(
    server: Server,
) -> None:
    call = str(uuid.uuid4())
    enc = AudioForkEncoder({"callId": call}, 16000, 2)
    url = server.ws_url(f"/ingest/audiofork?token={server.token}&mix=stereo&rate=16000")
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        await ws.send_str(enc.metadata_text())
        await ws.send_bytes(enc.audio(np.zeros((320, 2), np.int16)))
        closed = await closed_by_server(ws)
    assert ws.close_code == aiohttp.WSCloseCode.POLICY_VIOLATION, closed
    info, events = await stored_events(server, f"freeswitch-{call}")
    assert f"sent nothing for {IDLE_S} s" in info["error"]
    assert errors(events) == [("call_dropped", True)] and events[-1]["reason"] == "dropped"


async def test_an_audiosocket_leg_that_goes_quiet_is_dropped_after_the_idle_timeout(server: Server) -> None:
    call = uuid.uuid4()
    enc = AudioSocketEncoder()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.audiosocket_port)
    try:
        writer.write(enc.uuid(call) + enc.audio(np.zeros(160, np.int16)))
        await writer.drain()
        async with asyncio.timeout(GUARD_S):
            assert await reader.read() == b""  # the server closed the leg
    finally:
        writer.close()
    info, events = await stored_events(server, f"asterisk-{call}")
    assert f"AudioSocket customer leg sent nothing for {IDLE_S} s" in info["error"]
    assert errors(events) == [("call_dropped", True)] and events[-1]["reason"] == "dropped"


# --- a call longer than --max-call-s ---------------------------------------------------------------------


async def test_a_call_past_max_call_s_ends_there_with_call_too_long_and_is_stored(
    short_server: Server, samples: Path
) -> None:
    server = short_server
    settings = Settings(ingest_token=server.token)
    path = samples / "bereavement_cold.wav"  # 34.5 s, streamed at 10 times real time
    await simulate.twilio(path, settings, twilio_url(server), 10.0, None)
    async with server.client() as http:
        (call_id,) = [c["call_id"] for c in await get_calls(http, server) if c["source"] == "twilio"]
    info, events = await stored_events(server, call_id)
    (error,) = [e for e in events if e["type"] == "error"]
    assert error["code"] == "call_too_long" and error["fatal"] is True and error["at_s"] == MAX_CALL_S
    assert "--max-call-s" in error["message"], error
    assert events[-1]["type"] == "call_ended" and events[-1]["end_s"] == MAX_CALL_S
    assert events[-1]["reason"] == "dropped"  # cut off: a good replay up to the cut, not an analysis error
    assert info["status"] == "ready"
    assert info["error"] == error["message"] and info["duration_s"] == MAX_CALL_S
    wav = sf.info(str(server.data / "recordings" / f"{call_id}.wav"))
    assert wav.duration == pytest.approx(MAX_CALL_S, abs=0.001)
    said = " ".join(e["text"] for e in events if e["type"] == "transcript" and e["final"])
    assert "for calling" in said, said  # everything before the cap is kept
    assert "Traceback" not in server.output(), server.output()


async def test_an_audiosocket_call_past_max_call_s_ends_there_and_both_legs_are_closed(
    short_server: Server, samples: Path
) -> None:
    server = short_server
    path = samples / "bereavement_cold.wav"
    # The server closes both legs at the limit: the caller, with 30 s still to send, sees them go.
    with pytest.raises(ConnectionError):
        await simulate.audiosocket(
            path, Settings(), "127.0.0.1", server.audiosocket_port, server.audiosocket_agent_port, 10.0, None
        )
    async with server.client() as http:
        (call_id,) = [c["call_id"] for c in await get_calls(http, server) if c["source"] == "asterisk"]
    info, events = await stored_events(server, call_id)
    assert errors(events) == [("call_too_long", True)]
    assert events[-1]["type"] == "call_ended" and events[-1]["end_s"] == MAX_CALL_S
    assert "--max-call-s" in info["error"]
    assert "AudioSocket" not in info["error"]  # ended by the limit, not reported as a leg's drop
