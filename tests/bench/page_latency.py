"""How late the coach's page shows an alert, measured in a real browser; prints figures, asserts nothing.

Starts ``callcoach serve`` on the sample calls (the real model), opens each call in Debian's headless
chromium, plays it at normal speed from the start to the end, and reads every alert card: the delay is
``data-shown-at-s`` (the audio's currentTime when the card was put on the page) minus ``data-detected-s``
(the point in the call at which the alert could be known). A revised alert (a silence that ended) also
reports when its update reached the page (``data-updated-at-s`` minus ``data-updated-detected-s``).

p50 and p95 are over every alert card of the calls played (nearest rank); the target is p95 < 300 ms.
Exit status 1 only when an alert never reached the page.

    .venv/bin/python -m tests.bench.page_latency [--repeats N] [CALL ...]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.helpers.browser import DESKTOP, launch_browser
from tests.helpers.page_server import call_log, latest_alerts, log_in, running_server, wait_until_analysed

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
CALLS = ("bereavement_cold", "bereavement_warm", "plain")
TARGET_P95_MS = 300.0


@dataclass(frozen=True)
class Row:
    call: str
    alert: str
    what: str  # "shown" (the card appeared) or "updated" (a newer revision replaced it)
    detected_s: float
    at_s: float

    @property
    def delay_ms(self) -> float:
        return (self.at_s - self.detected_s) * 1000


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile: the smallest value with at least ``q`` % of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def play_through(browser: Any, base: str, call_id: str) -> list[dict[str, str]]:
    """Open the call, play it to the end at normal speed; the alert cards' data attributes."""
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        log_in(page, base)
        page.goto(f"{base}/#call={call_id}")
        page.wait_for_selector("#call:not([hidden])")
        page.wait_for_function("() => document.getElementById('audio').readyState >= 3")
        page.evaluate("document.getElementById('audio').playbackRate = 1")
        page.locator("#play").click()
        duration = float(page.evaluate("document.getElementById('audio').duration"))
        page.wait_for_function("() => document.getElementById('audio').ended", timeout=(duration + 30) * 1000)
        cards: list[dict[str, str]] = page.eval_on_selector_all(
            "#cards .card", "cards => cards.map(c => ({...c.dataset}))"
        )
        return cards
    finally:
        context.close()


def measure(
    browser: Any, base: str, call_id: str, expected: dict[str, dict[str, Any]]
) -> tuple[list[Row], list[str]]:
    cards = {c["alertId"]: c for c in play_through(browser, base, call_id)}
    rows: list[Row] = []
    missing = [alert_id for alert_id in expected if alert_id not in cards]
    for alert_id, card in cards.items():
        rows.append(Row(call_id, alert_id, "shown", float(card["detectedS"]), float(card["shownAtS"])))
        if "updatedAtS" in card:
            rows.append(
                Row(call_id, alert_id, "updated", float(card["updatedDetectedS"]), float(card["updatedAtS"]))
            )
        final = expected.get(alert_id, {}).get("last")
        if final is not None and card.get("revision") != str(final["revision"]):
            missing.append(f"{alert_id} (revision {final['revision']})")
    return rows, missing


def print_table(rows: list[Row]) -> None:
    head = f"{'call':<18} {'alert':<26} {'what':<8} {'detected_s':>10} {'on page at':>10} {'delay_ms':>9}"
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r.call:<18} {r.alert:<26} {r.what:<8} {r.detected_s:>10.3f} {r.at_s:>10.3f} {r.delay_ms:>9.0f}"
        )
    print()


def summary(label: str, rows: list[Row]) -> str:
    if not rows:
        return f"{label}: none"
    delays = [r.delay_ms for r in rows]
    return (
        f"{label}: n={len(delays)}  p50={percentile(delays, 50):.0f} ms  p95={percentile(delays, 95):.0f} ms"
        f"  max={max(delays):.0f} ms"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.page_latency", description=__doc__.splitlines()[0]
    )
    parser.add_argument("calls", nargs="*", default=list(CALLS), metavar="CALL", help="sample call ids")
    parser.add_argument("--repeats", type=int, default=1, help="play each call this many times (default 1)")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    from callcoach.live.model import default_model_dir

    callcoach = Path(sys.executable).parent / "callcoach"
    rows: list[Row] = []
    missing: list[str] = []
    with running_server(callcoach, SAMPLES, default_model_dir()) as base:
        started = time.monotonic()
        listed = {c["call_id"]: c for c in wait_until_analysed(base)}
        print(f"server ready, calls analysed in {time.monotonic() - started:.1f} s; playing in real time")
        with sync_playwright() as playwright:
            browser = launch_browser(playwright)
            try:
                for call_id in args.calls:
                    if call_id not in listed:
                        parser.error(f"no call {call_id!r}; the samples are: {', '.join(listed)}")
                    expected = latest_alerts(call_log(base, call_id))
                    for _ in range(args.repeats):
                        got, lost = measure(browser, base, call_id, expected)
                        rows += got
                        missing += [f"{call_id}: {m}" for m in lost]
            finally:
                browser.close()

    print()
    print_table(rows)
    shown = [r for r in rows if r.what == "shown"]
    print(summary("alert cards shown", shown))
    print(summary("alert updates   ", [r for r in rows if r.what == "updated"]))
    if shown:
        p95 = percentile([r.delay_ms for r in shown], 95)
        verdict = "met" if p95 < TARGET_P95_MS else "MISSED"
        print(f"target: p95 < {TARGET_P95_MS:.0f} ms for cards shown: {verdict}")
    for never in missing:
        print(f"never on the page: {never}")
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
