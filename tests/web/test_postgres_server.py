"""A real ``callcoach serve --db postgresql://...`` (a subprocess, the real Vosk model, the session's own
PostgreSQL cluster): a lead added with ``callcoach user add --db`` logs in; a live Twilio call is analysed
and stored as it goes, a coach notes a moment of it; after a restart the call, its events and the note are
all still there, and so is the lead's login session. The rows are in PostgreSQL, none in a SQLite file:
the data folder holds only the recording. When PostgreSQL drops the server's connections (a restart), the
request that meets it gets 503 with a code, and the next one is served."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import time
from pathlib import Path

import aiohttp
import psycopg
import pytest

from callcoach.live.audit import AuditLog
from tests.helpers.auth import cookie_header, login_cookie_async
from tests.helpers.calls import Plan, place_calls, replay, wait_stored
from tests.helpers.server import Server, clean_env, get_calls, start_server, stop_server

pytestmark = pytest.mark.vosk

LEAD, LEAD_PASSWORD = "ana", "lead-password"
NOTE = "kept in PostgreSQL"


def add_lead(callcoach: Path, data: Path, db: str) -> None:
    argv = [str(callcoach), "user", "add", LEAD, "--role", "lead", "--team", "default", "--password-stdin"]
    argv += ["--data", str(data), "--db", db]
    done = subprocess.run(
        argv, input=f"{LEAD_PASSWORD}\n", capture_output=True, text=True, timeout=60, env=clean_env()
    )
    assert done.returncode == 0, done.stderr


async def add_note(server: Server, call_id: str) -> None:
    """A coach notes a moment of the stored call, and waits until it comes back on the socket."""
    async with server.client() as http, http.ws_connect(server.ws_url("/ws")) as ws:
        subscribe = {"v": 1, "type": "subscribe", "call_id": call_id, "after_seq": 0}
        await ws.send_str(json.dumps(subscribe))
        # A replay sends what the player has passed: play to past the end, so the note comes back.
        end = {"v": 1, "type": "playback", "call_id": call_id, "position_s": 1e6, "playing": False}
        note = {"v": 1, "type": "add_note", "call_id": call_id, "at_s": 2.0, "tag": "coach", "text": NOTE}
        for message in (end, note):
            await ws.send_str(json.dumps(message))
        async with asyncio.timeout(20):
            async for msg in ws:
                data = json.loads(msg.data) if msg.type == aiohttp.WSMsgType.TEXT else {}
                assert data.get("type") != "error", data
                if data.get("type") == "note" and data["text"] == NOTE:
                    return


async def lead_sees(server: Server, session: str, call_id: str) -> bool:
    async with aiohttp.ClientSession(headers=cookie_header(session)) as http:
        return call_id in {c["call_id"] for c in await get_calls(http, server)}


async def test_a_server_on_postgres_keeps_calls_notes_and_logins_across_a_restart(
    callcoach: Path, model_dir: Path, samples: Path, tmp_path: Path, postgres_url: str
) -> None:
    data = tmp_path / "data"
    add_lead(callcoach, data, postgres_url)
    server = await start_server(callcoach, model_dir, data, db=postgres_url)
    try:
        async with aiohttp.ClientSession() as http:
            lead_session = await login_cookie_async(http, server.base, LEAD, LEAD_PASSWORD)
        (trace,) = await place_calls(server, [Plan("twilio", samples / "bereavement_cold.wav", speed=2.0)])
        call_id = trace.call_id
        assert "passed away" in trace.said("customer"), trace.said("customer")
        assert "cold_reply_to_bad_news" in {a["kind"] for a in trace.alerts()}
        async with server.client() as http:
            await wait_stored(http, server, {call_id})
        await add_note(server, call_id)
        before = await replay(server, call_id, until="note")
        assert await lead_sees(server, lead_session, call_id)
    finally:
        assert await stop_server(server) == 0, server.output()

    assert sorted(p.name for p in data.iterdir()) == ["recordings"]  # no calls.sqlite3, accounts.sqlite3...
    assert (data / "recordings" / f"{call_id}.wav").exists()

    again = await start_server(callcoach, model_dir, data, db=postgres_url)
    try:
        after = await replay(again, call_id, until="note")
        assert after == before
        assert [e["text"] for e in after if e["type"] == "note"] == [NOTE]
        assert [e["type"] for e in after if e["type"] != "note"] == [e["type"] for e in trace.events]
        assert await lead_sees(again, lead_session, call_id)  # the login session outlived the restart
    finally:
        assert await stop_server(again) == 0, again.output()
    with contextlib.closing(AuditLog(postgres_url)) as trail:
        assert {(e.user, e.action) for e in trail.entries(call_id=call_id)} >= {("coach", "open")}


def drop_connections(url: str) -> None:
    """What a restart of PostgreSQL does to the server: every connection of its ends; back once they are
    gone."""
    with psycopg.connect(url, autocommit=True) as admin:
        mine = "application_name = 'callcoach' AND datname = current_database()"
        pids = [pid for (pid,) in admin.execute(f"SELECT pid FROM pg_stat_activity WHERE {mine}")]
        assert pids, "the server has no connection to its database"
        admin.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", (pids,))
        while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)).fetchone():
            time.sleep(0.05)


async def test_a_request_the_database_fails_is_503_and_the_next_is_served(
    callcoach: Path, model_dir: Path, tmp_path: Path, postgres_url: str
) -> None:
    server = await start_server(callcoach, model_dir, tmp_path / "data", db=postgres_url)
    try:
        drop_connections(postgres_url)
        async with server.client() as http:
            async with http.get(f"{server.base}/api/calls") as resp:  # its login is looked up: the db fails
                assert resp.status == 503, await resp.text()
                failed = await resp.json()
            assert failed["code"] == "db_unreachable" and "try again in a moment" in failed["message"]
            assert await get_calls(http, server) == []  # a new connection
    finally:
        assert await stop_server(server) == 0, server.output()
    assert "the database failed" in server.output()
