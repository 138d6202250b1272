"""The coaching conversation in Debian's chromium against a real ``callcoach serve``: the agent logs in
and sees only their call, writes their own view of it and only then may open the coach's sheet; the lead
shares the call and records a commitment, the agent accepts it; a later call of the agent (kept while the
server was down, as a live call leaves it) shows on the follow-up chart after a restart, and with
``CALLCOACH_FOLLOW_UP_CALLS=1`` the lead is told the behaviour has held.

Accounts: ``bo`` (agent of north), ``cy`` (agent of north), ``di`` (lead of north).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from callcoach.detectors.bad_news import COLD, EMPATHY
from tests.helpers.auth import create_user
from tests.helpers.coaching import moment, serving, store_agent_call

PASSWORD = "{}-password"
BEHAVIOUR = "Acknowledge bad news before business"


def iso(when: dt.datetime) -> str:
    return when.isoformat(timespec="seconds")


@pytest.fixture
def data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    for name, role in (("bo", "agent"), ("cy", "agent"), ("di", "lead")):
        create_user(data, name, PASSWORD.format(name), role=role, teams=("north",))  # type: ignore[arg-type]
    yesterday = iso(dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    cold = [moment(1, COLD, "coach")]
    store_agent_call(data, "bo-1", agent="bo", team="north", started_at=yesterday, moments=cold)
    store_agent_call(data, "cy-1", agent="cy", team="north", started_at=yesterday)
    return data


def log_in(browser: Any, base: str, name: str, artifacts: Path | None = None) -> Any:
    """A fresh page logged in as ``name`` through the login form; it fails the test on a page error."""
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(PASSWORD.format(name))
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")
    return page


def open_agent_page(page: Any, base: str, agent: str = "bo") -> None:
    page.goto(f"{base}/agent/{agent}")
    page.wait_for_selector('#page[data-loaded="true"]')


def call_item(page: Any, call_id: str) -> Any:
    return page.locator(f'.call[data-call-id="{call_id}"]')


def test_self_assessment_first_then_the_sheet_then_a_commitment_that_is_followed_up(
    browser: Any, callcoach: Path, model_dir: Path, data: Path, artifacts: Path
) -> None:
    with serving(callcoach, model_dir, data) as base:
        bo = log_in(browser, base, "bo")
        bo.wait_for_selector('.call-item[data-call-id="bo-1"]')
        assert bo.locator(".call-item").evaluate_all("els => els.map(e => e.dataset.callId)") == ["bo-1"]
        assert bo.locator("#whoami .whoami-role").inner_text() == "Agent"
        bo.locator('.call-item[data-call-id="bo-1"]').click()  # the call opens, without the note controls
        bo.wait_for_function("() => document.body.dataset.role === 'agent' && location.hash.includes('bo-1')")
        assert not bo.locator("#note-add").is_visible()
        assert bo.locator(".agent-link").evaluate_all("els => els.map(e => e.textContent)") == ["My coaching"]

        di = log_in(browser, base, "di")
        di.wait_for_selector(".agent-link")
        assert di.locator(".agent-link").evaluate_all("els => els.map(e => e.dataset.agent)") == ["bo", "cy"]
        open_agent_page(di, base)
        di_call = call_item(di, "bo-1")
        assert di_call.get_attribute("data-shared") == "false"
        di_call.get_by_test_id("share").click()
        di.wait_for_selector('.call[data-call-id="bo-1"][data-shared="true"]')

        open_agent_page(bo, base)
        mine = call_item(bo, "bo-1")
        assert mine.get_by_test_id("open-sheet").count() == 0  # the agent's own view comes first
        assert bo.request.get(f"{base}/api/calls/bo-1/sheet-access").json()["may_see_sheet"] is False
        mine.get_by_test_id("went-well").fill("I kept calm and got the documents sorted")
        mine.get_by_test_id("do-differently").fill("Say sorry for their loss before the paperwork")
        mine.get_by_role("button", name="Send my view").click()
        bo.wait_for_selector('.call[data-call-id="bo-1"][data-assessed="true"]')
        assert call_item(bo, "bo-1").get_by_test_id("open-sheet").get_attribute("href") == "/sheet/bo-1"
        assert bo.request.get(f"{base}/api/calls/bo-1/sheet-access").json()["may_see_sheet"] is True
        assert bo.request.get(f"{base}/api/agents/cy").status == 403
        sheet = bo.context.new_page()  # the coach's sheet, opened from the link, with the agent's own view
        sheet.goto(f"{base}/sheet/bo-1")
        sheet.wait_for_selector("#sheet[aria-busy='false']")
        assert "Say sorry for their loss" in sheet.locator("#self-assessment").inner_text()
        sheet.close()

        open_agent_page(di, base)
        di_call = call_item(di, "bo-1")
        assert "Say sorry for their loss" in di_call.get_by_test_id("own-view").inner_text()
        di_call.get_by_test_id("commit-behaviour").fill(BEHAVIOUR)
        di_call.get_by_test_id("commit-kind").select_option(COLD)
        assert "Cold reply ↔ Empathy" in di_call.get_by_test_id("commit-kind").inner_text()
        di_call.get_by_role("button", name="Record commitment").click()
        di.wait_for_selector('.commitment[data-status="proposed"]')
        assert "Waiting for bo to accept" in di.locator(".commitment").inner_text()
        di.screenshot(path=str(artifacts / "agent-page-lead.png"), full_page=True)

        open_agent_page(bo, base)
        bo.get_by_test_id("accept").click()
        bo.wait_for_selector('.commitment[data-status="following"]')
        assert "Following: 0 of 3 calls" in bo.get_by_test_id("follow-up-status").inner_text()
        assert bo.get_by_test_id("follow-up-chart").count() == 0
        assert not bo.js_errors and not di.js_errors
        bo.context.close()
        di.context.close()

    later = iso(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))  # the agent's next call, after it
    store_agent_call(
        data, "bo-2", agent="bo", team="north", started_at=later, moments=[moment(1, EMPATHY, "praise")]
    )
    with serving(callcoach, model_dir, data, env={"CALLCOACH_FOLLOW_UP_CALLS": "1"}) as base:
        di = log_in(browser, base, "di")  # the lead is told on their page: it held on the next call
        di.wait_for_selector(".notice")
        assert f"\u201c{BEHAVIOUR}\u201d has held on the next 1 call" in di.locator(".notice").inner_text()
        open_agent_page(di, base)
        assert di.get_by_test_id("follow-up-notices").locator('.notice[data-status="held"]').count() == 1
        di.context.close()
        bo = log_in(browser, base, "bo")
        open_agent_page(bo, base)
        chart = bo.get_by_test_id("follow-up-chart")
        assert chart.get_attribute("data-calls") == "1"
        bar = chart.locator('g[data-call-id="bo-2"]')
        assert (bar.get_attribute("data-coach"), bar.get_attribute("data-praise")) == ("0", "1")
        assert bo.get_by_test_id("follow-up-status").inner_text() == "Held on 1 call"
        bo.screenshot(path=str(artifacts / "agent-page.png"), full_page=True)
        bo.emulate_media(media="print")
        assert not bo.get_by_test_id("accept").count() and not bo.locator(".topbar").is_visible()
        assert not bo.js_errors
        bo.context.close()
