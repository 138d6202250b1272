"""Browser tests' fixtures: the real server (real Vosk model) in a subprocess, chromium via Playwright.

The fixtures are built on plain helpers (``tests/helpers/page_server.py``, ``tests/helpers/browser.py``) so
that the page latency benchmark (tests/bench/page_latency.py) starts the server and the browser exactly as
the tests do.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.browser import CHROMIUM, DESKTOP, PHONE, launch_browser
from tests.helpers.page_server import log_in, running_server, wait_until_analysed

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


# --- fixtures ---


@pytest.fixture(scope="session")
def server(callcoach: Path, samples: Path, model_dir: Path) -> Iterator[str]:
    """The real server on the sample calls; its base URL."""
    with running_server(callcoach, samples, model_dir) as base:
        yield base


@pytest.fixture(scope="session")
def calls(server: str) -> dict[str, dict[str, Any]]:
    """The call list once every sample is analysed, by call id."""
    return {c["call_id"]: c for c in wait_until_analysed(server)}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one test module: Playwright's sync API holds an event loop in this thread while it
    runs, which must be gone before any asyncio test (tests/web) starts one of its own."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        yield browser
        browser.close()


@pytest.fixture
def artifacts() -> Path:
    """Where screenshots go (gitignored); look at them."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def site(server: str) -> str:
    """The server the ``page`` and ``phone`` fixtures are logged in to (a module may override it)."""
    return server


def _new_page(browser: Any, viewport: dict[str, int], site: str, **options: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=viewport, **options)
    page = context.new_page()
    log_in(page, site)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.js_errors = errors
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"the page logged errors: {errors}"


@pytest.fixture
def page(browser: Any, site: str) -> Iterator[Any]:
    """A fresh desktop page (1280×800), logged in to ``site``; the test fails if the page throws or logs
    an error."""
    yield from _new_page(browser, DESKTOP, site)


@pytest.fixture
def phone(browser: Any, site: str) -> Iterator[Any]:
    """A fresh phone-sized page (390×844, touch, 2× pixels), logged in to ``site``."""
    yield from _new_page(browser, PHONE, site, device_scale_factor=2, is_mobile=True, has_touch=True)
