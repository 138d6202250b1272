"""The coaching conversation over HTTP: agents' pages, a call's agent, sharing a call with its agent, the
agent's self-assessment, commitments and their acceptance; teams' pages (trends, the kudos wall) and the
moment a lead features on the wall. Plain JSON endpoints (see docs/protocol.md).

Who may do what: an agent reads only their own page and calls, writes only their own self-assessment (of
a call shared with them) and accepts only their own commitments; coaches and leads see the pages of the
agents of their teams, share their calls and record commitments; a lead (or an admin) picks a call's
agent. A refusal is a :class:`CallcoachError` answered as ``{"code", "message"}`` with its HTTP status.
The page a user sees is built by :mod:`web.agent_view`; storage is :class:`CoachingStore` (blocking
SQLite: run in the executor).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from callcoach.detectors.registry import KINDS
from callcoach.live.accounts import AccountError, User
from callcoach.live.catalog import CallCatalog, CallRecord
from callcoach.live.coaching import SelfAssessment
from callcoach.live.coaching_store import CoachingStore
from callcoach.live.db import DatabaseError, database_of
from callcoach.live.errors import CallcoachError
from callcoach.live.settings import Settings
from callcoach.live.storage import FILE_NAME as CALLS_FILE
from callcoach.live.trends import WEEKS
from callcoach.web.agent_view import agent_calls, agent_page, agents_of, as_json, follow_ups_of, notices
from callcoach.web.auth import ACCOUNTS, USER
from callcoach.web.team_view import (
    agents_of_team,
    check_may_feature,
    check_team_page,
    check_wall,
    on_wall,
    team_calls,
    team_page,
    wall_json,
)

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
COACHING: web.AppKey[CoachingStore] = web.AppKey("coaching", CoachingStore)
ASSIGNMENTS_RECHECK_S = 2.0  # how soon a command-line assignment reaches a running server's pages
MAX_TEXT_CHARS = 2000  # a self-assessment answer or a behaviour: a few sentences, not an essay
MAX_BODY_BYTES = 16384
MAX_WEEKS = 52  # a year of trends: longer says more about the team then than the team now
LEADS = ("lead", "admin")
_STATUS = {
    "bad_request": 400,
    "forbidden_call": 403,
    "forbidden_agent": 403,
    "forbidden_commitment": 403,
    "forbidden_team": 403,
    "not_a_lead": 403,
    "not_a_coach": 403,
    "unknown_call": 404,
    "unknown_agent": 404,
    "unknown_commitment": 404,
    "unknown_moment": 404,
    "unknown_team": 404,
    "no_agent": 409,
    "not_shared": 409,
}
_T = TypeVar("_T")
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def setup_coaching(app: web.Application, settings: Settings, catalog: web.AppKey[CallCatalog]) -> None:
    """The coaching store for the app's lifetime (its assignments applied to the catalog, started before
    this), the agent's page and the endpoints."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        store = CoachingStore(database_of(settings, CALLS_FILE))
        _apply_assignments(store.assignments(), app[catalog])
        app[COACHING] = store
        following = asyncio.create_task(_follow_assignments(store, app[catalog]), name="assignments")
        yield
        following.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await following
        store.close()

    def route(handler: Callable[[web.Request, CallCatalog], Awaitable[Any]], status: int = 200) -> _Handler:
        async def answer(request: web.Request) -> web.StreamResponse:
            try:
                body = await handler(request, request.app[catalog])
            except CallcoachError as exc:
                return _error(exc.code, exc.message)
            return web.json_response(body, status=status)

        return answer

    follow_up_n = settings.follow_up_calls

    async def agent_api(request: web.Request, calls: CallCatalog) -> dict[str, Any]:
        user, agent = request[USER], await _agent(request, request.match_info["username"])
        records = await _blocking(request.app[COACHING].records_of, agent.username)
        weeks = _weeks(request)
        return agent_page(user, agent, agent_calls(user, agent, calls), records, follow_up_n, _today(), weeks)

    async def follow_ups(request: web.Request, calls: CallCatalog) -> dict[str, Any]:
        """What a coach or lead is told across their agents: behaviours that held or slipped."""
        user, told = request[USER], []
        for agent in agents_of(user, await _blocking(request.app[ACCOUNTS].users)):
            records = await _blocking(request.app[COACHING].records_of, agent.username)
            ups = follow_ups_of(agent_calls(user, agent, calls), records, follow_up_n)
            told += notices(agent, records.commitments, ups)
        return {"notices": told}

    app.cleanup_ctx.append(ctx)
    app.router.add_get("/agent/{username}", _agent_page_file)
    app.router.add_get("/team/{team}", _team_page_file)
    app.router.add_get("/api/teams/{team}", route(_team))
    app.router.add_get("/api/teams/{team}/kudos", route(_wall))
    app.router.add_post("/api/teams/{team}/featured", route(_feature))
    app.router.add_get("/api/agents", route(_agents))
    app.router.add_get("/api/agents/{username}", route(agent_api))
    app.router.add_get("/api/follow-ups", route(follow_ups))
    app.router.add_post("/api/calls/{call_id}/agent", route(_assign))
    app.router.add_post("/api/calls/{call_id}/share", route(_share))
    app.router.add_get("/api/calls/{call_id}/self-assessment", route(_self_assessment))
    app.router.add_post("/api/calls/{call_id}/self-assessment", route(_write_self_assessment))
    app.router.add_get("/api/calls/{call_id}/sheet-access", route(_sheet_access))
    app.router.add_post("/api/calls/{call_id}/commitments", route(_commit, status=201))
    app.router.add_post("/api/commitments/{commitment_id}/accept", route(_accept))


def _apply_assignments(assignments: dict[str, str], calls: CallCatalog) -> None:
    for call_id, agent in assignments.items():
        record = calls.get(call_id)
        if record is not None and record.info.agent != agent:
            calls.assign_agent(call_id, agent)


async def _follow_assignments(store: CoachingStore, calls: CallCatalog) -> None:
    """Take on assignments made with ``callcoach call assign`` while the server runs (the page's own are
    applied at once), and those of calls that are listed later. A failed read is tried again."""
    while True:
        await asyncio.sleep(ASSIGNMENTS_RECHECK_S)
        try:
            _apply_assignments(await _blocking(store.assignments), calls)
        except DatabaseError:
            log.exception("could not read the calls' assignments")


async def _agent_page_file(_request: web.Request) -> web.FileResponse:
    """The agent's page; what it shows comes from ``/api/agents/{username}``, which checks who asks."""
    return web.FileResponse(STATIC / "agent.html", headers={"Cache-Control": "no-cache"})


async def _team_page_file(_request: web.Request) -> web.FileResponse:
    """The team's page; what it shows comes from ``/api/teams/{team}``, which checks who asks."""
    return web.FileResponse(STATIC / "team.html", headers={"Cache-Control": "no-cache"})


async def _team(request: web.Request, calls: CallCatalog) -> dict[str, Any]:
    """The team's page: its trends, its agents' findings and its kudos wall (coaches, leads, admins)."""
    user, team = request[USER], request.match_info["team"]
    check_team_page(user, team)
    users = await _blocking(request.app[ACCOUNTS].users)
    known = {t for u in users for t in u.teams} | {c.team for c in calls.calls()}
    if team not in known:  # only an admin gets here: everyone else is refused a team they are not in
        raise CallcoachError("unknown_team", f"there is no team {team!r}: no account or call is in it")
    agents = agents_of_team(team, users)
    featured = await _blocking(request.app[COACHING].featured, team)
    return team_page(user, team, team_calls(team, calls), agents, featured, _clock(), _weeks(request))


async def _wall(request: web.Request, calls: CallCatalog) -> dict[str, Any]:
    """The team's kudos wall alone: for its agents too (praise only)."""
    user, team = request[USER], request.match_info["team"]
    check_wall(user, team)
    agents = agents_of_team(team, await _blocking(request.app[ACCOUNTS].users))
    featured = await _blocking(request.app[COACHING].featured, team)
    return {"team": team, "kudos": wall_json(user, team_calls(team, calls), agents, featured, _clock())}


async def _feature(request: web.Request, calls: CallCatalog) -> dict[str, Any]:
    """A lead (or an admin) features one of the week's praised moments on the team's wall."""
    user, team = request[USER], request.match_info["team"]
    check_may_feature(user, team)
    body = await _body(request, "call_id", "moment_id")
    call_id, moment_id = body["call_id"], body["moment_id"]
    if not on_wall(team_calls(team, calls), call_id, moment_id, _clock()):
        raise CallcoachError(
            "unknown_moment",
            f"moment {moment_id!r} of call {call_id!r} is not on team {team!r}'s wall this week:"
            " pick one from the wall",
        )
    await _blocking(request.app[COACHING].feature, team, call_id, moment_id, user.username, _now())
    return {"team": team, "featured": {"call_id": call_id, "moment_id": moment_id}}


async def _agents(request: web.Request, _calls: CallCatalog) -> dict[str, Any]:
    """The agents the user coaches (an agent: themselves), for links to their pages."""
    agents = agents_of(request[USER], await _blocking(request.app[ACCOUNTS].users))
    return {"agents": [_user_json(a) for a in agents]}


async def _assign(request: web.Request, calls: CallCatalog) -> dict[str, Any]:
    """A lead (or an admin) picks the call's agent: an agent account they coach."""
    user, record = request[USER], _call(request, calls)
    if user.role not in LEADS:
        raise CallcoachError("not_a_lead", "only a lead or an admin picks a call's agent: ask your lead")
    agent = await _agent(request, (await _body(request, "agent"))["agent"])
    info = record.info
    await _blocking(request.app[COACHING].assign, info.call_id, agent.username, user.username, _now())
    return {"call": as_json(calls.assign_agent(info.call_id, agent.username))}


async def _share(request: web.Request, calls: CallCatalog) -> dict[str, Any]:
    """A coach shares the call with its agent, who is then asked for their own view of it."""
    user, record = request[USER], _call(request, calls)
    _check_coach(user, record)
    store = request.app[COACHING]
    await _blocking(store.share, record.info.call_id, record.info.agent, user.username, _now())
    return {"call_id": record.info.call_id, "shared_with": record.info.agent}


async def _self_assessment(request: web.Request, calls: CallCatalog) -> dict[str, Any]:
    record = _call(request, calls)
    found = await _blocking(request.app[COACHING].self_assessment, record.info.call_id)
    return {"self_assessment": None if found is None else as_json(found)}


async def _write_self_assessment(request: web.Request, calls: CallCatalog) -> dict[str, Any]:
    """The call's agent writes their own view of a call shared with them (only theirs, only once shared)."""
    user, record = request[USER], _call(request, calls)
    if user.role != "agent":
        raise CallcoachError("forbidden_call", "only the call's agent writes its self-assessment")
    store = request.app[COACHING]
    if await _blocking(store.shared_with, record.info.call_id) != user.username:
        raise CallcoachError("not_shared", "your coach has not shared this call with you yet: ask them to")
    body = await _body(request, "went_well", "do_differently")
    answers = {k: _text(body[k], k) for k in ("went_well", "do_differently")}
    assessment = SelfAssessment(record.info.call_id, user.username, **answers, written_at=_now())
    await _blocking(store.write_self_assessment, assessment)
    return {"self_assessment": as_json(assessment)}


async def _sheet_access(request: web.Request, calls: CallCatalog) -> dict[str, Any]:
    """Whether the user may open the coach's sheet of the call now (an agent: once they assessed it)."""
    record = _call(request, calls)
    allowed = await _blocking(request.app[COACHING].may_see_sheet, request[USER], record.info)
    return {"call_id": record.info.call_id, "may_see_sheet": allowed}


async def _commit(request: web.Request, calls: CallCatalog) -> dict[str, Any]:
    """A coach records the commitment a conversation about a shared call ended with."""
    user, record = request[USER], _call(request, calls)
    _check_coach(user, record)
    store = request.app[COACHING]
    if await _blocking(store.shared_with, record.info.call_id) != record.info.agent:
        raise CallcoachError("not_shared", "share the call with its agent first: the commitment is theirs")
    body = await _body(request, "behaviour", "kind", "due_date")
    kind = body["kind"]
    if kind not in KINDS or KINDS[kind].polarity != "coach":
        coach_kinds = ", ".join(k for k, v in KINDS.items() if v.polarity == "coach")
        raise CallcoachError("bad_request", f"kind {kind!r} is not a coach kind: use one of {coach_kinds}")
    try:
        due = dt.date.fromisoformat(body["due_date"]).isoformat()
    except ValueError:
        raise CallcoachError("bad_request", "due_date must be a date, YYYY-MM-DD") from None
    made = {"agent": record.info.agent, "call_id": record.info.call_id, "kind": kind, "due_date": due}
    behaviour = _text(body["behaviour"], "behaviour")
    commitment = await _blocking(
        lambda: store.add_commitment(**made, behaviour=behaviour, coach=user.username, at=_now())
    )
    return {"commitment": as_json(commitment)}


async def _accept(request: web.Request, _calls: CallCatalog) -> dict[str, Any]:
    """The agent accepts their own commitment; anyone else's id is refused."""
    user, store = request[USER], request.app[COACHING]
    commitment_id = request.match_info["commitment_id"]
    commitment = await _blocking(store.commitment, commitment_id)
    if commitment is None:
        raise CallcoachError("unknown_commitment", f"there is no commitment {commitment_id!r}")
    if commitment.agent != user.username:
        raise CallcoachError(
            "forbidden_commitment", f"commitment {commitment_id!r} is not yours: only its agent accepts it"
        )
    accepted = await _blocking(store.accept, commitment_id, _now())
    return {"commitment": as_json(accepted)}


def _call(request: web.Request, calls: CallCatalog) -> CallRecord:
    """The request's call, if the user may see it (one rule: :meth:`User.can_see`)."""
    call_id = request.match_info["call_id"]
    record = calls.get(call_id)
    if record is None:
        raise CallcoachError("unknown_call", f"there is no call {call_id!r}; pick one from the list")
    request[USER].check_can_see(
        record.info.team, call_id, "ask an admin to add you to it", agent=record.info.agent
    )
    return record


def _check_coach(user: User, record: CallRecord) -> None:
    """A coach, lead or admin who sees the call (its team), of a call with an agent."""
    if user.role == "agent":
        raise CallcoachError("not_a_coach", "only a coach shares a call or records a commitment")
    if not record.info.agent:
        raise CallcoachError(
            "no_agent", f"call {record.info.call_id!r} has no agent: a lead picks its agent first"
        )


async def _agent(request: web.Request, username: str) -> User:
    """The agent account ``username``, if the user coaches them (or is them)."""
    try:
        agent = await _blocking(request.app[ACCOUNTS].get, username)
    except AccountError:
        raise CallcoachError("unknown_agent", f"there is no agent {username!r}") from None
    if agent.role != "agent":
        raise CallcoachError("unknown_agent", f"{username!r} is not an agent account")
    if not request[USER].coaches(agent):
        teams = ", ".join(agent.teams)
        raise CallcoachError(
            "forbidden_agent",
            f"{username!r} is not one of your agents"
            + ("" if request[USER].role == "agent" else f" (team {teams}): ask an admin to add you to it"),
        )
    return agent


async def _body(request: web.Request, *fields: str) -> dict[str, str]:
    """The request's JSON object with these string fields."""
    usage = "send a JSON object with " + ", ".join(f'"{f}"' for f in fields)
    raw = await request.content.read(MAX_BODY_BYTES + 1)
    if request.content_type != "application/json" or len(raw) > MAX_BODY_BYTES:
        raise CallcoachError("bad_request", f"{usage} (Content-Type: application/json, at most 16 KiB)")
    try:
        body = json.loads(raw)
    except ValueError:
        raise CallcoachError("bad_request", usage) from None
    if not isinstance(body, dict) or not all(isinstance(body.get(f), str) for f in fields):
        raise CallcoachError("bad_request", usage)
    return {f: body[f] for f in fields}


def _text(value: str, name: str) -> str:
    text = value.strip()
    if not text or len(text) > MAX_TEXT_CHARS:
        raise CallcoachError("bad_request", f"{name} needs 1 to {MAX_TEXT_CHARS} characters of text")
    try:
        text.encode()
    except UnicodeEncodeError:
        raise CallcoachError("bad_request", f"{name} is not valid text") from None
    return text


def _user_json(user: User) -> dict[str, Any]:
    return {"user": user.username, "name": user.display_name, "teams": list(user.teams)}


def _clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _now() -> str:
    return _clock().isoformat(timespec="seconds")


def _today() -> dt.date:
    return _clock().date()


def _weeks(request: web.Request) -> int:
    """The trends' period, ``?weeks=N`` (1 to 52), 8 by default."""
    raw = request.query.get("weeks", str(WEEKS))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_WEEKS:
        raise CallcoachError("bad_request", f"weeks must be a whole number from 1 to {MAX_WEEKS}")
    return int(raw)


def _error(code: str, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=_STATUS.get(code, 400))


async def _blocking(fn: Callable[..., _T], *args: Any) -> _T:
    """SQLite work in the executor, never on the event loop."""
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)
