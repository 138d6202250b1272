"""The customer's sentiment line on the timeline, in a real browser against the real server.

The server (a ``callcoach serve`` of this module's own) has two synthesised calls
(``tests/helpers/sentiment_calls.py``): a stereo call whose customer is angry early and thankful at the
end, and its opening mixed down to mono. On the stereo call's replay the line grows as playback reaches
each scored line, dips below the mid-line for the angry lines and rises above it for the thanks, and says
so to a screen reader; the mono call shows no sentiment band. Screenshots land in test-artifacts/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.page_server import call_log, running_server, wait_until_analysed
from tests.helpers.sentiment_calls import TURNED_AROUND
from tests.helpers.synth import render_call, to_mono, write_wav

pytestmark = [pytest.mark.browser, pytest.mark.vosk]
TURNED, MONO = "turned_around_call", "mono_call"
MID_Y = 50.0  # the band's neutral line, in its viewBox units


@pytest.fixture(scope="module")
def site(callcoach: Path, model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    recordings = tmp_path_factory.mktemp("sentiment-recordings")
    stereo = render_call(TURNED, TURNED_AROUND)
    write_wav(recordings / f"{TURNED}.wav", stereo)
    write_wav(recordings / f"{MONO}.wav", to_mono(stereo, seconds=8.0))
    with running_server(callcoach, recordings, model_dir) as base:
        wait_until_analysed(base)
        yield base


@pytest.fixture(scope="module")
def scored(site: str) -> list[dict[str, Any]]:
    """The turned-around call's sentiment events, as the server logged them."""
    events = [e for e in call_log(site, TURNED) if e["type"] == "sentiment"]
    assert len(events) == 3 and events[0]["score"] < 0 < events[-1]["score"]
    return events


def open_call(page: Any, site: str, call_id: str) -> None:
    page.goto(site + "/")
    page.locator(f'.call-item[data-call-id="{call_id}"] button').click()
    page.wait_for_selector("#call:not([hidden])")
    page.wait_for_function("() => document.getElementById('audio').readyState >= 1")


def seek(page: Any, seconds: float) -> None:
    page.evaluate(f"document.getElementById('audio').currentTime = {seconds}")


def band(page: Any) -> dict[str, Any]:
    state: dict[str, Any] = page.evaluate(
        """() => {
            const svg = document.getElementById('tl-mood');
            return {
                lines: Number(svg.dataset.lines),
                d: svg.querySelector('.tl-mood-line').getAttribute('d') || '',
                hits: [...svg.querySelectorAll('.tl-mood-hit title')].map((t) => t.textContent),
                text: document.getElementById('tl-mood-text').textContent,
                shown: svg.getBoundingClientRect().height > 0,
            };
        }"""
    )
    return state


def ys(d: str) -> list[float]:
    """The y of every point of an SVG path made of M/L commands."""
    return [float(y) for _x, y in re.findall(r"[ML]([\d.]+) ([\d.]+)", d)]


def test_the_line_grows_with_the_replay_and_dips_then_rises(
    page: Any, site: str, scored: list[dict[str, Any]], artifacts: Path
) -> None:
    open_call(page, site, TURNED)
    assert band(page)["lines"] == 0  # at 00:00 nothing has been said yet
    assert band(page)["text"] == "Customer sentiment: nothing scored yet"

    # Playback just past the first angry line: that line only, below the mid-line.
    seek(page, scored[0]["end_s"] + 0.3)
    page.wait_for_function("() => document.getElementById('tl-mood').dataset.lines === '1'")
    first = band(page)
    assert first["shown"] and all(y > MID_Y for y in ys(first["d"]))
    assert first["hits"] == [
        f"Customer sentiment at 00:0{int(scored[0]['start_s'])}: {scored[0]['score']:.2f} (negative)"
    ]

    # Past the end: every line, the thanks above the mid-line, and the summary for a screen reader.
    seek(page, scored[-1]["end_s"] + 1.0)
    page.wait_for_function("() => document.getElementById('tl-mood').dataset.lines === '3'")
    whole = band(page)
    points = ys(whole["d"])
    assert len(points) == 6 and points[0] > MID_Y and points[-1] < MID_Y
    low = min(s["score"] for s in scored)
    assert f"lowest {low:.2f} (negative)" in whole["text"]
    assert f"latest +{scored[-1]['score']:.2f} (positive)" in whole["text"]
    page.locator("#timeline").screenshot(path=str(artifacts / "sentiment-timeline.png"))
    page.screenshot(path=str(artifacts / "sentiment-page-desktop-1280x800.png"))


def test_a_mono_call_has_no_sentiment_band(page: Any, site: str) -> None:
    open_call(page, site, MONO)
    seek(page, 7.5)
    page.wait_for_function("() => document.getElementById('timeline').classList.contains('no-mood')")
    assert band(page)["lines"] == 0 and not band(page)["shown"]
