"""``make bench``: batch throughput, ``callcoach analyze DIR --jobs N`` against bare Vosk on the same files
with the same number of processes; prints figures, asserts nothing.

The folder is the three samples and the first ``--calls`` evaluation calls (made into
``build/bench/batch`` by ``tests/eval/generate.py`` when missing or stale). For each N in ``--jobs``:

* ``analyze``: ``callcoach analyze DIR --jobs N --json`` as a user runs it (output to /dev/null), timed
  from the command's start to its exit: worker start-up, model loads and file decoding included;
* ``bare``: N processes (``spawn``, as analyze's), each loading the model once and running the plain Vosk
  loop over the calls it is handed (both channels, a thread each, as the pipeline decodes them), timed
  the same way, from the pool's start to its end.

The figure is audio hours per wall hour of each, and analyze's over bare's (1.00: the pipeline costs
nothing over the decoder). A shared machine makes every absolute number move; the ratio in the same run
is what to compare.

    .venv/bin/python -m tests.bench.batch [--jobs 1,2] [--calls 6]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "build" / "bench" / "batch"
CALLCOACH = Path(sys.executable).parent / "callcoach"
_MODEL: dict[str, Any] = {}  # the bare worker's model, loaded once by the pool's initializer


def calls_folder(n_eval: int) -> tuple[Path, float]:
    """The folder of calls (samples and ``n_eval`` evaluation calls) and its audio seconds."""
    from callcoach.audio.decode import probe
    from tests.eval.generate import generate
    from tests.eval.script import load_calls

    FOLDER.mkdir(parents=True, exist_ok=True)
    for sample in sorted((ROOT / "samples").glob("*.wav")):
        shutil.copy(sample, FOLDER / sample.name)
    calls = load_calls()
    chosen = [calls[name] for name in sorted(calls)[:n_eval]]
    generate(chosen, FOLDER)
    return FOLDER, sum(probe(p).duration_s for p in sorted(FOLDER.glob("*.wav")))


def time_analyze(folder: Path, jobs: int) -> float:
    argv = [str(CALLCOACH), "analyze", str(folder), "--jobs", str(jobs), "--json"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCOACH_")}
    started = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    wall_s = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"callcoach analyze --jobs {jobs} failed:\n{done.stderr}")
    return wall_s


def _bare_start() -> None:
    from callcoach.live import settings as settings_mod
    from callcoach.live.model import load_model

    settings = settings_mod.from_sources(None)
    _MODEL["model"] = load_model(settings.model_dir, settings.decoder_effort)


def _bare_one(path: str) -> int:
    from tests.bench.run import _bare, _channels

    return _bare(_channels(Path(path)), _MODEL["model"], threads=True)()


def time_bare(folder: Path, jobs: int) -> float:
    files = [str(p) for p in sorted(folder.glob("*.wav"))]
    started = time.perf_counter()
    with ProcessPoolExecutor(jobs, mp_context=get_context("spawn"), initializer=_bare_start) as pool:
        list(pool.map(_bare_one, files))
    return time.perf_counter() - started


def report(audio_s: float, rows: Sequence[tuple[int, float, float]]) -> list[str]:
    head = f"{'jobs':>4} | {'analyze wall s':>14} {'audio h/h':>9} | {'bare wall s':>11} {'audio h/h':>9}"
    head += " | ratio"
    lines = [head, "-" * len(head)]
    for jobs, analyze_s, bare_s in rows:
        ours, bare = audio_s / analyze_s, audio_s / bare_s
        lines.append(
            f"{jobs:>4} | {analyze_s:14.1f} {ours:9.1f} | {bare_s:11.1f} {bare:9.1f} | {ours / bare:5.2f}"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--jobs", default="1,2", help="process counts to run, comma-separated (default 1,2)")
    parser.add_argument(
        "--calls", type=int, default=6, help="evaluation calls beside the samples (default 6)"
    )
    args = parser.parse_args(argv)
    folder, audio_s = calls_folder(args.calls)
    n_files = len(list(folder.glob("*.wav")))
    print(f"batch: {n_files} calls, {audio_s / 60:.1f} audio minutes in {folder}", flush=True)
    rows = []
    for jobs in (int(j) for j in args.jobs.split(",")):
        rows.append((jobs, time_analyze(folder, jobs), time_bare(folder, jobs)))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        "\n".join([*report(audio_s, rows), f"load average {load}; ratio: analyze's throughput over bare's"])
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
