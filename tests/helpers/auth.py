"""Logging in to a test server: one account in the server's data folder, and its session cookie.

Every test that talks to ``/``, ``/api/calls``, ``/recordings/...`` or ``/ws`` needs a session. A server
test creates :data:`USERNAME` (an admin: every team's calls) in the data folder before it starts the
server, then logs in with :func:`login_cookie` (or :func:`login_cookie_async`) and sends the cookie.
aiohttp's client keeps no cookies for an IP address such as 127.0.0.1, so the cookie goes in a header.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp

from callcoach.live.accounts import Accounts
from callcoach.live.events import Role
from callcoach.web.auth import COOKIE

USERNAME = "coach"
PASSWORD = "coach-test-password"


def create_user(
    data_dir: Path,
    username: str = USERNAME,
    password: str = PASSWORD,
    *,
    role: Role = "admin",
    teams: tuple[str, ...] = (),
    db: str = "",
) -> None:
    """An account in the data folder a server uses, or in its ``--db`` database when ``db`` is given (left
    as it is if it exists: a restarted server)."""
    accounts = Accounts(db or data_dir / "accounts.sqlite3")
    try:
        if username not in {u.username for u in accounts.users()}:
            accounts.add_user(username, role, teams, password=password)
    finally:
        accounts.close()


def login_cookie(base: str, username: str = USERNAME, password: str = PASSWORD) -> str:
    """Log in to the server at ``base`` (``http://host:port``); the session token its cookie holds."""
    request = urllib.request.Request(
        f"{base}/api/login",
        data=json.dumps({"username": username, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        return session_token(resp.headers.get_all("Set-Cookie") or [])


async def login_cookie_async(
    http: aiohttp.ClientSession, base: str, username: str = USERNAME, password: str = PASSWORD
) -> str:
    """:func:`login_cookie` for asyncio tests."""
    body = {"username": username, "password": password}
    async with http.post(f"{base}/api/login", json=body) as resp:
        resp.raise_for_status()
        return session_token(resp.headers.getall("Set-Cookie", []))


def session_token(set_cookies: list[str]) -> str:
    for header in set_cookies:
        name, _, rest = header.partition("=")
        if name.strip() == COOKIE:
            return rest.split(";", 1)[0]
    raise AssertionError(f"no {COOKIE} cookie in {set_cookies}")


def cookie_header(token: str) -> dict[str, str]:
    """The request header that carries the session."""
    return {"Cookie": f"{COOKIE}={token}"}


def browser_cookie(base: str, token: str) -> dict[str, Any]:
    """The session cookie for Playwright's ``context.add_cookies``."""
    return {"name": COOKIE, "value": token, "url": base, "httpOnly": True, "sameSite": "Strict"}
