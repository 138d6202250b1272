"""The aiohttp application: the page and its assets, the recordings (with range requests), the call list,
the coach websocket, and the ingest endpoints for live calls (websockets here, AudioSocket on its own TCP
ports). Everything is served from here, so the page works with no network beyond this server. Logins and
who may see what are in :mod:`web.auth`: a user sees the calls of their teams.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from aiohttp import web

from callcoach.live.catalog import CallCatalog
from callcoach.live.events import CallList
from callcoach.live.settings import Settings
from callcoach.live.storage import Storage
from callcoach.web.auth import USER, authorize_socket, setup_auth, still_logged_in
from callcoach.web.coach import CoachConnection
from callcoach.web.ingest_routes import audiofork_socket, start_audiosocket, twilio_socket
from callcoach.web.protocol import HEARTBEAT_S, MAX_FRAME_BYTES, outgoing
from callcoach.web.sessions import SessionHub

STATIC = Path(__file__).parent / "static"
CATALOG: web.AppKey[CallCatalog] = web.AppKey("catalog", CallCatalog)
SESSIONS: web.AppKey[SessionHub] = web.AppKey("sessions", SessionHub)


def create_app(settings: Settings, model: Any) -> web.Application:
    """The whole server for one process: one model, one decoding pool, one catalog of calls."""
    app = web.Application()
    app.cleanup_ctx.append(_catalog_ctx(settings, model))
    setup_auth(app, settings)
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
    return app


async def _revalidate_static(request: web.Request, response: web.StreamResponse) -> None:
    """The page's modules import each other by plain URLs: make the browser revalidate each (a cheap 304
    when unchanged), so an upgrade never runs a new module beside a cached old one."""
    if request.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-cache")


def _catalog_ctx(settings: Settings, model: Any) -> Any:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        storage = Storage(settings.data_dir / "calls.sqlite3", settings.data_dir / "recordings")
        with ThreadPoolExecutor(settings.decode_threads, thread_name_prefix="vosk") as executor:
            catalog = CallCatalog(settings, model, executor, storage)
            catalog.load_stored()
            catalog.scan()
            app[CATALOG] = catalog
            app[SESSIONS] = SessionHub(catalog)
            audiosockets = await start_audiosocket(catalog, settings)
            analysis = asyncio.create_task(catalog.analyse_all())
            yield
            for server in audiosockets:
                server.close()
            analysis.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await analysis
            await catalog.end_live_calls("the server stopped")
        storage.close()

    return ctx


async def _index(_request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


async def _calls(request: web.Request) -> web.Response:
    user = request[USER]
    calls = CallList(tuple(c for c in request.app[CATALOG].calls() if user.can_see(c.team)))
    return web.Response(text=outgoing(calls), content_type="application/json")


async def _recording(request: web.Request) -> web.FileResponse:
    """The call's audio file; aiohttp's FileResponse answers Range requests, so the player can seek."""
    record = request.app[CATALOG].get(request.match_info["call_id"])
    if record is None or record.path is None:
        raise web.HTTPNotFound(text="no such recording: pick a call from the list")
    team = record.info.team
    if not request[USER].can_see(team):
        raise web.HTTPForbidden(
            text=f"call {record.info.call_id} belongs to team {team}, which you are not in"
        )
    path = await request.app[CATALOG].playable(record)  # with redaction on: the copy with spans silenced
    if path is None:
        raise web.HTTPServiceUnavailable(
            text="this recording has card or account numbers that could not be silenced: see the server's log"
        )
    return web.FileResponse(path)


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
    )
    await connection.run()
    return ws
