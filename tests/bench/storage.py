"""Storing one call's events, SQLite against PostgreSQL: prints figures, asserts nothing.

The events are those of a real analysis of the cold bereavement sample (``callcoach analyze --json``, run
once). Each round stores them as a live call is stored (:class:`~callcoach.live.call_writer.CallWriter`):
:meth:`Storage.begin`, then the events in batches, one batch per half second of the call, each one
:meth:`Storage.append` (one transaction), then the final :meth:`Storage.save`, which writes them all
again. It prints the milliseconds per batch (p50, p95) and per save, for:

- ``sqlite``: ``calls.sqlite3`` in a temporary folder (WAL, synchronous=NORMAL: a commit is not flushed to
  the disk, a power cut may lose the last ones);
- ``postgresql``: a cluster of its own (Debian's binaries, as the tests start it) with PostgreSQL's
  defaults, every commit flushed to the disk (``synchronous_commit=on``);
- ``postgresql, synchronous_commit=off``: the same cluster with SQLite's trade (a crash may lose the last
  commits, never corrupt), set per connection in the URL;

or ``--db URL`` instead of the cluster: a PostgreSQL server of yours (over a network, the round trips show).

    .venv/bin/python -m tests.bench.storage [--rounds 20] [--db postgresql://...]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from callcoach.live.codec import from_json
from callcoach.live.db import Target
from callcoach.live.events import CallEnded, CallInfo, Event
from callcoach.live.storage import Storage
from tests.helpers.postgres import MISSING, start_cluster

ROOT = Path(__file__).resolve().parents[2]
CALLCOACH = Path(sys.executable).parent / "callcoach"
SAMPLE = ROOT / "samples" / "bereavement_cold.wav"
BATCH_S = 0.5  # as CallWriter: a batch per half second of a real-time call


def analysed_events() -> list[Event]:
    """The sample's events as ``callcoach analyze --json`` prints them, decoded."""
    out = subprocess.run(
        [str(CALLCOACH), "analyze", "--json", str(SAMPLE)], check=True, capture_output=True, text=True
    ).stdout
    decoded = [from_json(json.loads(line)) for line in out.splitlines() if line.strip()]
    return [e for e in decoded if isinstance(e, Event)]


def batches(events: list[Event]) -> list[list[Event]]:
    """The events in as many batches as the call has half seconds, spread evenly (a batch with nothing
    new is not written, as CallWriter skips it)."""
    end_s = next((e.end_s for e in reversed(events) if isinstance(e, CallEnded)), 30.0)
    size = max(1, math.ceil(len(events) / max(1, round(end_s / BATCH_S))))
    return [events[i : i + size] for i in range(0, len(events), size)]


def one_round(storage: Storage, call_id: str, events: list[Event]) -> tuple[list[float], float]:
    """Store one call as it goes; the seconds of each append and of the final save."""
    info = CallInfo(call_id, "Bench", "twilio", "2026-12-01T09:00:00+00:00", None, True, "live")
    storage.begin(info, None)
    appends, seq = [], 0
    for batch in batches(events):
        t0 = time.perf_counter()
        seq = storage.append(call_id, batch, seq)
        appends.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    storage.save(info, events, None)
    return appends, time.perf_counter() - t0


def measure(label: str, database: Target, recordings: Path, events: list[Event], rounds: int) -> None:
    storage = Storage(database, recordings)
    try:
        one_round(storage, "warm-up", events)
        appends, saves = [], []
        for n in range(rounds):
            got, save = one_round(storage, f"bench-{n}", events)
            appends += got
            saves.append(save)
    finally:
        storage.close()
    ms = sorted(1000 * s for s in appends)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    print(
        f"{label:<38} append: p50 {statistics.median(ms):6.2f} ms, p95 {p95:6.2f} ms per batch  "
        f"save: {1000 * statistics.median(saves):7.2f} ms  ({len(ms)} batches)",
        flush=True,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20, help="calls stored per database (20)")
    parser.add_argument("--db", metavar="URL", help="a PostgreSQL server of yours instead of a cluster")
    args = parser.parse_args(argv)
    events = analysed_events()
    print(
        f"one call: {len(events)} events in {len(batches(events))} batches; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="callcoach-bench-") as tmp:
        folder = Path(tmp)
        measure("sqlite", folder / "calls.sqlite3", folder / "rec", events, args.rounds)
        if args.db:
            measure("postgresql (--db)", args.db, folder / "rec", events, args.rounds)
            return 0
        try:
            cluster = start_cluster(durable=True)
        except FileNotFoundError:
            print(f"postgresql: not measured: {MISSING}")
            return 0
        try:
            url = cluster.new_database("bench")
            measure("postgresql", url, folder / "rec", events, args.rounds)
            relaxed = f"{cluster.new_database('bench')}?options=-c%20synchronous_commit%3Doff"
            measure("postgresql, synchronous_commit=off", relaxed, folder / "rec", events, args.rounds)
        finally:
            cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
