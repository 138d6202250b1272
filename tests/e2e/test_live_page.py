"""The coach's page on a live call, in a real browser: a real server, a real Twilio-shaped caller.

``callcoach simulate-call`` plays samples/bereavement_cold.wav as a Twilio call at normal speed; the page
lists it as live, and, opened, plays its audio through the Web Audio API (``window.callcoach.liveAudio``
exposes the clock: the AudioContext's time and the call time being heard), fills in the transcript and
shows both coaching alerts as they happen. When the caller hangs up, the call turns into a replay in place
and in the list. The screenshot of the live view lands in test-artifacts/ (gitignored): look at it.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.page_server import get_json, running_server, wait_until_analysed

pytestmark = [pytest.mark.browser, pytest.mark.vosk]
TOKEN = "live-page-test-token"
CALL = "bereavement_cold"
CALL_S = 34.5  # the sample's length: the call lasts this long at speed 1
LIVE_ITEM = '.call-item[data-live="true"]'


@pytest.fixture(scope="module")
def live_server(
    callcoach: Path, samples: Path, model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A server of its own (a known ingest token, its own data folder) with one short recording listed,
    so that the live call has a replay below it and nothing else competes for the two cores."""
    recordings = tmp_path_factory.mktemp("live-recordings")
    shutil.copy(samples / "plain.wav", recordings / "plain.wav")
    with running_server(callcoach, recordings, model_dir, ingest_token=TOKEN) as base:
        wait_until_analysed(base)
        yield base


@pytest.fixture
def site(live_server: str) -> str:
    """The pages of this module log in to the live server."""
    return live_server


@contextlib.contextmanager
def simulated(callcoach: Path, samples: Path, platform: str, url: str) -> Iterator[subprocess.Popen[str]]:
    """``simulate-call`` playing the sample to ``url`` as ``platform`` (a flag of it), at normal speed."""
    argv = [str(callcoach), "simulate-call", str(samples / f"{CALL}.wav"), platform, url]
    proc = subprocess.Popen(
        [*argv, "--ingest-token", TOKEN, "--speed", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(10)


@pytest.fixture
def caller(callcoach: Path, samples: Path, live_server: str) -> Iterator[subprocess.Popen[str]]:
    """The sample as a Twilio call."""
    twilio = live_server.replace("http://", "ws://") + "/ingest/twilio"
    with simulated(callcoach, samples, "--twilio", twilio) as proc:
        yield proc


def clock_now(page: Any) -> dict[str, float]:
    """The page's live audio clock, read in one go."""
    now: dict[str, float] = page.evaluate(
        """() => {
            const a = window.callcoach.liveAudio;
            return {ctx: a.contextTime(), played: a.playedThroughS(), newest: a.newestS(),
                    scheduled: a.stats().scheduled};
        }"""
    )
    return now


def test_live_call_plays_and_shows_alerts_as_they_happen(
    page: Any, live_server: str, caller: subprocess.Popen[str], artifacts: Path
) -> None:
    t0 = time.monotonic()
    page.goto(live_server + "/")
    page.wait_for_selector('.call-item[data-call-id="plain"][data-status="ready"]')

    # Listed as live, at the top, with the agent and the masked number, a LIVE marker and its time so far.
    item = page.wait_for_selector(LIVE_ITEM, timeout=15000)
    call_id = item.get_attribute("data-call-id")
    assert page.eval_on_selector("#call-list > li", "li => li.dataset.callId") == call_id
    text = " ".join(item.inner_text().split())
    assert "Sam Patel" in text and "0123" in text and "LIVE" in text.upper()
    assert item.query_selector(".live-badge .live-dot") is not None
    page.wait_for_function(
        "id => document.querySelector(`.call-item[data-call-id='${id}'] .live-elapsed`)"
        ".textContent >= '00:01'",
        arg=call_id,
        timeout=5000,
    )

    # Opened: the audio plays. The AudioContext runs (headless chromium lets it: no click needed, but the
    # page would offer "Click to listen"), and its clock and the call time heard move on with the call.
    item.query_selector("button").click()
    page.wait_for_selector("#call.live-mode")
    page.wait_for_function("() => window.callcoach.liveAudio.stats().scheduled > 0", timeout=5000)
    if page.evaluate("window.callcoach.liveAudio.state()") != "running":
        page.locator("#listen").click()
    page.wait_for_function("() => window.callcoach.liveAudio.state() === 'running'", timeout=3000)
    assert not page.locator("#listen").is_visible()
    page.wait_for_function("() => window.callcoach.liveAudio.playedThroughS() > 0", timeout=5000)
    before, wall = clock_now(page), time.monotonic()
    levels = []  # the level meter: what plays is sound, not silence (somebody speaks in these seconds)
    while time.monotonic() - wall < 3.0:
        levels.append(float(page.evaluate("window.callcoach.liveAudio.level()")))
        page.wait_for_timeout(100)
    after, elapsed = clock_now(page), time.monotonic() - wall
    assert max(levels) > 0.3, levels
    assert after["ctx"] - before["ctx"] == pytest.approx(elapsed, abs=0.5)
    assert after["played"] - before["played"] == pytest.approx(elapsed, abs=0.6)
    assert after["scheduled"] - before["scheduled"] >= 2 * 10 * (elapsed - 0.6)  # two speakers, 10 a second
    # Heard a jitter buffer behind the newest audio received, not seconds behind.
    assert 0.0 <= after["newest"] - after["played"] < 1.2
    assert page.locator("#live-note-text").inner_text() == "Listening live"
    # The audio's PCM is 16-bit little-endian, planar: the worked example of docs/protocol.md, "Live audio".
    decoded = page.evaluate(
        """hex => import('/static/js/live-audio.js').then(m => {
            const bytes = new Uint8Array(hex.match(/../g).map(h => parseInt(h, 16)));
            const step = m.decodeAudio(bytes.buffer);
            return [step.callId, step.startS, step.sampleRate,
                    step.channels.map(c => [c.speaker, [...c.samples].map(v => v * 32768)])];
        })""",
        "01010206401f0000000000000000f83f000163616c6c2d3100000100ffff0080ff7f0001",
    )
    assert decoded == ["call-1", 1.5, 8000, [["agent", [0, 1, -1]], ["customer", [-32768, 32767, 256]]]]
    assert page.locator("#play").is_hidden() and page.locator("#volume").is_visible()

    # The transcript fills in as they speak, both speakers.
    page.wait_for_selector("#transcript .line.agent", timeout=10000)
    page.wait_for_selector("#transcript .line.customer", timeout=15000)
    span_early = float(page.get_attribute("#tl-track", "aria-valuemax") or 0)

    # The silence alert, shown as soon as it is known (no player gating), then the cold reply.
    cards: dict[str, dict[str, str]] = {}
    for kind in ("silence", "cold_reply_to_bad_news"):
        page.wait_for_selector(f'#cards .card[data-kind="{kind}"]', timeout=30000)
        card: dict[str, str] = page.eval_on_selector(
            f'#cards .card[data-kind="{kind}"]', "c => ({...c.dataset})"
        )
        cards[kind] = card
        assert card["polarity"] == "coach"
        lag_s = float(card["shownAtS"]) - float(card["detectedS"])
        assert 0.0 <= lag_s <= 1.5, f"{kind} card shown {lag_s:.2f} s of audio after its moment"
    assert float(cards["silence"]["detectedS"]) < float(cards["cold_reply_to_bad_news"]["detectedS"])
    assert page.locator("#tl-layer .tl-marker").count() == 2
    # The timeline grows with the call.
    assert float(page.get_attribute("#tl-track", "aria-valuemax") or 0) > span_early
    assert (
        page.evaluate("window.callcoach.liveAudio.playedThroughS()")
        > float(cards["cold_reply_to_bad_news"]["detectedS"]) - 1.5
    )
    page.wait_for_timeout(2600)  # let the new-card highlight fade
    page.screenshot(path=str(artifacts / "page-live-1280x800.png"))  # still live: the call ends at ~34.5 s
    # Smooth: every frame found its place in the schedule (a late one would have re-buffered).
    stats = page.evaluate("window.callcoach.liveAudio.stats()")
    assert stats["late"] + stats["resyncs"] <= 2, stats

    # The caller hangs up: the page says so, and the call is a replay in place, and in the list.
    assert caller.wait(20) == 0, caller.stdout.read() if caller.stdout else ""
    note = page.wait_for_selector("#ended-note:not([hidden])", timeout=10000)
    page.wait_for_function(
        "() => document.getElementById('ended-note').textContent.includes('now a replay')", timeout=10000
    )
    assert note.inner_text() == "Call ended · 00:34 · now a replay"
    replay_item = page.wait_for_selector(
        f'.call-item[data-call-id="{call_id}"][data-live="false"][data-status="ready"]', timeout=10000
    )
    assert replay_item.get_attribute("data-coach") == "2"
    assert "2 coach" in " ".join(replay_item.inner_text().split())
    assert page.locator(LIVE_ITEM).count() == 0
    (listed,) = [c for c in get_json(live_server + "/api/calls")["calls"] if c["call_id"] == call_id]
    assert (listed["live"], listed["status"], listed["coach_alerts"]) == (False, "ready", 2)
    # Everything stays on the page; the recording's player takes over (Space plays it from the start).
    page.wait_for_function(
        "id => document.getElementById('audio').getAttribute('src') === `/recordings/${id}`", arg=call_id
    )
    page.wait_for_function("() => document.getElementById('audio').readyState >= 1")
    assert page.locator("#play").is_visible() and page.locator("#call.live-mode").count() == 0
    assert page.locator("#cards .card").count() == 2
    page.screenshot(path=str(artifacts / "page-live-ended-1280x800.png"))
    assert time.monotonic() - t0 < 60


@pytest.fixture
def fork_caller(callcoach: Path, samples: Path, live_server: str) -> Iterator[subprocess.Popen[str]]:
    """The sample as a FreeSWITCH audio fork at 16 kHz."""
    fork = live_server.replace("http://", "ws://") + "/ingest/audiofork?mix=stereo&rate=16000"
    with simulated(callcoach, samples, "--audiofork", fork) as proc:
        yield proc


def test_live_audio_plays_from_binary_messages_at_the_platforms_rate(
    page: Any, live_server: str, fork_caller: subprocess.Popen[str]
) -> None:
    """The audio fork sends 16 kHz: the page gets it as binary messages at 16000 Hz, both speakers in one,
    and plays them through a context of that rate (made anew: the page starts at the telephone rate)."""
    received: dict[str, int] = {"binary": 0, "frame_json": 0}

    def on_frame(payload: str | bytes) -> None:
        if isinstance(payload, bytes):
            received["binary"] += 1
        elif '"type": "frame"' in payload:
            received["frame_json"] += 1

    page.on("websocket", lambda ws: ws.on("framereceived", on_frame))
    page.goto(live_server + "/")
    item = page.wait_for_selector(LIVE_ITEM, timeout=15000)
    item.query_selector("button").click()
    page.wait_for_selector("#call.live-mode")
    page.wait_for_function("() => window.callcoach.liveAudio.stats().frames >= 10", timeout=10000)
    if page.evaluate("window.callcoach.liveAudio.state()") != "running":
        page.locator("#listen").click()
    page.wait_for_function("() => window.callcoach.liveAudio.sampleRate() === 16000", timeout=5000)
    page.wait_for_function("() => window.callcoach.liveAudio.state() === 'running'", timeout=5000)
    before = page.evaluate("window.callcoach.liveAudio.stats()")
    # Ten more steps, counted: each one schedules a buffer per speaker, and what plays is sound.
    page.wait_for_function(
        "n => window.callcoach.liveAudio.stats().frames >= n", arg=before["frames"] + 10, timeout=10000
    )
    page.wait_for_function("() => window.callcoach.liveAudio.level() > 0.3", timeout=15000)
    after = page.evaluate("window.callcoach.liveAudio.stats()")
    assert after["scheduled"] - before["scheduled"] >= 2 * (after["frames"] - before["frames"]) - 2, after
    assert after["late"] + after["resyncs"] <= 2, after
    now = clock_now(page)
    assert 0.0 <= now["newest"] - now["played"] < 1.2, now
    assert received["binary"] >= after["frames"] and received["frame_json"] == 0, received
