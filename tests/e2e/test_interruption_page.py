"""The interruption alert on the coach's page, in a real browser against a real ``callcoach serve``.

The server of this module has one recording, a generated call in which the agent cuts the customer off
(``tests/helpers/turn_calls.py``; written to a tmp dir, never committed). Played from a few seconds
before the moment, the page shows no interruption card until the audio reaches the moment the alert
could be known, then shows it with the customer's cut-off words and the agent's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from callcoach.detectors.registry import KINDS
from tests.helpers.browser import card_state, open_call
from tests.helpers.page_server import call_log, latest_alerts, running_server, wait_until_analysed
from tests.helpers.turn_calls import INTERRUPTION, write_call

pytestmark = [pytest.mark.browser, pytest.mark.vosk]
CALL = "cut_off"


@pytest.fixture(scope="module")
def site(callcoach: Path, model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server of this module's own, with the generated interruption call analysed."""
    recordings = tmp_path_factory.mktemp("interruption-recordings")
    write_call(recordings / f"{CALL}.wav", INTERRUPTION)
    with running_server(callcoach, recordings, model_dir) as base:
        wait_until_analysed(base)
        yield base


def test_the_interruption_card_appears_when_playback_reaches_it(
    page: Any, site: str, artifacts: Path
) -> None:
    alerts = latest_alerts(call_log(site, CALL))
    [entry] = [a for a in alerts.values() if a["last"]["kind"] == "interruption"]
    first, last = entry["first"], entry["last"]
    alert_id, detected_s = first["id"], first["detected_s"]
    open_call(page, site, CALL)

    # From 3 s before the moment: no card while the audio is short of it.
    page.evaluate(f"document.getElementById('audio').currentTime = {detected_s - 3.0}")
    page.keyboard.press("Space")
    page.wait_for_selector('#play[aria-label="Pause"]', timeout=5000)
    while (state := card_state(page, alert_id))["card"] is None:
        assert state["t"] < detected_s + 3.0, "the interruption card never appeared"
        page.wait_for_timeout(30)
    page.keyboard.press("Space")  # pause
    card = state["card"]
    assert state["t"] >= detected_s - 0.05  # not before the audio reached it
    assert float(card["shownAtS"]) >= float(card["detectedS"]) - 0.05
    assert card["kind"] == "interruption" and card["polarity"] == "coach"

    # The card, once the agent's final line is in (the latest revision), says who cut in on what.
    page.evaluate(f"document.getElementById('audio').currentTime = {last['detected_s'] + 4.0}")
    page.wait_for_function(
        """([id, rev]) => {
            const card = document.querySelector(`#cards .card[data-alert-id="${id}"]`);
            return card && card.dataset.revision === String(rev);
        }""",
        arg=[alert_id, last["revision"]],
        timeout=5000,
    )
    locator = page.locator(f'#cards .card[data-alert-id="{alert_id}"]')
    assert locator.locator(".card-title").inner_text() == last["title"]
    assert locator.locator(".kind").inner_text() == KINDS["interruption"].label
    customer = next(q for q in last["quotes"] if q["speaker"] == "customer")
    agent = next(q for q in last["quotes"] if q["speaker"] == "agent")
    assert customer["text"] in locator.locator(".quote.customer blockquote").inner_text()
    assert agent["text"] in locator.locator(".quote.agent blockquote").inner_text()
    page.screenshot(path=str(artifacts / "page-interruption.png"))
