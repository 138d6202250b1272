"""``make bench``: what the Redis bus adds to a live call's delivery; prints figures, asserts nothing.

Real ``callcoach serve`` processes, a ``redis-server`` of the bench's own, the plain sample streamed in
real time as a Twilio call by ``callcoach simulate-call`` (its own process, as a platform is), and
coaches' websockets in this process (one clock). Three figures, in milliseconds:

- **delivery**: the lead on node A adds a note every half second; from sending it to a listener receiving
  it, on one node without a bus, then with the bus for a listener on A and one on node B (the note goes
  to Redis and back on every node, so the difference is what the bus adds); and ``hop``: each pipeline
  event's arrival on B after its arrival on A;
- **fan-out**: 200 listeners spread over 3 nodes (67, 67, 66), a note every 1.5 s: p50, p95, max, and
  any (listener, event) never received;
- **calls per node**: N live calls at once on one node with the bus and without (``tests.bench.live_calls``'s
  measure): CPU per call-second, alert latency; a core takes about 1 / (CPU per call-second) calls.

    .venv/bin/python -m tests.bench.bus [--listeners 200] [--calls 4]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from callcoach.live.model import default_model_dir
from tests.bench.live_calls import COLD, SILENCE, run_n
from tests.bench.live_calls import Result as CallsResult
from tests.helpers.calls import Plan, simulate_call_argv
from tests.helpers.redis_server import start_redis, stop_redis
from tests.helpers.server import Server, clean_env, start_server, stop_server
from tests.web.test_group_listening import Listener, connect, create_users

ROOT = Path(__file__).resolve().parents[2]
CALLCOACH = Path(sys.executable).parent / "callcoach"
SAMPLE = ROOT / "samples" / "plain.wav"
CALLS_SAMPLE = ROOT / "samples" / "bereavement_cold.wav"  # has the alerts live_calls times


@dataclass
class Delivery:
    label: str
    note_ms: list[float]
    hop_ms: list[float]
    missing: int


def pct(values: Sequence[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _call(argv: list[str]) -> None:
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.DEVNULL, env=clean_env())
    if await proc.wait() != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}")


async def _nodes(data: Path, model: Path, count: int, bus: str) -> list[Server]:
    env = {"CALLCOACH_BUS": bus} if bus else {}
    return [await start_server(CALLCOACH, model, data, env=env) for _ in range(count)]


async def _follow_a_call(nodes: list[Server], pages: list[Listener], note_every_s: float) -> dict[str, float]:
    """Stream the sample into the first node with ``pages[0]`` (the lead) adding notes; every page
    follows it to the end. The notes' texts, each with when it was sent."""
    loop = asyncio.get_running_loop()
    lead = pages[0]
    caller = asyncio.create_task(_call(simulate_call_argv(CALLCOACH, nodes[0], Plan("twilio", SAMPLE, 1.0))))
    call_id = ""
    for page in pages:  # each node lists the call once it has seen it on the bus
        call = await page.until(lambda page=page: _live(page), wait_s=60)
        call_id = str(call["call_id"])
        await page.send({"type": "subscribe", "call_id": call_id, "after_seq": 0, "audio": False})
    sent: dict[str, float] = {}
    while not caller.done():
        text = f"note {len(sent)}"
        sent[text] = loop.time()
        await lead.send({"type": "add_note", "call_id": call_id, "at_s": 1.0, "tag": "coach", "text": text})
        await asyncio.sleep(note_every_s)
    await caller
    for page in pages:
        await page.until(page.ended, wait_s=120)
    return sent


def _live(listener: Listener) -> dict[str, object] | None:
    calls = listener.last("calls")
    return next((c for c in calls["calls"] if c["live"]), None) if calls else None


def _note_ms(page: Listener, sent: dict[str, float]) -> list[float]:
    return [
        (page.arrived[seq] - sent[e["text"]]) * 1000
        for seq, e in page.events.items()
        if e["type"] == "note" and e["text"] in sent
    ]


def _missing(pages: list[Listener]) -> int:
    seqs = set().union(*(p.events for p in pages))
    return sum(len(seqs - p.events.keys()) for p in pages)


async def delivery(model: Path, bus: str) -> list[Delivery]:
    """One node without a bus; or, with ``bus``, nodes A and B with a listener on each."""
    with tempfile.TemporaryDirectory(prefix="callcoach-bus-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        tokens = create_users(data, 2)
        nodes = await _nodes(data, model, 2 if bus else 1, bus)
        try:
            async with aiohttp.ClientSession() as http:
                pages = [await connect(http, nodes[0], "ana", tokens["ana"])]
                pages.append(await connect(http, nodes[0], "c01", tokens["c01"]))
                if bus:
                    pages.append(await connect(http, nodes[1], "c02", tokens["c02"]))
                for page in pages:
                    page.validate = False
                sent = await _follow_a_call(nodes, pages, 0.5)
        finally:
            for node in nodes:
                await stop_server(node)
    on_a = Delivery("bus, listener on A" if bus else "one node, no bus", _note_ms(pages[1], sent), [], 0)
    on_a.missing = _missing(pages)
    if not bus:
        return [on_a]
    other = pages[2]
    hop = [(other.arrived[s] - pages[1].arrived[s]) * 1000 for s in other.events if s in pages[1].arrived]
    return [on_a, Delivery("bus, listener on B", _note_ms(other, sent), hop, on_a.missing)]


async def fanout(model: Path, bus: str, listeners: int) -> Delivery:
    with tempfile.TemporaryDirectory(prefix="callcoach-bus-fanout-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        tokens = create_users(data, listeners - 1)
        nodes = await _nodes(data, model, 3, bus)
        try:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
                names = ["ana", *(f"c{k:02d}" for k in range(1, listeners))]
                pages = [
                    await connect(http, nodes[i % 3], name, tokens[name]) for i, name in enumerate(names)
                ]
                for page in pages:
                    page.validate = False
                sent = await _follow_a_call(nodes, pages, 1.5)
        finally:
            for node in nodes:
                await stop_server(node)
    notes = [ms for page in pages for ms in _note_ms(page, sent)]
    return Delivery(f"{listeners} listeners over 3 nodes", notes, [], _missing(pages))


async def calls_per_node(model: Path, bus: str, n: int) -> CallsResult:
    with tempfile.TemporaryDirectory(prefix="callcoach-bus-calls-") as tmp:
        [node] = await _nodes(Path(tmp) / "data", model, 1, bus)
        try:
            return await run_n(node, n, CALLS_SAMPLE, 1.0)
        finally:
            await stop_server(node)


def report(deliveries: list[Delivery], spread: Delivery, calls: list[tuple[str, CallsResult]]) -> None:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"The Redis bus (load average {load}: on a shared machine compare within one run)")
    print("Delivery of a note from the lead's socket to a listener's (ms)")
    print(f"{'':>26}  {'p50':>6}  {'p95':>6}  {'max':>6}  {'hop p50':>7}  {'hop p95':>7}  missing")
    base = pct(deliveries[0].note_ms, 0.5), pct(deliveries[0].note_ms, 0.95)
    for d in [*deliveries, spread]:
        print(
            f"{d.label:>26}  {pct(d.note_ms, 0.5):>6.1f}  {pct(d.note_ms, 0.95):>6.1f}"
            f"  {max(d.note_ms or [math.nan]):>6.1f}  {pct(d.hop_ms, 0.5):>7.1f}  {pct(d.hop_ms, 0.95):>7.1f}"
            f"  {d.missing}"
        )
    for d in deliveries[1:]:
        added = pct(d.note_ms, 0.5) - base[0], pct(d.note_ms, 0.95) - base[1]
        print(f"  added by the bus ({d.label}): p50 {added[0]:+.1f} ms, p95 {added[1]:+.1f} ms")
    print("\nLive calls on one node (bereavement_cold, real time, a coach each; latency in call audio)")
    print(
        f"{'':>12}  {'calls':>5}  {'CPU/call-s':>10}  {'calls/core':>10}"
        f"  {'silence p95':>11}  {'cold p95':>8}  {'behind':>6}"
    )
    for label, r in calls:
        print(
            f"{label:>12}  {r.n:>5}  {r.cpu_per_call_s:>10.3f}  {1 / r.cpu_per_call_s:>10.1f}"
            f"  {r.p(SILENCE, 95) * 1000:>9.0f}ms  {r.p(COLD, 95) * 1000:>6.0f}ms  {r.behind_s:>5.1f}s"
        )


async def main_async(listeners: int, calls: int) -> int:
    if shutil.which("redis-server") is None:
        print("tests.bench.bus: redis-server is not installed: run `make debs`", file=sys.stderr)
        return 1
    model = default_model_dir()
    with tempfile.TemporaryDirectory(prefix="callcoach-bus-redis-") as tmp:
        redis = start_redis(Path(tmp))
        try:
            bus = redis.url(0)
            deliveries = [*await delivery(model, ""), *await delivery(model, redis.url(1))]
            print("  delivery measured", file=sys.stderr, flush=True)
            spread = await fanout(model, redis.url(2), listeners)
            print("  fan-out measured", file=sys.stderr, flush=True)
            per_node = [("no bus", await calls_per_node(model, "", calls))]
            per_node.append(("bus", await calls_per_node(model, bus, calls)))
        finally:
            stop_redis(redis)
    report(deliveries, spread, per_node)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--listeners", type=int, default=200)
    parser.add_argument("--calls", type=int, default=4)
    args = parser.parse_args(argv)
    return asyncio.run(main_async(args.listeners, args.calls))


if __name__ == "__main__":
    sys.exit(main())
