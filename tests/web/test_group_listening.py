"""A group listening session on a live call: twenty coaches' websockets on the real server, real Vosk.

The lead opens a session on a live simulated Twilio call and nineteen coaches join it. While the call runs,
coaches add notes, the lead pins one, and two coaches drop off and come back (reconnecting from the last
``seq`` they had, as the page does). Every socket must end with every alert and note of the call, in one
and the same order, and presence must be right as people come and go. A coach of another team sees none
of it.

The helpers are plain so that ``tests/bench/fanout.py`` sets up its listeners exactly as this test does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from callcoach.live.accounts import Accounts
from callcoach.live.codec import from_json
from callcoach.web.auth import COOKIE
from tests.helpers.calls import Plan, simulator
from tests.helpers.server import Server, start_server, stop_server

pytestmark = [pytest.mark.vosk, pytest.mark.asyncio(loop_scope="module")]

COACHES = 19
SPEED = 2.0  # order and presence, not latency: the call may run faster than real time


def create_users(data: Path, coaches: int, *, team: str = "default") -> dict[str, str]:
    """A lead ``ana``, coaches ``c01``… in ``team``, and ``eve`` of another team; each user's session
    token, made as a login would (the server reads the same accounts file)."""
    accounts = Accounts(data / "accounts.sqlite3")
    try:
        specs = [("ana", "lead", team), *((f"c{n:02d}", "coach", team) for n in range(1, coaches + 1))]
        specs.append(("eve", "coach", "other-team"))
        tokens = {}
        for name, role, their_team in specs:
            user = accounts.add_user(name, role, [their_team], display_name=name.title())  # type: ignore[arg-type]
            tokens[name] = accounts.start_session(user)
        return tokens
    finally:
        accounts.close()


@dataclass
class Listener:
    """One coach's socket: everything it received, read by a background task."""

    name: str
    ws: aiohttp.ClientWebSocketResponse
    messages: list[dict[str, Any]] = field(default_factory=list)
    events: dict[int, dict[str, Any]] = field(default_factory=dict)  # the call's log by seq
    arrived: dict[int, float] = field(default_factory=dict)  # loop time each event arrived
    frames: int = 0  # steps of live audio (one binary message each, every speaker in it)
    validate: bool = True  # decode every message as an event (the bench only times their arrival)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    reader: asyncio.Task[None] | None = None

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send_str(json.dumps({"v": 1, **message}))

    async def read(self) -> None:
        loop = asyncio.get_running_loop()
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.BINARY:  # a step of audio: a page plays it; here it is counted
                self.frames += 1
                continue
            data = json.loads(msg.data)
            if self.validate:
                from_json(data)  # every message decodes
            if "seq" in data:
                self.events[data["seq"]] = data
                self.arrived.setdefault(data["seq"], loop.time())
            else:
                self.messages.append(data)
            self.changed.set()

    async def until(self, check: Any, wait_s: float = 30.0) -> Any:
        """Wait until ``check()`` returns something truthy; return it."""
        async with asyncio.timeout(wait_s):
            while not (found := check()):
                self.changed.clear()
                await self.changed.wait()
            return found

    def last(self, kind: str) -> dict[str, Any] | None:
        return next((m for m in reversed(self.messages) if m["type"] == kind), None)

    def ordered(self, kinds: tuple[str, ...] = ("alert", "note", "pin")) -> list[tuple[int, str, str]]:
        return [
            (seq, e["type"], e.get("id") or e.get("target_id", ""))
            for seq, e in sorted(self.events.items())
            if e["type"] in kinds
        ]

    def ended(self) -> bool:
        return any(e["type"] == "call_ended" for e in self.events.values())


async def connect(http: aiohttp.ClientSession, server: Server, name: str, token: str) -> Listener:
    ws = await http.ws_connect(server.ws_url("/ws"), headers={"Cookie": f"{COOKIE}={token}"})
    listener = Listener(name, ws)
    listener.reader = asyncio.create_task(listener.read())
    return listener


async def close(listener: Listener) -> None:
    await listener.ws.close()
    if listener.reader is not None:
        with contextlib.suppress(asyncio.CancelledError):
            await listener.reader


def presence_names(listener: Listener) -> set[str]:
    presence = listener.last("presence")
    return {p["user"] for p in presence["participants"]} if presence else set()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def room(
    callcoach: Path, model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Server, dict[str, str]]]:
    data = tmp_path_factory.mktemp("group") / "data"
    data.mkdir()
    tokens = create_users(data, COACHES)
    server = await start_server(callcoach, model_dir, data)
    try:
        yield server, tokens
    finally:
        await stop_server(server)


async def test_twenty_coaches_on_one_live_call_share_alerts_notes_and_presence(
    room: tuple[Server, dict[str, str]], samples: Path
) -> None:
    server, tokens = room
    names = ["ana", *(f"c{n:02d}" for n in range(1, COACHES + 1))]
    async with aiohttp.ClientSession() as http:
        pages = {name: await connect(http, server, name, tokens[name]) for name in names}
        lead = pages["ana"]
        welcome = await lead.until(lambda: lead.last("welcome"))
        assert (welcome["user"], welcome["role"], welcome["teams"]) == ("ana", "lead", ["default"])

        plan = Plan("twilio", samples / "bereavement_cold.wav", SPEED)
        caller = asyncio.create_task(simulator(server, plan, lambda _streamed_s: None))
        listed = await lead.until(lambda: _live_call(lead))
        call_id = listed["call_id"]
        for page in pages.values():
            await page.send({"type": "subscribe", "call_id": call_id, "after_seq": 0})

        await lead.send({"type": "start_session", "call_id": call_id})
        session_id = (await lead.until(lambda: lead.last("presence")))["session_id"]
        for name in names[1:]:
            await pages[name].send({"type": "join_session", "session_id": session_id})
        everyone = set(names)
        for page in pages.values():  # each sees all twenty, the lead marked
            await page.until(lambda p=page: presence_names(p) == everyone)
        assert [p["user"] for p in lead.last("presence")["participants"] if p["lead"]] == ["ana"]  # type: ignore[index]

        # Notes from five coaches at moments of the call, and the lead pins the first.
        for n, name in enumerate(names[1:6]):
            tag = "praise" if n % 2 else "coach"
            await pages[name].send(
                {"type": "add_note", "call_id": call_id, "at_s": 2.0 + n, "tag": tag, "text": f"note {n}"}
            )
        first = await lead.until(lambda: _notes(lead)[:1])
        await lead.send({"type": "set_pin", "call_id": call_id, "target_id": first[0]["id"], "pinned": True})

        # Two coaches drop off: everyone else sees eighteen; they come back from the last seq they had.
        gone = [pages.pop("c18"), pages.pop("c19")]
        for page in gone:
            await close(page)
        for page in pages.values():
            await page.until(lambda p=page: presence_names(p) == everyone - {"c18", "c19"})
        await pages["c07"].send(
            {"type": "add_note", "call_id": call_id, "at_s": 9.0, "tag": "coach", "text": "while away"}
        )
        for old in gone:
            page = await connect(http, server, old.name, tokens[old.name])
            page.events = dict(old.events)
            await page.send(
                {"type": "subscribe", "call_id": call_id, "after_seq": max(old.events, default=0)}
            )
            await page.send({"type": "join_session", "session_id": session_id})
            pages[old.name] = page
        for page in pages.values():
            await page.until(lambda p=page: presence_names(p) == everyone)

        await caller
        for page in pages.values():
            await page.until(page.ended, wait_s=60)
        reference = lead.ordered()
        kinds = {kind for _seq, kind, _id in reference}
        assert kinds == {"alert", "note", "pin"}, reference
        assert len([k for _s, k, _i in reference if k == "note"]) == 6
        for page in pages.values():
            assert page.ordered() == reference, page.name
            assert sorted(page.events) == list(range(1, len(page.events) + 1)), (
                f"{page.name}: a gap in the log"
            )

        # Everyone leaves; the outsider never saw the call and may not open it.
        for page in pages.values():
            await close(page)
        eve = await connect(http, server, "eve", tokens["eve"])
        calls = await eve.until(lambda: eve.last("calls"))
        assert all(c["team"] != "default" for c in calls["calls"])
        await eve.send({"type": "subscribe", "call_id": call_id, "after_seq": 0})
        await eve.send({"type": "add_note", "call_id": call_id, "at_s": 1.0, "tag": "coach", "text": "x"})
        await eve.send({"type": "join_session", "session_id": session_id})
        refusals = await eve.until(lambda: len(_errors(eve)) >= 3 and _errors(eve))
        assert [r["code"] for r in refusals] == ["forbidden_call", "forbidden_call", "unknown_session"]
        assert "belongs to team 'default', which you are not in" in refusals[0]["message"]
        assert not eve.events
        await close(eve)


def _live_call(listener: Listener) -> dict[str, Any] | None:
    calls = listener.last("calls")
    return next((c for c in calls["calls"] if c["live"]), None) if calls else None


def _notes(listener: Listener) -> list[dict[str, Any]]:
    return [e for _seq, e in sorted(listener.events.items()) if e["type"] == "note"]


def _errors(listener: Listener) -> list[dict[str, Any]]:
    return [m for m in listener.messages if m["type"] == "error"]
