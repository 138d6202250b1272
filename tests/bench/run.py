"""``make bench``: the pipeline against a bare Vosk loop on the sample calls; prints figures, asserts nothing.

For each sample call three ways of decoding it are run, each in a fresh subprocess (so peak RSS is that
run's own) and timed only after the model has loaded:

* ``pipeline``: :func:`callcoach.live.cli.analyze` as ``callcoach analyze`` runs it (an unpaced
  :class:`FileSource` into a :class:`CallSession`), file decoding included;
* ``bare-2thr``: the same 16 kHz frames (from :class:`FileFrames`, decoded before the clock starts) fed
  straight to one ``KaldiRecognizer`` per channel, ``AcceptWaveform`` then ``Result()`` when it returns
  True, ``FinalResult()`` at the end, one thread per channel as the pipeline does;
* ``bare-seq``: that loop with the channels one after another in one thread;
* ``today``: the pipeline as it was before issue 12, for the throughput gained since: every frame
  decoded (``CALLCOACH_GATE=0``) with the model's graph as shipped (``live/static_graph.py``'s
  ``shipped_view``: the lookahead pair Vosk composes while it decodes);
* ``bare@shipped``: ``bare-2thr`` with the graph as shipped, bare Vosk as anyone gets it.

Each is repeated and the medians are printed: wall and CPU (user+sys of the process) seconds, throughput
in multiples of real time for the call and per channel, peak RSS, and the pipeline's cost over the bare
loops as ratios, beside the target (at most 5 % over the bare decoder).

Then replay throughput per stereo call: how many times real time one ``callcoach analyze`` of a call runs
(by the wall clock, and in call-seconds per CPU second, the figure that holds on a shared machine), beside
bare Vosk's (``bare-2thr``) on the same call in the same run, and the ratio; for each sample and for a
longer call when one is at hand (``--long``; else the longest stereo recording in ``--real``, the real
calls in ``../shared/real``, or in ``build/eval``, the generated evaluation calls).

    .venv/bin/python -m tests.bench.run [--repeats N] [--long PATH | --no-long] [CALL ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
CALLS = ("bereavement_cold", "bereavement_warm", "plain")
MODES = ("pipeline", "bare-2thr", "bare-seq", "today", "bare@shipped")
LONG_MODES = ("pipeline", "bare-2thr", "today", "bare@shipped")
# Where a longer call may be found, first match first: the real calls, then the generated evaluation set.
REAL_DIRS = (ROOT.parent / "shared" / "real", ROOT.parents[1] / "shared" / "real")
EVAL_DIR = ROOT / "build" / "eval"
AUDIO_SUFFIXES = (".wav", ".opus", ".ogg", ".flac")
TARGET = 1.05  # the pipeline may cost at most 5 % over the bare decoder
SAMPLE_RATE = 16000


@dataclass(frozen=True)
class Run:
    """One timed run, as a worker reports it."""

    wall_s: float
    cpu_s: float
    rss_mib: float
    call_s: float
    channels: int
    words: int
    wall_lo: float = 0.0  # the fastest and slowest run's wall seconds, for a median of several
    wall_hi: float = 0.0


# --- worker: one mode on one call, in its own process --------------------------------------------------


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _timed(work: Callable[[], int]) -> tuple[float, float, int]:
    """Wall and CPU seconds of ``work()``, and what it returns (the number of words recognised)."""
    wall0, cpu0 = time.perf_counter(), _cpu_s()
    words = work()
    return time.perf_counter() - wall0, _cpu_s() - cpu0, words


def _pipeline(path: Path, model: Any) -> Callable[[], int]:
    from callcoach.live import settings as settings_mod
    from callcoach.live.cli import analyze
    from callcoach.live.events import Transcript
    from callcoach.live.sources import FileSource

    def work() -> int:
        settings = settings_mod.from_sources(None)
        log = asyncio.run(analyze(FileSource(path, settings), settings, model))
        return sum(len(e.words) for e in log.events if isinstance(e, Transcript) and e.final)

    return work


def _channels(path: Path) -> list[list[bytes]]:
    """The call's 16 kHz int16 frames per channel, exactly as the pipeline gets them."""
    from callcoach.audio.source import FileFrames
    from callcoach.live import settings as settings_mod

    settings = settings_mod.from_sources(None)
    frames = FileFrames(path, settings.agent_channel, settings.customer_channel, settings.frame_s)
    channels: list[list[bytes]] = [[] for _ in frames.channel_map.speakers]
    for step in frames:
        for chunks, frame in zip(channels, step, strict=True):
            chunks.append(frame.pcm.tobytes())
    return channels


def _decode(model: Any, chunks: Sequence[bytes]) -> int:
    """The plain Vosk loop over one channel; the number of words it recognised."""
    import vosk

    recognizer = vosk.KaldiRecognizer(model, SAMPLE_RATE)
    recognizer.SetWords(True)
    words = 0
    for chunk in chunks:
        if recognizer.AcceptWaveform(chunk):
            words += len(json.loads(recognizer.Result()).get("result", []))
    return words + len(json.loads(recognizer.FinalResult()).get("result", []))


def _bare(channels: list[list[bytes]], model: Any, *, threads: bool) -> Callable[[], int]:
    def sequential() -> int:
        return sum(_decode(model, chunks) for chunks in channels)

    def threaded() -> int:
        counts = [0] * len(channels)

        def one(i: int) -> None:
            counts[i] = _decode(model, channels[i])

        workers = [threading.Thread(target=one, args=(i,)) for i in range(len(channels))]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        return sum(counts)

    return threaded if threads else sequential


def worker(mode: str, path: Path) -> Run:
    """Load the model, prepare the mode's input, then time only the decoding."""
    from callcoach.audio.decode import probe
    from callcoach.live import settings as settings_mod
    from callcoach.live.model import load_model
    from callcoach.live.static_graph import shipped_view

    model_dir = settings_mod.from_sources(None).model_dir
    if mode in ("today", "bare@shipped"):
        model_dir = shipped_view(model_dir, Path(tempfile.mkdtemp(prefix="callcoach-bench-")))
        os.environ["CALLCOACH_GATE"] = "0" if mode == "today" else "1"
    model = load_model(model_dir)
    info = probe(path)
    if mode in ("pipeline", "today"):
        work, channels = _pipeline(path, model), min(info.channels, 2)
    else:
        audio = _channels(path)
        work, channels = _bare(audio, model, threads=mode != "bare-seq"), len(audio)
    wall_s, cpu_s, words = _timed(work)
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return Run(wall_s, cpu_s, rss_mib, info.duration_s, channels, words)


# --- driver: runs the workers, prints the table ----------------------------------------------------------


def _run_worker(mode: str, path: Path) -> Run:
    argv = [sys.executable, "-m", "tests.bench.run", "--worker", mode, str(path)]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench worker {mode} {path.name} failed:\n{done.stderr}")
    return Run(**json.loads(done.stdout.splitlines()[-1]))


def _median(runs: Sequence[Run]) -> Run:
    def med(name: str) -> float:
        return statistics.median(getattr(r, name) for r in runs)

    first, walls = runs[0], [r.wall_s for r in runs]
    return Run(
        wall_s=med("wall_s"),
        cpu_s=med("cpu_s"),
        rss_mib=med("rss_mib"),
        call_s=first.call_s,
        channels=first.channels,
        words=round(med("words")),
        wall_lo=min(walls),
        wall_hi=max(walls),
    )


def _machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"machine: {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {model}"


def _row(call: str, mode: str, r: Run) -> str:
    return (
        f"{call:<17} {mode:<12} {r.wall_s:7.2f} {r.cpu_s:7.2f} {r.call_s / r.wall_s:7.1f}x "
        f"{r.channels * r.call_s / r.wall_s:7.1f}x {r.rss_mib:8.0f} {r.words:6d} "
        f"{r.wall_lo:6.2f}–{r.wall_hi:.2f}"
    )


def _ratios(call: str, by_mode: dict[str, Run]) -> str:
    pipe, fair = by_mode["pipeline"], by_mode["bare-2thr"]
    parts = []
    for bare in ("bare-2thr", "bare-seq"):
        wall = pipe.wall_s / by_mode[bare].wall_s
        cpu = pipe.cpu_s / by_mode[bare].cpu_s
        parts.append(f"vs {bare}: wall {wall:.3f} cpu {cpu:.3f}")
    verdict = [
        f"{name} {'ok' if ratio <= TARGET else 'OVER'}"
        for name, ratio in (("wall", pipe.wall_s / fair.wall_s), ("cpu", pipe.cpu_s / fair.cpu_s))
    ]
    return f"{call:<17} {'; '.join(parts)}  [{', '.join(verdict)}]"


def _total(medians: dict[str, dict[str, Run]], mode: str) -> Run:
    runs = [m[mode] for m in medians.values()]
    return Run(
        wall_s=sum(r.wall_s for r in runs),
        cpu_s=sum(r.cpu_s for r in runs),
        rss_mib=max(r.rss_mib for r in runs),
        call_s=sum(r.call_s for r in runs),
        channels=runs[0].channels,
        words=sum(r.words for r in runs),
        wall_lo=sum(r.wall_lo for r in runs),
        wall_hi=sum(r.wall_hi for r in runs),
    )


def report(medians: dict[str, dict[str, Run]], repeats: int, load: str) -> list[str]:
    columns = (
        ("wall s", 7),
        ("CPU s", 7),
        ("RT call", 8),
        ("RT chan", 8),
        ("peak MiB", 8),
        ("words", 6),
        ("wall range", 11),
    )
    head = f"{'call':<17} {'mode':<12} " + " ".join(f"{name:>{width}}" for name, width in columns)
    lines = [_machine(), load, f"medians of {repeats} runs, each in a fresh process, model load excluded"]
    lines += ["", head]
    for call, by_mode in medians.items():
        lines += [_row(call, mode, by_mode[mode]) for mode in MODES]
    totals = {mode: _total(medians, mode) for mode in MODES}
    lines += [_row("all calls", mode, totals[mode]) for mode in MODES]
    lines += ["", f"pipeline cost over the bare decoder (target: ≤ {TARGET:.2f} × bare-2thr)"]
    lines += [_ratios(call, by_mode) for call, by_mode in medians.items()]
    lines.append(_ratios("all calls", totals))
    lines += [
        "",
        "words: final words recognised; the pipeline decodes only speech (gating), bare Vosk every frame,",
        "and the pipeline adds its own fixed dither (issue 16), so the columns may differ by a word or two.",
    ]
    return lines


def find_long_call(real: Sequence[Path]) -> Path | None:
    """The longest stereo recording in the first of ``real``, then ``build/eval``, that has one."""
    from callcoach.audio.decode import probe

    for folder in [*real, EVAL_DIR]:
        found = []
        for path in sorted(folder.glob("*")) if folder.is_dir() else []:
            if path.suffix in AUDIO_SUFFIXES:
                info = probe(path)
                if info.channels == 2:
                    found.append((info.duration_s, path))
        if found:
            return max(found)[1]
    return None


def throughput(rows: dict[str, dict[str, Run]]) -> list[str]:
    """Replay throughput per stereo call: the pipeline's and bare Vosk's, the pipeline's over bare's, and
    over the pipeline's before issue 12 (``today``: ungated, the graph as shipped), the target's figure."""
    head = (
        f"{'call':<30} {'call s':>6} | {'analyze xRT':>11} {'bare xRT':>8} {'ratio':>5} |"
        f" {'analyze call-s/CPU-s':>20} {'bare':>5} {'ratio':>5} | {'before':>6} {'gain':>5}"
    )
    lines = [head, "-" * len(head)]
    for call, runs in rows.items():
        pipe, bare, before = runs["pipeline"], runs["bare-2thr"], runs["today"]
        rt_pipe, rt_bare = pipe.call_s / pipe.wall_s, bare.call_s / bare.wall_s
        cpu_pipe, cpu_bare = pipe.call_s / pipe.cpu_s, bare.call_s / bare.cpu_s
        cpu_before = before.call_s / before.cpu_s
        lines.append(
            f"{call:<30} {pipe.call_s:6.1f} | {rt_pipe:10.1f}x {rt_bare:7.1f}x {rt_pipe / rt_bare:5.2f} |"
            f" {cpu_pipe:20.2f} {cpu_bare:5.2f} {cpu_pipe / cpu_bare:5.2f} | {cpu_before:6.2f}"
            f" {cpu_pipe / cpu_before:5.2f}"
        )
    lines.append(
        "before: call-s/CPU-s of the pipeline before issue 12 (every frame decoded, graph as shipped)"
    )
    return lines


def bench_long(path: Path, repeats: int) -> dict[str, Run]:
    """The pipeline, bare Vosk and the pipeline before issue 12 on one longer call, interleaved, medians."""
    runs: dict[str, list[Run]] = {m: [] for m in LONG_MODES}
    for _ in range(repeats):
        for mode in LONG_MODES:
            runs[mode].append(_run_worker(mode, path))
    return {mode: _median(found) for mode, found in runs.items()}


def bench(calls: Sequence[str], repeats: int, long_call: Path | None = None, long_repeats: int = 1) -> None:
    subprocess.run([sys.executable, str(SAMPLES / "make_samples.py"), "--out", str(SAMPLES)], check=True)
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    runs: dict[str, dict[str, list[Run]]] = {c: {m: [] for m in MODES} for c in calls}
    for i in range(repeats):  # interleaved, so a slow spell of the machine spreads over every mode
        for call in calls:
            for mode in MODES:
                runs[call][mode].append(_run_worker(mode, SAMPLES / f"{call}.wav"))
        print(f"repeat {i + 1}/{repeats} done ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    medians = {c: {m: _median(runs[c][m]) for m in MODES} for c in calls}
    load = (
        f"load average (1 min) before/after: {load_before:.2f}/{os.getloadavg()[0]:.2f} "
        "(anything else running on these CPUs skews the walls)"
    )
    print("\n".join(report(medians, repeats, load)))
    rows = dict(medians)
    rows["all samples"] = {mode: _total(medians, mode) for mode in MODES}
    if long_call is not None:
        print(f"long call: {long_call} ({long_repeats} runs of each)", file=sys.stderr)
        rows[long_call.name] = bench_long(long_call, long_repeats)
    print(
        f"\nreplay throughput per stereo call: one `callcoach analyze` against bare Vosk (bare-2thr), "
        f"medians; load average now {os.getloadavg()[0]:.2f}"
    )
    print("\n".join(throughput(rows)))
    print(f"\nbench took {time.perf_counter() - started:.0f} s")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="pipeline vs bare Vosk on the sample calls")
    parser.add_argument("calls", nargs="*", default=list(CALLS), help="sample calls (default: all)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per call and mode (default 3)")
    parser.add_argument("--long", type=Path, help="a longer stereo call for the throughput figures")
    parser.add_argument("--no-long", action="store_true", help="no longer call")
    parser.add_argument(
        "--real", type=Path, action="append", default=[], help="where to look for one (../shared/real)"
    )
    parser.add_argument("--long-repeats", type=int, default=1, help="runs on the longer call (default 1)")
    parser.add_argument("--worker", nargs=2, metavar=("MODE", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        mode, path = args.worker
        print(json.dumps(worker(mode, Path(path)).__dict__))
        return 0
    long_call = None if args.no_long else args.long or find_long_call([*args.real, *REAL_DIRS])
    bench(args.calls, args.repeats, long_call, args.long_repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
