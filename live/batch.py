"""``callcoach analyze`` of many recordings: the files found, a pool of worker processes, the results in
input order, progress on stderr and the summary.

    callcoach analyze DIR_OR_FILES... [--jobs N] [--json] [--summary FILE.csv]

Folders are searched recursively for WAV, FLAC and OGG files, each folder's files sorted by path.
``--jobs`` worker processes (default one per core the process may use) each load the Vosk model once, as
they start, and analyse calls one at a time through the same :func:`callcoach.live.cli.analyze` as a
single file; they are started fresh (``spawn``), never forked from this one, so each begins as a
single-file run would.
Results are printed in input order whatever order they finish in: each call's report (as
``analyze FILE`` prints it) or, with ``--json``, its events as JSON lines with a ``"file"`` field first on
every line. A file that fails (not audio, empty, unreadable, or its worker died) is said on stderr with the
reason and skipped; the rest are analysed. Exit status: 0 when every call was analysed, 1 when some failed
(the others are printed), 2 when nothing could start (no audio found, bad model or rules).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from callcoach.audio.errors import AudioError
from callcoach.detectors.registry import KINDS
from callcoach.detectors.rules import NO_RULES, RuleSet
from callcoach.live.errors import UserError
from callcoach.live.eventlog import latest_alerts
from callcoach.live.events import Error, Event
from callcoach.live.progress import StatusLine, batch_line
from callcoach.live.report import clock, timeline
from callcoach.live.settings import Settings
from callcoach.live.sources import FileSource

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2
COACH_KINDS = sorted(k for k, v in KINDS.items() if v.polarity == "coach")
PRAISE_KINDS = sorted(k for k, v in KINDS.items() if v.polarity == "praise")
SUMMARY_COLUMNS = (
    "file",
    "duration_s",
    "coach_moments",
    "praise_moments",
    *(f"coach_{k}" for k in COACH_KINDS),
    *(f"praise_{k}" for k in PRAISE_KINDS),
    "error",
)
# A worker keeps its model for every call it gets: decoding is reproducible (the transcriber's fixed dither,
# live/transcriber.py), so a call analysed after others in one process is exactly its single-file run.
CALLS_PER_WORKER: int | None = None
WAIT_S = 0.5  # how often the terminal's bar is redrawn while no call finishes (its time left moves)


@dataclass(frozen=True)
class CallResult:
    """One file's outcome, small enough to send back from a worker: what to print and what to count."""

    file: str
    duration_s: float | None
    lines: tuple[str, ...]  # the report, or the JSON lines
    moments: tuple[tuple[str, str], ...]  # (polarity, kind) of each moment, latest revisions
    error: str | None = None  # why the call failed (its lines are what was analysed before it)


def audio_files(inputs: Sequence[Path]) -> list[Path]:
    """The recordings named or found in the folders named, in the order given (a folder's sorted)."""
    found: list[Path] = []
    for path in inputs:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
        elif path.exists():
            found.append(path)  # named on purpose: tried whatever its suffix, and said if it is no audio
        else:
            raise UserError(f"there is no file or folder {path}: give recordings or folders holding them")
    if not found:
        names = ", ".join(str(p) for p in inputs)
        raise UserError(f"no WAV, FLAC or OGG recordings in {names}: give the folder that holds the calls")
    return found


def default_jobs() -> int:
    """One worker per core this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_batch(files: Sequence[Path], settings: Settings, *, jobs: int, as_json: bool,
              summary: Path | None, out: TextIO, err: TextIO, tty: bool,
              clock_s: Callable[[], float] = time.monotonic) -> int:  # fmt: skip
    """Analyse ``files`` on ``jobs`` processes; print each in input order; the exit status."""
    if jobs < 1:
        raise UserError(f"--jobs {jobs} runs nothing: give 1 or more (default: one per core)")
    if summary is not None and not summary.parent.is_dir():
        raise UserError(f"there is no folder {summary.parent} for the summary {summary.name}: create it")
    run = _Run(files, settings, as_json, out, StatusLine(err, tty=tty), clock_s)
    context = multiprocessing.get_context("spawn")  # a fresh interpreter per worker, as a single run has
    pool = ProcessPoolExecutor(
        min(jobs, len(files)), mp_context=context, initializer=_start_worker, initargs=(settings,),
        max_tasks_per_child=CALLS_PER_WORKER,
    )  # fmt: skip
    with pool:
        try:
            run.go(pool)
        except KeyboardInterrupt:  # Ctrl-C: the calls not started are dropped, not waited for
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    ordered = [run.results[i] for i in range(len(files))]
    if summary is not None:
        summary.write_text(summary_csv(ordered), encoding="utf-8", newline="")
    if not as_json:
        out.write("\n" + "\n".join(summary_table(ordered)) + "\n")
    return EXIT_SOME_FAILED if any(r.error for r in ordered) else 0


class _Run:
    """One batch under way: the results so far, printed in input order, and the progress."""

    def __init__(self, files: Sequence[Path], settings: Settings, as_json: bool, out: TextIO,
                 status: StatusLine, clock_s: Callable[[], float]) -> None:  # fmt: skip
        self.files = [str(f) for f in files]
        self.results: dict[int, CallResult] = {}
        self._as_json, self._out, self._status, self._clock_s = as_json, out, status, clock_s
        self._started_s = clock_s()
        self._printed = 0
        probed = [_probe(f, settings) for f in files]  # a file that does not open fails here, no worker
        self._durations = [d for d, _ in probed]
        for i, (_, fault) in enumerate(probed):
            if fault is not None:
                self._finished(i, CallResult(self.files[i], None, (), (), fault))

    def go(self, pool: ProcessPoolExecutor) -> None:
        todo = [i for i in range(len(self.files)) if i not in self.results]
        pending = {pool.submit(_analyse_one, self.files[i], self._as_json): i for i in todo}
        while pending or self._printed < len(self.files):
            finished, _ = wait(pending, timeout=WAIT_S, return_when=FIRST_COMPLETED)
            for future in sorted(finished, key=pending.__getitem__):
                i = pending.pop(future)
                self._finished(i, _outcome(future, self.files[i], self._durations[i]))
            self._status.show(self._figures(bar=True), self._clock_s(), force=bool(finished))
        self._status.done()

    def _finished(self, index: int, result: CallResult) -> None:
        self.results[index] = result
        if result.error is not None:
            self._status.say(f"callcoach: error: {result.error}")
        else:  # a line each, with the figures so far: a log's progress
            length = clock(result.duration_s or 0.0)
            self._status.say(f"{result.file}: {length}, {len(result.moments)} moments · {self._figures()}")
        while self._printed in self.results:  # in input order, each as soon as those before it are out
            _print(self.results[self._printed], self._out, self._as_json, first=self._printed == 0)
            self._printed += 1

    def _figures(self, *, bar: bool = False) -> str:
        """Calls done, audio hours done of all, the rate and the time left, and how many failed."""
        done_s = sum(r.duration_s or 0.0 for r in self.results.values())
        failed = sum(r.error is not None for r in self.results.values())
        total_s = sum(d or 0.0 for d in self._durations)
        elapsed_s = self._clock_s() - self._started_s
        return batch_line(len(self.results), len(self.files), done_s, total_s, elapsed_s, failed, bar=bar)


def _probe(path: Path, settings: Settings) -> tuple[float | None, str | None]:
    """The file's length from its header (for the progress), or why it does not open as a recording."""
    try:
        return FileSource(path, settings).info.duration_s, None
    except AudioError as exc:
        return None, exc.message


def _outcome(future: Future[CallResult], file: str, duration_s: float | None) -> CallResult:
    try:
        return future.result()
    except BrokenProcessPool:
        why = f"{file}: the worker analysing it stopped (out of memory, or killed): analyse it alone"
        return CallResult(file, duration_s, (), (), why)
    except Exception as exc:  # whatever went wrong in one call is that call's failure, not the batch's
        return CallResult(file, duration_s, (), (), f"{file}: {type(exc).__name__}: {exc}")


def _print(result: CallResult, out: TextIO, as_json: bool, *, first: bool) -> None:
    if not result.lines:
        return
    if not as_json and not first:
        out.write("\n")
    out.write("".join(f"{line}\n" for line in result.lines))
    out.flush()


def summary_csv(results: Sequence[CallResult]) -> str:
    """One row per call: file, length, moments per polarity and per kind, and the error if it failed."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(SUMMARY_COLUMNS)
    for r in results:
        counts: dict[str, int] = {}
        for polarity, kind in r.moments:
            counts[f"{polarity}_{kind}"] = counts.get(f"{polarity}_{kind}", 0) + 1
        per_kind = [counts.get(column, 0) for column in SUMMARY_COLUMNS[4:-1]]
        coach = sum(p == "coach" for p, _ in r.moments)
        duration = "" if r.duration_s is None else f"{r.duration_s:.3f}"
        writer.writerow([r.file, duration, coach, len(r.moments) - coach, *per_kind, r.error or ""])
    return buffer.getvalue()


def summary_table(results: Sequence[CallResult]) -> list[str]:
    """The summary for a person: one line per call, then the totals."""
    width = max([len("file"), *(len(r.file) for r in results)])
    lines = [f"{'file':<{width}}  {'length':>8}  {'coach':>5}  {'praise':>6}  moments"]
    for r in results:
        length = clock(r.duration_s) if r.duration_s is not None else "?"
        coach = sum(p == "coach" for p, _ in r.moments)
        kinds = _kinds(r) if r.error is None else f"FAILED: {r.error}"
        lines.append(f"{r.file:<{width}}  {length:>8}  {coach:>5}  {len(r.moments) - coach:>6}  {kinds}")
    failed = sum(r.error is not None for r in results)
    hours = sum(r.duration_s or 0.0 for r in results if r.error is None) / 3600
    lines.append(f"{len(results) - failed} calls analysed ({hours:.2f} audio h), {failed} failed")
    return lines


def _kinds(result: CallResult) -> str:
    counts: dict[str, int] = {}
    for _, kind in result.moments:
        counts[kind] = counts.get(kind, 0) + 1
    return ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items())) or "-"


# --- In the worker processes ---

# The worker's model and rules, loaded once by the pool's initializer and used for every call the process
# analyses: module state because that is how ProcessPoolExecutor hands an initializer's work to the tasks.
_WORKER: dict[str, Any] = {}


def _start_worker(settings: Settings) -> None:
    from callcoach.live.model import load_model
    from callcoach.live.rules_file import load_rules

    _WORKER["settings"] = settings
    _WORKER["rules"] = load_rules(settings.rules_file) if settings.rules_file is not None else NO_RULES
    _WORKER["model"] = load_model(settings.model_dir, settings.decoder_effort)


def _analyse_one(file: str, as_json: bool) -> CallResult:
    """One call, analysed in this worker as ``analyze FILE`` would; a bad file is its result's error."""
    settings: Settings = _WORKER["settings"]
    try:
        source = FileSource(Path(file), settings)
    except AudioError as exc:
        return CallResult(file, None, (), (), exc.message)
    return analysed(file, source, settings, _WORKER["model"], _WORKER["rules"], as_json)


def analysed(file: str, source: FileSource, settings: Settings, model: Any, rules: RuleSet,
             as_json: bool) -> CallResult:  # fmt: skip
    from callcoach.live.cli import analyze  # the CLI's module imports this one

    buffer = io.StringIO() if as_json else None
    log = asyncio.run(analyze(source, settings, model, out=buffer, rules=rules))
    events = list(log.events)
    if buffer is not None:
        prefix = '{"file": ' + json.dumps(file) + ", "
        lines = tuple(prefix + line[1:] for line in buffer.getvalue().splitlines())
    else:
        lines = tuple(timeline(events))
    return CallResult(file, source.info.duration_s, lines, _moments(events), _fault(events))


def _moments(events: Sequence[Event]) -> tuple[tuple[str, str], ...]:
    return tuple((a.polarity, a.kind) for a in latest_alerts(events))


def _fault(events: Sequence[Event]) -> str | None:
    faults = [e.message for e in events if isinstance(e, Error) and e.fatal]
    return "; ".join(faults) or None
