"""Logins, sessions, invites and who may see what, against the real app on loopback (no speech model).

The recordings folder holds one file per team: at its top (team ``default``), in ``billing/`` and in
``north/``. They are empty WAVs, listed with their team and marked as errors (nothing to analyse), so no
model is needed. Accounts: ``root`` (admin), ``ana`` (lead of billing), ``bo`` (coach of north, invited).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
import pytest_asyncio
import soundfile as sf
from aiohttp.test_utils import TestClient, TestServer
from yarl import URL

from callcoach.live.accounts import INVITE_TTL_S, SESSION_TTL_S, Accounts
from callcoach.live.settings import Settings
from callcoach.web import coach
from callcoach.web.app import create_app
from callcoach.web.auth import COOKIE
from callcoach.web.throttle import LoginThrottle
from tests.helpers.auth import cookie_header, session_token

PASSWORDS = {"root": "root-password", "ana": "ana-password"}
ANA = {"user": "ana", "name": "Ana Lead", "role": "lead", "teams": ["billing"]}
EVIL = "http://evil.example"


@dataclass
class Site:
    client: TestClient[Any, Any]
    invite: str  # bo's invite token
    expired_invite: str  # an invite for ed that expired yesterday

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.client.port}"

    async def login(self, username: str, password: str | None = None) -> aiohttp.ClientResponse:
        body = {"username": username, "password": password or PASSWORDS[username]}
        return await self.client.post("/api/login", json=body)

    async def token(self, username: str) -> str:
        resp = await self.login(username)
        assert resp.status == 200, await resp.text()
        return session_token(resp.headers.getall("Set-Cookie"))

    async def get(self, path: str, token: str | None = None, **kwargs: Any) -> aiohttp.ClientResponse:
        headers = cookie_header(token) if token else {}
        return await self.client.get(path, headers=headers, allow_redirects=False, **kwargs)


def write_recordings(folder: Path) -> None:
    silence = np.zeros((0, 2), dtype=np.int16)  # a valid, empty WAV: listed, nothing to analyse
    for path in ("general.wav", "billing/invoice.wav", "north/north_call.wav"):
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(folder / path), silence, 16000, subtype="PCM_16")


def write_accounts(data: Path) -> tuple[str, str]:
    accounts = Accounts(data / "accounts.sqlite3")
    yesterday = Accounts(data / "accounts.sqlite3", clock=lambda: time.time() - INVITE_TTL_S - 86400)
    try:
        accounts.add_user("root", "admin", [], password=PASSWORDS["root"])
        accounts.add_user("ana", "lead", ["billing"], display_name="Ana Lead", password=PASSWORDS["ana"])
        accounts.add_user("bo", "coach", ["north"], display_name="Bo")
        accounts.add_user("ed", "coach", ["north"])
        return accounts.invite("bo"), yesterday.invite("ed")
    finally:
        accounts.close()
        yesterday.close()


MakeSite = Callable[..., Awaitable[Site]]


@pytest_asyncio.fixture
async def make_site(tmp_path: Path) -> AsyncIterator[MakeSite]:
    """``await make_site(**settings)``: the app on a loopback port, with the recordings and accounts."""
    clients: list[TestClient[Any, Any]] = []

    async def make(**changes: Any) -> Site:
        recordings, data = tmp_path / "recordings", tmp_path / "data"
        write_recordings(recordings)
        invite, expired = write_accounts(data)
        settings = replace(Settings(recordings_dir=recordings, data_dir=data), **changes)
        server = TestServer(create_app(settings, None), host="127.0.0.1")
        # No cookie jar: each request carries exactly the session the test gives it.
        client: TestClient[Any, Any] = TestClient(server, cookie_jar=aiohttp.DummyCookieJar())
        await client.start_server()
        clients.append(client)
        return Site(client, invite, expired)

    yield make
    for client in clients:
        await client.close()


@pytest_asyncio.fixture
async def site(make_site: MakeSite) -> Site:
    return await make_site()


# --- logging in and out ----------------------------------------------------------------------------------


async def test_login_sets_an_httponly_strict_session_cookie(site: Site) -> None:
    resp = await site.login("ana")
    assert resp.status == 200
    assert await resp.json() == ANA
    (cookie,) = resp.headers.getall("Set-Cookie")
    attributes = {a.strip().split("=")[0].lower(): a.strip() for a in cookie.split(";")[1:]}
    assert cookie.startswith(f"{COOKIE}=")
    assert "httponly" in attributes and attributes["samesite"] == "SameSite=Strict"
    assert attributes["path"] == "Path=/" and attributes["max-age"] == f"Max-Age={SESSION_TTL_S}"
    assert "secure" not in attributes  # plain http: a Secure cookie would never come back
    me = await site.get("/api/me", session_token([cookie]))
    assert me.status == 200 and await me.json() == ANA


@pytest.mark.parametrize(("username", "password"), [("ana", "not-her-password"), ("nobody", "whatever1")])
async def test_a_wrong_password_or_user_is_refused_with_401(site: Site, username: str, password: str) -> None:
    resp = await site.login(username, password)
    assert resp.status == 401
    assert await resp.json() == {"code": "bad_login", "message": "wrong username or password"}
    assert "Set-Cookie" not in resp.headers


async def test_five_failed_logins_then_429_until_the_window_passes(site: Site) -> None:
    for _ in range(5):
        assert (await site.login("ana", "guess-guess")).status == 401
    resp = await site.login("ana")  # even the right password, now
    assert resp.status == 429
    body = await resp.json()
    assert body["code"] == "too_many_attempts" and "try again in 5 min" in body["message"]
    assert 0 < int(resp.headers["Retry-After"]) <= 300
    assert (await site.login("root")).status == 200  # another user from the same address is not held up


def test_the_throttle_forgets_failures_after_the_window() -> None:
    now = 1000.0
    throttle = LoginThrottle(limit=5, window_s=300)
    for _ in range(5):
        assert throttle.wait_s("ana", "127.0.0.1", now) == 0
        throttle.failed("ana", "127.0.0.1", now)
        now += 10
    assert throttle.wait_s("ana", "127.0.0.1", now) == pytest.approx(300 - 50)
    assert throttle.wait_s("ANA", "127.0.0.1", now) == pytest.approx(300 - 50)  # names are caseless
    assert throttle.wait_s("ana", "10.0.0.9", now) == 0  # per address too
    now += 250
    assert throttle.wait_s("ana", "127.0.0.1", now) == 0  # the first failure is 5 min old: one more try
    throttle.failed("ana", "127.0.0.1", now)
    assert throttle.wait_s("ana", "127.0.0.1", now) == pytest.approx(10)
    throttle.succeeded("ana", "127.0.0.1")
    assert throttle.wait_s("ana", "127.0.0.1", now) == 0


def test_the_throttle_is_capped_in_entries_and_keeps_the_latest() -> None:
    throttle = LoginThrottle(limit=2, window_s=300, max_entries=100)
    throttle.failed("ana", "10.0.0.1", 0.0)
    throttle.failed("ana", "10.0.0.1", 1.0)
    for i in range(1000):  # a spray of made-up names
        throttle.failed(f"user{i}", "10.0.0.2", 2.0 + i / 1000)
        assert len(throttle) <= 100
    assert len(throttle) == 100
    assert throttle.wait_s("ana", "10.0.0.1", 3.0) == 0  # pushed out: it failed least recently
    assert throttle.wait_s("user999", "10.0.0.2", 3.0) == 0  # one failure: not held yet
    throttle.failed("user999", "10.0.0.2", 3.0)
    assert throttle.wait_s("user999", "10.0.0.2", 3.0) > 0  # the newest entries are kept


def test_the_throttle_is_capped_in_bytes_whatever_the_names() -> None:
    """A key is a fixed-size digest: a 1 MB username costs what a short one does, and the table never
    counts more than its byte cap."""
    throttle = LoginThrottle(limit=5, window_s=300, max_entries=1_000_000, max_bytes=64 * 1024)
    for i in range(2000):
        throttle.failed(f"{i:07d}" + "x" * 1_000_000 if i < 5 else f"user{i}", "10.0.0.2", float(i))
        assert throttle.bytes <= 64 * 1024
    per_entry = throttle.bytes / len(throttle)
    assert per_entry < 200
    assert len(throttle) == pytest.approx(64 * 1024 / per_entry, abs=1)
    for i in range(len(throttle) * 5):  # the same names again and again: each entry keeps 5 failures
        throttle.failed(f"user{1999 - i % len(throttle)}", "10.0.0.2", 3000.0 + i)
        assert throttle.bytes <= 64 * 1024
    # what it counts is what it holds: forgetting everything brings it back to 0
    for i in range(2000):
        throttle.succeeded(f"user{i}", "10.0.0.2")
    assert (len(throttle), throttle.bytes) == (0, 0)


async def test_a_username_longer_than_64_characters_is_refused_before_it_is_counted(site: Site) -> None:
    resp = await site.login("a" * 65, "whatever1")
    assert resp.status == 400
    assert await resp.json() == {"code": "bad_request", "message": "a username has at most 64 characters"}
    assert (await site.login("a" * 64, "whatever1")).status == 401  # 64 is still a name to try


@pytest.mark.parametrize("field", ["username", "password"])
async def test_a_lone_surrogate_is_a_bad_request_not_a_server_error(site: Site, field: str) -> None:
    raw = json.dumps({"username": "ana", "password": "ana-password", field: "\ud800"})  # sent as \ud800
    resp = await site.client.post("/api/login", data=raw, headers={"Content-Type": "application/json"})
    assert resp.status == 400 and (await resp.json())["code"] == "bad_request"


@pytest.mark.parametrize("chunked", [False, True], ids=["declared length", "chunked"])
async def test_a_login_body_over_8_kib_is_refused_unread(site: Site, chunked: bool) -> None:
    body = json.dumps({"username": "ana", "password": "x" * 9000}).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(body), 1000):
            yield body[i : i + 1000]

    headers = {"Content-Type": "application/json"}
    resp = await site.client.post("/api/login", data=chunks() if chunked else body, headers=headers)
    assert resp.status == 413
    assert await resp.json() == {
        "code": "too_large",
        "message": 'send a JSON object with "username", "password", of at most 8192 bytes',
    }


async def test_login_takes_json_only(site: Site) -> None:
    form = await site.client.post("/api/login", data={"username": "ana", "password": PASSWORDS["ana"]})
    assert form.status == 415
    broken = await site.client.post("/api/login", data="{", headers={"Content-Type": "application/json"})
    assert broken.status == 400 and (await broken.json())["code"] == "bad_request"


@pytest.mark.parametrize(
    "next_path",
    [
        "/%09/127.0.0.1:9/stolen",  # the probe's: the browser drops the tab, leaving //127.0.0.1:9
        "/%0a/evil.example",
        "//evil.example/",
        "/%5Cevil.example",  # a backslash reads as a slash
        "%2F%2Fevil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "/%20/evil.example",
    ],
)
async def test_login_with_a_next_off_this_server_is_sent_to_a_plain_login(site: Site, next_path: str) -> None:
    resp = await site.get(f"/login?next={next_path}")
    assert resp.status == 302 and resp.headers["Location"] == "/login?next=/"


async def test_login_with_a_next_on_this_server_keeps_it(site: Site) -> None:
    resp = await site.get("/login?next=/%23call%3Dinvoice%26session%3Ds1-invoice")
    assert resp.status == 200 and 'id="login-form"' in await resp.text()


async def test_a_page_behind_login_never_hands_on_a_scheme_relative_next(site: Site) -> None:
    url = URL(site.origin + "//evil.example/x", encoded=True)  # the path is //evil.example/x
    resp = await site.client.session.get(url, allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"] == "/login?next=/"


@pytest.mark.parametrize("path", ["/api/login", "/api/logout", "/api/invite"])
@pytest.mark.parametrize("origin", [EVIL, "null", "http://127.0.0.1:1"])
async def test_a_post_from_another_origin_is_refused(site: Site, path: str, origin: str) -> None:
    token = await site.token("ana")
    form = {"username": "ana", "password": PASSWORDS["ana"], "token": site.invite}
    resp = await site.client.post(path, data=form, headers={**cookie_header(token), "Origin": origin})
    assert resp.status == 403
    assert await resp.json() == {
        "code": "forbidden_origin",
        "message": f"POST {path} from origin {origin} refused: use the page served by this server, "
        f"or add {origin} to CALLCOACH_ALLOWED_ORIGINS",
    }
    assert "Set-Cookie" not in resp.headers
    assert (await site.get("/api/me", token)).status == 200  # still logged in


async def test_a_post_from_the_same_or_an_allowed_origin_goes_through(make_site: MakeSite) -> None:
    site = await make_site(allowed_origins=(EVIL,))
    for origin in (site.origin, EVIL):
        body = {"username": "ana", "password": PASSWORDS["ana"]}
        resp = await site.client.post("/api/login", json=body, headers={"Origin": origin})
        assert resp.status == 200, origin


async def test_logout_ends_the_session(site: Site) -> None:
    token = await site.token("ana")
    assert (await site.get("/api/calls", token)).status == 200
    resp = await site.client.post("/api/logout", headers=cookie_header(token))
    assert resp.status == 204
    assert f"{COOKIE}=" in resp.headers["Set-Cookie"] and "Max-Age=0" in resp.headers["Set-Cookie"]
    assert (await site.get("/api/calls", token)).status == 401


# --- what needs a session --------------------------------------------------------------------------------


async def test_the_page_without_a_session_redirects_to_login(site: Site) -> None:
    resp = await site.get("/")
    assert resp.status == 302 and resp.headers["Location"] == "/login?next=/"
    login = await site.get("/login")
    assert login.status == 200
    html = await login.text()
    assert 'id="login-form"' in html and 'for="username"' in html and 'for="password"' in html
    for asset in ("/static/login.css", "/static/js/login.js"):
        assert asset in html
        assert (await site.get(asset)).status == 200


@pytest.mark.parametrize("path", ["/api/calls", "/api/me", "/recordings/invoice"])
@pytest.mark.parametrize("token", [None, "forged-token", ""], ids=["no cookie", "forged", "empty"])
async def test_api_and_recordings_without_a_valid_session_get_401(
    site: Site, path: str, token: str | None
) -> None:
    headers = {"Cookie": f"{COOKIE}={token}"} if token is not None else {}
    resp = await site.client.get(path, headers=headers)
    assert resp.status == 401
    assert await resp.json() == {"code": "login_required", "message": "log in first: open /login"}


async def test_a_forged_cookie_is_no_session(site: Site) -> None:
    await site.token("ana")  # a real session exists; a made-up token is still nobody's
    resp = await site.get("/", "x" * 43)
    assert resp.status == 302


async def test_the_page_with_a_session(site: Site) -> None:
    resp = await site.get("/", await site.token("ana"))
    assert resp.status == 200 and "/static/js/main.js" in await resp.text()


# --- teams -----------------------------------------------------------------------------------------------


async def test_the_call_list_shows_only_the_users_teams(site: Site) -> None:
    async def listed(username: str) -> dict[str, str]:
        resp = await site.get("/api/calls", await site.token(username))
        assert resp.status == 200
        return {c["call_id"]: c["team"] for c in (await resp.json())["calls"]}

    assert await listed("ana") == {"invoice": "billing"}
    assert await listed("root") == {"general": "default", "invoice": "billing", "north_call": "north"}


async def test_another_teams_recording_is_forbidden(site: Site) -> None:
    token = await site.token("ana")
    own = await site.get("/recordings/invoice", token)
    assert own.status == 200 and (await own.read())[:4] == b"RIFF"
    other = await site.get("/recordings/north_call", token)
    assert other.status == 403
    assert await other.text() == "call north_call belongs to team north, which you are not in"
    assert (await site.get("/recordings/north_call", await site.token("root"))).status == 200


# --- invites ---------------------------------------------------------------------------------------------


async def test_an_invite_sets_the_password_and_logs_in(site: Site) -> None:
    page = await site.get(f"/invite/{site.invite}")
    assert page.status == 200 and 'id="invite-form"' in await page.text()

    short = await site.client.post("/api/invite", json={"token": site.invite, "password": "short"})
    assert short.status == 400
    assert await short.json() == {"code": "bad_invite", "message": "a password needs at least 8 characters"}

    resp = await site.client.post("/api/invite", json={"token": site.invite, "password": "bo-password"})
    assert resp.status == 200
    assert await resp.json() == {"user": "bo", "name": "Bo", "role": "coach", "teams": ["north"]}
    me = await site.get("/api/me", session_token(resp.headers.getall("Set-Cookie")))
    assert (await me.json())["user"] == "bo"
    assert (await site.login("bo", "bo-password")).status == 200

    again = await site.client.post("/api/invite", json={"token": site.invite, "password": "other-password"})
    assert again.status == 400 and "used or expired" in (await again.json())["message"]


async def test_an_expired_invite_is_refused(site: Site) -> None:
    body = {"token": site.expired_invite, "password": "ed-password"}
    resp = await site.client.post("/api/invite", json=body)
    assert resp.status == 400
    assert await resp.json() == {
        "code": "bad_invite",
        "message": "this invite link is used or expired: ask your lead for a new one",
    }
    assert "Set-Cookie" not in resp.headers


# --- the coach websocket ---------------------------------------------------------------------------------


async def first_message(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    msg = await ws.receive(timeout=5)
    assert msg.type == aiohttp.WSMsgType.TEXT, (msg.type, msg.data)
    data: dict[str, Any] = json.loads(msg.data)
    return data


async def test_the_socket_without_a_session_is_refused_with_401(site: Site) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await site.client.ws_connect("/ws")
    assert refused.value.status == 401
    with pytest.raises(aiohttp.WSServerHandshakeError) as forged:
        await site.client.ws_connect("/ws", headers=cookie_header("forged"))
    assert forged.value.status == 401
    plain = await site.client.get("/ws")
    assert plain.status == 401 and await plain.text() == "log in first: open /login"


async def test_the_socket_from_another_origin_is_refused_with_403(site: Site) -> None:
    token = await site.token("ana")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await site.client.ws_connect("/ws", headers=cookie_header(token), origin=EVIL)
    assert refused.value.status == 403
    plain = await site.client.get("/ws", headers={**cookie_header(token), "Origin": EVIL})
    assert plain.status == 403
    assert await plain.text() == (
        f"websocket from origin {EVIL} refused: open the page from this server, "
        f"or add {EVIL} to CALLCOACH_ALLOWED_ORIGINS"
    )


@pytest.mark.parametrize("origin", ["same", None], ids=["same origin", "no Origin header"])
async def test_the_socket_with_a_session_opens(site: Site, origin: str | None) -> None:
    token = await site.token("ana")
    async with site.client.ws_connect(
        "/ws", headers=cookie_header(token), origin=site.origin if origin else None
    ) as ws:  # the handshake answered 101
        assert (await first_message(ws))["type"] in ("welcome", "calls")


async def test_an_allowed_origin_may_open_the_socket(make_site: MakeSite) -> None:
    site = await make_site(allowed_origins=(EVIL,))
    token = await site.token("ana")
    async with site.client.ws_connect("/ws", headers=cookie_header(token), origin=EVIL) as ws:
        assert (await first_message(ws))["type"] in ("welcome", "calls")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await site.client.ws_connect("/ws", headers=cookie_header(token), origin="http://other.example")
    assert refused.value.status == 403


async def test_an_open_socket_closes_when_its_user_logs_out(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(coach, "SESSION_RECHECK_S", 0.05)
    token = await site.token("ana")
    other = await site.token("ana")  # a second tab's login stays
    async with (
        site.client.ws_connect("/ws", headers=cookie_header(token)) as ws,
        site.client.ws_connect("/ws", headers=cookie_header(other)) as stays,
    ):
        assert (await first_message(ws))["type"] in ("welcome", "calls")
        await site.client.post("/api/logout", headers=cookie_header(token))
        async with asyncio.timeout(5):  # without the re-check the socket would stay open
            messages = [m async for m in ws]
        refusal = json.loads(messages[-1].data)
        assert (refusal["code"], refusal["fatal"]) == ("logged_out", True)
        assert "log in again" in refusal["message"]
        assert ws.close_code == coach.LOGGED_OUT
        assert not stays.closed


async def error_reply(ws: aiohttp.ClientWebSocketResponse, message: dict[str, Any]) -> dict[str, Any]:
    """Send ``message`` and return the ``error`` it is answered with (skipping the welcome and calls)."""
    await ws.send_json({"v": 1, **message})
    async with asyncio.timeout(5):
        while (reply := await first_message(ws))["type"] != "error":
            pass
    return reply


async def test_pinning_on_another_teams_call_is_forbidden_before_the_target_is_looked_up(site: Site) -> None:
    pin = {"type": "set_pin", "call_id": "north_call", "target_id": "no-such-alert", "pinned": True}
    async with site.client.ws_connect("/ws", headers=cookie_header(await site.token("ana"))) as ws:
        refusal = await error_reply(ws, pin)  # ana leads billing, not north: the team comes first
    assert (refusal["code"], refusal["message"]) == (
        "forbidden_call",
        "call 'north_call' belongs to team 'north', which you are not in",
    )
    async with site.client.ws_connect("/ws", headers=cookie_header(await site.token("root"))) as ws:
        assert (await error_reply(ws, pin))["code"] == "unknown_target"  # an admin may see it: no target
