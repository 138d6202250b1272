"""Recordings in without a shell: ``POST /api/recordings`` (the page's drop zone and file picker), and the
running server taking in what ``callcoach import`` put in its data folder.

A lead uploads to their own team (a ``team`` field when they have several), an admin to any (``team``,
default the server's default team); coaches and agents are refused (403 ``forbidden_upload``). The body
is ``multipart/form-data``: the fields ``team`` and ``agent_channel`` (left or right; empty: the server's)
apply to the files after them, so they come first. Each file is streamed to the data folder as it
arrives, never held in memory, and counted while it is written: one larger than ``upload_max_mb`` is
refused as ``too_large`` and the rest of it read past unkept. Then :func:`live.imports.take` checks and
keeps it; a kept file is listed at once (``analysing``) and queued for analysis, one at a time. The
answer lists each file's outcome, a call id or a refusal with its code and message: one bad file never
costs the others.

What an upload cut off by a stopped server left half-written is deleted at the next start.
``callcoach import`` writes to the same folder; the server lists the uploads folder again every
:data:`RESCAN_S` seconds, which is all it takes for a running server to pick imports up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any, BinaryIO

from aiohttp import BodyPartReader, MultipartReader, web

from callcoach.live.accounts import User
from callcoach.live.catalog import CallCatalog
from callcoach.live.imports import (
    Accepted,
    Refusal,
    SizeGuard,
    check_channel,
    check_team,
    incoming_file,
    max_bytes,
    sweep_incoming,
    take,
    too_large,
)
from callcoach.live.settings import Settings
from callcoach.web.auth import USER

log = logging.getLogger(__name__)
RESCAN_S = 2.0  # how soon a running server lists what `callcoach import` added
CHUNK_BYTES = 256 * 1024
MAX_FIELD_BYTES = 256  # a team or a channel name
QUEUE: web.AppKey[asyncio.Queue[str]] = web.AppKey("upload_queue", asyncio.Queue)


def setup_uploads(app: web.Application, settings: Settings, catalog: web.AppKey[CallCatalog]) -> None:
    """The upload route, and the tasks that analyse uploads and pick up imports; ``catalog`` is the app's
    key of the call catalog (started before this)."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        await asyncio.get_running_loop().run_in_executor(None, sweep_incoming, settings, time.time())
        queue: asyncio.Queue[str] = asyncio.Queue()
        app[QUEUE] = queue
        tasks = [
            asyncio.create_task(_analyse(app[catalog], queue), name="analyse uploads"),
            asyncio.create_task(_rescan(app[catalog], queue), name="rescan uploads"),
        ]
        yield
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def upload(request: web.Request) -> web.Response:
        return await _upload(request, settings, request.app[catalog], request.app[QUEUE])

    app.cleanup_ctx.append(ctx)
    app.router.add_post("/api/recordings", upload)


async def _analyse(catalog: CallCatalog, queue: asyncio.Queue[str]) -> None:
    """Uploads are analysed one after another (a call a coach opens first jumps the queue)."""
    while True:
        call_id = await queue.get()
        try:
            await catalog.ensure_analysed(call_id)
        except Exception:  # a bad call is logged and the queue goes on
            log.exception("analysing upload %s", call_id)


async def _rescan(catalog: CallCatalog, queue: asyncio.Queue[str]) -> None:
    while True:
        await asyncio.sleep(RESCAN_S)
        for call_id in catalog.scan(uploads_only=True):
            queue.put_nowait(call_id)


async def _upload(
    request: web.Request, settings: Settings, catalog: CallCatalog, queue: asyncio.Queue[str]
) -> web.Response:
    user = request[USER]
    if user.role not in ("lead", "admin"):
        return _error(
            403, "forbidden_upload", "only a lead or an admin uploads recordings: ask your team's lead"
        )
    if not request.content_type.startswith("multipart/"):
        return _error(
            415, "bad_request", "send the files as multipart/form-data (a form with <input type=file>)"
        )
    team, channel = "", ""
    outcomes: list[dict[str, Any]] = []
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if isinstance(part, MultipartReader):
            return _error(400, "bad_request", "send each file as its own part, not nested multipart")
        if part.filename is None:  # a field
            value = await _field(part)
            if value is None:
                return _error(
                    400, "bad_request", f"the field {part.name!r} is longer than {MAX_FIELD_BYTES} bytes"
                )
            if part.name == "team":
                team = value
            elif part.name == "agent_channel":
                channel = value
            continue
        if not part.filename:  # a form's empty file input
            await part.release()
            continue
        chosen = _team(user, team, settings)
        if isinstance(chosen, web.Response):
            return chosen
        if refused := check_channel(channel):
            return _error(400, refused.code, refused.message)
        outcome = await _take_part(part, chosen, channel, user, settings)
        if isinstance(outcome, Accepted):
            info = catalog.add_upload(outcome.path, outcome.team, outcome.duration_s)
            queue.put_nowait(info.call_id)
            outcomes.append({"name": part.filename, "call_id": info.call_id, "team": info.team})
            outcomes[-1]["duration_s"] = outcome.duration_s
        else:
            outcomes.append(
                {"name": part.filename, "error": {"code": outcome.code, "message": outcome.message}}
            )
    if not outcomes:
        return _error(400, "no_files", "no file in the request: add one or more files to the form")
    return web.json_response({"files": outcomes})


def _team(user: User, asked: str, settings: Settings) -> str | web.Response:
    """The team the user's files go to, or why not: a lead's own (the one they name, if several), any
    for an admin (the default team unless named)."""
    if user.role == "admin":
        team = asked or settings.default_team
    elif asked:
        if asked not in user.teams:
            return _error(
                403,
                "forbidden_team",
                f"you are not in team {asked[:80]!r}: upload to one of yours ({', '.join(user.teams)})",
            )
        team = asked
    elif len(user.teams) == 1:
        team = user.teams[0]
    elif not user.teams:
        return _error(403, "forbidden_upload", "you are in no team yet: ask an admin to add you to one")
    else:
        return _error(
            400,
            "team_required",
            f"you lead several teams: say which one ({', '.join(user.teams)}) in the field team",
        )
    refused = check_team(team)
    return _error(400, refused.code, refused.message) if refused else team


async def _field(part: BodyPartReader) -> str | None:
    data = b""
    while len(data) <= MAX_FIELD_BYTES and (chunk := await part.read_chunk(MAX_FIELD_BYTES + 1)):
        data += chunk
    if len(data) > MAX_FIELD_BYTES:
        await part.release()
        return None
    return data.decode("utf-8", errors="replace").strip()


async def _take_part(
    part: BodyPartReader, team: str, channel: str, user: User, settings: Settings
) -> Accepted | Refusal:
    """Stream one file to the data folder, refusing it as soon as it passes the size limit; then check
    and keep it (blocking work in the executor)."""
    loop = asyncio.get_running_loop()
    name = part.filename or ""
    incoming = await loop.run_in_executor(None, incoming_file, settings)
    guard = SizeGuard(max_bytes(settings))
    written = False
    try:
        out: BinaryIO = await loop.run_in_executor(None, incoming.open, "wb")
        try:
            while chunk := await part.read_chunk(CHUNK_BYTES):
                if not guard.add(len(chunk)):
                    await part.release()  # the rest is read past, unkept: the next file follows it
                    return too_large(name, settings)
                await loop.run_in_executor(None, out.write, chunk)
        finally:
            await loop.run_in_executor(None, out.close)
        written = True
    finally:
        if not written:  # refused, or the client went away: nothing of it stays
            incoming.unlink(missing_ok=True)
    return await loop.run_in_executor(None, take, incoming, name, team, channel, user.username, settings)


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status)
