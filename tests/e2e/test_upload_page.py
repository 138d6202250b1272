"""Uploading recordings on the page, in Debian's chromium against a real ``callcoach serve``: a lead picks
three files at once, one of them a text file named .wav; each shows its upload progress and outcome, the
bad one its reason, the two good ones join the call list under the lead's team, show how far their
analysis is or that they are ready, play, and have their moments. A coach gets no upload box.

Accounts: ``di`` (lead of north), ``fay`` (coach of north). The calls are synthesised for the test: a
cold reply to bad news, and a silence of six seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from callcoach.detectors.bad_news import COLD
from tests.e2e.test_agent_page import PASSWORD, log_in
from tests.helpers.auth import create_user
from tests.helpers.coaching import serving
from tests.helpers.synth import synthesise_call

COLD_CALL = [
    ("customer", "I know you needed those documents but my uncle just passed away unexpectedly.", 0.0),
    ("agent", "Well, if you can get those documents in to me this week, we'll be able to move forward.", 0.8),
]
SILENT_CALL = [
    ("agent", "Thank you for calling, how can I help you today?", 0.0),
    ("customer", "Hello, are you still there?", 6.5),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("to-upload")
    notes = folder / "notes.wav"
    notes.write_text("Call notes: ring back on Tuesday.\n")
    return [
        synthesise_call(folder / "Cold reply.wav", COLD_CALL),
        notes,
        synthesise_call(folder / "Dead air.wav", SILENT_CALL),
    ]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    create_user(data, "di", PASSWORD.format("di"), role="lead", teams=("north",))
    create_user(data, "fay", PASSWORD.format("fay"), role="coach", teams=("north",))
    return data


def items(page: Any) -> dict[str, dict[str, str]]:
    """Each upload line's state, call id, progress bar and outcome, by file name."""
    rows: list[dict[str, str]] = page.locator('[data-testid="upload-item"]').evaluate_all(
        """els => els.map(e => ({name: e.dataset.name, state: e.dataset.state, call: e.dataset.callId || '',
            code: e.dataset.code || '', progress: String(e.querySelector('progress').value),
            outcome: e.querySelector('[data-testid="upload-outcome"]').textContent}))"""
    )
    return {row["name"]: row for row in rows}


def test_a_lead_uploads_three_files_and_the_two_good_ones_play_with_their_moments(
    browser: Any, callcoach: Path, model_dir: Path, data: Path, files: list[Path], artifacts: Path
) -> None:
    with serving(callcoach, model_dir, data) as base:
        di = log_in(browser, base, "di")
        di.wait_for_selector('body[data-upload="on"] [data-testid="upload-input"]', state="attached")
        assert di.locator(".upload-team").get_attribute("data-team") == "north"
        di.locator("#upload-input").focus()  # the real input, reached from the keyboard behind its label
        assert di.evaluate("document.activeElement.id") == "upload-input"
        assert (
            di.locator("#upload-input").evaluate("e => e.labels[0].textContent.trim()") == "Upload recordings"
        )
        di.locator("#upload-input").set_input_files([str(f) for f in files])  # as the picker gives them
        di.wait_for_function(
            """() => [...document.querySelectorAll('[data-testid="upload-item"]')]
                .filter(e => e.dataset.state === 'done' || e.dataset.state === 'refused').length === 3""",
            timeout=60_000,
        )
        seen = items(di)
        assert seen["notes.wav"]["state"] == "refused" and seen["notes.wav"]["code"] == "not_audio"
        assert "notes.wav is not audio" in seen["notes.wav"]["outcome"]
        cold, silent = seen["Cold reply.wav"], seen["Dead air.wav"]
        for good in (cold, silent):
            assert (
                good["state"] == "done" and good["progress"] == "100" and "Added to north" in good["outcome"]
            )
        # Listed at once: analysing (with how far, once it has begun) or already ready.
        for good in (cold, silent):
            di.wait_for_selector(f'.call-item[data-call-id="{good["call"]}"]')
        shown = di.locator(f'.call-item[data-call-id="{cold["call"]}"] .call-title').inner_text()
        assert shown == "Cold reply"  # the name it was uploaded as (the list drops the extension)
        di.screenshot(path=str(artifacts / "upload-batch.png"))
        for good in (cold, silent):
            di.wait_for_selector(
                f'.call-item[data-call-id="{good["call"]}"][data-status="ready"]', timeout=180_000
            )

        for good, kind in ((cold, COLD), (silent, "silence")):
            di.locator(f'.call-item[data-call-id="{good["call"]}"] button').click()
            di.wait_for_function("() => document.getElementById('audio').readyState >= 1")  # it plays
            di.evaluate(
                "document.getElementById('audio').currentTime = document.getElementById('audio').duration"
            )
            di.wait_for_selector(f'#cards .card[data-kind="{kind}"]', timeout=20_000)

        # A file dropped on the call list goes up the same way (a drop carries files in a DataTransfer).
        di.evaluate(
            """() => {
                const drop = new DataTransfer();
                drop.items.add(new File(['not a call'], 'dropped.wav', {type: 'audio/wav'}));
                document.getElementById('call-list').dispatchEvent(
                    new DragEvent('drop', {dataTransfer: drop, bubbles: true, cancelable: true}));
            }"""
        )
        di.wait_for_selector('[data-testid="upload-item"][data-name="dropped.wav"][data-state="refused"]')
        assert items(di)["dropped.wav"]["code"] == "not_audio"
        assert not di.js_errors


def test_a_coach_gets_no_upload_box(browser: Any, callcoach: Path, model_dir: Path, data: Path) -> None:
    with serving(callcoach, model_dir, data) as base:
        fay = log_in(browser, base, "fay")
        fay.wait_for_selector('body[data-upload="off"]', state="attached")  # the page asked who fay is
        assert fay.locator('[data-testid="upload-input"]').count() == 0
