"""Team pages and the kudos wall against a real ``callcoach serve``: the team's coaches, leads and admins
see its trends and wall, a lead features a moment (kept across a restart), a coach may not, agents see
only their team's wall (praise only, their own calls alone playable), and nobody of another team gets in.

Accounts: ``bo`` and ``cy``, agents of north; ``zed``, agent of south; ``di``, lead of north; ``fay``,
coach of north; ``ed``, coach of south; ``lu``, lead of south; ``ann``, an admin. Calls of yesterday:
``bo-1`` (empathy, a cold reply), ``cy-1`` (turned around, a cold reply), ``zed-1`` (south: empathy).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from tests.helpers.auth import cookie_header, create_user
from tests.helpers.coaching import Site, moment, started, store_agent_call
from tests.helpers.server import stop_server

USERS = {
    "bo": ("agent", "north"),
    "cy": ("agent", "north"),
    "zed": ("agent", "south"),
    "di": ("lead", "north"),
    "fay": ("coach", "north"),
    "ed": ("coach", "south"),
    "lu": ("lead", "south"),
    "ann": ("admin", "north"),
}
YESTERDAY = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).isoformat(timespec="seconds")
COLD = moment(1, "cold_reply_to_bad_news", "coach")
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def site(
    callcoach: Path, model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Site]:
    data = tmp_path_factory.mktemp("teams") / "data"
    for name, (role, team) in USERS.items():
        create_user(data, name, f"{name}-password", role=role, teams=(team,))  # type: ignore[arg-type]
    empathy, turned = moment(1, "empathy_shown", "praise"), moment(1, "turned_around", "praise")
    store_agent_call(data, "bo-1", agent="bo", team="north", started_at=YESTERDAY, moments=(empathy, COLD))
    store_agent_call(data, "cy-1", agent="cy", team="north", started_at=YESTERDAY, moments=(turned, COLD))
    store_agent_call(data, "zed-1", agent="zed", team="south", started_at=YESTERDAY, moments=(empathy,))
    site = await started(callcoach, model_dir, data, USERS)
    try:
        yield site
    finally:
        await stop_server(site.server)


async def test_the_teams_lead_sees_its_trends_agents_and_wall(site: Site) -> None:
    status, page = await site.api("di", "GET", "/api/teams/north")
    assert status == 200 and page["viewer"]["may_feature"] is True
    trends = page["trends"]
    assert trends["calls"] == 2 and len(trends["weeks"]) == 8
    assert trends["recurring"]["said"] == "Recurring: Cold reply (2 of 2 calls)"
    assert trends["steady"]["kind"] is None  # empathy and turned around on one call each
    assert [(a["user"], a["calls"]) for a in page["agents"]] == [("bo", 1), ("cy", 1)]
    assert [(k["call_id"], k["kind"]) for k in page["kudos"]] == [
        ("cy-1", "turned_around"),
        ("bo-1", "empathy_shown"),
    ]
    assert all(k["playable"] for k in page["kudos"])
    assert len((await site.api("di", "GET", "/api/teams/north?weeks=2"))[1]["trends"]["weeks"]) == 2
    status, refused = await site.api("di", "GET", "/api/teams/north?weeks=0")
    assert (status, refused["code"]) == (400, "bad_request")
    async with (
        aiohttp.ClientSession(headers=cookie_header(site.tokens["di"])) as http,
        http.get(f"{site.server.base}/team/north") as resp,
    ):
        assert resp.status == 200 and "kudos-wall" in await resp.text()


async def test_an_admin_sees_every_team_but_one_that_does_not_exist(site: Site) -> None:
    status, page = await site.api("ann", "GET", "/api/teams/south")
    assert status == 200 and page["viewer"]["may_feature"] and page["agents"][0]["user"] == "zed"
    status, refused = await site.api("ann", "GET", "/api/teams/nowhere")
    assert (status, refused["code"]) == (404, "unknown_team")
    assert (await site.api("di", "GET", "/api/teams/nowhere"))[1]["code"] == "forbidden_team"


async def test_nobody_outside_the_team_and_no_agent_opens_its_page(site: Site) -> None:
    for who in ("bo", "ed", "lu"):
        status, refused = await site.api(who, "GET", "/api/teams/north")
        assert (status, refused["code"]) == (403, "forbidden_team"), who
    assert "your own page is /agent/bo" in (await site.api("bo", "GET", "/api/teams/north"))[1]["message"]
    assert "ask an admin" in (await site.api("ed", "GET", "/api/teams/north"))[1]["message"]
    assert (await site.api("zed", "GET", "/api/teams/north/kudos"))[1]["code"] == "forbidden_team"
    assert (await site.api("ed", "GET", "/api/teams/north/kudos"))[1]["code"] == "forbidden_team"


async def test_an_agent_sees_only_the_praise_on_their_teams_wall(site: Site) -> None:
    status, wall = await site.api("bo", "GET", "/api/teams/north/kudos")
    assert status == 200
    seen = {k["call_id"]: k for k in wall["kudos"]}
    assert set(seen) == {"bo-1", "cy-1"} and {k["source"] for k in wall["kudos"]} == {"alert"}
    assert all(k["kind"] != "cold_reply_to_bad_news" for k in wall["kudos"])
    assert seen["bo-1"]["playable"] and seen["bo-1"]["title"] == "Line bo-1"
    assert not seen["cy-1"]["playable"] and seen["cy-1"]["title"] == ""  # cy's call is not bo's to open


async def test_only_a_lead_of_the_team_features_a_moment_on_its_wall(site: Site) -> None:
    path = "/api/teams/north/featured"
    empathy = {"call_id": "bo-1", "moment_id": "empathy_shown-1"}
    status, refused = await site.api("fay", "POST", path, empathy)
    assert (status, refused["code"]) == (403, "not_a_lead")
    for who in ("lu", "bo"):  # a lead of another team, an agent of this one
        assert (await site.api(who, "POST", path, empathy))[1]["code"] == "forbidden_team", who
    for forged in (
        {"call_id": "bo-1", "moment_id": "cold_reply_to_bad_news-1"},  # a coach moment is not praise
        {"call_id": "zed-1", "moment_id": "empathy_shown-1"},  # another team's call
        {"call_id": "bo-1", "moment_id": "nope"},
    ):
        status, refused = await site.api("di", "POST", path, forged)
        assert (status, refused["code"]) == (404, "unknown_moment"), forged
    assert (await site.api("di", "POST", path, {"call_id": "bo-1"}))[1]["code"] == "bad_request"
    status, done = await site.api("di", "POST", path, empathy)
    assert status == 200 and done["featured"] == empathy
    first = (await site.api("fay", "GET", "/api/teams/north"))[1]["kudos"][0]
    assert (first["call_id"], first["moment_id"], first["featured"]) == ("bo-1", "empathy_shown-1", True)


async def test_the_agent_page_has_trends_and_the_featured_moment_survives_a_restart(
    callcoach: Path, model_dir: Path, site: Site
) -> None:
    await stop_server(site.server)
    again = await started(callcoach, model_dir, site.server.data, USERS)
    site.server, site.tokens = again.server, again.tokens  # the fixture stops the one running
    first = (await site.api("di", "GET", "/api/teams/north"))[1]["kudos"][0]
    assert (first["moment_id"], first["featured"]) == ("empathy_shown-1", True)
    status, page = await site.api("bo", "GET", "/api/agents/bo")
    assert status == 200 and page["trends"]["calls"] == 1
    assert {k["kind"] for k in page["trends"]["kinds"]} == {"cold_reply_to_bad_news", "empathy_shown"}
