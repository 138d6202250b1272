"""A call's coaching sheet over HTTP: ``GET /api/calls/{call_id}/sheet`` (the JSON ``callcoach sheet --json``
prints) and ``GET /sheet/{call_id}``, the page that shows it and prints it.

Who may see a sheet is who may see the call: the check every list, socket and recording uses
(:meth:`User.check_can_see`), except that the call's agent must first have given their own view of it
(403 ``assess_first``); a refusal is 403 ``forbidden_call`` and a call the server does not know is
404 ``unknown_call``, both with a message naming the fix; a recording that could not be analysed is 409
``not_analysed``, with the reason. A sheet shows the call's words, so reading one
is an ``open`` in the audit trail, as opening the call on the page is. A recording still being analysed
is waited for (its sheet is only right once every moment is found); a live call's sheet is what it has
so far. The agent's self-assessment and the commitments of the call come from the coaching records
(:mod:`callcoach.live.coaching_store`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from aiohttp import web

from callcoach.live.catalog import CallCatalog
from callcoach.live.errors import CallcoachError
from callcoach.live.sheet import build_sheet
from callcoach.web.audit_routes import AUDIT
from callcoach.web.auth import USER
from callcoach.web.coaching_routes import COACHING

STATIC = Path(__file__).parent / "static"
_T = TypeVar("_T")


def setup_sheet(app: web.Application, catalog: web.AppKey[CallCatalog]) -> None:
    """The sheet's routes; ``catalog`` is the app's key of the call catalog."""

    async def sheet_json(request: web.Request) -> web.Response:
        return await _sheet_json(request, request.app[catalog])

    app.router.add_get("/api/calls/{call_id}/sheet", sheet_json)
    app.router.add_get("/sheet/{call_id}", _sheet_page)


async def _sheet_json(request: web.Request, catalog: CallCatalog) -> web.Response:
    call_id = request.match_info["call_id"]
    record = catalog.get(call_id)
    if record is None:
        return _error(404, "unknown_call", f"there is no call {call_id!r}: pick one from the list")
    user = request[USER]
    try:
        user.check_can_see(
            record.info.team, call_id, "ask a lead of that team to share it with you", agent=record.info.agent
        )
    except CallcoachError as exc:
        return _error(403, exc.code, exc.message)
    store = request.app[COACHING]
    if not await _blocking(store.may_see_sheet, user, record.info):
        return _error(
            403,
            "assess_first",
            "first say on your page what went well on this call and what you would do differently: "
            "your own view comes before your coach's",
        )
    if record.live is None and not record.log.closed:
        # A recording still being analysed: shielded, so a page that gives up does not stop the analysis.
        await asyncio.shield(catalog.ensure_analysed(call_id))
    if record.info.status == "error":  # an empty sheet would say the call went well
        why = record.info.error or "see the server's log"
        return _error(
            409, "not_analysed", f"call {call_id!r} could not be analysed, so it has no sheet: {why}"
        )
    await request.app[AUDIT].record(user.username, "open", call_id, f"sheet, {request.remote or ''}")
    own = await _blocking(store.self_assessment, call_id)
    commitments = await _blocking(store.commitments_for_call, call_id)
    sheet = build_sheet(
        call_id, list(record.log.events), info=record.info, self_assessment=own, commitments=commitments
    )
    return web.json_response(sheet.to_json())


async def _sheet_page(_request: web.Request) -> web.FileResponse:
    """The page; it asks the JSON route for the sheet, which says whether this user may see it."""
    return web.FileResponse(STATIC / "sheet.html", headers={"Cache-Control": "no-cache"})


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status)


async def _blocking(fn: Callable[..., _T], *args: object) -> _T:
    """The coaching records are SQLite: read off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)
