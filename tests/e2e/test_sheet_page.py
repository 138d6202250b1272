"""The coaching sheet page (``/sheet/ID``) in Debian's chromium, against the real server: the cold
bereavement sample analysed by real Vosk, with a coach's praise note and a lead's pin added over the
websocket as the page adds them. Strengths come before the opportunities; a moment's play button plays the
recording from that moment; the print view is a PDF with the quotes in it; the call view links to it (and
downloads its transcript).
Screenshots of the page and of the print view land in test-artifacts/ (gitignored).
"""

from __future__ import annotations

import io
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from tests.helpers.auth import cookie_header
from tests.helpers.browser import PHONE, open_call
from tests.helpers.page_server import get_json, log_in, running_server, session, wait_until_analysed

pytestmark = [pytest.mark.browser, pytest.mark.vosk]
CALL = "bereavement_cold"
PRAISE_NOTE = "Warm, clear greeting: your name and an offer of help."
READY = "#sheet[aria-busy='false']"


# Two team rules the cold call breaks, so that it has four moments to coach: one more than a sheet shows.
RULES = """
[[rule]]
name = "recording_disclosure"
speaker = "agent"
say = ["call may be recorded", "calls are recorded"]
when = "missing"
within_s = [0, 30]
polarity = "coach"
title = "No recording disclosure in the first 30 s"
why = "Callers must hear that the call is recorded before they share anything personal."
suggestion = "Say it in the greeting: 'This call may be recorded for quality and training purposes.'"

[[rule]]
name = "paperwork_first"
speaker = "agent"
say = ["documents"]
when = "said"
polarity = "coach"
title = "Paperwork before the person"
why = "Asking for documents is business; it waits until the customer has been heard."
suggestion = "Ask how they are doing first; the documents can follow."
"""


@pytest.fixture(scope="module")
def site(
    callcoach: Path, samples: Path, model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A server of its own (the notes and pins added here stay out of the other page tests' calls), with
    the team rules above."""
    recordings = tmp_path_factory.mktemp("sheet-recordings")
    shutil.copy(samples / f"{CALL}.wav", recordings)
    rules = recordings.parent / "sheet-rules.toml"
    rules.write_text(RULES)
    with running_server(callcoach, recordings, model_dir, args=("--rules", str(rules))) as base:
        wait_until_analysed(base)
        annotate(base)
        yield base


def annotate(base: str) -> None:
    """A praise note on the greeting and a pin on the cold reply, sent as the page sends them; back once the
    sheet has both."""
    from websockets.sync.client import connect

    sheet = get_json(f"{base}/api/calls/{CALL}/sheet")
    cold = sheet["opportunities"][0]["id"]
    greeting = {"speaker": "agent", "text": "thank you for calling", "start_s": 0.5, "end_s": 6.1}
    note = {"at_s": 1.0, "tag": "praise", "text": PRAISE_NOTE, "quote": greeting}
    messages = [
        {"v": 1, "type": "add_note", "call_id": CALL, **note},
        {"v": 1, "type": "set_pin", "call_id": CALL, "target_id": cold, "pinned": True},
    ]
    url = base.replace("http://", "ws://") + "/ws"
    with connect(url, open_timeout=10, additional_headers=cookie_header(session(base))) as ws:
        for message in messages:
            ws.send(json.dumps(message))
        deadline = time.monotonic() + 20
        while not _annotated(get_json(f"{base}/api/calls/{CALL}/sheet")):
            assert time.monotonic() < deadline, "the note and the pin did not reach the sheet"
            time.sleep(0.2)


def _annotated(sheet: dict[str, Any]) -> bool:
    return bool(sheet["notes"]) and sheet["opportunities"][0]["pinned"]


def test_strengths_first_then_the_ranked_opportunities(page: Any, site: str, artifacts: Path) -> None:
    page.goto(f"{site}/sheet/{CALL}")
    page.wait_for_selector(READY)
    strengths, opportunities = page.locator("#strengths"), page.locator("#opportunities")
    assert strengths.bounding_box()["y"] < opportunities.bounding_box()["y"]
    [strength] = page.locator("#strength-list > li").all()
    assert PRAISE_NOTE in strength.inner_text() and "00:01" in strength.inner_text()
    cards = page.locator("#opportunity-list > li").all()
    assert len(cards) == 3  # the cold reply, then the two team rules by time; the silence is folded away
    cold, disclosure, paperwork = (card.inner_text() for card in cards)
    assert "Cold reply" in cold and "passed away" in cold and "00:21" in cold
    assert "WHY IT MATTERS" in cold.upper() and "TRY INSTEAD" in cold.upper()
    assert "sorry" in cold.lower() and cards[0].locator(".pin-badge").count() == 1
    assert "Team rule: recording_disclosure" in disclosure and "Team rule: paperwork_first" in paperwork
    more = page.locator("#more")
    assert more.get_attribute("open") is None and "1 more moment to coach" in more.inner_text()
    assert page.locator("#more-list").is_hidden()
    more.locator("summary").click()
    silence = page.locator("#more-list > li")
    assert silence.count() == 1 and "of silence" in silence.inner_text() and "00:15" in silence.inner_text()
    assert page.locator("#balance").inner_text().replace("\n", " ").endswith("1 praise · 4 to coach")
    assert PRAISE_NOTE in page.locator("#note-list").inner_text()
    assert "Not written yet" in page.locator("#self-assessment").inner_text()
    page.screenshot(path=str(artifacts / "sheet-1280x800.png"), full_page=True)


def test_a_play_button_plays_the_recording_from_its_moment(page: Any, site: str) -> None:
    page.goto(f"{site}/sheet/{CALL}")
    page.wait_for_selector(READY)
    button = page.locator("#opportunity-list > li").first.locator("button.play-from")
    start_s = float(button.get_attribute("data-seek-s"))
    assert 20 < start_s < 23 and page.evaluate("document.getElementById('audio').currentTime") == 0
    button.click()
    page.wait_for_function(
        "s => { const a = document.getElementById('audio'); return !a.paused && a.currentTime >= s; }",
        arg=start_s,
    )
    assert page.evaluate("document.getElementById('audio').currentSrc").endswith(f"/recordings/{CALL}")
    assert button.get_attribute("aria-pressed") == "true"
    button.click()  # again: pause
    page.wait_for_function("() => document.getElementById('audio').paused")
    assert button.get_attribute("aria-pressed") == "false"


def test_the_print_view_is_an_a4_pdf_with_the_quotes(page: Any, site: str, artifacts: Path) -> None:
    page.goto(f"{site}/sheet/{CALL}")
    page.wait_for_selector(READY)
    pdf = page.pdf(format="A4", print_background=True)
    (artifacts / "sheet.pdf").write_bytes(pdf)
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in reader.pages)
    width_pt, height_pt = float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)
    assert (width_pt, height_pt) == (pytest.approx(595.3, abs=1.5), pytest.approx(841.9, abs=1.5))  # A4
    assert "passed away" in text and "if you can get" in text  # the news and the cold reply, quoted
    assert PRAISE_NOTE in text and "Cold reply" in text and "00:21" in text
    assert text.upper().index("WHAT WENT WELL") < text.upper().index(
        "TO WORK ON"
    )  # headings print in capitals
    assert "Print" not in text and "Open the call" not in text  # the controls stay on the screen
    assert "1 more moment to coach" in text and "of silence" not in text  # the folded one stays folded
    page.emulate_media(media="print")  # the print view as the PDF has it, to look at
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    page.screenshot(path=str(artifacts / "sheet-print-a4.png"), full_page=True)


def test_the_open_call_links_to_its_sheet(page: Any, site: str, artifacts: Path) -> None:
    open_call(page, site, CALL)
    page.screenshot(path=str(artifacts / "sheet-link-1280x800.png"))
    page.get_by_test_id("download-menu").locator("summary").click()  # the call's downloads, beside it
    with page.expect_download() as download:
        page.get_by_test_id("download-vtt").click()
    assert download.value.suggested_filename == f"{CALL}.vtt"
    assert Path(download.value.path()).read_text().startswith("WEBVTT\n\n1\n00:00:00.")
    if not page.get_by_test_id("download-pdf").is_visible():  # the menu may close after a download
        page.get_by_test_id("download-menu").locator("summary").click()
    with page.expect_download() as download:
        page.get_by_test_id("download-pdf").click()  # the coaching sheet, as a PDF
    assert download.value.suggested_filename == f"{CALL}-sheet.pdf"
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF-")
    page.keyboard.press("Escape")
    page.locator("#sheet-link").click()
    page.wait_for_url(f"{site}/sheet/{CALL}")
    page.wait_for_selector(READY)
    page.locator("#open-call").click()  # and back to the call
    page.wait_for_url(f"{site}/#call={CALL}")


def test_an_unknown_call_says_so_on_the_page(browser: Any, site: str, artifacts: Path) -> None:
    """A page of its own: the browser logs the refused request as a failed resource, which the ``page``
    fixture would count as an error of the page's."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        log_in(page, site)
        thrown: list[str] = []
        page.on("pageerror", lambda exc: thrown.append(str(exc)))
        page.goto(f"{site}/sheet/nope")
        problem = page.wait_for_selector("#sheet-problem:not([hidden])")
        assert problem.inner_text() == "there is no call 'nope': pick one from the list"
        assert page.locator("#sheet-body").is_hidden() and not thrown
    finally:
        context.close()


def test_on_a_phone_the_conversation_comes_first_in_one_column(
    phone: Any, site: str, artifacts: Path
) -> None:
    phone.goto(f"{site}/sheet/{CALL}")
    phone.wait_for_selector(READY)
    side, strengths = phone.locator(".sheet-side").bounding_box(), phone.locator("#strengths").bounding_box()
    assert side["y"] < strengths["y"] and strengths["width"] <= 390
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    phone.screenshot(path=str(artifacts / "sheet-390x844.png"), full_page=True)
