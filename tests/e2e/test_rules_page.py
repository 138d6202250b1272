"""A coach-defined rule's alert on the coach's page: a real ``callcoach serve --rules`` analyses a generated
call (espeak-ng, in a temporary folder), and in chromium the rule's card appears when playback reaches the
moment the phrase was said, worded as the team lead wrote it, labelled as a team rule.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.browser import card_state, open_call
from tests.helpers.page_server import call_log, latest_alerts, running_server, wait_until_analysed
from tests.helpers.rules import disclosure, patience
from tests.helpers.synth import synthesise_call

pytestmark = [pytest.mark.browser, pytest.mark.vosk]
CALL = "rules_call"
RULES = patience(
    name="thanks_for_patience",
    why="Thanking people for waiting keeps them on side.",
    suggestion="Keep thanking people after every wait.",
) + disclosure(within_s=[0, 6], title="No recording disclosure in the first 6 s")
TURNS = [
    ("agent", "Thank you for calling Northwind, this is Sam.", 0.0),
    ("customer", "Hi Sam, I have been waiting on hold for an hour.", 0.6),
    ("agent", "Thank you for your patience. Let me look at your account.", 0.8),
    ("customer", "Fine.", 0.6),
    ("agent", "Thanks for calling. Goodbye.", 0.8),
]


@pytest.fixture(scope="module")
def rules_server(callcoach: Path, model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("rules-page")
    recordings = folder / "recordings"
    recordings.mkdir()
    synthesise_call(recordings / f"{CALL}.wav", TURNS)
    rules = folder / "rules.toml"
    rules.write_text(RULES)
    with running_server(callcoach, recordings, model_dir, args=["--rules", str(rules)]) as base:
        wait_until_analysed(base)
        yield base


@pytest.fixture
def site(rules_server: str) -> str:
    """The ``page`` fixture logs in to the rules server (not the samples' one)."""
    return rules_server


def test_a_rule_alert_appears_at_its_moment_of_playback(page: Any, rules_server: str) -> None:
    alerts = {a["last"]["rule"]: a["last"] for a in latest_alerts(call_log(rules_server, CALL)).values()}
    praise, missing = alerts["thanks_for_patience"], alerts["recording_disclosure"]
    assert praise["kind"] == "rule" and missing["detected_s"] == 6.0  # the agent is not speaking then

    open_call(page, rules_server, CALL)
    page.keyboard.press("Space")
    page.wait_for_selector('#play[aria-label="Pause"]', timeout=5000)

    # Each card is absent until the audio reaches its moment, then shown within a second of it.
    for alert in sorted((missing, praise), key=lambda a: float(a["detected_s"])):
        deadline = time.monotonic() + 60
        while (state := card_state(page, alert["id"]))["card"] is None:
            assert state["t"] < alert["detected_s"] + 1.0, f"{alert['rule']} card did not appear in time"
            assert time.monotonic() < deadline, "playback stalled"
            page.wait_for_timeout(20)
        shown = state["card"]
        assert float(shown["shownAtS"]) >= float(alert["detected_s"]) - 0.05
        assert float(shown["shownAtS"]) - float(alert["detected_s"]) <= 1.0
        assert shown["kind"] == "rule" and shown["polarity"] == alert["polarity"]
        assert alert["title"] in state["text"] and alert["suggestion"] in state["text"]
        assert "Team rule" in state["text"]
    assert "thank you for your patience" in card_state(page, praise["id"])["text"]
