"""The coach's page in a real browser against the real server: alerts appear when the audio reaches them.

Timing is measured in the page's own terms: every alert card carries ``data-detected-s`` (the moment the
alert could be known) and ``data-shown-at-s`` (the audio's currentTime when the card was put on the page).
Screenshots land in test-artifacts/ (gitignored).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from callcoach.detectors.registry import KINDS
from tests.helpers.browser import card_state, open_call
from tests.helpers.page_server import call_log, latest_alerts

pytestmark = [pytest.mark.browser, pytest.mark.vosk]
COLD = "bereavement_cold"
EXPECTED_COUNTS = {"bereavement_cold": (2, 0), "bereavement_warm": (0, 1), "plain": (0, 0)}
CARD = '#cards .card[data-alert-id="{}"]'


def current_time(page: Any) -> float:
    return float(page.evaluate("document.getElementById('audio').currentTime"))


def poll(page: Any, until: Callable[[], bool], timeout_s: float, every_s: float = 0.03) -> None:
    deadline = time.monotonic() + timeout_s
    while not until():
        assert time.monotonic() < deadline, "timed out"
        page.wait_for_timeout(every_s * 1000)


@pytest.fixture(scope="module")
def cold_alerts(server: str, calls: dict[str, Any]) -> dict[str, dict[str, Any]]:
    alerts = latest_alerts(call_log(server, COLD))
    assert {a["last"]["kind"] for a in alerts.values()} == {"silence", "cold_reply_to_bad_news"}
    return alerts


def alert_of(alerts: dict[str, dict[str, Any]], kind: str) -> dict[str, Any]:
    (entry,) = [a for a in alerts.values() if a["last"]["kind"] == kind]
    return entry


def test_call_list_shows_the_samples_with_counts(page: Any, server: str, calls: dict[str, Any]) -> None:
    page.goto(server + "/")
    page.wait_for_function("() => document.querySelectorAll('.call-item[data-status=ready]').length === 3")
    items = page.eval_on_selector_all(
        ".call-item", "items => items.map(i => ({...i.dataset, text: i.textContent.replace(/\\s+/g, ' ')}))"
    )
    seen = {i["callId"]: i for i in items}
    assert set(seen) == set(EXPECTED_COUNTS)
    for call_id, (coach, praise) in EXPECTED_COUNTS.items():
        item = seen[call_id]
        assert (int(item["coach"]), int(item["praise"])) == (coach, praise), call_id
        assert (calls[call_id]["coach_alerts"], calls[call_id]["praise_alerts"]) == (coach, praise)
        assert f"{coach} coach" in item["text"] and f"{praise} praise" in item["text"]
        assert item["live"] == "false"
    assert "Bereavement cold" in seen[COLD]["text"]
    assert "00:34" in seen[COLD]["text"]  # the call's length


def test_replay_shows_each_alert_when_the_audio_reaches_it(
    page: Any, server: str, cold_alerts: dict[str, dict[str, Any]], artifacts: Path
) -> None:
    silence, cold = alert_of(cold_alerts, "silence"), alert_of(cold_alerts, "cold_reply_to_bad_news")
    silence_id, cold_id = silence["first"]["id"], cold["first"]["id"]
    cold_clock = "00:{:02d}".format(int(cold["first"]["detected_s"]))
    open_call(page, server, COLD)

    # Up to just before the silence nothing is measured: play at double speed, checking the card is absent.
    page.evaluate("document.getElementById('audio').playbackRate = 2")
    page.keyboard.press("Space")
    poll(page, lambda: current_time(page) > 0.2, 5)
    page.wait_for_selector('#play[aria-label="Pause"]', timeout=2000)
    while (state := card_state(page, silence_id))["t"] < silence["first"]["start_s"] - 2.5:
        assert state["card"] is None, f"silence card shown at {state['t']:.2f} s"
        page.wait_for_timeout(40)
    page.evaluate("document.getElementById('audio').playbackRate = 1")

    # At normal speed: absent until the audio reaches the alert, then there within 1 s of detected_s.
    while (state := card_state(page, silence_id))["card"] is None:
        assert state["t"] < silence["first"]["detected_s"] + 1.0, "the silence card did not appear in time"
        page.wait_for_timeout(20)
    card = state["card"]
    assert card["kind"] == "silence" and card["polarity"] == "coach"
    lag_s = float(card["shownAtS"]) - float(card["detectedS"])
    assert float(card["detectedS"]) == pytest.approx(silence["first"]["detected_s"])
    assert float(card["shownAtS"]) >= silence["first"]["start_s"]
    assert 0.0 <= lag_s <= 1.0, f"silence card {lag_s * 1000:.0f} ms after its moment"
    assert state["ongoing"] and "Ongoing" in state["text"]  # the silence is still going on

    # When the agent finally speaks, the same card updates with the silence's length.
    final_length = f"{silence['last']['duration_s']:.1f} s"
    poll(
        page,
        lambda: (
            (card_state(page, silence_id)["card"] or {}).get("revision") == str(silence["last"]["revision"])
        ),
        3,
    )
    state = card_state(page, silence_id)
    assert not state["ongoing"] and final_length in state["text"]
    assert page.locator("#cards .card").count() == 1

    # The cold reply: the customer's news and the agent's reply, and what to say instead.
    while (state := card_state(page, cold_id))["card"] is None:
        assert state["t"] < cold["first"]["detected_s"] + 1.0, "the cold-reply card did not appear in time"
        page.wait_for_timeout(20)
    lag_s = float(state["card"]["shownAtS"]) - float(state["card"]["detectedS"])
    assert 0.0 <= lag_s <= 1.0
    page.keyboard.press("Space")  # pause
    page.wait_for_selector('#play[aria-label="Play"]', timeout=2000)
    assert page.evaluate("document.getElementById('audio').paused")
    cold_card = page.locator(CARD.format(cold_id))
    agent_quote = next(q for q in cold["last"]["quotes"] if q["speaker"] == "agent")
    customer_quote = next(q for q in cold["last"]["quotes"] if q["speaker"] == "customer")
    assert agent_quote["text"] in cold_card.locator(".quote.agent blockquote").inner_text()
    assert customer_quote["text"] in cold_card.locator(".quote.customer blockquote").inner_text()
    assert cold["last"]["suggestion"] == cold_card.locator(".advice p").inner_text()
    assert cold["last"]["title"] == cold_card.locator(".card-title").inner_text()
    assert cold_card.locator(".pill").text_content() == "Coach"
    # The kind's label and icon come from the server's welcome (the detectors' AlertKind), not the page.
    assert cold_card.locator(".kind").inner_text() == KINDS["cold_reply_to_bad_news"].label
    assert cold_card.locator(".pill svg path").count() >= 1  # the named icon exists in the page's set
    assert page.locator("#tl-layer .tl-marker").count() == 2
    # Screen readers hear it too.
    page.wait_for_function("() => document.getElementById('announcer').textContent.includes('Cold reply')")
    assert page.inner_text("#announcer").startswith("Coach alert at 00:26: Cold reply")
    page.wait_for_timeout(2600)  # let the new-card highlight fade
    page.screenshot(path=str(artifacts / "page-desktop-1280x800.png"))

    # Clicking an alert's time seeks there and plays; the cold-reply card is in the future again.
    page.locator(CARD.format(cold_id)).locator(".time-btn").click()
    assert current_time(page) == pytest.approx(cold["first"]["start_s"], abs=0.3)
    page.wait_for_function("() => !document.getElementById('audio').paused")
    page.keyboard.press("Space")
    page.wait_for_selector(CARD.format(cold_id), state="detached", timeout=2000)
    assert page.locator(CARD.format(silence_id)).count() == 1
    # The player says why the card went: it comes back when the audio reaches the alert again.
    assert page.locator("#replay-hint").is_visible()
    assert f"card back at {cold_clock}" in page.inner_text("#replay-hint")

    page.locator(CARD.format(silence_id)).locator(".time-btn").click()
    assert current_time(page) == pytest.approx(silence["first"]["start_s"], abs=0.3)
    page.keyboard.press("Space")
    # Back before the silence's moment: its card is hidden again, and so is its timeline marker.
    page.wait_for_selector(CARD.format(silence_id), state="detached", timeout=2000)
    assert page.locator("#tl-layer .tl-marker").count() == 0

    # Keyboard: left/right arrows seek 5 s; a click on the timeline seeks to that point.
    before = current_time(page)
    page.keyboard.press("ArrowLeft")
    assert current_time(page) == pytest.approx(before - 5, abs=0.3)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert current_time(page) == pytest.approx(before + 5, abs=0.3)
    box = page.locator("#tl-track").bounding_box()
    duration = float(page.evaluate("document.getElementById('audio').duration"))
    page.mouse.click(box["x"] + box["width"] * 24.0 / duration, box["y"] + box["height"] / 2)
    assert current_time(page) == pytest.approx(24.0, abs=0.4)
    # Seeking forward shows what lies before the playhead: the silence, with its full length.
    page.wait_for_selector(CARD.format(silence_id), timeout=3000)
    assert final_length in page.locator(CARD.format(silence_id)).inner_text()
    assert page.locator(CARD.format(cold_id)).count() == 0


def test_transcript_two_speakers_with_times_and_partials(page: Any, server: str) -> None:
    open_call(page, server, COLD)
    page.evaluate("document.getElementById('audio').currentTime = 18")
    page.wait_for_selector("#transcript .line.customer:not(.pending)")
    lines = page.eval_on_selector_all(
        "#transcript .line",
        """ls => ls.map(l => ({
            speaker: l.dataset.speaker,
            final: l.dataset.final,
            time: l.querySelector('.ts').innerText,
            side: getComputedStyle(l).alignSelf,
        }))""",
    )
    # The greeting, then the news: the greeting may be two lines (Vosk ends an utterance at a pause of
    # 0.5-0.7 s, and the agent pauses after "this is Sam").
    agent, customer = lines[:-1], lines[-1]
    assert agent and all(x["speaker"] == "agent" for x in agent) and customer["speaker"] == "customer"
    assert all(x["final"] == "true" for x in lines)
    assert agent[0]["time"] == "00:00" and customer["time"] == "00:06"
    assert {x["side"] for x in agent} == {agent[0]["side"]} != {customer["side"]}  # two sides, at a glance
    assert page.locator("#transcript .gap-line").count() == 0  # the silence alert is not out yet at 18 s
    # Mid-line, the latest partial shows, muted, until its final replaces it.
    page.evaluate("document.getElementById('audio').currentTime = 12")
    page.wait_for_selector("#transcript .line.customer.pending")
    assert page.locator("#transcript .line.customer:not(.pending)").count() == 0
    # Words are highlighted as they are spoken.
    page.evaluate("document.getElementById('audio').currentTime = 23.5")
    page.keyboard.press("Space")
    page.wait_for_selector("#transcript .line.agent .w.now, #transcript .line.agent .w.said", timeout=5000)
    page.keyboard.press("Space")


def test_phone_layout_stacks(phone: Any, server: str, calls: dict[str, Any], artifacts: Path) -> None:
    phone.goto(server + "/")
    phone.wait_for_function("() => document.querySelectorAll('.call-item[data-status=ready]').length === 3")
    phone.screenshot(path=str(artifacts / "page-phone-390x844-list.png"))
    phone.locator(f'.call-item[data-call-id="{COLD}"] button').click()
    phone.wait_for_selector("#call:not([hidden])")
    assert not phone.locator(".sidebar").is_visible()  # the list gives way to the call, with a way back
    assert phone.locator("#back").is_visible()
    phone.wait_for_function("() => document.getElementById('audio').readyState >= 1")
    phone.evaluate("document.getElementById('audio').currentTime = 27.5")
    phone.wait_for_selector('#cards .card[data-kind="cold_reply_to_bad_news"]')
    phone.wait_for_timeout(2600)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # nothing sticks out sideways
    boxes = [phone.locator(sel).bounding_box() for sel in (".deck", ".moments-pane", ".transcript-pane")]
    assert boxes[0]["y"] < boxes[1]["y"] < boxes[2]["y"]  # stacked
    assert all(b["width"] <= 390 for b in boxes)
    phone.screenshot(path=str(artifacts / "page-phone-390x844.png"))
    phone.screenshot(path=str(artifacts / "page-phone-390x844-full.png"), full_page=True)
    phone.locator("#back").click()
    phone.wait_for_selector(".sidebar", state="visible")


def test_praise_is_shown_as_praise(page: Any, server: str, artifacts: Path) -> None:
    open_call(page, server, "bereavement_warm")
    page.evaluate("document.getElementById('audio').currentTime = 30")
    card = page.wait_for_selector('#cards .card[data-polarity="praise"]')
    assert card.get_attribute("data-kind") == "empathy_shown"
    assert card.query_selector(".pill").text_content() == "Praise"
    assert card.query_selector(".advice h4").text_content() == "Keep doing"
    colours = page.evaluate(
        """() => [...document.querySelectorAll('#cards .card .pill')].map(p => getComputedStyle(p).color)"""
    )
    assert colours and len(set(colours)) == 1
    page.wait_for_timeout(2600)
    page.screenshot(path=str(artifacts / "page-desktop-praise.png"))


class SocketTap:
    """Routes the page's websocket through the test: forwards both ways, records, and can inject or cut."""

    def __init__(self, page: Any, server: str) -> None:
        self.routes: list[Any] = []
        self.sent: list[list[dict[str, Any]]] = []  # page → server, per connection
        self.received: list[list[dict[str, Any]]] = []  # server → page, per connection
        page.route_web_socket(server.replace("http://", "ws://") + "/ws", self._handle)

    def _handle(self, route: Any) -> None:
        sent: list[dict[str, Any]] = []
        received: list[dict[str, Any]] = []
        self.routes.append(route)
        self.sent.append(sent)
        self.received.append(received)
        upstream = route.connect_to_server()

        def to_server(message: str | bytes) -> None:
            sent.append(json.loads(message))
            upstream.send(message)

        def to_page(message: str | bytes) -> None:
            received.append(json.loads(message))
            route.send(message)

        route.on_message(to_server)
        upstream.on_message(to_page)


def test_errors_show_as_notices(page: Any, server: str) -> None:
    tap = SocketTap(page, server)
    page.goto(server + "/")
    page.wait_for_function("() => document.querySelectorAll('.call-item[data-status=ready]').length === 3")
    route = tap.routes[-1]
    route.send(
        json.dumps({"v": 1, "type": "error", "code": "unknown_call", "message": "there is no call 'x'"})
    )
    notice = page.wait_for_selector(".notice.error")
    assert "there is no call 'x'" in notice.inner_text() and "unknown_call" in notice.inner_text()
    broken = {
        "call_id": "broken",
        "title": "broken.wav",
        "source": "file",
        "started_at": "",
        "duration_s": None,
        "live": False,
        "status": "error",
        "coach_alerts": 0,
        "praise_alerts": 0,
        "audio_url": "/recordings/broken",
        "error": "broken.wav is not audio: pick a WAV, FLAC or OGG file",
    }
    calls = next(m["calls"] for m in tap.received[-1] if m["type"] == "calls")  # after the welcome
    route.send(json.dumps({"v": 1, "type": "calls", "calls": [*calls, broken]}))
    item = page.wait_for_selector('.call-item[data-call-id="broken"][data-status="error"]')
    assert "is not audio" in item.inner_text()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.notice')].some(n => n.innerText.includes('is not audio'))"
    )
    # Non-blocking: the page still works.
    page.locator(f'.call-item[data-call-id="{COLD}"] button').click()
    page.wait_for_selector("#call:not([hidden])")


def test_reconnects_and_resumes_after_the_last_seq(page: Any, server: str) -> None:
    tap = SocketTap(page, server)
    open_call(page, server, COLD)
    page.evaluate("document.getElementById('audio').currentTime = 12")
    page.wait_for_selector("#transcript .line.agent")
    page.wait_for_timeout(500)
    last_seq = max(m["seq"] for m in tap.received[0] if m.get("call") == COLD)
    page.js_errors.clear()
    tap.routes[0].close(code=1011, reason="test cuts the line")
    page.wait_for_function("() => document.getElementById('conn').dataset.state === 'closed'")
    page.wait_for_function("() => document.getElementById('conn').dataset.state === 'open'", timeout=10000)
    assert len(tap.routes) == 2
    poll(page, lambda: any(m["type"] == "subscribe" for m in tap.sent[1]), 5)
    resubscribe = next(m for m in tap.sent[1] if m["type"] == "subscribe")
    assert resubscribe == {"v": 1, "type": "subscribe", "call_id": COLD, "after_seq": last_seq}
    # What was on the page stays; the rest arrives on the new connection.
    assert page.locator("#transcript .line.agent").count() >= 1
    page.evaluate("document.getElementById('audio').currentTime = 27.5")
    page.wait_for_selector('#cards .card[data-kind="cold_reply_to_bad_news"]', timeout=5000)
    resumed = [m["seq"] for m in tap.received[1] if m.get("call") == COLD]
    assert resumed and resumed[0] == last_seq + 1
    page.js_errors.clear()  # the cut line is reported on the console
