"""The audit trail in the server: what the coach socket and the recordings write to it, and
``GET /api/audit``, which shows it to admins.

A coach subscribing to a call is an ``open``; fetching a recording with ``Range`` (what a player does,
many times while it plays) is a ``listen``, one per user and call every ten minutes, and so is hearing a
live call's audio on the socket; fetching a whole recording (no ``Range``: curl, "save link as") or with
``?download=1`` (sent as an attachment) is an ``export``. Each write runs in the executor, never on the
event loop; one that fails is logged and does not stop the coach (the trail is not worth a broken page).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from aiohttp import hdrs, web

from callcoach.live.accounts import User
from callcoach.live.audit import FILE_NAME, Action, AuditLog, ListenWindow
from callcoach.live.db import database_of
from callcoach.live.errors import UserError
from callcoach.live.retention import parse_since
from callcoach.live.settings import Settings
from callcoach.web.auth import USER

log = logging.getLogger(__name__)
FILTERS = ("call", "user", "since")


class Auditor:
    """The server's one trail, written from the event loop without blocking it."""

    def __init__(self, trail: AuditLog) -> None:
        self.trail = trail
        self._listens = ListenWindow()

    async def record(self, user: str, action: Action, call_id: str, detail: str) -> None:
        try:
            await asyncio.get_running_loop().run_in_executor(
                None, self.trail.record, user, action, call_id, detail
            )
        except Exception:
            log.exception("could not write %s of %s by %s to the audit trail", action, call_id, user)

    async def listened(self, user: str, call_id: str, detail: str) -> None:
        if self._listens.due(user, call_id, asyncio.get_running_loop().time()):
            await self.record(user, "listen", call_id, detail)


AUDIT: web.AppKey[Auditor] = web.AppKey("audit", Auditor)


def setup_audit(app: web.Application, settings: Settings) -> None:
    """The trail (``DATA/audit.sqlite3``, or the ``--db`` database) for the app's lifetime, and
    ``GET /api/audit``."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        trail = AuditLog(database_of(settings, FILE_NAME))
        app[AUDIT] = Auditor(trail)
        yield
        trail.close()

    app.cleanup_ctx.append(ctx)
    app.router.add_get("/api/audit", _audit_api)


def coach_opened(request: web.Request, user: User) -> Callable[[str, bool], Awaitable[None]]:
    """What a coach socket calls when its user opens a call (``hearing``: with the live call's audio)."""
    auditor, remote = request.app[AUDIT], request.remote or ""

    async def opened(call_id: str, hearing: bool) -> None:
        await auditor.record(user.username, "open", call_id, remote)
        if hearing:
            await auditor.listened(user.username, call_id, f"live audio, {remote}")

    return opened


async def recording_fetched(request: web.Request, call_id: str, path: Path) -> dict[str, str]:
    """Audit a request for a call's recording; the headers its response needs (a download is an
    attachment, named after the call)."""
    if request.method != hdrs.METH_GET:  # HEAD: nothing of the call leaves
        return {}
    auditor, user, remote = request.app[AUDIT], request[USER].username, request.remote or ""
    download = request.query.get("download") == "1"
    if download or hdrs.RANGE not in request.headers:
        await auditor.record(user, "export", call_id, remote)
    else:
        await auditor.listened(user, call_id, remote)
    return {hdrs.CONTENT_DISPOSITION: f'attachment; filename="{call_id}{path.suffix}"'} if download else {}


async def _audit_api(request: web.Request) -> web.Response:
    """The trail as JSON, newest last, filtered as ``callcoach audit`` is: ``?call=&user=&since=``."""
    if request[USER].role != "admin":
        return _error(403, "admins_only", "the audit trail is for admins: ask an admin to look it up")
    query = request.query
    unknown = sorted(set(query) - set(FILTERS))
    if unknown:
        return _error(400, "bad_request", f"unknown filter {unknown[0]!r}: use {', '.join(FILTERS)}")
    try:
        since = parse_since(query["since"], time.time()) if "since" in query else None
    except UserError as exc:
        return _error(400, "bad_request", exc.message)
    entries = functools.partial(
        request.app[AUDIT].trail.entries, call_id=query.get("call"), user=query.get("user"), since=since
    )
    found = await asyncio.get_running_loop().run_in_executor(None, entries)
    return web.json_response({"entries": [e.to_json() for e in found]})


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status)
