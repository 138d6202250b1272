"""kill -9 in the middle of a live call loses nothing a coach had seen.

A real ``callcoach serve`` (a subprocess, the real Vosk model) takes the cold bereavement sample as a
Twilio call from the in-process caller, at normal speed, with a coach following it on the websocket. The
coach adds a note; once the silence alert has reached the coach, and a little more, the server is killed
with SIGKILL: no clean-up runs. Started again on the same ``--data``, it must list the call as ``dropped``,
saying where it stopped, replay every event the coach had seen more than a second before the kill (the
promise: an event a coach has seen is on disk within a second), then the ``server_stopped`` error and the
``call_ended``, with the note; and serve the recording as a WAV whose header matches its data and that
decodes to the call's length. The page lists it as cut off, in a real chromium (the screenshot lands in
test-artifacts/, gitignored: look at it).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import struct
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import soundfile as sf

from callcoach.detectors.alerts import clock
from callcoach.live.codec import from_json
from callcoach.live.eventlog import moment_s
from tests.helpers.auth import browser_cookie
from tests.helpers.browser import CHROMIUM, launch_browser
from tests.helpers.calls import Plan, replay, simulator
from tests.helpers.server import Server, get_calls, start_server, stop_server

pytestmark = [pytest.mark.vosk, pytest.mark.asyncio(loop_scope="module")]
CALL = "bereavement_cold"
SEEN_S = 1.0  # an event a coach has seen is on disk within this long
AFTER_SILENCE_S = 1.5  # wall seconds the server lives on once the coach has the silence alert
# The caller reports a packet once it is sent, so the server may hold one packet more than reported.
PACKET_S = 0.02
NOTE = "the customer just told us about a death: listen here"


@dataclass
class Crash:
    """What the coach saw of the call before the kill, and the server started again after it."""

    call_id: str
    seen: list[tuple[float, dict[str, Any]]]  # (time.monotonic() on arrival, event), in seq order
    killed_at: float  # time.monotonic() of the kill
    streamed_s: float  # how much of the call the caller had sent by then
    server: Server  # the restarted server
    first_output: str  # the killed server's output

    def seen_before(self, margin_s: float) -> list[dict[str, Any]]:
        return [event for at, event in self.seen if at < self.killed_at - margin_s]


@dataclass
class _Coach:
    """A coach following the live call: every event of it, with when it arrived."""

    call_id: str = ""
    seen: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    has_silence: asyncio.Event = field(default_factory=asyncio.Event)

    async def follow(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        await ws.send_str(json.dumps({"v": 1, "type": "subscribe", "call_id": self.call_id, "after_seq": 0}))
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.BINARY:  # the call's audio: a page would play it
                continue
            if msg.type != aiohttp.WSMsgType.TEXT:
                return
            data = json.loads(msg.data)
            if data.get("call") == self.call_id and "seq" in data:
                self.seen.append((time.monotonic(), data))
                if data["type"] == "alert" and data["kind"] == "silence":
                    self.has_silence.set()


async def _claim_live_call(ws: aiohttp.ClientWebSocketResponse) -> str:
    async for msg in ws:
        data = json.loads(msg.data)
        if data["type"] == "calls":
            for call in data["calls"]:
                if call["live"]:
                    return str(call["call_id"])
    raise AssertionError("the coach socket closed before the call was listed")


async def _call_until_killed(server: Server, path: Path) -> tuple[_Coach, float, float]:
    """Stream the call with a coach following and noting it; kill the server once the coach has had the
    silence alert for a while. The coach, when the kill happened, and how far the caller had streamed."""
    streamed = [0.0]
    under_way = asyncio.Event()  # the coach notes a moment early on, as the call goes

    def progress(streamed_s: float) -> None:
        streamed[0] = streamed_s
        if streamed_s >= 3.0:
            under_way.set()

    coach = _Coach()
    async with server.client() as http, http.ws_connect(server.ws_url("/ws")) as ws:
        tasks = [asyncio.create_task(simulator(server, Plan("twilio", path, speed=1.0), progress))]
        try:
            async with asyncio.timeout(30):
                coach.call_id = await _claim_live_call(ws)
            tasks.append(asyncio.create_task(coach.follow(ws)))
            async with asyncio.timeout(30):
                await under_way.wait()
            note = {"v": 1, "type": "add_note", "call_id": coach.call_id, "at_s": 1.0, "tag": "coach"}
            await ws.send_str(json.dumps({**note, "text": NOTE}))
            async with asyncio.timeout(60):
                await coach.has_silence.wait()
            await asyncio.sleep(AFTER_SILENCE_S)
            server.proc.kill()  # SIGKILL: nothing of the server's own runs after this
            killed_at, streamed_s = time.monotonic(), streamed[0]
            await server.proc.wait()
        finally:
            for task in tasks:  # the caller and the coach lose their connections: that is the point
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
    return coach, killed_at, streamed_s


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def crash(
    callcoach: Path, model_dir: Path, samples: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Crash]:
    data = tmp_path_factory.mktemp("crash") / "data"
    first = await start_server(callcoach, model_dir, data)
    try:
        coach, killed_at, streamed_s = await _call_until_killed(first, samples / f"{CALL}.wav")
    finally:
        if first.proc.returncode is None:
            first.proc.kill()
            await first.proc.wait()
    server = await start_server(callcoach, model_dir, data)
    try:
        yield Crash(coach.call_id, coach.seen, killed_at, streamed_s, server, first.output())
    finally:
        await stop_server(server)


def _without_seq(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The call's own events, without their numbers: a note taken live has a seq among them, while a
    stored call's notes come after its events, so the numbers after the note differ by one."""
    return [{k: v for k, v in e.items() if k != "seq"} for e in events if e["type"] not in ("note", "pin")]


# --- the tests -------------------------------------------------------------------------------------------


async def test_the_killed_server_had_the_coach_see_the_call(crash: Crash) -> None:
    types = [e["type"] for _, e in crash.seen]
    assert types[0] == "call_started" and "call_ended" not in types
    said = " ".join(e["text"] for _, e in crash.seen if e["type"] == "transcript" and e["final"])
    assert "uncle" in said and "passed away" in said, said
    assert any(e["type"] == "note" and e["text"] == NOTE for e in crash.seen_before(SEEN_S))
    assert "Traceback" not in crash.first_output, crash.first_output


async def test_after_the_restart_the_call_is_listed_as_dropped_where_it_stopped(crash: Crash) -> None:
    async with crash.server.client() as http:
        (info,) = [c for c in await get_calls(http, crash.server) if c["call_id"] == crash.call_id]
    assert info["live"] is False and info["status"] == "dropped", info
    assert 20.0 < info["duration_s"] <= crash.streamed_s + PACKET_S, (info, crash.streamed_s)
    assert info["error"].startswith(f"the server stopped unexpectedly at {clock(info['duration_s'])}"), info
    assert info["audio_url"] == f"/recordings/{crash.call_id}"
    assert info["coach_alerts"] >= 1  # the silence alert, at least, the coach had seen
    assert info["agent"] == "Sam Patel" and info["customer"] == "•••• 0123"


async def test_the_replay_has_every_event_the_coach_had_seen_then_ends(crash: Crash) -> None:
    replayed = await replay(crash.server, crash.call_id, until="note")
    seen = _without_seq(crash.seen_before(SEEN_S))
    own = _without_seq(replayed)
    assert len(seen) > 10, seen
    assert own[: len(seen)] == seen  # all of them, in order, as they were sent
    # The replay ends as a dropped call's does, where the recording stops.
    error, ended = own[-2:]
    assert ended["type"] == "call_ended" and ended["reason"] == "dropped", ended
    assert error["type"] == "error" and error["code"] == "server_stopped" and error["fatal"] is True
    assert error["at_s"] == ended["end_s"]
    assert error["message"].startswith(f"the server stopped unexpectedly at {clock(ended['end_s'])}")
    # Numbered without a gap (a replay releases each event at its moment: the note comes at 00:01).
    assert sorted(e["seq"] for e in replayed) == list(range(1, len(replayed) + 1))
    notes = [e for e in replayed if e["type"] == "note"]
    assert [(n["text"], n["at_s"], n["author"]) for n in notes] == [(NOTE, 1.0, "coach")]


async def test_the_recording_is_served_as_a_whole_wav_of_the_call(crash: Crash) -> None:
    async with crash.server.client() as http:
        (info,) = [c for c in await get_calls(http, crash.server) if c["call_id"] == crash.call_id]
        async with http.get(f"{crash.server.base}/recordings/{crash.call_id}") as resp:
            assert resp.status == 200
            wav = await resp.read()
    assert wav[:4] == b"RIFF" and struct.unpack_from("<I", wav, 4)[0] == len(wav) - 8
    data = wav.index(b"data")
    assert struct.unpack_from("<I", wav, data + 4)[0] == len(wav) - data - 8
    audio, rate = sf.read(io.BytesIO(wav), dtype="int16")
    assert (rate, audio.shape[1]) == (16000, 2)
    assert len(audio) / rate == pytest.approx(info["duration_s"], abs=0.001)
    last_seen_s = max(moment_s(from_json(e)) for _, e in crash.seen)
    assert last_seen_s <= len(audio) / rate <= crash.streamed_s + PACKET_S  # all of it, up to the kill
    assert (crash.server.data / "recordings" / f"{crash.call_id}.wav").read_bytes() == wav


async def test_the_page_lists_the_call_as_cut_off(crash: Crash, artifacts: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await launch_browser(playwright)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 800})
            await context.add_cookies([browser_cookie(crash.server.base, crash.server.session)])
            page = await context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(crash.server.base)
            item = page.locator(f'.call-item[data-call-id="{crash.call_id}"][data-status="dropped"]')
            await item.wait_for(timeout=10_000)
            await item.locator(".status.dropped", has_text="Cut off").wait_for(timeout=5_000)
            note = await item.locator(".call-cut").inner_text()
            assert note.lower().startswith("the server stopped unexpectedly at"), note
            await item.locator("button").click()
            chip = page.locator("#call-status")
            await chip.filter(has_text="Cut off").wait_for(timeout=5_000)
            await page.screenshot(path=str(artifacts / "crash-cut-off.png"))
            assert errors == []
        finally:
            await browser.close()
