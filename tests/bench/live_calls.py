"""``make bench``: N live calls at once against one server in real time; prints figures, asserts nothing.

One ``callcoach serve`` (a subprocess, through the helpers ``tests/web/test_live_ingest.py`` uses)
takes N simulated Twilio calls at once, N = 1, 2, 4, 8, 12, 16 in turn, each the cold bereavement sample
at normal speed, each followed by a coach's websocket (which also receives the call's audio). Calls
start one after another as each is listed, a fraction of a second apart: their busy stretches coincide,
the worst case for a shared pipeline.

Latencies are measured from the moment the alert could be known, in audio terms: ``sent − known``, how
far the caller had streamed when the coach received the alert minus that moment. For the silence alert
the moment is the silence's start plus the threshold (5 s of quiet: the detector's ``detected_s``); for
the cold reply it is the end of the agent's utterance, its final's ``end_s`` in the log (the detector
only judges the reply once the turn is over, so this includes the wait for the customer's next line:
``struct`` shows that part alone, which no speed-up removes). When the server falls behind,
back-pressure slows the caller, so ``sent`` lags real time; the ``wall`` column measures against a
caller that never slows down (as a real platform does not): seconds since its first packet, times the
speed. The verdicts use the wall figures: what a coach waits for. ``behind`` is how far the slowest
caller was held back by the end.

``loop`` is the CPU of the server's main thread (its event loop: ingest, audio front end, detectors,
fan-out) over the run's wall time: near 100 % it is the limit, whatever cores are free. Server CPU is
that of the server's whole process tree (worker processes included; user + system, from
/proc) over the call audio it took in: 1.0 would be one core per call-second. Memory is the tree's PSS
(shared pages counted once), sampled through the run: (peak − idle before the calls) / N. In the same
run bare Vosk decodes the same audio (the recording the server wrote of the first call: G.711 decoded
and resampled as the recognizers got it), one recognizer per channel, 0.1 s chunks, both channels in
two threads, in a fresh process (``tests.bench.run``'s ``bare-2thr``); its CPU per call-second is
printed beside the server's, with the ratio, the figure that holds on a noisy machine.

    .venv/bin/python -m tests.bench.live_calls [--n 1,2,4,8,12,16] [--speed 1] [--sample PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import soundfile as sf

from callcoach.detectors.config import DetectorConfig
from tests.bench.proc import MemoryWatch, thread_cpu_s, tree_cpu_s
from tests.helpers.calls import Plan, Trace, place_calls
from tests.helpers.server import Server, start_server, stop_server

ROOT = Path(__file__).resolve().parents[2]
CALLCOACH = Path(sys.executable).parent / "callcoach"
SAMPLE = ROOT / "samples" / "bereavement_cold.wav"
SILENCE, COLD = "silence", "cold_reply_to_bad_news"
KINDS = (SILENCE, COLD)
LABEL = {SILENCE: "silence", COLD: "cold reply"}
COUNTS = "1,2,4,8,12,16"
# The targets: 12 calls at once on this machine's cores.
GOAL_N = 12
TARGET_S = {SILENCE: 0.5, COLD: 1.0}
TARGET_CPU = 0.15  # core per call-second
HELD_BACK_S = 1.0  # a caller this far behind real time by its end was held back


# --- one run of N calls ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    n: int
    latencies: dict[tuple[str, bool], list[float]]  # (kind, against the wall clock) -> seconds, per call
    structural: list[float]  # cold replies: detected_s − end of the agent's utterance
    missing: int  # alerts expected (one of each kind per call) that never reached a coach
    cpu_s: float
    audio_s: float
    wall_s: float
    behind_s: float  # the most any caller was held back behind real time by its end
    memory_per_call_mib: float
    loop_busy: float = math.nan  # the server's main thread (its event loop): CPU over wall time

    @property
    def cpu_per_call_s(self) -> float:
        return self.cpu_s / self.audio_s if self.audio_s else math.nan

    def p(self, kind: str, q: float, *, wall: bool = False) -> float:
        values = self.latencies[(kind, wall)]
        return percentile(values, q) if values else math.nan

    def misses(self) -> list[str]:
        """The targets this run misses (they are the 12-call targets, applied to every N)."""
        out = [f"{LABEL[kind]} p95" for kind in KINDS if not self.p(kind, 95, wall=True) <= TARGET_S[kind]]
        if self.behind_s > HELD_BACK_S:
            out.append("held back")
        if self.missing:
            out.append("missing")
        if not self.cpu_per_call_s <= TARGET_CPU:
            out.append("CPU")
        return out


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest rank: the smallest value with at least ``q`` % of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def known_at_s(trace: Trace, alert: dict[str, Any], threshold_s: float) -> float:
    """When the alert could be known: 5 s of quiet into a silence; the end of the agent's reply (its
    final's ``end_s`` in the log) for a cold reply."""
    if alert["kind"] == SILENCE:
        return float(alert["start_s"]) + threshold_s
    quotes: list[dict[str, Any]] = alert.get("quotes") or []
    if not quotes:
        return float(alert["end_s"])
    last = quotes[-1]  # the reply's last line, as the alert quotes it
    for line in trace.of_type("transcript"):
        ours = line["final"] and line["speaker"] == "agent" and line["text"] == last["text"]
        if ours and abs(float(line["end_s"]) - float(last["end_s"])) < 0.5:
            return float(line["end_s"])
    return float(alert["end_s"])


def measure(
    n: int,
    traces: list[Trace],
    cpu_s: float,
    wall_s: float,
    memory: MemoryWatch,
    loop_cpu_s: float = math.nan,
) -> Result:
    threshold_s = DetectorConfig().silence_threshold_s
    latencies: dict[tuple[str, bool], list[float]] = {(k, w): [] for k in KINDS for w in (False, True)}
    structural: list[float] = []
    missing = 0
    for trace in traces:
        for kind in KINDS:
            first = [a for a in trace.alerts(kind) if a["revision"] == 0]
            key = (first[0]["id"], 0) if first else None
            if key is None or key not in trace.arrived_at_s:
                missing += 1
                continue
            known_s = known_at_s(trace, first[0], threshold_s)
            latencies[(kind, False)].append(trace.arrived_at_s[key] - known_s)
            latencies[(kind, True)].append(trace.arrived_wall_s[key] - known_s)
            if kind == COLD:
                structural.append(float(first[0]["detected_s"]) - known_s)
    audio_s = sum(float(t.ended()["end_s"]) for t in traces if t.events)
    # As each caller sent (measured after the calls, a caller that finished first would look held back).
    behind = max((t.behind_s for t in traces), default=0.0)
    per_call = (memory.peak_mib - memory.idle_mib) / n
    return Result(
        n,
        latencies,
        structural,
        missing,
        cpu_s,
        audio_s,
        wall_s,
        max(0.0, behind),
        per_call,
        loop_cpu_s / wall_s,
    )


async def run_n(server: Server, n: int, sample: Path, speed: float) -> Result:
    # An overloaded server takes longer than the call: give it time, it is what is measured.
    timeout_s = 5 * sf.info(str(sample)).duration / speed + 60
    plans = [Plan("twilio", sample, speed=speed, timeout_s=timeout_s) for _ in range(n)]
    memory = MemoryWatch(server.proc.pid)
    memory.start()
    loop0 = thread_cpu_s(server.proc.pid).get(server.proc.pid, math.nan)
    cpu0, wall0 = tree_cpu_s(server.proc.pid), time.monotonic()
    try:
        traces = await place_calls(server, plans)
    finally:
        await memory.stop()
    cpu_s, wall_s = tree_cpu_s(server.proc.pid) - cpu0, time.monotonic() - wall0
    loop_s = thread_cpu_s(server.proc.pid).get(server.proc.pid, math.nan) - loop0
    return measure(n, traces, cpu_s, wall_s, memory, loop_s)


async def run(
    counts: Sequence[int], speed: float, sample: Path, model_dir: Path
) -> tuple[list[Result], list[str], float]:
    """Every N in turn on one server, then bare Vosk on the audio the server heard: the results, the
    run that failed (a larger N would fail too, so none is tried) and bare Vosk's CPU per call-second."""
    results: list[Result] = []
    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="callcoach-bench-") as tmp:
        data = Path(tmp) / "data"
        server = await start_server(CALLCOACH, model_dir, data)
        try:
            for n in counts:
                wall0 = time.monotonic()
                try:
                    result = await run_n(server, n, sample, speed)
                except (TimeoutError, AssertionError, aiohttp.ClientError) as exc:
                    failed.append(
                        f"{n:>5} calls failed after {time.monotonic() - wall0:.0f} s ({exc!r}): MISS; "
                        "no larger N tried"
                    )
                    print(f"  {n:>2} call(s): failed ({exc!r}); stopping here", file=sys.stderr)
                    break
                results.append(result)
                print(f"  {n:>2} call(s): {result.wall_s:5.1f} s", file=sys.stderr, flush=True)
        finally:
            await stop_server(server)
        recordings = sorted(data.rglob("*.wav"), key=lambda p: p.stat().st_mtime)
        bare = bare_cpu_per_call_s(recordings[0]) if recordings else math.nan
        if recordings:
            shipped = bare_cpu_per_call_s(recordings[0], mode="bare@shipped")
            print(
                f"bare Vosk with the model's graph as shipped (not composed): {shipped:.3f} core per call-s"
            )
    return results, failed, bare


def bare_cpu_per_call_s(recording: Path, repeats: int = 3, mode: str = "bare-2thr") -> float:
    """Bare Vosk (``tests.bench.run``'s two-thread loop, a fresh process each time) on ``recording``:
    the median CPU seconds per second of the call."""
    per_s = []
    for _ in range(repeats):
        argv = [sys.executable, "-m", "tests.bench.run", "--worker", mode, str(recording)]
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
        if done.returncode != 0:
            print(f"bare Vosk on {recording.name} failed:\n{done.stderr}", file=sys.stderr)
            return math.nan
        run = json.loads(done.stdout.splitlines()[-1])
        per_s.append(run["cpu_s"] / run["call_s"])
    return statistics.median(per_s)


# --- the report --------------------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return "    -" if math.isnan(value) else f"{value * 1000:5.0f}"


def table(results: Sequence[Result], bare: float) -> str:
    head = (
        f"{'calls':>5} | {'silence p50':>11} {'p95':>5} {'wall p95':>8} | {'cold p50':>8} {'p95':>5}"
        f" {'wall p95':>8} {'struct':>6} | {'missing':>7} | {'CPU/call-s':>10} {'bare':>5} {'ratio':>5}"
        f" {'server CPU':>10} {'loop':>5} | {'MiB/call':>8} | {'behind':>6} {'wall':>5} | verdict"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        structural = percentile(r.structural, 95) if r.structural else math.nan
        misses = r.misses()
        lines.append(
            f"{r.n:>5} | {_ms(r.p(SILENCE, 50)):>11} {_ms(r.p(SILENCE, 95)):>5}"
            f" {_ms(r.p(SILENCE, 95, wall=True)):>8} |"
            f" {_ms(r.p(COLD, 50)):>8} {_ms(r.p(COLD, 95)):>5} {_ms(r.p(COLD, 95, wall=True)):>8}"
            f" {_ms(structural):>6} | {r.missing:>7} |"
            f" {r.cpu_per_call_s:>10.3f} {bare:>5.3f} {r.cpu_per_call_s / bare:>5.2f}"
            f" {r.cpu_s / r.wall_s:>9.0%} {r.loop_busy:>5.0%} | {r.memory_per_call_mib:>8.1f} |"
            f" {r.behind_s:>5.1f}s {r.wall_s:>4.0f}s | {'MISS: ' + ', '.join(misses) if misses else 'PASS'}"
        )
    return "\n".join(lines)


def targets() -> list[str]:
    return [
        f"targets ({GOAL_N} calls at once; the verdict column applies them to every N): silence alert p95 "
        f"≤ {TARGET_S[SILENCE] * 1000:.0f} ms and cold reply p95 ≤ {TARGET_S[COLD] * 1000:.0f} ms (wall), "
        f"nobody held back (behind ≤ {HELD_BACK_S:g} s), no alert missing, CPU ≤ {TARGET_CPU:g} core per "
        "call-second",
    ]


def verdict(results: Sequence[Result], failed: Sequence[str]) -> str:
    r = next((r for r in results if r.n == GOAL_N), None)
    if r is None:
        return f"{GOAL_N} calls: {'MISS (failed or not reached)' if failed else 'not run'}"
    misses = r.misses()
    return f"{GOAL_N} calls: {'PASS' if not misses else 'MISS (' + ', '.join(misses) + ')'}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--n", default=COUNTS, help=f"comma-separated numbers of calls at once ({COUNTS})")
    parser.add_argument("--speed", type=float, default=1.0, help="times real time (default 1)")
    parser.add_argument("--sample", type=Path, default=SAMPLE, help="the recording every caller plays")
    args = parser.parse_args(argv)

    from callcoach.live.model import ModelError, check_model_dir, default_model_dir

    model_dir = Path(os.environ.get("CALLCOACH_MODEL") or default_model_dir())
    try:
        check_model_dir(model_dir)
    except ModelError as exc:
        print(exc.message, file=sys.stderr)
        return 2
    counts = [int(n) for n in args.n.split(",")]
    print(
        f"live calls: {args.sample.name} as Twilio calls at {args.speed:g}x, {os.cpu_count()} cores; "
        f"N = {', '.join(map(str, counts))}",
        file=sys.stderr,
    )
    started, load_before = time.monotonic(), os.getloadavg()
    results, failed, bare = asyncio.run(run(counts, args.speed, args.sample, model_dir))
    print()
    print(
        f"Alert latency in ms from when it could be known (sent − known; wall: against real time), "
        f"{args.sample.name} at {args.speed:g}x; CPU in cores per call-second, bare Vosk on the same audio "
        "beside it"
    )
    print(table(results, bare))
    for line in failed:
        print(line)
    print()
    held = [r.n for r in results if r.behind_s > HELD_BACK_S]
    if held:
        print(
            f"N = {', '.join(map(str, held))}: the server held the callers back (see behind); a caller that "
            "has sent the whole call before an alert comes out caps its 'sent' latency at the call's end "
            "minus the moment it could be known, so read the wall columns there."
        )
    for line in [*targets(), verdict(results, failed)]:
        print(line)
    load_after = os.getloadavg()
    print(
        f"load average (1, 5 min) before {load_before[0]:.2f}, {load_before[1]:.2f}; after "
        f"{load_after[0]:.2f}, {load_after[1]:.2f} (anything else on these cores skews the figures)"
    )
    print(f"(bench took {time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
