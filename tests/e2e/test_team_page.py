"""The team page and the agent page's trends in Debian's chromium against a real ``callcoach serve``: the
lead sees the team's trends and its kudos wall, features a moment, which stays featured after a reload,
and plays the recording from that moment; a coach sees the wall but no Feature button; the printed wall
is a PDF with the praise and none of the trends; an agent is refused the team page but sees the wall's
praise on their own page.

Accounts: ``bo`` and ``cy``, agents of north; ``di``, lead of north; ``fay``, coach of north. Calls:
``bo-1`` (yesterday: empathy at 0:01, a cold reply), ``cy-1`` (yesterday: turned around, a cold reply),
``bo-0`` (two days ago: a cold reply).
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from callcoach.detectors.bad_news import COLD, EMPATHY
from tests.e2e.test_agent_page import log_in
from tests.helpers.auth import create_user
from tests.helpers.browser import DESKTOP, PHONE
from tests.helpers.coaching import moment, serving, store_agent_call

USERS = {"bo": "agent", "cy": "agent", "di": "lead", "fay": "coach"}


def ago(days: int) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).isoformat(timespec="seconds")


@pytest.fixture
def data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    for name, role in USERS.items():
        create_user(data, name, f"{name}-password", role=role, teams=("north",))  # type: ignore[arg-type]
    cold = moment(1, COLD, "coach")
    empathy = moment(1, EMPATHY, "praise")
    turned = moment(1, "turned_around", "praise")
    store_agent_call(data, "bo-1", agent="bo", team="north", started_at=ago(1), moments=(empathy, cold))
    store_agent_call(data, "cy-1", agent="cy", team="north", started_at=ago(1), moments=(turned, cold))
    store_agent_call(data, "bo-0", agent="bo", team="north", started_at=ago(2), moments=(cold,))
    return data


def open_team_page(page: Any, base: str) -> None:
    page.goto(f"{base}/team/north")
    page.wait_for_selector('#page[data-loaded="true"]')


def wall(page: Any) -> list[tuple[str, str]]:
    order: list[tuple[str, str]] = page.locator(".kudo").evaluate_all(
        "els => els.map(e => [e.dataset.callId, e.dataset.featured])"
    )
    return [(call_id, featured) for call_id, featured in order]


def test_the_lead_features_a_moment_and_plays_it_from_the_wall(
    browser: Any, callcoach: Path, model_dir: Path, data: Path, artifacts: Path
) -> None:
    with serving(callcoach, model_dir, data) as base:
        di = log_in(browser, base, "di")
        di.wait_for_selector('.team-link[data-team="north"]')  # the main page links the lead's team
        open_team_page(di, base)
        assert di.get_by_test_id("finding-recurring").inner_text() == "Recurring: Cold reply (3 of 3 calls)"
        assert "No steady strength yet" in di.get_by_test_id("finding-steady").inner_text()
        cold_row = di.locator(f'.trend[data-kind="{COLD}"]')
        per_week = cold_row.get_by_test_id("spark").get_attribute("data-per-week")
        assert sum(int(n) for n in per_week.split(",")) == 3 and len(per_week.split(",")) == 8
        assert di.get_by_test_id("agent-link").evaluate_all("els => els.map(e => e.textContent)") == [
            "bo",
            "cy",
        ]
        assert wall(di) == [("cy-1", "false"), ("bo-1", "false")]  # turned around before empathy
        href = di.get_by_test_id("moments-csv").get_attribute("href")  # the team's moments, for its lead
        assert href == "/api/teams/north/moments.csv"
        assert di.request.get(f"{base}{href}").text().startswith("call_id,date,title,agent,kind,")

        di.locator('.kudo[data-call-id="bo-1"]').get_by_test_id("feature").click()
        di.wait_for_selector('.kudo[data-call-id="bo-1"][data-featured="true"]')
        di.reload()
        di.wait_for_selector('#page[data-loaded="true"]')
        assert wall(di) == [("bo-1", "true"), ("cy-1", "false")]  # kept, and shown first
        featured = di.locator('.kudo[data-featured="true"]')
        assert featured.get_by_test_id("featured-mark").inner_text().strip() == "Featured"
        assert featured.get_by_test_id("feature").count() == 0
        di.screenshot(path=str(artifacts / "team-page.png"), full_page=True)
        di.set_viewport_size(PHONE)
        assert di.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        di.screenshot(path=str(artifacts / "team-page-phone.png"), full_page=True)
        di.set_viewport_size(DESKTOP)

        di.evaluate(
            """() => { const a = document.getElementById('audio'); window.played = [];
                       a.addEventListener('playing', () => window.played.push(a.currentTime)); }"""
        )
        featured.get_by_test_id("play").click()
        di.wait_for_function("() => window.played.length > 0")
        started_at = di.evaluate("() => window.played[0]")
        assert started_at >= 0.99  # from the moment (0:01), not from the start of the recording
        assert di.evaluate("() => document.getElementById('audio').getAttribute('src')") == "/recordings/bo-1"

        di.emulate_media(media="print")
        assert (
            not di.get_by_test_id("team-trends").is_visible() and di.get_by_test_id("kudos-wall").is_visible()
        )
        pdf = di.pdf(format="A4", print_background=True)
        (artifacts / "kudos-wall.pdf").write_bytes(pdf)
        text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
        assert "Kudos wall" in text and "Featured" in text and "so sorry to hear that" in text
        assert "Recurring" not in text and "Feature\n" not in text
        assert not di.js_errors
        di.context.close()


def test_a_coach_sees_the_wall_and_an_agent_their_trends_and_the_praise(
    browser: Any, callcoach: Path, model_dir: Path, data: Path, artifacts: Path
) -> None:
    with serving(callcoach, model_dir, data) as base:
        fay = log_in(browser, base, "fay")
        open_team_page(fay, base)
        assert len(wall(fay)) == 2 and fay.get_by_test_id("feature").count() == 0
        assert fay.get_by_test_id("moments-csv").count() == 0  # the team's CSV is its lead's
        fay.goto(f"{base}/agent/bo")
        fay.wait_for_selector('#page[data-loaded="true"]')
        trends = fay.get_by_test_id("agent-trends")
        assert (
            trends.get_by_test_id("finding-recurring").inner_text() == "Recurring: Cold reply (2 of 2 calls)"
        )
        assert fay.get_by_test_id("team-link").get_attribute("href") == "/team/north"
        fay.locator("#trends-block").screenshot(path=str(artifacts / "agent-trends.png"))
        assert not fay.js_errors
        fay.context.close()

        bo = log_in(browser, base, "bo")
        bo.goto(f"{base}/team/north")
        bo.wait_for_selector("#problem:not([hidden])")
        assert "page is for its coaches and leads" in bo.locator("#problem").inner_text()
        assert bo.locator(".kudo").count() == 0
        bo.goto(f"{base}/agent/bo")
        bo.wait_for_selector("#wall-block:not([hidden]) .kudo")
        assert bo.locator("#wall .kudo-agent").all_inner_texts() == ["cy", "You"]  # cy's display name
        assert "Your moments per week" in bo.get_by_test_id("agent-trends").inner_text()
        bo.screenshot(path=str(artifacts / "agent-page-trends.png"), full_page=True)
        bo.context.close()
