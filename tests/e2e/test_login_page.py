"""The login and invite pages in a real browser, against the real server: a page without a session goes to
the login form, a wrong password is answered on the form, the right one leads back to the page; an invite
link sets a password and logs in. A ``next`` that would lead off the server (the probe's ``/%09/host`` and
its kin) leads to this server's page, and a form on another site cannot log the coach out. Screenshots of
both forms land in test-artifacts/ (gitignored).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from callcoach.live.accounts import Accounts
from tests.helpers.auth import PASSWORD, USERNAME, browser_cookie, login_cookie
from tests.helpers.browser import DESKTOP, PHONE
from tests.helpers.page_server import server_data

pytestmark = [pytest.mark.browser, pytest.mark.vosk]
LISTED = ".call-item[data-call-id]"


@pytest.fixture
def anonymous(browser: Any) -> Iterator[Any]:
    """A page with no session; fails the test if a script throws (a refused login is logged as a failed
    resource by the browser, so console errors are not counted here)."""
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    thrown: list[str] = []
    page.on("pageerror", lambda exc: thrown.append(str(exc)))
    try:
        yield page
    finally:
        context.close()
    assert not thrown, f"the page threw: {thrown}"


def test_login_form_then_back_to_the_page(anonymous: Any, server: str, artifacts: Path) -> None:
    page = anonymous
    page.goto(server + "/")
    assert page.url == f"{server}/login?next=/"
    assert page.evaluate("document.activeElement.id") == "username"
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    error = page.wait_for_selector("#error:not([hidden])")
    assert error.inner_text() == "Wrong username or password"
    assert page.get_attribute("#password", "aria-invalid") == "true"
    page.screenshot(path=str(artifacts / "login-refused-1280x800.png"))

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{server}/")
    page.wait_for_selector(LISTED)


def test_login_goes_on_to_next_and_never_off_the_server(browser: Any, server: str) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(f"{server}/login?next=//evil.example/")
        page.get_by_label("Username").fill(USERNAME)
        page.get_by_label("Password").fill(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{server}/")
    finally:
        context.close()


def test_an_invite_link_sets_a_password_and_logs_in(anonymous: Any, server: str, artifacts: Path) -> None:
    accounts = Accounts(server_data(server) / "accounts.sqlite3")
    try:
        accounts.add_user("newbie", "coach", ["default"], display_name="New Coach")
        token = accounts.invite("newbie")
    finally:
        accounts.close()
    page = anonymous
    page.goto(f"{server}/invite/{token}")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Password again").fill("short")
    page.get_by_role("button", name="Set password and log in").click()
    assert (
        page.wait_for_selector("#error:not([hidden])").inner_text().startswith("A password needs at least 8")
    )
    page.get_by_label("Password", exact=True).fill("newbie-password")
    page.get_by_label("Password again").fill("newbie-passw0rd")
    page.get_by_role("button", name="Set password and log in").click()
    page.wait_for_function("() => document.getElementById('error').innerText.includes('differ')")
    page.screenshot(path=str(artifacts / "invite-1280x800.png"))

    page.get_by_label("Password again").fill("newbie-password")
    page.get_by_role("button", name="Set password and log in").click()
    page.wait_for_url(f"{server}/")
    page.wait_for_selector(LISTED)  # a coach of the default team sees the samples

    page.goto(f"{server}/invite/{token}")  # the link is used up
    page.get_by_label("Password", exact=True).fill("another-password")
    page.get_by_label("Password again").fill("another-password")
    page.get_by_role("button", name="Set password and log in").click()
    assert "used or expired" in page.wait_for_selector("#error:not([hidden])").inner_text()


# The probe's next (the browser drops the tab, leaving //127.0.0.1:9/stolen, another host) and its kin.
OFF_THE_SERVER = [
    "/%09/127.0.0.1:9/stolen",
    "/%0A/127.0.0.1:9/stolen",
    "/%5C127.0.0.1:9/stolen",  # a backslash reads as a slash
    "javascript:location.assign('http://127.0.0.1:9/stolen')",
]


def log_in_on_the_form(page: Any) -> None:
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")


@pytest.mark.parametrize("next_path", OFF_THE_SERVER)
def test_login_with_a_next_to_another_host_stays_on_the_server(
    anonymous: Any, server: str, next_path: str
) -> None:
    page = anonymous
    page.goto(f"{server}/login?next={next_path}")
    log_in_on_the_form(page)
    page.wait_for_url(f"{server}/")
    page.wait_for_selector(LISTED)


@pytest.mark.parametrize("next_path", OFF_THE_SERVER)
def test_the_login_page_alone_never_leaves_the_server(anonymous: Any, server: str, next_path: str) -> None:
    """The page's own check: the login page is served at the hostile address as it stands (the server's
    replacement of ``next`` bypassed), and logging in still leads to this server's page."""
    page = anonymous
    page.route(
        lambda url: "/login?next=" in url,
        lambda route: route.fulfill(response=route.fetch(url=f"{server}/login")),
    )
    page.goto(f"{server}/login?next={next_path}")
    assert page.evaluate("location.search").startswith("?next=")
    log_in_on_the_form(page)
    page.wait_for_url(f"{server}/")
    page.wait_for_selector(LISTED)


def test_a_form_on_another_site_cannot_log_the_coach_out(browser: Any, server: str) -> None:
    """The probe's cross-site form: a page on another origin of the same host (so the SameSite=Strict
    cookie goes along) posts to /api/logout. It is refused, and the coach is still logged in."""
    evil = "http://127.0.0.1:9"  # another origin; the page is made up by Playwright, nothing listens there
    form = (
        f'<form method="post" action="{server}/api/logout"><input name="x" value="1">'
        '<button type="submit">Win a prize</button></form>'
    )
    context = browser.new_context(viewport=DESKTOP)
    try:
        context.add_cookies([browser_cookie(server, login_cookie(server))])  # its own session, not the shared
        page = context.new_page()
        page.route(f"{evil}/prize", lambda route: route.fulfill(content_type="text/html", body=form))
        page.goto(f"{evil}/prize")
        with page.expect_response(f"{server}/api/logout") as posted:
            page.get_by_role("button", name="Win a prize").click()
        assert posted.value.status == 403
        assert posted.value.json()["code"] == "forbidden_origin"
        page.goto(f"{server}/")
        assert page.url == f"{server}/"  # not sent to the login
        page.wait_for_selector(LISTED)
    finally:
        context.close()
