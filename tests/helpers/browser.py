"""Debian's chromium through Playwright, as the browser tests and the page latency benchmark launch it, the
two page sizes they look at, and the steps the page tests share: opening a call, reading a card."""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
# Headless chromium that plays audio with no user gesture (currentTime advances) and stays off the network.
BROWSER_ARGS = [
    "--autoplay-policy=no-user-gesture-required",
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def launch_browser(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=BROWSER_ARGS)


def open_call(page: Any, server: str, call_id: str) -> None:
    """Open ``call_id`` from the call list and wait until its audio's duration is known."""
    page.goto(server + "/")
    page.locator(f'.call-item[data-call-id="{call_id}"] button').click()
    page.wait_for_selector("#call:not([hidden])")
    page.wait_for_function("() => document.getElementById('audio').readyState >= 1")  # duration known


def card_state(page: Any, alert_id: str) -> dict[str, Any]:
    """currentTime and the card's data attributes, read in one go (``card`` is None while it is absent)."""
    state: dict[str, Any] = page.evaluate(
        """id => {
            const card = document.querySelector(`#cards .card[data-alert-id="${id}"]`);
            return {
                t: document.getElementById('audio').currentTime,
                card: card ? {...card.dataset} : null,
                text: card ? card.innerText : null,
                ongoing: card ? card.classList.contains('ongoing') : null,
            };
        }""",
        alert_id,
    )
    return state
