"""A call's coaching sheet over HTTP: ``GET /api/calls/{call_id}/sheet`` (the JSON ``callcoach sheet --json``
prints) and ``GET /sheet/{call_id}``, the page that shows it and prints it.

Who may see a sheet is who may see the call: the team check every list, socket and recording uses
(:meth:`User.check_can_see`); a refusal is 403 ``forbidden_call`` and a call the server does not know is
404 ``unknown_call``, both with a message naming the fix; a recording that could not be analysed is 409
``not_analysed``, with the reason. A sheet shows the call's words, so reading one
is an ``open`` in the audit trail, as opening the call on the page is. A recording still being analysed
is waited for (its sheet is only right once every moment is found); a live call's sheet is what it has
so far. The agent's self-assessment and the commitments of the call come from ``records`` when the
server keeps them (the coaching records' storage), else the sheet has none.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from aiohttp import web

from callcoach.live.catalog import CallCatalog
from callcoach.live.coaching import Commitment, SelfAssessment
from callcoach.live.errors import CallcoachError
from callcoach.live.sheet import build_sheet
from callcoach.web.audit_routes import AUDIT
from callcoach.web.auth import USER

STATIC = Path(__file__).parent / "static"
# A call id -> the agent's self-assessment of that call (if written) and the commitments made about it.
CoachingRecords = Callable[[str], Awaitable[tuple[SelfAssessment | None, Sequence[Commitment]]]]


def setup_sheet(
    app: web.Application, catalog: web.AppKey[CallCatalog], records: CoachingRecords | None = None
) -> None:
    """The sheet's routes; ``catalog`` is the app's key of the call catalog, ``records`` where the
    coaching conversation's records are read from."""

    async def sheet_json(request: web.Request) -> web.Response:
        return await _sheet_json(request, request.app[catalog], records)

    app.router.add_get("/api/calls/{call_id}/sheet", sheet_json)
    app.router.add_get("/sheet/{call_id}", _sheet_page)


async def _sheet_json(
    request: web.Request, catalog: CallCatalog, records: CoachingRecords | None
) -> web.Response:
    call_id = request.match_info["call_id"]
    record = catalog.get(call_id)
    if record is None:
        return _error(404, "unknown_call", f"there is no call {call_id!r}: pick one from the list")
    user = request[USER]
    try:
        user.check_can_see(record.info.team, call_id, "ask a lead of that team to share it with you")
    except CallcoachError as exc:
        return _error(403, exc.code, exc.message)
    if record.live is None and not record.log.closed:
        # A recording still being analysed: shielded, so a page that gives up does not stop the analysis.
        await asyncio.shield(catalog.ensure_analysed(call_id))
    if record.info.status == "error":  # an empty sheet would say the call went well
        why = record.info.error or "see the server's log"
        return _error(
            409, "not_analysed", f"call {call_id!r} could not be analysed, so it has no sheet: {why}"
        )
    await request.app[AUDIT].record(user.username, "open", call_id, f"sheet, {request.remote or ''}")
    own, commitments = await records(call_id) if records is not None else (None, ())
    sheet = build_sheet(
        call_id, list(record.log.events), info=record.info, self_assessment=own, commitments=commitments
    )
    return web.json_response(sheet.to_json())


async def _sheet_page(_request: web.Request) -> web.FileResponse:
    """The page; it asks the JSON route for the sheet, which says whether this user may see it."""
    return web.FileResponse(STATIC / "sheet.html", headers={"Cache-Control": "no-cache"})


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status)
