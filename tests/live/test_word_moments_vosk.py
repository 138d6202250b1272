"""Frustration, de-escalation, ownership and the wider bad news, end to end on real Vosk.

Two calls are synthesised into a temporary folder by ``tests/helpers/synth.py``
(espeak-ng and sox; stereo 16 kHz, the agent left, the customer right; never committed) and run through
``callcoach analyze --json`` side by side, as a user runs it. Each call holds the moments that must be
flagged and the look-alikes that must not: "I'll need the police report" and "I'll transfer you" are no
ownership, "cancel the old card" is no threat to leave.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from callcoach.live.codec import from_json
from callcoach.live.eventlog import latest_alerts
from callcoach.live.events import Alert
from tests.helpers.server import clean_env
from tests.helpers.synth import synthesise_call

pytestmark = [pytest.mark.vosk]

GREETING = ("agent", "Thank you for calling Northwind, this is Sam. How can I help you today?", 0.0)
# (speaker, what they say, the silence before it in seconds)
CALLS: dict[str, list[tuple[str, str, float]]] = {
    # The agent carries on with business after the customer's anger, then apologises with a "but".
    "cold": [
        GREETING,
        (
            "customer",
            "This is my third time calling about my internet, and honestly it's ridiculous.",
            0.8,
        ),
        ("agent", "Okay. Can I take your account number and the postcode please?", 0.8),
        (
            "customer",
            "Someone broke into our house last week and took my bank card, so I need to cancel the old card.",
            0.8,
        ),
        ("agent", "I'm sorry, but I'll need the police report first.", 0.8),
        ("customer", "Fine.", 0.8),
        ("agent", "I'll transfer you to the cards team.", 0.8),
    ],
    # The agent names the feeling and takes the problem on, then meets the news with empathy.
    "warm": [
        GREETING,
        ("customer", "I've been on hold for forty five minutes and I want to speak to a manager.", 0.8),
        ("agent", "I can hear how frustrating this has been, and I'm going to fix it now.", 0.8),
        ("customer", "My baby was born premature and she's in the NICU, so I can't come to the branch.", 0.8),
        ("agent", "Oh, I'm so sorry, I hope she's doing okay. Please don't worry about the branch.", 0.8),
        ("customer", "Thank you.", 0.8),
        # A second commitment, in a later exchange: praised again, once per exchange.
        ("agent", "I'll call you back by four o'clock today.", 0.8),
    ],
}


@pytest.fixture(scope="module")
def runs(
    tmp_path_factory: pytest.TempPathFactory, callcoach: Path, model_dir: Path
) -> dict[str, list[Alert]]:
    """Each call synthesised, then analysed (both at once: each is one process on one core)."""
    folder = tmp_path_factory.mktemp("word_moments")
    procs: dict[str, subprocess.Popen[str]] = {}
    for name, turns in CALLS.items():
        path = synthesise_call(folder / f"{name}.wav", turns)  # in the sample calls' voices
        command = [str(callcoach), "analyze", str(path), "--json", "--model", str(model_dir)]
        procs[name] = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env()
        )
    out = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr
        lines: list[dict[str, Any]] = [json.loads(line) for line in stdout.splitlines()]
        out[name] = latest_alerts([e for line in lines if isinstance(e := from_json(line), Alert)])
    return out


def kinds(found: list[Alert]) -> list[str]:
    return [a.kind for a in found]


def test_business_after_anger_is_coached_with_a_fitted_acknowledgement(runs: dict[str, list[Alert]]) -> None:
    [alert] = [a for a in runs["cold"] if a.kind == "customer_frustration"]
    assert alert.polarity == "coach" and alert.speaker == "agent"
    assert "ridiculous" in alert.quotes[0].text and "account number" in alert.quote
    assert "call about this again" in alert.suggestion  # fitted to "my third time calling"


def test_sorry_but_to_a_crime_is_a_cold_reply_without_the_but(runs: dict[str, list[Alert]]) -> None:
    [alert] = [a for a in runs["cold"] if a.kind == "cold_reply_to_bad_news"]
    assert "a crime against them" in alert.why and '"but"' in alert.why
    assert "sorry" in alert.quote and "police report" in alert.quote
    assert "I'm so sorry that happened to you. Are you okay? The police report can wait." in alert.suggestion


def test_the_cold_call_has_no_praise_ownership_or_threat(runs: dict[str, list[Alert]]) -> None:
    # "I'll need the police report", "I'll transfer you": no ownership; "cancel the old card": no threat.
    assert sorted(kinds(runs["cold"])) == ["cold_reply_to_bad_news", "customer_frustration"]


def test_naming_the_feeling_is_praised_as_de_escalation(runs: dict[str, list[Alert]]) -> None:
    [alert] = [a for a in runs["warm"] if a.kind == "de_escalation"]
    assert alert.polarity == "praise" and "frustrating" in alert.quote
    assert "manager" in alert.quotes[0].text or "hold" in alert.quotes[0].text


def test_ownership_is_praised_once_per_exchange(runs: dict[str, list[Alert]]) -> None:
    first, second = [a for a in runs["warm"] if a.kind == "ownership"]
    assert first.polarity == second.polarity == "praise"
    assert "fix" in first.quote and "Saying when" in first.suggestion
    assert "four" in second.quote and "and when" in second.suggestion


def test_a_newborn_in_intensive_care_met_with_empathy(runs: dict[str, list[Alert]]) -> None:
    [alert] = [a for a in runs["warm"] if a.kind == "empathy_shown"]
    assert "a newborn in intensive care" in alert.title and "sorry" in alert.quote
    assert sorted(kinds(runs["warm"])) == ["de_escalation", "empathy_shown", "ownership", "ownership"]
