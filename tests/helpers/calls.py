"""Placing live calls on a real server and following each as a coach does, and replaying stored ones.

A caller streams a recording through one ingest protocol (in-process with progress reports, or through the
real ``callcoach simulate-call``); a coach's websocket claims the call from the list and reads its log to
the end. ``tests/web/test_live_ingest.py``, the other live-call tests and ``tests/bench/live_calls.py``
place calls exactly this way.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import aiohttp
import soundfile as sf

from callcoach.live.audio_wire import decode_audio
from callcoach.live.codec import from_json
from callcoach.live.settings import Settings
from callcoach.web import simulate
from tests.helpers.server import Server, clean_env, get_calls, stored_call_ids

Protocol = Literal["twilio", "audiofork", "audiosocket"]
PROTOCOLS: tuple[Protocol, ...] = ("twilio", "audiofork", "audiosocket")
SOURCES: dict[Protocol, str] = {"twilio": "twilio", "audiofork": "freeswitch", "audiosocket": "asterisk"}
# The calls whose alert latency is measured run in real time, as a platform sends them: three at once
# are under a core and a half of work on two cores, so latency reflects the pipeline, not a starved CPU
# (at 2x, six call-equivalents, a busy CI machine was seen missing the 1 s bound). Calls that measure
# no latency (test_live_ingest's dropped calls) may run faster: Plan.speed.
SPEED = 1.0


@dataclass(frozen=True)
class Plan:
    """One call to place: the recording, through which protocol, how fast, dropped or not, and whether by
    the real ``callcoach simulate-call`` command (no progress reports) or in-process (progress reports)."""

    protocol: Protocol
    path: Path
    speed: float = SPEED
    drop_after_s: float | None = None
    cli: Path | None = None  # the callcoach command to run, or None to stream in-process
    timeout_s: float | None = None  # for the whole call; default: its length at ``speed``, plus a minute


@dataclass
class Trace:
    """What a coach following one live call received."""

    plan: Plan
    call_id: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)  # the call's events, in seq order
    frames: Counter[str] = field(default_factory=Counter)  # steps of audio received, per speaker
    # (alert id, revision) -> how far the caller had streamed (audio seconds) when the coach got it, and
    # how far a platform that never slows down would have by then (wall time since the first packet times
    # the speed): the two differ only when the server holds the caller back. Only with progress reports.
    arrived_at_s: dict[tuple[str, int], float] = field(default_factory=dict)
    arrived_wall_s: dict[tuple[str, int], float] = field(default_factory=dict)
    streamed_s: float = 0.0  # how far the caller streamed in all
    started: float | None = None  # time.monotonic() of the first packet
    behind_s: float = 0.0  # the most the caller was held back behind real time, as it sent

    def progress(self, streamed_s: float) -> None:
        """The caller's report (:data:`callcoach.web.simulate.Progress`)."""
        if self.started is None:
            self.started = time.monotonic() - streamed_s / self.plan.speed
        self.streamed_s = streamed_s
        self.behind_s = max(self.behind_s, self.wall_s() - streamed_s)

    def wall_s(self) -> float:
        """Where a caller at exactly ``speed`` times real time would be now."""
        return 0.0 if self.started is None else (time.monotonic() - self.started) * self.plan.speed

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind]

    def alerts(self, kind: str | None = None) -> list[dict[str, Any]]:
        return [a for a in self.of_type("alert") if kind is None or a["kind"] == kind]

    def first(self, kind: str) -> dict[str, Any]:
        found = self.alerts(kind)
        assert found, f"{self.plan.protocol}: no {kind} alert reached the coach; alerts: {self.alerts()}"
        return found[0]

    def latency_s(self, alert: dict[str, Any], *, wall: bool = False) -> float:
        """Audio seconds between the moment an alert could be known and the coach receiving it, against
        what the caller had sent (or, with ``wall``, against the real-time clock)."""
        arrived = self.arrived_wall_s if wall else self.arrived_at_s
        return arrived[(alert["id"], alert["revision"])] - float(alert["detected_s"])

    def said(self, speaker: str) -> str:
        lines = self.of_type("transcript")
        return " ".join(t["text"] for t in lines if t["final"] and t["speaker"] == speaker)

    def ended(self) -> dict[str, Any]:
        assert self.events and self.events[-1]["type"] == "call_ended", "the call has no call_ended"
        return self.events[-1]


def simulator(server: Server, plan: Plan, progress: simulate.Progress) -> Coroutine[Any, Any, None]:
    """The in-process caller for ``plan``, reporting how far it has streamed."""
    settings = Settings(ingest_token=server.token)
    if plan.protocol == "twilio":
        url = server.ws_url(f"/ingest/twilio?token={server.token}")
        return simulate.twilio(plan.path, settings, url, plan.speed, plan.drop_after_s, progress)
    if plan.protocol == "audiofork":
        url = server.ws_url(f"/ingest/audiofork?token={server.token}&mix=stereo&rate=16000")
        return simulate.audiofork(plan.path, settings, url, plan.speed, plan.drop_after_s, progress)
    return simulate.audiosocket(
        plan.path,
        settings,
        "127.0.0.1",
        server.audiosocket_port,
        server.audiosocket_agent_port,
        plan.speed,
        plan.drop_after_s,
        progress,
    )


def simulate_call_argv(callcoach: Path, server: Server, plan: Plan, token: str | None = None) -> list[str]:
    """``callcoach simulate-call`` as a user types it for ``plan``."""
    target = {
        "twilio": ["--twilio", server.ws_url("/ingest/twilio")],
        "audiofork": ["--audiofork", server.ws_url("/ingest/audiofork?mix=stereo&rate=16000")],
        "audiosocket": [
            "--audiosocket",
            f"127.0.0.1:{server.audiosocket_port}",
            "--agent-port",
            str(server.audiosocket_agent_port),
        ],
    }[plan.protocol]
    argv = [str(callcoach), "simulate-call", str(plan.path), *target, "--speed", str(plan.speed)]
    if plan.drop_after_s is not None:
        argv += ["--drop-after", str(plan.drop_after_s)]
    return [*argv, "--ingest-token", server.token if token is None else token]


async def _run_cli(argv: list[str]) -> None:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=clean_env()
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0, f"{' '.join(argv)} exited {proc.returncode}:\n{out.decode()}"


async def _claim(ws: aiohttp.ClientWebSocketResponse, source: str, claimed: set[str]) -> str:
    """Wait for the call list to show a live call from ``source`` that no other coach has taken."""
    async for msg in ws:
        data = json.loads(msg.data)
        if data["type"] != "calls":
            continue
        for call in data["calls"]:
            if call["live"] and call["source"] == source and call["call_id"] not in claimed:
                claimed.add(call["call_id"])
                return str(call["call_id"])
    raise AssertionError(f"the coach socket closed before a {source} call was listed")


async def _follow(ws: aiohttp.ClientWebSocketResponse, trace: Trace) -> None:
    """Subscribe to the call and read until its ``call_ended``; every message must decode."""
    await ws.send_str(json.dumps({"v": 1, "type": "subscribe", "call_id": trace.call_id, "after_seq": 0}))
    async for msg in ws:
        if msg.type == aiohttp.WSMsgType.BINARY:  # a step of the call's audio, every speaker in one
            heard = decode_audio(msg.data)
            assert heard.call_id == trace.call_id, heard.call_id
            trace.frames.update(heard.speakers)
            continue
        assert msg.type == aiohttp.WSMsgType.TEXT, f"unexpected {msg.type!r}"
        data = json.loads(msg.data)
        from_json(data)  # every message the server sends is a valid event
        kind = data["type"]
        if kind == "subscribed":
            assert data["call_id"] == trace.call_id and data["live"] is True and data["duration_s"] is None
        elif data.get("call") == trace.call_id:
            assert data["seq"] == len(trace.events) + 1, "the log arrives in order, without gaps"
            trace.events.append(data)
            if kind == "alert" and trace.started is not None:
                key = (data["id"], data["revision"])
                trace.arrived_at_s.setdefault(key, trace.streamed_s)
                trace.arrived_wall_s.setdefault(key, trace.wall_s())
            if kind == "call_ended":
                return
    raise AssertionError(f"the coach socket closed before {trace.call_id} ended")


async def _one_call(
    http: aiohttp.ClientSession, server: Server, plan: Plan, claimed: set[str], listed: asyncio.Event
) -> Trace:
    trace = Trace(plan)
    async with http.ws_connect(server.ws_url("/ws")) as ws:
        if plan.cli is not None:
            caller = asyncio.create_task(_run_cli(simulate_call_argv(plan.cli, server, plan)))
        else:
            caller = asyncio.create_task(simulator(server, plan, trace.progress))
        try:
            async with asyncio.timeout(30):
                trace.call_id = await _claim(ws, SOURCES[plan.protocol], claimed)
            listed.set()
            timeout_s = plan.timeout_s or sf.info(str(plan.path)).duration / plan.speed + 60
            async with asyncio.timeout(timeout_s):
                await _follow(ws, trace)
                await caller
        finally:
            listed.set()
            if not caller.done():
                caller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await caller
    return trace


async def place_calls(server: Server, plans: list[Plan], stagger_s: float = 0.0) -> list[Trace]:
    """Place every call with a coach following each, all at once; the coaches' traces, in plan order.

    Each call starts once the one before is listed (so two calls from one platform are told apart by
    order), and ``stagger_s`` later.
    """
    claimed: set[str] = set()
    async with server.client() as http:
        tasks: list[asyncio.Task[Trace]] = []
        try:
            for plan in plans:
                listed = asyncio.Event()
                tasks.append(asyncio.create_task(_one_call(http, server, plan, claimed, listed)))
                await listed.wait()
                await asyncio.sleep(stagger_s)
            return list(await asyncio.gather(*tasks))
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def replay(server: Server, call_id: str, *, until: str = "call_ended") -> list[dict[str, Any]]:
    """A stored call's events as a coach replaying it sees them: subscribe, play to past the end; read
    until the call's end and an event of type ``until`` (a note, say, which comes after it) have come."""
    events: list[dict[str, Any]] = []
    async with server.client() as http, http.ws_connect(server.ws_url("/ws")) as ws:
        await ws.send_str(json.dumps({"v": 1, "type": "subscribe", "call_id": call_id, "after_seq": 0}))
        await ws.send_str(
            json.dumps({"v": 1, "type": "playback", "call_id": call_id, "position_s": 1e6, "playing": False})
        )
        async with asyncio.timeout(20):
            async for msg in ws:
                data = json.loads(msg.data)
                from_json(data)
                if data["type"] == "subscribed":
                    assert data["live"] is False
                if data.get("call") == call_id:
                    events.append(data)
                    if {"call_ended", until} <= {e["type"] for e in events}:
                        break
    return events


async def wait_stored(
    http: aiohttp.ClientSession, server: Server, call_ids: set[str]
) -> list[dict[str, Any]]:
    """The call list once every call in ``call_ids`` is a replay and saved in the data folder."""
    async with asyncio.timeout(30):
        while True:
            calls = await get_calls(http, server)
            replays = {c["call_id"] for c in calls if not c["live"]}
            if call_ids <= replays and call_ids <= stored_call_ids(server.data, server.db):
                return calls
            await asyncio.sleep(0.1)
