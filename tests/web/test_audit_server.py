"""The audit trail and retention in the real ``callcoach serve`` (a subprocess, the real model loaded, on
loopback), with ``CALLCOACH_RETENTION_DAYS=90`` and a data folder holding two stored calls: one saved 120
days ago, one 10 days ago. Accounts: the test admin (``coach``, see tests/helpers/auth.py) and ``bo``, a
coach of the default team.

Retention must have purged the old call before the server answered anyone; a coach who opens the other
call and plays its recording (a player's several Range requests) leaves one ``open`` and one ``listen``,
which admins see with ``callcoach audit`` and ``GET /api/audit``, and coaches may not.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from callcoach.live.audit import utc_iso
from callcoach.live.settings import Settings
from callcoach.web import simulate
from tests.helpers.auth import USERNAME, cookie_header, create_user, login_cookie_async
from tests.helpers.server import Server, clean_env, get_calls, start_server, stop_server
from tests.helpers.stored_calls import rows, store_call, write_wav

pytestmark = [pytest.mark.vosk, pytest.mark.asyncio(loop_scope="module")]

BO, BO_PASSWORD = "bo", "bo-password-1"


@dataclass
class Site:
    server: Server
    bo: str  # bo's session token
    started_at: str  # a time before any entry the tests make, as the trail writes times

    def as_bo(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(headers=cookie_header(self.bo))


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def site(
    callcoach: Path, model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Site]:
    data = tmp_path_factory.mktemp("audit") / "data"
    store_call(data, "expired", age_days=120)
    store_call(data, "kept", age_days=10)
    create_user(data, BO, BO_PASSWORD, role="coach", teams=("default",))
    started_at = utc_iso(int(time.time()))
    server = await start_server(callcoach, model_dir, data, env={"CALLCOACH_RETENTION_DAYS": "90"})
    try:
        async with aiohttp.ClientSession() as http:
            bo = await login_cookie_async(http, server.base, BO, BO_PASSWORD)
        yield Site(server, bo, started_at)
    finally:
        await stop_server(server)


async def audit_api(site: Site, query: str = "", token: str | None = None) -> tuple[int, Any]:
    """``GET /api/audit``: as the admin (``token`` None), with that session, or with none (``""``)."""
    headers = {} if token == "" else cookie_header(site.server.session if token is None else token)
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.get(f"{site.server.base}/api/audit{query}") as resp,
    ):
        return resp.status, await resp.json()


def audit_cli(callcoach: Path, site: Site, *args: str) -> list[dict[str, Any]]:
    """``callcoach audit --json ARGS`` on the server's data folder, as an admin on the server runs it."""
    argv = [str(callcoach), "audit", "--json", *args, "--data", str(site.server.data)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=clean_env())
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


async def open_call(site: Site, call_id: str) -> None:
    """bo subscribes to the call on the websocket, as the page does on a click, until it is subscribed."""
    async with site.as_bo() as http, http.ws_connect(site.server.ws_url("/ws")) as ws:
        await ws.send_str(json.dumps({"v": 1, "type": "subscribe", "call_id": call_id, "after_seq": 0}))
        async with asyncio.timeout(20):
            async for msg in ws:
                data = json.loads(msg.data)
                assert data["type"] != "error", data
                if data["type"] == "subscribed":
                    return


async def test_retention_purged_the_expired_call_before_the_server_answered(
    callcoach: Path, site: Site
) -> None:
    data = site.server.data
    async with site.server.client() as http:
        listed = {c["call_id"] for c in await get_calls(http, site.server)}
        assert "kept" in listed and "expired" not in listed
        async with http.get(f"{site.server.base}/recordings/expired") as resp:
            assert resp.status == 404
    assert [rows(data, t, "expired") for t in ("calls", "events", "annotations")] == [0, 0, 0]
    assert not (data / "recordings" / "expired.wav").exists()
    assert [rows(data, t, "kept") for t in ("calls", "events", "annotations")] == [1, 3, 1]
    assert (data / "recordings" / "kept.wav").exists()
    [purge] = audit_cli(callcoach, site, "--call", "expired")
    assert (purge["user"], purge["action"], purge["detail"]) == ("retention", "purge", "--retention-days 90")
    assert "deleted 1 call saved over 90 days ago" in site.server.output()


async def test_a_coach_opening_and_playing_a_call_leaves_one_open_and_one_listen(
    callcoach: Path, site: Site
) -> None:
    await open_call(site, "kept")
    async with site.as_bo() as http:
        for first, last in ((0, 1023), (1024, 8191), (8192, "")):  # the player, as it plays and seeks
            url = f"{site.server.base}/recordings/kept"
            async with http.get(url, headers={"Range": f"bytes={first}-{last}"}) as resp:
                assert resp.status == 206, await resp.text()
                await resp.read()
    done_at = utc_iso(time.time())

    status, body = await audit_api(site, f"?user={BO}&call=kept")
    assert status == 200
    for entries in (body["entries"], audit_cli(callcoach, site, "--user", BO, "--call", "kept")):
        assert [(e["user"], e["action"], e["call_id"], e["detail"]) for e in entries] == [
            (BO, "open", "kept", "127.0.0.1"),
            (BO, "listen", "kept", "127.0.0.1"),
        ]
        assert all(site.started_at <= e["at"] <= done_at for e in entries), entries
    assert (await audit_api(site, f"?user={BO}&since=1h"))[1] == body  # the same two, by time


async def test_a_download_is_an_export(callcoach: Path, site: Site) -> None:
    async with site.server.client() as http:
        async with http.get(f"{site.server.base}/recordings/kept?download=1") as resp:
            assert resp.status == 200
            assert resp.headers["Content-Disposition"] == 'attachment; filename="kept.wav"'
            assert (await resp.read())[:4] == b"RIFF"
        async with http.get(f"{site.server.base}/recordings/kept") as resp:  # the whole file: curl
            assert resp.status == 200
            await resp.read()
    exports = audit_cli(callcoach, site, "--user", USERNAME)
    assert [(e["action"], e["call_id"]) for e in exports] == [("export", "kept"), ("export", "kept")]


async def test_only_admins_see_the_trail(site: Site) -> None:
    status, body = await audit_api(site, token=site.bo)
    assert (status, body["code"]) == (403, "admins_only")
    assert "for admins" in body["message"]
    status, body = await audit_api(site, token="")
    assert (status, body["code"]) == (401, "login_required")


async def test_a_bad_filter_says_what_works(site: Site) -> None:
    status, body = await audit_api(site, "?since=yesterday")
    assert (status, body["code"]) == (400, "bad_request")
    assert "e.g. 90d" in body["message"]
    status, body = await audit_api(site, "?who=bo")
    assert (status, body["code"]) == (400, "bad_request")
    assert "call, user, since" in body["message"]


async def test_hearing_a_live_call_is_a_listen(callcoach: Path, site: Site, tmp_path: Path) -> None:
    """A live call (a Twilio stream of a tone) that bo opens, with its audio, while it happens."""
    write_wav(tmp_path / "tone.wav", 8.0)
    server = site.server
    url = server.ws_url(f"/ingest/twilio?token={server.token}")
    caller = asyncio.create_task(
        simulate.twilio(tmp_path / "tone.wav", Settings(ingest_token=server.token), url, 1.0, None)
    )
    try:
        async with site.as_bo() as http, http.ws_connect(server.ws_url("/ws")) as ws:
            async with asyncio.timeout(30):
                call_id = await _live_call(ws)
                await ws.send_str(
                    json.dumps({"v": 1, "type": "subscribe", "call_id": call_id, "after_seq": 0})
                )
                async for msg in ws:
                    data = json.loads(msg.data)
                    if data["type"] == "subscribed":
                        assert data["live"] is True
                        break
        entries = audit_cli(callcoach, site, "--user", BO, "--call", call_id)
        assert [(e["action"], e["detail"]) for e in entries] == [
            ("open", "127.0.0.1"),
            ("listen", "live audio, 127.0.0.1"),
        ]
    finally:
        async with asyncio.timeout(60):
            await caller


async def _live_call(ws: aiohttp.ClientWebSocketResponse) -> str:
    async for msg in ws:
        data = json.loads(msg.data)
        live = [c["call_id"] for c in data.get("calls", []) if c["live"]] if data["type"] == "calls" else []
        if live:
            return str(live[0])
    raise AssertionError("the socket closed before the live call was listed")
