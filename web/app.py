"""The aiohttp application: the page and its assets, the recordings (with range requests), the call list,
the coach websocket, and the ingest endpoints for live calls (websockets here, AudioSocket on its own TCP
ports). Everything is served from here, so the page works with no network beyond this server. Logins and
who may see what are in :mod:`web.auth`: a user sees the calls of their teams.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import hdrs, web

from callcoach.live.accounts import User
from callcoach.live.catalog import CallCatalog
from callcoach.live.codec import wire_text
from callcoach.live.db import DatabaseError, DatabaseUnavailable, database_of
from callcoach.live.messages import CallList
from callcoach.live.rules_file import RulesReloader, load_rules, stamp_of, watch_rules
from callcoach.live.settings import Settings
from callcoach.live.storage import FILE_NAME as CALLS_FILE
from callcoach.live.storage import Storage
from callcoach.web.audit_routes import coach_opened, recording_fetched, setup_audit
from callcoach.web.auth import USER, authorize_socket, setup_auth, still_logged_in
from callcoach.web.coach import CoachConnection
from callcoach.web.coaching_routes import setup_coaching
from callcoach.web.export_routes import setup_exports
from callcoach.web.ingest_routes import audiofork_socket, start_audiosocket, twilio_socket
from callcoach.web.protocol import HEARTBEAT_S, MAX_FRAME_BYTES
from callcoach.web.retention import setup_retention
from callcoach.web.sessions import SessionHub
from callcoach.web.sheet_routes import setup_sheet
from callcoach.web.upload_routes import setup_uploads

if TYPE_CHECKING:
    from callcoach.live.bus_redis import RedisBus

STATIC = Path(__file__).parent / "static"
# What the page may load: everything from this server only (its modules, styles, the recordings, the
# websocket), nothing inline but style attributes (the timeline places its ticks with them), the favicon
# as a data: URL, and never inside another site's frame.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data:",
        "media-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # invite links carry their token in the path
    "Server": "callcoach",  # not the Python and aiohttp versions
}
log = logging.getLogger(__name__)
_EMPTY_SUFFIX_RANGE = re.compile(r"\s*bytes\s*=\s*-0+\s*", re.IGNORECASE)
CATALOG: web.AppKey[CallCatalog] = web.AppKey("catalog", CallCatalog)
SESSIONS: web.AppKey[SessionHub] = web.AppKey("sessions", SessionHub)


def create_app(settings: Settings, model: Any) -> web.Application:
    """The whole server for one process: one model, one decoding pool, one catalog of calls.

    A rules file (``--rules``) is read here, so a missing or broken one stops the server before it starts.
    """
    app = web.Application(middlewares=[_database_trouble])  # first: around the login check too
    rules = _rules(settings.rules_file) if settings.rules_file is not None else None
    app.cleanup_ctx.append(_catalog_ctx(settings, model, rules))
    setup_auth(app, settings)
    setup_audit(app, settings)  # who opened, heard, exported which call
    setup_retention(app, settings, CATALOG)  # --retention-days: purge at start, then daily
    setup_exports(app, CATALOG)  # a call's transcript and moments as files, a team's moments as CSV
    setup_sheet(app, CATALOG)  # a call's coaching sheet: GET /api/calls/{id}/sheet and the page /sheet/{id}
    setup_coaching(app, settings, CATALOG)  # agents' pages, shares, self-assessments, commitments
    setup_uploads(app, settings, CATALOG)  # POST /api/recordings, and what `callcoach import` adds
    app.router.add_get("/", _index)
    app.router.add_get("/api/calls", _calls)
    app.router.add_get("/recordings/{call_id}", _recording)

    async def coach_socket(request: web.Request) -> web.WebSocketResponse:
        return await _coach_socket(request, settings)

    app.router.add_get("/ws", coach_socket)

    async def twilio(request: web.Request) -> web.WebSocketResponse:
        return await twilio_socket(request, request.app[CATALOG], settings)

    async def audiofork(request: web.Request) -> web.WebSocketResponse:
        return await audiofork_socket(request, request.app[CATALOG], settings)

    app.router.add_get("/ingest/twilio", twilio)
    app.router.add_get("/ingest/audiofork", audiofork)
    app.router.add_static("/static/", STATIC)
    app.on_response_prepare.append(_revalidate_static)
    app.on_response_prepare.append(_security_headers)
    return app


@web.middleware
async def _database_trouble(request: web.Request, handler: Any) -> web.StreamResponse:
    """A request the database failed (PostgreSQL restarting, say) gets 503 and what to do, not a 500; the
    store reconnects for the next one. A websocket's failures after its handshake are its own to handle."""
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except DatabaseError as exc:
        if request.headers.get(hdrs.UPGRADE, "").lower() == "websocket":
            raise
        log.exception("%s %s: the database failed", request.method, request.path)
        code = exc.code if isinstance(exc, DatabaseUnavailable) else "db_error"
        message = "the server's database did not answer: try again in a moment (the server's log says why)"
        return web.json_response({"code": code, "message": message}, status=503)


async def _revalidate_static(request: web.Request, response: web.StreamResponse) -> None:
    """The page's modules import each other by plain URLs: make the browser revalidate each (a cheap 304
    when unchanged), so an upgrade never runs a new module beside a cached old one."""
    if request.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-cache")


def _rules(path: Path) -> RulesReloader:
    """The rules file's watcher core, with the file as it is now (a settings error if unusable)."""
    stamp = stamp_of(path)
    return RulesReloader(path, load_rules(path), stamp)


def _catalog_ctx(settings: Settings, model: Any, rules: RulesReloader | None) -> Any:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        storage = Storage(database_of(settings, CALLS_FILE), settings.data_dir / "recordings")
        bus = await _bus(settings, storage)
        with ThreadPoolExecutor(settings.decode_threads, thread_name_prefix="vosk") as executor:
            catalog = CallCatalog(settings, model, executor, storage, rules, bus)
            # Edits to the rules file apply to calls that start after them; a broken edit is told to
            # the calls in progress.
            watching = asyncio.create_task(watch_rules(rules, catalog.notify_running)) if rules else None
            catalog.load_stored()
            catalog.scan()
            if bus is not None:  # other nodes' live calls join the list from here on
                bus.start(catalog)
            app[CATALOG] = catalog
            app[SESSIONS] = SessionHub(catalog, bus)  # with a bus, sessions span the nodes
            audiosockets = await start_audiosocket(catalog, settings)
            analysis = asyncio.create_task(catalog.analyse_all())
            yield
            for server in audiosockets:
                server.close()
            for task in (analysis, watching):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            await catalog.end_live_calls("the server stopped")
            if bus is not None:
                await bus.close()
        storage.close()

    return ctx


async def _bus(settings: Settings, storage: Storage) -> RedisBus | None:
    """The shared bus (``--bus``), reached before anything is listed; None for a single node. Imported
    only then: a single node loads no Redis client."""
    if not settings.bus:
        return None
    from callcoach.live.bus_redis import RedisBus

    bus = RedisBus(settings, storage)
    await bus.connect()
    return bus


async def _index(_request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


async def _calls(request: web.Request) -> web.Response:
    user = request[USER]
    calls = CallList(tuple(c for c in request.app[CATALOG].calls() if user.can_see(c.team, c.agent)))
    return web.Response(text=wire_text(calls), content_type="application/json")


async def _recording(request: web.Request) -> web.FileResponse:
    """The call's audio file; aiohttp's FileResponse answers Range requests, so the player can seek."""
    record = request.app[CATALOG].get(request.match_info["call_id"])
    if record is None or record.path is None:
        raise web.HTTPNotFound(text="no such recording: pick a call from the list")
    team = record.info.team
    if not request[USER].can_see(team, record.info.agent):
        raise web.HTTPForbidden(text=_refusal(request[USER], record.info.call_id, team))
    path = await request.app[CATALOG].playable(record)  # with redaction on: the copy with spans silenced
    if path is None:
        raise web.HTTPServiceUnavailable(
            text="this recording has card or account numbers that could not be silenced: see the server's log"
        )
    _refuse_empty_range(request, path)
    headers = await recording_fetched(request, record.info.call_id, path)
    return web.FileResponse(path, headers=headers)


def _refusal(user: User, call_id: str, team: str) -> str:
    if user.role == "agent":
        return f"call {call_id} is not one of your calls: ask your coach if it should be"
    return f"call {call_id} belongs to team {team}, which you are not in"


async def _coach_socket(request: web.Request, settings: Settings) -> web.WebSocketResponse:
    user = await authorize_socket(request, settings)  # refused before the handshake: 401 or 403
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S, max_msg_size=MAX_FRAME_BYTES)
    await ws.prepare(request)
    connection = CoachConnection(
        ws,
        request.app[CATALOG],
        user=user,
        sessions=request.app[SESSIONS],
        logged_in=lambda: still_logged_in(request),
        opened=coach_opened(request, user),
        abort=lambda: _abort(request),
    )
    await connection.run()
    return ws


async def _security_headers(_request: web.Request, response: web.StreamResponse) -> None:
    """On every response (pages, static files, the API, recordings, errors): what the browser may load and
    where the page may be framed, no type sniffing, no referrer, and a ``Server`` that names no versions."""
    response.headers.update(SECURITY_HEADERS)


def _refuse_empty_range(request: web.Request, path: Path) -> None:
    """``Range: bytes=-0`` asks for the last 0 bytes: nothing can satisfy it, so 416 (RFC 9110 14.1.1).
    aiohttp reads it as a range from 0 and would send the whole file as 206."""
    if _EMPTY_SUFFIX_RANGE.fullmatch(request.headers.get(hdrs.RANGE, "")):
        raise web.HTTPRequestRangeNotSatisfiable(
            headers={hdrs.CONTENT_RANGE: f"bytes */{path.stat().st_size}"},
            text="Range bytes=-0 asks for no bytes: ask for a range of at least one byte",
        )


def _abort(request: web.Request) -> None:
    """Close the request's connection at once, dropping what is unsent (a page that stopped reading)."""
    if request.transport is not None:
        request.transport.abort()
