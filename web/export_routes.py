"""Exports over HTTP: ``GET /api/calls/{call_id}/export.{vtt,srt,txt,csv,pdf}`` (a call's transcript, its
moments as CSV, or its coaching sheet as a PDF) and ``GET /api/teams/{team}/moments.csv?from=&to=`` (every
moment of a team's calls over a period, for its spreadsheet). The text formats are
:mod:`callcoach.live.exports`', the PDF :mod:`callcoach.live.sheet_pdf`'s; each is sent as an attachment
named after the call (``<call>-sheet.pdf`` for the sheet), or the team and period.

Who may export a call is who may see it (:meth:`User.check_can_see`, 403 ``forbidden_call``); the moments
CSV and the PDF hold what the coaching sheet holds (the coaches' moments and notes), so an agent gets them
only once the sheet is theirs to see (403 ``assess_first``, as the sheet). A team's CSV is for the leads of
that team and admins (403 ``forbidden_team``, ``not_a_lead``). A recording still being analysed is waited
for; one that could not be analysed is 409 ``not_analysed``; a live call's export is what it has so far. A
server without the PDF's fonts says so (500 ``pdf_fonts_missing``, naming the package). Every export is an
``export`` in the audit trail, one per call.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Awaitable, Callable
from typing import Literal, TypeVar

from aiohttp import hdrs, web

from callcoach.live.catalog import CallCatalog, CallRecord
from callcoach.live.errors import CallcoachError
from callcoach.live.exports import FORMATS, MEDIA_TYPES, Format, export, in_period, parse_day, team_csv
from callcoach.live.sheet import build_sheet
from callcoach.live.sheet_pdf import render_pdf
from callcoach.web.audit_routes import AUDIT
from callcoach.web.auth import USER
from callcoach.web.coaching_routes import COACHING
from callcoach.web.team_view import LEADS, check_team_page, team_calls

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_STATUS = {"forbidden_call": 403, "forbidden_team": 403, "not_a_lead": 403, "assess_first": 403,
           "bad_request": 400, "unknown_call": 404, "unknown_format": 404, "not_analysed": 409,
           "pdf_fonts_missing": 500}  # fmt: skip
_Handler = Callable[[web.Request, CallCatalog], Awaitable[web.Response]]
_T = TypeVar("_T")
PDF: Literal["pdf"] = "pdf"  # the coaching sheet, beside the text formats of live.exports


def setup_exports(app: web.Application, catalog: web.AppKey[CallCatalog]) -> None:
    """The export routes; ``catalog`` is the app's key of the call catalog."""

    def route(handler: _Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def answer(request: web.Request) -> web.Response:
            try:
                return await handler(request, request.app[catalog])
            except CallcoachError as exc:
                return web.json_response({"code": exc.code, "message": exc.message}, status=_STATUS[exc.code])

        return answer

    app.router.add_get("/api/calls/{call_id}/export.{fmt}", route(_call_export))
    app.router.add_get("/api/teams/{team}/moments.csv", route(_team_export))


async def _call_export(request: web.Request, catalog: CallCatalog) -> web.Response:
    call_id, asked = request.match_info["call_id"], request.match_info["fmt"]
    fmt: Format | Literal["pdf"] | None = next((f for f in (*FORMATS, PDF) if f == asked), None)
    if fmt is None:
        raise CallcoachError("unknown_format", f"there is no export .{asked}: use {', '.join(FORMATS)}, pdf")
    record = catalog.get(call_id)
    if record is None:
        raise CallcoachError("unknown_call", f"there is no call {call_id!r}: pick one from the list")
    user, info = request[USER], record.info
    user.check_can_see(info.team, call_id, "ask a lead of that team to share it with you", agent=info.agent)
    if fmt in ("csv", PDF) and not await _blocking(request.app[COACHING].may_see_sheet, user, info):
        raise CallcoachError(
            "assess_first",
            "first say on your page what went well on this call and what you would do differently: "
            "your own view comes before your coach's moments",
        )
    if record.live is None and not record.log.closed:
        # A recording still being analysed: shielded, so a client that gives up does not stop the analysis.
        await asyncio.shield(catalog.ensure_analysed(call_id))
    if record.info.status == "error":  # an empty export would say nothing was said
        why = record.info.error or "see the server's log"
        raise CallcoachError("not_analysed", f"call {call_id!r} could not be analysed, so no export: {why}")
    await request.app[AUDIT].record(user.username, "export", call_id, f"{fmt}, {request.remote or ''}")
    if fmt == PDF:
        return await _sheet_pdf(request, record)
    body = export(list(record.log.events), fmt)
    return _attachment(body, MEDIA_TYPES[fmt], f"{_safe(call_id)}.{fmt}")


async def _sheet_pdf(request: web.Request, record: CallRecord) -> web.Response:
    """The call's coaching sheet, with its agent's self-assessment and commitments, as a PDF."""
    info, store = record.info, request.app[COACHING]
    own = await _blocking(store.self_assessment, info.call_id)
    commitments = await _blocking(store.commitments_for_call, info.call_id)
    sheet = build_sheet(
        info.call_id, list(record.log.events), info=info, self_assessment=own, commitments=commitments
    )
    # Laying out pages and subsetting the font takes a while for a long call: off the event loop.
    pdf = await _blocking(
        lambda: render_pdf(sheet, started_at=info.started_at, made_at=dt.datetime.now(dt.UTC))
    )
    response = web.Response(body=pdf, content_type="application/pdf")
    response.headers[hdrs.CONTENT_DISPOSITION] = f'attachment; filename="{_safe(info.call_id)}-sheet.pdf"'
    return response


async def _team_export(request: web.Request, catalog: CallCatalog) -> web.Response:
    user, team = request[USER], request.match_info["team"]
    check_team_page(user, team)
    if user.role not in LEADS:
        raise CallcoachError("not_a_lead", "a team's moments are exported by its lead or an admin: ask them")
    try:
        first, last = (parse_day(request.query[k]) if request.query.get(k) else None for k in ("from", "to"))
    except ValueError as exc:
        raise CallcoachError("bad_request", f"from and to are days: {exc}") from None
    if first and last and first > last:
        raise CallcoachError("bad_request", f"from {first} is after to {last}: give the earlier day first")
    # Live calls and recordings still being analysed would give half their moments: they are left out.
    chosen = [
        (info, events)
        for info, events in team_calls(team, catalog)
        if info.status in ("ready", "dropped") and in_period(info.started_at, first, last)
    ]
    for info, _ in chosen:
        await request.app[AUDIT].record(user.username, "export", info.call_id, f"team {team} CSV")
    period = "-".join(d.isoformat() for d in (first, last) if d) or "all"
    return _attachment(team_csv(chosen), MEDIA_TYPES["csv"], f"{_safe(team)}-moments-{period}.csv")


def _attachment(body: str, media_type: str, name: str) -> web.Response:
    response = web.Response(text=body, content_type=media_type, charset="utf-8")
    response.headers[hdrs.CONTENT_DISPOSITION] = f'attachment; filename="{name}"'
    return response


def _safe(name: str) -> str:
    """A name a file may have anywhere (no quote, slash or space to break the header or the path)."""
    return _UNSAFE_NAME.sub("_", name).strip("._") or "call"


async def _blocking(fn: Callable[..., _T], *args: object) -> _T:
    """The coaching records are SQLite reads: off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)
