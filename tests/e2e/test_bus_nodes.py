"""Three nodes on one Redis bus share a live call, and a node killed mid-call loses nothing of it.

Three real ``callcoach serve`` processes (the real Vosk model) run on loopback with ``--bus`` on this test
session's own ``redis-server``, their rows in one database of the session's own PostgreSQL and one shared
``--data`` folder for the recordings, as a site runs them on several machines. The plain sample comes in
as a Twilio call to node A, in real time. Coaches follow it on A, B and C (B's with the call's audio); the
coach on C adds a note; another coach follows it on B, then moves to C mid-call with the ``after_seq`` of
the last event it had; B's coach, an admin, opens a listening session that a coach on A joins. Then A is
killed with SIGKILL. Within 5 s B and C list the call as dropped and their coaches get the end of it.
Every coach got the same events in the same order (A's up to the kill), the note reached all three, the
coach that moved got everything once, B's coach heard the call, A's coach left the session with A; the
call is stored with every event A had written to the bus, and its recording, cut off by the kill, plays. A
listening session then spans two nodes: presence and the lead's playback reach a coach on the other node.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import soundfile as sf

from callcoach.live.audio_wire import decode_audio
from callcoach.live.storage import Storage
from tests.helpers.auth import USERNAME, cookie_header, create_user, login_cookie_async
from tests.helpers.calls import Plan, replay, simulator
from tests.helpers.postgres import Cluster
from tests.helpers.redis_server import RedisServer
from tests.helpers.server import Server, clean_env, free_port, start_server, stop_server

pytestmark = [pytest.mark.vosk, pytest.mark.asyncio(loop_scope="module")]
CALL = "plain"
NOTE = "listen to how the agent opens"
KILL_AFTER_S = 12.0  # audio seconds streamed to A before it is killed: well into the call
DROPPED_WITHIN_S = 5.0  # the promise: the other nodes list a dead node's call as dropped this soon
MOVE_AFTER_EVENTS = 8  # the moving coach leaves B once it has this many events
RECORDED = "recorded"  # the recording's call id
COACH, COACH_PASSWORD = "cy", "cy-test-password"  # a coach of the default team, who joins a session


@dataclass
class Coach:
    """One coach's socket on one node: the call's events as they came, and the node's call list."""

    name: str
    ws: aiohttp.ClientWebSocketResponse
    call_id: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    dropped_at: float | None = None  # time.monotonic() when its list first showed the call dropped
    presences: list[set[str]] = field(default_factory=list)  # who was in its listening session, each time
    session_id: str = ""
    heard: int = 0  # steps of the call's live audio received

    async def read(self) -> None:
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.BINARY:  # a step of the call's live audio
                self.heard += decode_audio(msg.data).call_id == self.call_id
                continue
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            if data["type"] == "calls":
                self.calls = data["calls"]
                if self.dropped_at is None and self.status() == "dropped":
                    self.dropped_at = time.monotonic()
            elif data["type"] == "presence":
                self.session_id = data["session_id"]
                self.presences.append({p["user"] for p in data["participants"]})
            elif self.call_id and data.get("call") == self.call_id:
                self.events.append(data)
            self.changed.set()

    def status(self) -> str | None:
        return next((c["status"] for c in self.calls if c["call_id"] == self.call_id), None)

    def live_call(self) -> str | None:
        return next((c["call_id"] for c in self.calls if c["live"]), None)

    async def until(self, test: Any, timeout_s: float = 60) -> None:
        async with asyncio.timeout(timeout_s):
            while not test():
                self.changed.clear()
                await self.changed.wait()

    async def subscribe(self, after_seq: int = 0, *, audio: bool = False) -> None:
        message = {"v": 1, "type": "subscribe", "call_id": self.call_id, "after_seq": after_seq}
        await self.ws.send_str(json.dumps({**message, "audio": audio}))

    def seqs(self) -> list[int]:
        return [e["seq"] for e in self.events]

    def has(self, kind: str) -> bool:
        return any(e["type"] == kind for e in self.events)


@dataclass
class Outcome:
    a: Coach
    b: Coach
    c: Coach
    moved: list[dict[str, Any]]  # what the coach that moved from B to C got, on both
    moved_at_seq: int
    killed_at: float
    nodes: list[Server]
    streamed_s: float
    in_session: set[str]  # who B's lead saw in its session before A was killed, and after
    left_in_session: set[str]


async def _coach(http: aiohttp.ClientSession, server: Server, name: str, tasks: list[Any]) -> Coach:
    ws = await http.ws_connect(server.ws_url("/ws"))
    coach = Coach(name, ws)
    tasks.append(asyncio.create_task(coach.read()))
    return coach


@dataclass
class _Member:
    coach: Coach
    session: aiohttp.ClientSession


async def _session_member_on_a(node_a: Server, lead: Coach, tasks: list[Any]) -> _Member:
    """B's coach (an admin) opens a listening session on the call; a coach on A joins it."""
    await lead.ws.send_str(json.dumps({"v": 1, "type": "start_session", "call_id": lead.call_id}))
    await lead.until(lambda: bool(lead.presences))
    async with aiohttp.ClientSession() as login:
        cookie = await login_cookie_async(login, node_a.base, COACH, COACH_PASSWORD)
    http = aiohttp.ClientSession(headers=cookie_header(cookie))
    coach = await _coach(http, node_a, "cy on A", tasks)
    await coach.ws.send_str(json.dumps({"v": 1, "type": "join_session", "session_id": lead.session_id}))
    return _Member(coach, http)


async def _scenario(nodes: list[Server], path: Path) -> Outcome:
    node_a, node_b, node_c = nodes
    streamed = [0.0]
    far_enough = asyncio.Event()  # A has taken KILL_AFTER_S of the call
    tasks: list[asyncio.Task[Any]] = []
    async with node_a.client() as http_a, node_b.client() as http_b, node_c.client() as http_c:
        try:
            a = await _coach(http_a, node_a, "A", tasks)
            b = await _coach(http_b, node_b, "B", tasks)
            c = await _coach(http_c, node_c, "C", tasks)
            mover = await _coach(http_b, node_b, "moving", tasks)

            def progress(streamed_s: float) -> None:
                streamed[0] = streamed_s
                if streamed_s >= KILL_AFTER_S:
                    far_enough.set()

            tasks.append(asyncio.create_task(simulator(node_a, Plan("twilio", path, 1.0), progress)))
            for coach in (a, b, c, mover):  # the call is listed on every node, and opens on every node
                await coach.until(lambda coach=coach: coach.live_call() is not None, 60)
                coach.call_id = str(coach.live_call())
                await coach.subscribe(audio=coach is b)  # B's coach hears A's call too
            await c.until(lambda: len(c.events) >= 3)
            note = {"v": 1, "type": "add_note", "call_id": c.call_id, "at_s": 1.0, "tag": "coach"}
            await c.ws.send_str(json.dumps({**note, "text": NOTE}))
            await mover.until(lambda: len(mover.events) >= MOVE_AFTER_EVENTS)
            await mover.ws.close()  # the coach's page reconnects, this time to node C
            moved_at_seq = mover.events[-1]["seq"]
            before = list(mover.events)
            mover = await _coach(http_c, node_c, "moved", tasks)
            mover.call_id = c.call_id
            await mover.subscribe(after_seq=moved_at_seq)
            member = await _session_member_on_a(node_a, b, tasks)
            await b.until(lambda: bool(b.presences) and b.presences[-1] == {USERNAME, COACH})
            in_session = b.presences[-1]
            async with asyncio.timeout(60):
                await far_enough.wait()
            for coach in (a, b, c):
                await coach.until(lambda coach=coach: coach.has("note"))
            node_a.proc.kill()  # SIGKILL: nothing of A's own runs after this
            killed_at = time.monotonic()
            await node_a.proc.wait()
            await member.session.close()
            await b.until(lambda: b.presences[-1] == {USERNAME}, 30)  # A's member left with A
            for coach in (b, c, mover):
                await coach.until(lambda coach=coach: coach.has("call_ended"), 30)
            for coach in (b, c):
                await coach.until(lambda coach=coach: coach.status() == "dropped", 30)
            moved = before + mover.events
            return Outcome(
                a, b, c, moved, moved_at_seq, killed_at, nodes, streamed[0], in_session, b.presences[-1]
            )
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def outcome(
    callcoach: Path,
    model_dir: Path,
    samples: Path,
    redis_server: RedisServer,
    postgres: Cluster,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Outcome]:
    # Nodes as on several machines: their rows in one PostgreSQL, recordings in one shared folder.
    db = postgres.new_database()
    data = tmp_path_factory.mktemp("nodes") / "data"
    env = {"CALLCOACH_BUS": redis_server.url(15)}
    recordings = data.parent / "recordings"  # one recording every node lists (and analyses itself)
    recordings.mkdir()
    audio, rate = sf.read(str(samples / f"{CALL}.wav"), dtype="int16")
    sf.write(str(recordings / f"{RECORDED}.wav"), audio[: 6 * rate], rate)  # 6 s: little to analyse
    data.mkdir(parents=True)
    create_user(data, COACH, COACH_PASSWORD, role="coach", teams=("default",), db=db)
    nodes: list[Server] = []
    try:
        for _ in range(3):
            nodes.append(
                await start_server(callcoach, model_dir, data, recordings=recordings, env=env, db=db)
            )
        yield await _scenario(nodes, samples / f"{CALL}.wav")
    finally:
        for node in nodes:
            if node.proc.returncode is None:
                await stop_server(node)


def without_end(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events before the two that end a dead node's call (its ``server_stopped`` and ``call_ended``)."""
    assert [e["type"] for e in events[-2:]] == ["error", "call_ended"], events[-2:]
    return events[:-2]


async def test_every_node_gets_the_same_events_in_the_same_order(outcome: Outcome) -> None:
    a, b, c = outcome.a, outcome.b, outcome.c
    assert b.events == c.events  # byte for byte: the same seq, the same wire text
    assert b.seqs() == list(range(1, len(b.events) + 1))
    assert a.events and a.events == b.events[: len(a.events)]  # A's, up to the kill
    assert {e["type"] for e in a.events} >= {"call_started", "transcript", "note"}
    for coach in (a, b, c):
        [note] = [e for e in coach.events if e["type"] == "note"]  # C's note reached everyone, once
        assert note["text"] == NOTE


async def test_a_coach_on_another_node_hears_the_live_call(outcome: Outcome) -> None:
    assert outcome.b.heard > 10  # steps of 0.1 s: well over a second of the call, through the bus
    assert outcome.c.heard == 0  # C's coach did not ask for the audio: none was sent


async def test_a_coach_that_moves_node_mid_call_loses_nothing_and_gets_nothing_twice(
    outcome: Outcome,
) -> None:
    moved = outcome.moved
    assert outcome.moved_at_seq >= MOVE_AFTER_EVENTS
    assert [e["seq"] for e in moved] == list(range(1, len(moved) + 1))
    assert moved == outcome.c.events


async def test_a_killed_nodes_call_is_dropped_on_the_others_within_5_s(outcome: Outcome) -> None:
    for coach in (outcome.b, outcome.c):
        assert coach.dropped_at is not None
        assert coach.dropped_at - outcome.killed_at < DROPPED_WITHIN_S, coach.name
        error, ended = coach.events[-2:]
        assert error["code"] == "server_stopped" and error["fatal"] is True
        assert ended["reason"] == "dropped"
        assert 0 < ended["end_s"] <= outcome.streamed_s + 1.0
        [line] = [c for c in coach.calls if c["call_id"] == coach.call_id]
        assert line["live"] is False and line["audio_url"] == f"/recordings/{coach.call_id}"


async def test_the_dead_nodes_call_is_stored_with_every_event_and_its_recording_plays(
    outcome: Outcome,
) -> None:
    node_b = outcome.nodes[1]
    storage = Storage(node_b.db, node_b.data / "recordings")
    try:
        [stored] = [s for s in storage.load_all() if s.info.call_id == outcome.b.call_id]
    finally:
        storage.close()
    assert stored.info.status == "dropped" and not stored.info.live
    kept = [e.TYPE for e in stored.events]
    seen = [e["type"] for e in outcome.b.events]
    assert sorted(kept) == sorted(seen)  # every event on the bus: its own, and the note (kept apart)
    async with node_b.client() as http, http.get(f"{node_b.base}/recordings/{stored.info.call_id}") as resp:
        assert resp.status == 200
        body = await resp.read()
    audio, rate = sf.read(io.BytesIO(body), dtype="int16")
    ended_s = outcome.b.events[-1]["end_s"]
    assert abs(len(audio) / rate - ended_s) < 0.2  # the header says what was written: all of it plays
    assert len(audio) / rate > KILL_AFTER_S - 1


async def _messages(ws: aiohttp.ClientWebSocketResponse, kind: str, test: Any) -> dict[str, Any]:
    """The first message of type ``kind`` that passes ``test``."""
    async with asyncio.timeout(20):
        async for msg in ws:
            data = json.loads(msg.data)
            if data["type"] == kind and test(data):
                return data
    raise AssertionError(f"the socket closed before a {kind} message")


async def test_the_sockets_of_a_dead_node_leave_the_listening_sessions_on_the_others(
    outcome: Outcome,
) -> None:
    assert outcome.in_session == {USERNAME, COACH}  # B's lead saw A's coach join
    assert outcome.left_in_session == {USERNAME}


async def test_a_listening_session_spans_nodes_with_presence_and_the_leads_playback(
    outcome: Outcome,
) -> None:
    """A lead on B opens a session on the (now replayed) call; a coach on C joins it: both see both in
    the presence, and the lead's play and seek reach the coach on C."""
    node_b, node_c = outcome.nodes[1], outcome.nodes[2]
    call_id = outcome.b.call_id
    async with aiohttp.ClientSession() as login:
        coach_cookie = await login_cookie_async(login, node_c.base, COACH, COACH_PASSWORD)
    async with (
        node_b.client() as lead_http,
        lead_http.ws_connect(node_b.ws_url("/ws")) as lead,
        aiohttp.ClientSession(headers=cookie_header(coach_cookie)) as coach_http,
        coach_http.ws_connect(node_c.ws_url("/ws")) as coach,
    ):
        await lead.send_str(json.dumps({"v": 1, "type": "start_session", "call_id": call_id}))
        started = await _messages(lead, "presence", lambda _p: True)
        session_id = started["session_id"]
        await coach.send_str(json.dumps({"v": 1, "type": "join_session", "session_id": session_id}))
        both = {USERNAME, COACH}
        for ws in (lead, coach):  # each node tells its own members, in the one order of the bus
            presence = await _messages(
                ws, "presence", lambda p: {x["user"] for x in p["participants"]} == both
            )
            assert presence["call_id"] == call_id
            assert [x["lead"] for x in presence["participants"] if x["user"] == USERNAME] == [True]
        steer = {"v": 1, "type": "session_playback", "session_id": session_id, "rate": 1.0}
        await lead.send_str(json.dumps({**steer, "position_s": 7.5, "playing": True}))
        sync = await _messages(coach, "playback_sync", lambda _s: True)
        assert (sync["position_s"], sync["playing"], sync["by"]) == (7.5, True, USERNAME)
        await coach.send_str(json.dumps({**steer, "position_s": 1.0, "playing": False}))
        refused = await _messages(coach, "error", lambda _e: True)  # only the lead steers, on any node
        assert refused["code"] == "not_the_lead"


async def test_a_note_on_a_recording_reaches_the_other_nodes(outcome: Outcome) -> None:
    """A recording is not on the bus (every node analyses it): its notes go through the bus's notes
    stream, so a note made on C is in B's replay of it."""
    node_b, node_c = outcome.nodes[1], outcome.nodes[2]
    text = "the greeting is good: keep it"
    async with node_c.client() as http, http.ws_connect(node_c.ws_url("/ws")) as ws:
        note = {"v": 1, "type": "add_note", "call_id": RECORDED, "at_s": 2.0, "tag": "praise", "text": text}
        await ws.send_str(json.dumps(note))
        await ws.send_str(json.dumps({"v": 1, "type": "subscribe", "call_id": RECORDED, "after_seq": 0}))
        play = {"v": 1, "type": "playback", "call_id": RECORDED, "position_s": 1e6, "playing": False}
        await ws.send_str(json.dumps(play))
        here = await _messages(ws, "note", lambda n: n["text"] == text)  # on C itself first
    there = [e for e in await replay(node_b, RECORDED, until="note") if e["type"] == "note"]
    assert [n["text"] for n in there] == [text]
    assert there[0]["id"] == here["id"] and there[0]["at_s"] == 2.0


async def test_a_node_that_cannot_reach_the_bus_does_not_start_and_says_why(
    callcoach: Path, model_dir: Path, tmp_path: Path
) -> None:
    argv = [str(callcoach), "serve", "--bus", "redis://:s3cret@127.0.0.1:1/0", "--model", str(model_dir)]
    argv += ["--data", str(tmp_path), "--recordings", str(tmp_path), "--port", str(free_port())]
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=clean_env()
    )
    out = (await asyncio.wait_for(proc.communicate(), 120))[0].decode()
    assert proc.returncode == 2, out
    assert "cannot reach the bus at redis://:***@127.0.0.1:1/0" in out and "start Redis there" in out
    assert "s3cret" not in out


async def test_a_note_on_the_ended_call_reaches_the_other_node(outcome: Outcome) -> None:
    """After the call: its stream is kept a while, and every node reads the ended calls' streams."""
    node_b, node_c = outcome.nodes[1], outcome.nodes[2]
    call_id, text = outcome.c.call_id, "in the debrief: the opening was fine"
    async with node_c.client() as http, http.ws_connect(node_c.ws_url("/ws")) as ws:
        note = {"v": 1, "type": "add_note", "call_id": call_id, "at_s": 3.0, "tag": "coach", "text": text}
        await ws.send_str(json.dumps(note))
    async with node_b.client() as http, http.ws_connect(node_b.ws_url("/ws")) as ws:
        await ws.send_str(json.dumps({"v": 1, "type": "subscribe", "call_id": call_id, "after_seq": 0}))
        play = {"v": 1, "type": "playback", "call_id": call_id, "position_s": 1e6, "playing": False}
        await ws.send_str(json.dumps(play))
        found = await _messages(ws, "note", lambda n: n["text"] == text)
    assert found["seq"] == len(outcome.c.events) + 1  # after everything of the call, on every node
