"""Agents as users, against a real ``callcoach serve``: an agent sees only their own calls (the list, the
websocket, the recordings, their page), coaches and leads only their teams' agents, and the coaching
conversation refuses forged ids. Then the server restarts and everything is still there.

Accounts: ``bo`` and ``cy``, agents of north; ``di``, lead of north; ``fay``, coach of north; ``ed``,
coach of south. Calls: ``bo-1`` and ``cy-1`` (north, their agents'), ``bo-south`` (bo's, in south) and
``north-open`` and ``north-spare`` (north, the platform named no agent).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from tests.helpers.auth import cookie_header, create_user
from tests.helpers.coaching import Site, started, store_agent_call
from tests.helpers.server import clean_env, stop_server

USERS = {
    "bo": ("agent", "north"),
    "cy": ("agent", "north"),
    "di": ("lead", "north"),
    "fay": ("coach", "north"),
    "ed": ("coach", "south"),
}
YESTERDAY = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).isoformat(timespec="seconds")
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def site(
    callcoach: Path, model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Site]:
    data = tmp_path_factory.mktemp("agents") / "data"
    for name, (role, team) in USERS.items():
        create_user(data, name, f"{name}-password", role=role, teams=(team,))  # type: ignore[arg-type]
    for call_id, agent, team in (
        ("bo-1", "bo", "north"),
        ("cy-1", "cy", "north"),
        ("bo-south", "bo", "south"),
        ("north-open", "", "north"),
        ("north-spare", "", "north"),
    ):
        store_agent_call(data, call_id, agent=agent, team=team, started_at=YESTERDAY)
    site = await started(callcoach, model_dir, data, USERS)
    try:
        yield site
    finally:
        await stop_server(site.server)


async def first_call_list(ws: aiohttp.ClientWebSocketResponse, must_have: str = "") -> set[str]:
    """The call ids of the next ``calls`` message (that lists ``must_have``, when given)."""
    async with asyncio.timeout(20):
        async for msg in ws:
            data = json.loads(msg.data)
            if data["type"] == "calls":
                ids = {c["call_id"] for c in data["calls"]}
                if must_have in ids or not must_have:
                    return ids
    raise AssertionError("the socket closed before a call list")


async def answer_to(ws: aiohttp.ClientWebSocketResponse, call_id: str) -> dict[str, Any]:
    """Subscribe to ``call_id``; the ``subscribed`` or ``error`` that answers."""
    await ws.send_str(json.dumps({"v": 1, "type": "subscribe", "call_id": call_id}))
    async with asyncio.timeout(20):
        async for msg in ws:
            data: dict[str, Any] = json.loads(msg.data)
            if data["type"] in ("subscribed", "error"):
                return data
    raise AssertionError("the socket closed before an answer")


async def test_an_agent_lists_opens_and_plays_only_their_own_calls(site: Site) -> None:
    headers = cookie_header(site.tokens["bo"])
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.ws_connect(site.server.ws_url("/ws")) as ws:
            welcome = json.loads((await ws.receive()).data)
            assert (welcome["type"], welcome["role"]) == ("welcome", "agent")
            assert await first_call_list(ws) == {"bo-1", "bo-south"}
            for other in ("cy-1", "north-open"):  # another agent's, and a team's call with no agent
                refused = await answer_to(ws, other)
                assert (refused["type"], refused["code"]) == ("error", "forbidden_call"), refused
                assert "not one of your calls" in refused["message"]
            assert (await answer_to(ws, "bo-south"))["type"] == "subscribed"
        async with http.get(f"{site.server.base}/api/calls") as resp:
            assert {c["call_id"] for c in (await resp.json())["calls"]} == {"bo-1", "bo-south"}
        async with http.get(f"{site.server.base}/recordings/cy-1") as resp:
            assert resp.status == 403 and "not one of your calls" in await resp.text()
        async with http.get(f"{site.server.base}/recordings/bo-1") as resp:
            assert resp.status == 200


async def test_agent_pages_are_for_the_agent_and_their_teams_coaches(site: Site) -> None:
    status, page = await site.api("bo", "GET", "/api/agents/bo")
    assert status == 200 and [c["call_id"] for c in page["calls"]] == ["bo-1", "bo-south"]
    status, refused = await site.api("bo", "GET", "/api/agents/cy")
    assert (status, refused["code"]) == (403, "forbidden_agent")
    status, refused = await site.api("ed", "GET", "/api/agents/bo")  # a coach of another team
    assert (status, refused["code"]) == (403, "forbidden_agent")
    assert "not one of your agents (team north)" in refused["message"]
    status, page = await site.api("di", "GET", "/api/agents/bo")
    assert status == 200 and page["agent"]["user"] == "bo"
    assert (await site.api("di", "GET", "/api/agents/zed"))[0] == 404
    assert (await site.api("di", "GET", "/api/agents/fay"))[1]["code"] == "unknown_agent"  # not an agent
    assert [a["user"] for a in (await site.api("di", "GET", "/api/agents"))[1]["agents"]] == ["bo", "cy"]
    assert [a["user"] for a in (await site.api("bo", "GET", "/api/agents"))[1]["agents"]] == ["bo"]
    assert (await site.api("ed", "GET", "/api/agents"))[1]["agents"] == []


async def test_the_conversation_refuses_what_is_not_yours(site: Site) -> None:
    said = {"went_well": "I stayed calm", "do_differently": "say sorry before the documents"}
    path = "/api/calls/bo-1"
    status, refused = await site.api("bo", "POST", f"{path}/self-assessment", said)
    assert (status, refused["code"]) == (409, "not_shared")  # self-assessment comes after the share
    assert (await site.api("bo", "GET", f"{path}/sheet-access"))[1]["may_see_sheet"] is False
    status, refused = await site.api("bo", "GET", f"{path}/sheet")  # the sheet itself, not only the flag
    assert (status, refused["code"]) == (403, "assess_first")
    assert (await site.api("cy", "GET", f"{path}/sheet"))[1]["code"] == "forbidden_call"
    assert (await site.api("ed", "POST", f"{path}/share"))[1]["code"] == "forbidden_call"
    assert (await site.api("bo", "POST", f"{path}/share"))[1]["code"] == "not_a_coach"
    assert (await site.api("di", "POST", "/api/calls/north-open/share"))[1]["code"] == "no_agent"
    assert await site.api("di", "POST", f"{path}/share") == (200, {"call_id": "bo-1", "shared_with": "bo"})

    forged = await site.api("bo", "POST", "/api/calls/cy-1/self-assessment", said)
    assert (forged[0], forged[1]["code"]) == (403, "forbidden_call")
    status, written = await site.api("bo", "POST", f"{path}/self-assessment", said)
    assert status == 200 and written["self_assessment"]["went_well"] == "I stayed calm"
    assert (await site.api("bo", "GET", f"{path}/sheet-access"))[1]["may_see_sheet"] is True
    assert (await site.api("cy", "GET", f"{path}/sheet-access"))[1]["code"] == "forbidden_call"
    seen = (await site.api("di", "GET", f"{path}/self-assessment"))[1]["self_assessment"]
    assert seen["do_differently"] == "say sorry before the documents"

    promise = {"behaviour": "acknowledge bad news before business", "due_date": dt.date.today().isoformat()}
    praise_kind = await site.api("di", "POST", f"{path}/commitments", promise | {"kind": "empathy_shown"})
    assert (praise_kind[0], praise_kind[1]["code"]) == (400, "bad_request")
    status, made = await site.api(
        "di", "POST", f"{path}/commitments", promise | {"kind": "cold_reply_to_bad_news"}
    )
    assert status == 201 and made["commitment"]["accepted_at"] is None
    accept = f"/api/commitments/{made['commitment']['id']}/accept"
    for who in ("cy", "di"):  # another agent, and the coach: only its agent accepts it
        assert (await site.api(who, "POST", accept))[1]["code"] == "forbidden_commitment"
    assert (await site.api("bo", "POST", "/api/commitments/c-forged/accept"))[0] == 404
    status, accepted = await site.api("bo", "POST", accept)
    assert status == 200 and accepted["commitment"]["accepted_at"]
    for who in ("bo", "di"):  # the agent, now assessed, and the coach read one sheet with both records
        status, sheet = await site.api(who, "GET", f"{path}/sheet")
        assert status == 200 and sheet["self_assessment"]["went_well"] == "I stayed calm"
        assert [c["behaviour"] for c in sheet["commitments"]] == [promise["behaviour"]]


async def test_a_lead_assigns_a_call_to_an_agent_who_then_sees_it(site: Site) -> None:
    assign = "/api/calls/north-open/agent"
    assert (await site.api("fay", "POST", assign, {"agent": "bo"}))[1]["code"] == "not_a_lead"
    assert (await site.api("di", "POST", assign, {"agent": "fay"}))[1]["code"] == "unknown_agent"
    async with (
        aiohttp.ClientSession(headers=cookie_header(site.tokens["bo"])) as http,
        http.ws_connect(site.server.ws_url("/ws")) as ws,
    ):
        assert "north-open" not in await first_call_list(ws)
        status, done = await site.api("di", "POST", assign, {"agent": "bo"})
        assert status == 200 and done["call"]["agent"] == "bo"
        assert "north-open" in await first_call_list(ws, must_have="north-open")


async def test_a_command_line_assignment_reaches_the_running_server(callcoach: Path, site: Site) -> None:
    async with (
        aiohttp.ClientSession(headers=cookie_header(site.tokens["bo"])) as http,
        http.ws_connect(site.server.ws_url("/ws")) as ws,
    ):
        assert "north-spare" not in await first_call_list(ws)
        argv = [str(callcoach), "call", "assign", "north-spare", "bo", "--data", str(site.server.data)]
        done = await asyncio.create_subprocess_exec(*argv, stderr=subprocess.PIPE, env=clean_env())
        _out, err = await done.communicate()
        assert done.returncode == 0, err
        assert "north-spare" in await first_call_list(ws, must_have="north-spare")


async def test_everything_is_still_there_after_a_restart(
    callcoach: Path, model_dir: Path, site: Site
) -> None:
    await stop_server(site.server)
    again = await started(callcoach, model_dir, site.server.data, USERS)
    site.server, site.tokens = again.server, again.tokens  # the fixture stops the one running
    status, page = await site.api("bo", "GET", "/api/agents/bo")
    assert status == 200
    calls = {c["call_id"]: c for c in page["calls"]}
    assert set(calls) == {"bo-1", "bo-south", "north-open", "north-spare"}  # the assignments were kept
    assert calls["bo-1"]["shared"] and calls["bo-1"]["self_assessment"]["went_well"] == "I stayed calm"
    assert calls["bo-1"]["may_see_sheet"] and not calls["bo-south"]["may_see_sheet"]
    [commitment] = page["commitments"]
    assert commitment["accepted_at"] and commitment["twin"] == "empathy_shown"
    assert commitment["follow_up"]["status"] == "following"
