"""Who is asking: the login page, the session cookie, and the checks in front of the page, the call list,
the recordings and the coach websocket.

A login (``POST /api/login``) or a redeemed invite (``POST /api/invite``) starts a session in
:class:`Accounts` and hands its random token to the browser as an ``HttpOnly``, ``SameSite=Strict``
cookie. A middleware turns that cookie into the :class:`User` of every request (``request[USER]``) and
refuses requests without a valid one: a page is sent to ``/login``, anything else gets 401 with a JSON
error. The ingest endpoints have their own token and ``/ws`` is checked by :func:`authorize_socket`, which
also refuses pages of other origins; any other request that changes state (a POST) is refused when a
page of another origin sends it. Failed logins are throttled per username and address, in a table bounded
in entries and bytes; usernames and request bodies are bounded before anything is kept. After a login the
page goes on to ``next`` only when it is a path on this server (:func:`safe_next`).
Accounts are SQLite and Argon2 (blocking, ~50 ms a hash): every call to them runs in the executor.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

from aiohttp import hdrs, web
from aiohttp.typedefs import Middleware

from callcoach.live.accounts import FILE_NAME as ACCOUNTS_FILE
from callcoach.live.accounts import SESSION_TTL_S, AccountError, Accounts, User
from callcoach.live.db import database_of
from callcoach.live.settings import Settings
from callcoach.web.throttle import LoginThrottle

STATIC = Path(__file__).parent / "static"
COOKIE = "callcoach_session"
ACCOUNTS: web.AppKey[Accounts] = web.AppKey("accounts", Accounts)
USER: web.RequestKey[User] = web.RequestKey("user", User)
LOGIN_REQUIRED = "log in first: open /login"
MAX_USERNAME_CHARS = 64  # longer is refused before it is looked up or counted
MAX_BODY_BYTES = 8192  # a login or an invite is a small JSON object; larger is refused unread
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # the rest change state: their Origin is checked

_OPEN_PATHS = frozenset({"/login", "/api/login", "/api/logout", "/api/invite", "/ws"})
_OPEN_PREFIXES = ("/static/", "/invite/", "/ingest/")  # ingest endpoints check their own token
_T = TypeVar("_T")
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def setup_auth(
    app: web.Application, settings: Settings, *, clock: Callable[[], float] = time.monotonic
) -> None:
    """Accounts for the app's lifetime, the login and invite routes, and the middleware that checks."""
    throttle = LoginThrottle()

    async def accounts_ctx(app: web.Application) -> AsyncIterator[None]:
        accounts = Accounts(database_of(settings, ACCOUNTS_FILE))
        app[ACCOUNTS] = accounts
        yield
        accounts.close()

    async def login(request: web.Request) -> web.Response:
        body = await _json_body(request, "username", "password")
        username, address = body["username"], request.remote or ""
        if len(username) > MAX_USERNAME_CHARS:  # refused before it is hashed, looked up or counted
            return _error(400, "bad_request", f"a username has at most {MAX_USERNAME_CHARS} characters")
        if (wait_s := throttle.wait_s(username, address, clock())) > 0:
            minutes = math.ceil(wait_s / 60)
            return _error(
                429,
                "too_many_attempts",
                f"too many failed logins for {username!r}: try again in {minutes} min",
                headers={"Retry-After": str(math.ceil(wait_s))},
            )
        throttle.failed(username, address, clock())  # counted before the check: parallel guesses count
        user = await _blocking(request.app[ACCOUNTS].authenticate, username, body["password"])
        if user is None:
            return _error(401, "bad_login", "wrong username or password")
        throttle.succeeded(username, address)
        return await _logged_in(request, user)

    app.cleanup_ctx.append(accounts_ctx)
    app.middlewares.append(_origin_guard(settings))
    app.middlewares.append(_require_login)
    app.router.add_get("/login", _login_page)
    app.router.add_get("/invite/{token}", _page("invite.html"))
    app.router.add_post("/api/login", login)
    app.router.add_post("/api/logout", _logout)
    app.router.add_get("/api/me", _me)
    app.router.add_post("/api/invite", _redeem_invite)


async def authorize_socket(request: web.Request, settings: Settings) -> User:
    """The user of a coach websocket, checked before the handshake: a page served by another origin is
    refused (403) unless allowed by ``CALLCOACH_ALLOWED_ORIGINS``, and so is a request without a valid
    session (401). A request without ``Origin`` is not from a browser page, and only needs the session."""
    origin = request.headers.get(hdrs.ORIGIN)
    if origin is not None and not _origin_allowed(origin, request.host, settings.allowed_origins):
        raise web.HTTPForbidden(
            text=f"websocket from origin {origin} refused: open the page from this server, "
            f"or add {origin} to CALLCOACH_ALLOWED_ORIGINS"
        )
    user = await _session_user(request)
    if user is None:
        raise web.HTTPUnauthorized(text=LOGIN_REQUIRED)
    return user


async def still_logged_in(request: web.Request) -> bool:
    """Whether the login session that opened this request still stands (not logged out, expired, its
    password changed or its user removed): an open coach socket asks this now and then."""
    return await _session_user(request) is not None


def user_json(user: User) -> dict[str, Any]:
    return {"user": user.username, "name": user.display_name, "role": user.role, "teams": list(user.teams)}


def _origin_allowed(origin: str, host: str, allowed: tuple[str, ...]) -> bool:
    """Same origin (the Origin's host:port is the Host the request was sent to), or listed as allowed."""
    if urlsplit(origin).netloc.lower() == host.lower():
        return True
    return origin.rstrip("/").lower() in {a.rstrip("/").lower() for a in allowed}


def safe_next(value: str) -> str:
    """``value`` when it is a path on this server as a browser reads it, else ``/``: where a login may go
    on to. Browsers drop tabs and newlines anywhere in a URL and read a backslash as ``/``, so ``/<tab>/host``
    and ``/<backslash>host`` both lead to ``//host``, another site: any control character, space or
    backslash makes the whole value refused (the server's own ``next`` values are percent-encoded)."""
    if any(c <= " " or c in "\\\x7f" for c in value):
        return "/"
    parts = urlsplit(value)
    if not value.startswith("/") or value.startswith("//") or parts.scheme or parts.netloc:
        return "/"
    return value


def _origin_guard(settings: Settings) -> Middleware:
    """Refuse a state-changing request (POST and the like) sent by a page of another origin: a cross-site
    form can post without asking (a logout, say), and its ``Origin`` is the one thing that tells. A
    request without ``Origin`` is not from a browser page, as for the websocket."""

    @web.middleware
    async def check_origin(request: web.Request, handler: _Handler) -> web.StreamResponse:
        origin = request.headers.get(hdrs.ORIGIN)
        if (
            request.method not in _SAFE_METHODS
            and origin is not None
            and not _origin_allowed(origin, request.host, settings.allowed_origins)
        ):
            return _error(
                403,
                "forbidden_origin",
                f"{request.method} {request.path} from origin {origin} refused: use the page served by "
                f"this server, or add {origin} to CALLCOACH_ALLOWED_ORIGINS",
            )
        return await handler(request)

    return check_origin


@web.middleware
async def _require_login(request: web.Request, handler: _Handler) -> web.StreamResponse:
    path = request.path
    if path in _OPEN_PATHS or path.startswith(_OPEN_PREFIXES):
        return await handler(request)
    user = await _session_user(request)
    if user is None:
        page = request.method in ("GET", "HEAD") and not path.startswith(("/api/", "/recordings/"))
        if page:
            raise web.HTTPFound(f"/login?next={quote(safe_next(request.path_qs), safe='/')}")
        return _error(401, "login_required", LOGIN_REQUIRED)
    request[USER] = user
    return await handler(request)


async def _session_user(request: web.Request) -> User | None:
    token = request.cookies.get(COOKIE)
    if not token or len(token) > 200:
        return None
    return await _blocking(request.app[ACCOUNTS].session_user, token)


async def _logged_in(request: web.Request, user: User) -> web.Response:
    """A new session for ``user``: its cookie on a response that says who they are."""
    token = await _blocking(request.app[ACCOUNTS].start_session, user)
    response = web.json_response(user_json(user))
    response.set_cookie(
        COOKIE,
        token,
        max_age=SESSION_TTL_S,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=request.secure or None,
    )
    return response


async def _logout(request: web.Request) -> web.Response:
    token = request.cookies.get(COOKIE)
    if token:
        await _blocking(request.app[ACCOUNTS].end_session, token)
    response = web.Response(status=204)
    response.del_cookie(COOKIE, path="/")
    return response


async def _me(request: web.Request) -> web.Response:
    return web.json_response(user_json(request[USER]))


async def _redeem_invite(request: web.Request) -> web.Response:
    body = await _json_body(request, "token", "password")
    try:
        user = await _blocking(request.app[ACCOUNTS].redeem_invite, body["token"], body["password"])
    except AccountError as exc:
        return _error(400, "bad_invite", str(exc))
    return await _logged_in(request, user)


async def _login_page(request: web.Request) -> web.StreamResponse:
    """The login form. A ``next`` that would lead off this server is replaced by ``/`` before the page
    sees it (the page checks again: either alone keeps a login on this server)."""
    asked = request.query.get("next")
    if asked is not None and (next_path := safe_next(asked)) != asked:
        raise web.HTTPFound(f"/login?next={quote(next_path, safe='/')}")
    return web.FileResponse(STATIC / "login.html", headers={"Cache-Control": "no-cache"})


def _page(name: str) -> _Handler:
    async def serve(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / name, headers={"Cache-Control": "no-cache"})

    return serve


async def _json_body(request: web.Request, *fields: str) -> dict[str, str]:
    """The request's JSON object with these string fields. JSON only: a cross-site form cannot send it
    without the browser asking first, which this server never agrees to."""
    usage = "send a JSON object with " + ", ".join(f'"{f}"' for f in fields)
    if request.content_type != "application/json":
        raise _http_error(web.HTTPUnsupportedMediaType, "bad_request", usage)
    raw = await _read_at_most(request, MAX_BODY_BYTES)
    if raw is None:
        too_large = {"code": "too_large", "message": f"{usage}, of at most {MAX_BODY_BYTES} bytes"}
        raise web.HTTPRequestEntityTooLarge(
            MAX_BODY_BYTES, text=json.dumps(too_large), content_type="application/json"
        )
    try:
        body = json.loads(raw)
    except ValueError:
        raise _http_error(web.HTTPBadRequest, "bad_request", usage) from None
    if not isinstance(body, dict) or not all(_is_text(body.get(f)) for f in fields):
        raise _http_error(web.HTTPBadRequest, "bad_request", usage)
    return {f: body[f] for f in fields}


def _is_text(value: object) -> bool:
    """A string that is text: JSON may carry a lone surrogate (``"\\ud800"``), which no database or hash
    takes, and which would otherwise end as a server error."""
    if not isinstance(value, str):
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


async def _read_at_most(request: web.Request, limit: int) -> bytes | None:
    """The request's body, or None when it is longer than ``limit`` bytes (then it is not kept: a declared
    length says so before anything is read, and a chunked body is read no further than ``limit``)."""
    if request.content_length is not None and request.content_length > limit:
        return None
    data = b""
    while len(data) <= limit and (chunk := await request.content.read(limit + 1 - len(data))):
        data += chunk
    return data if len(data) <= limit else None


async def _blocking(fn: Callable[..., _T], *args: Any) -> _T:
    """``fn(*args)`` in the executor: accounts work is SQLite and Argon2, never run on the event loop."""
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status, headers=headers)


def _http_error(cls: type[web.HTTPException], code: str, message: str) -> web.HTTPException:
    return cls(text=json.dumps({"code": code, "message": message}), content_type="application/json")
