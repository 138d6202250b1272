"""``make bench``: one live call followed by many coaches at once; prints figures, asserts nothing.

One ``callcoach serve`` (a subprocess) takes the cold bereavement sample as a live Twilio call in real time
(streamed by ``callcoach simulate-call``, its own process, as a platform is) while N coaches' websockets
follow it, N = 1, 50 and 200 in turn, all logged in and in one listening session. Every 1.5 s of the call
the lead adds a note. The listeners subscribe without the call's audio (``"audio": false``): all of them
run in this one Python process, which cannot read 200 audio streams (17 MB/s) the way 200 browsers each
read their own; a further run at 50 with audio shows what the audio costs. The figures, in milliseconds:

- ``note``: from the lead sending a note to each listener receiving it (the whole round: the socket, the
  log, storage's write in its thread, and the fan-out to every listener);
- ``alert spread``: for each alert, each listener's arrival after the first listener's: what the fan-out
  adds between the first coach and the last;
- ``added`` (p95): the note p95 at N over the note p95 with one listener: the cost of the crowd.

All the listeners run in this one process, on one clock. The target is p95 under 50 ms added at 200.

    .venv/bin/python -m tests.bench.fanout [--n 1,50,200]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from callcoach.live.model import default_model_dir
from tests.helpers.calls import Plan, simulate_call_argv
from tests.helpers.server import Server, clean_env, start_server, stop_server
from tests.web.test_group_listening import Listener, connect, create_users

ROOT = Path(__file__).resolve().parents[2]
CALLCOACH = Path(sys.executable).parent / "callcoach"
SAMPLE = ROOT / "samples" / "bereavement_cold.wav"
NOTE_EVERY_S = 1.5
TARGET_N, TARGET_MS = 200, 50.0


@dataclass(frozen=True)
class Result:
    n: int
    audio: bool
    note_ms: list[float]
    spread_ms: list[float]
    missing: int  # (listener, event) pairs never received


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run_one(n: int, model: Path, *, audio: bool = False) -> Result:
    with tempfile.TemporaryDirectory(prefix="callcoach-fanout-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        tokens = create_users(data, n - 1)
        server = await start_server(CALLCOACH, model, data)
        try:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:  # no pool cap
                names = ["ana", *(f"c{k:02d}" for k in range(1, n))]
                pages = [await connect(http, server, name, tokens[name]) for name in names]
                for page in pages:
                    page.validate = False  # this process reads every socket: keep its own work small
                return await _measure(server, pages, audio)
        except Exception:
            print(server.output()[-3000:], file=sys.stderr)
            raise
        finally:
            await stop_server(server)


async def _measure(server: Server, pages: list[Listener], audio: bool) -> Result:
    loop = asyncio.get_running_loop()
    lead = pages[0]
    # The caller is its own process, as a platform is: this one is busy reading every listener's socket.
    argv = simulate_call_argv(CALLCOACH, server, Plan("twilio", SAMPLE, 1.0))
    caller = asyncio.create_task(_call(argv))
    call = await lead.until(lambda: _live(lead))
    call_id = call["call_id"]
    for page in pages:
        await page.send({"type": "subscribe", "call_id": call_id, "after_seq": 0, "audio": audio})
    await lead.send({"type": "start_session", "call_id": call_id})
    session = (await lead.until(lambda: lead.last("presence")))["session_id"]
    for page in pages[1:]:
        await page.send({"type": "join_session", "session_id": session})
    sent: dict[str, float] = {}
    while not caller.done():
        text = f"note {len(sent)}"
        sent[text] = loop.time()
        await lead.send({"type": "add_note", "call_id": call_id, "at_s": 1.0, "tag": "coach", "text": text})
        await asyncio.sleep(NOTE_EVERY_S)
    await caller
    for page in pages:
        await page.until(page.ended, wait_s=120)
    return _figures(pages, sent, audio)


async def _call(argv: list[str]) -> None:
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.DEVNULL, env=clean_env())
    if await proc.wait() != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}")


def _figures(pages: list[Listener], sent: dict[str, float], audio: bool) -> Result:
    lead = pages[0]
    note_ms: list[float] = []
    spread_ms: list[float] = []
    missing = 0
    for seq, event in lead.events.items():
        arrivals = [p.arrived.get(seq) for p in pages]
        missing += sum(a is None for a in arrivals)
        got = [a for a in arrivals if a is not None]
        if event["type"] == "note":
            note_ms += [(a - sent[event["text"]]) * 1000 for a in got]
        elif event["type"] == "alert":
            spread_ms += [(a - min(got)) * 1000 for a in got]
    return Result(len(pages), audio, note_ms, spread_ms, missing)


def _live(listener: Listener) -> dict[str, object] | None:
    calls = listener.last("calls")
    return next((c for c in calls["calls"] if c["live"]), None) if calls else None


def report(results: list[Result]) -> None:
    print("Fan-out of one live call's alerts and notes (ms)")
    print(
        f"{'listeners':>9}  {'audio':>5}  {'note p50':>8}  {'note p95':>8}  {'note max':>8}  "
        f"{'spread p50':>10}  {'spread p95':>10}  {'added p95':>9}  missing"
    )
    base = next((pct(r.note_ms, 0.95) for r in results if r.n == 1 and not r.audio), None)
    for r in results:
        added = pct(r.note_ms, 0.95) - base if base is not None else float("nan")
        print(
            f"{r.n:>9}  {'yes' if r.audio else 'no':>5}  "
            f"{pct(r.note_ms, 0.5):>8.1f}  {pct(r.note_ms, 0.95):>8.1f}  "
            f"{max(r.note_ms or [0]):>8.1f}  "
            f"{pct(r.spread_ms, 0.5):>10.1f}  {pct(r.spread_ms, 0.95):>10.1f}  {added:>9.1f}  {r.missing}"
        )
    at_target = [r for r in results if r.n == TARGET_N and not r.audio]
    if at_target and base is not None:
        added = pct(at_target[0].note_ms, 0.95) - base
        verdict = "met" if added < TARGET_MS and pct(at_target[0].spread_ms, 0.95) < TARGET_MS else "NOT met"
        print(f"target (p95 added under {TARGET_MS:.0f} ms at {TARGET_N}): {verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--n", default="1,50,200", help="listener counts, comma-separated")
    parser.add_argument("--audio-n", default="50", help="listener counts with audio ('' for none)")
    parser.add_argument("--model", type=Path, default=default_model_dir())
    args = parser.parse_args(argv)
    runs = [(int(x), False) for x in args.n.split(",") if x] + [
        (int(x), True) for x in args.audio_n.split(",") if x
    ]
    results = []
    for n, audio in runs:
        result = asyncio.run(run_one(n, args.model, audio=audio))
        results.append(result)
        print(
            f"  {n} listeners{' with audio' if audio else ''}: {len(result.note_ms)} note and "
            f"{len(result.spread_ms)} alert deliveries, {result.missing} missing",
            flush=True,
        )
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
