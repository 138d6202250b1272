"""``make bench``: where a live call's CPU goes, end to end, in CPU seconds per second of call audio.

One live Twilio call (the cold bereavement sample, real time, a coach's websocket following it and
receiving its audio as a page does) into a real ``callcoach serve``, sampled from outside by py-spy:
``py-spy record --native --format raw`` over every thread of the server and of any worker process it
starts (``--subprocesses``), at ``--rate`` samples a second. py-spy rather than cProfile because most of
the time is native: cProfile sees ``AcceptWaveform`` as one opaque call and nothing of numpy, soxr,
libsndfile or SQLite inside theirs, nor threads it was not started in, and it slows the pure-Python parts
it does see by far more than the native ones, skewing the split; a sampling profiler outside the
process sees every thread's Python and native stack at the same small cost. Waiting threads (on a
lock, a queue, the GIL or epoll) are left out.

Each sample is put in the first category its stack meets from the leaf up (a ``json.dumps`` inside the
coach's socket code is JSON; a ``write`` of the transport is a websocket write); a stack that meets the
project's own code first (detectors, the session, the catalog) is "other", and one that meets only
asyncio, aiohttp's reading, selectors and thread hand-offs is event-loop overhead; compiling the graph
of a new recognizer (``KaldiRecognizer.__init__``) is Vosk's per-call set-up. A sampled thread that is
runnable but waiting for a core still counts as busy, which on a loaded machine favours the long-running
decoder threads; so each thread's CPU over the call (polled from /proc) is split by that thread's own
samples, and the rows add up to the server's CPU seconds (the whole process tree).

Vosk on speech and Vosk on silence look the same on a stack, so that split is measured directly: after
the call, the recording the server wrote (G.711 decoded and resampled: what its recognizers got) is
decoded again in this process, one recognizer per channel, 0.1 s chunks, timing (thread CPU time) each
``AcceptWaveform`` with the ``Result``/``PartialResult`` the pipeline asks for after it; each chunk is
speech when :class:`callcoach.audio.vad.VoiceActivity` finds that speaker's speech in it, and only the
chunks the pipeline's speech gates pass on are decoded (the "silence" is then the gates' padding around
speech). The Vosk row of the profile is split by those two shares.

    .venv/bin/python -m tests.bench.profile_call [--sample PATH] [--rate HZ]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.bench.proc import ThreadWatch, tree_cpu_s
from tests.bench.vosk_split import Split, vosk_split
from tests.helpers.calls import Plan, place_calls
from tests.helpers.server import start_server, stop_server

ROOT = Path(__file__).resolve().parents[2]
CALLCOACH = Path(sys.executable).parent / "callcoach"
PY_SPY = Path(sys.executable).parent / "py-spy"
SAMPLE = ROOT / "samples" / "bereavement_cold.wav"
RATE_HZ = 100  # enough samples in a 35 s call for 1 % shares; each native sample pauses the server briefly
RAW_OUT = ROOT / "build" / "bench" / "profile_call.txt"  # kept: flamegraph.pl draws it

VOSK, OTHER, LOOP = "Vosk", "other (detectors, session, catalog, ...)", "event-loop overhead"
VOSK_SETUP = "Vosk recognizer set-up (per call)"


def _ours(path: str) -> str:
    """A frame in one of the project's files: py-spy shortens paths on ``sys.path`` (``live/x.py``)."""
    return rf"[(/]{path}:"


# Leaf first, the first category a frame matches wins. A py-spy frame reads "function (file:line)", or
# "symbol (library)" for a native one.
CATEGORIES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (VOSK, re.compile(r"vosk/|kaldi|fst::|KaldiRecognizer")),
    ("voice activity", re.compile(_ours(r"audio/vad\.py"))),
    ("resampling", re.compile(_ours(r"audio/resample\.py") + "|soxr")),
    ("G.711", re.compile(_ours(r"audio/g711\.py"))),
    ("SQLite", re.compile(r"sqlite3|" + _ours(r"live/storage\.py"))),
    ("WAV writing", re.compile(_ours(r"live/recording\.py") + "|soundfile|libsndfile")),
    (
        "websocket writes",
        re.compile(
            r"aiohttp/_websocket/writer|^(send_str|send_bytes|send_frame|send_json) \(.*aiohttp/"
            r"|^\S*(write|writelines|_write_ready|_write_send|_write_sendmsg) \(.*asyncio/selector_events"
        ),
    ),
    ("JSON", re.compile(r"[(/]json/|_json|base64|binascii|" + _ours(r"live/codec\.py"))),
)
ORDER = (
    VOSK + " on speech",
    VOSK + " on silence (gate padding)",
    VOSK_SETUP,
    *[name for name, _ in CATEGORIES[1:]],
    LOOP,
    OTHER,
)
LOOP_FRAME = re.compile(
    r"asyncio/|selectors\.py|aiohttp/|concurrent/futures|threading\.py|queue\.py|socket\.py|yarl|multidict"
)
PROJECT_FRAME = re.compile(r"[(/]((?:audio|live|detectors|web)/[\w/]+\.py):")
PYTHON_FRAME = re.compile(r"\.py:\d+\)$")
# A thread blocked here is waiting, not working: py-spy's own idle check races with the pause and lets
# some of these through, so they are dropped here too (a lock, a queue, a condition, the GIL, epoll).
WAIT_FRAME = re.compile(
    r"epoll_wait|select_epoll_poll_impl|PyThread_acquire_lock|pthread_cond_(timed|clock)?wait|take_gil"
    r"|sem_(timed|clock)?wait|futex|nanosleep|__poll|_queue_SimpleQueue_get"
)


# --- the profile ------------------------------------------------------------------------------------------


def classify(stack: Sequence[str]) -> tuple[str, str] | None:
    """The category of one sampled stack (root first), and for "other" the project file it was in; None
    for a thread that was waiting."""
    for frame in reversed(stack):
        if PYTHON_FRAME.search(frame):
            break
        if WAIT_FRAME.search(frame):
            return None
    if any("KaldiRecognizer.__init__" in frame for frame in stack):
        return (
            VOSK_SETUP,
            "",
        )  # compiling the look-ahead graph for a new recognizer: neither speech nor silence
    for frame in reversed(stack):
        for name, pattern in CATEGORIES:
            if pattern.search(frame):
                return name, ""
        if project := PROJECT_FRAME.search(frame):
            return OTHER, project.group(1)
        if LOOP_FRAME.search(frame):
            return LOOP, ""
    return OTHER, "(no Python frame: interpreter, GC)"


THREAD_FRAME = re.compile(r"^thread \((\d+)\)")  # with --threads: the OS thread id
ROOT_FRAME = re.compile(r"^(process \d+:|thread \(\d+\))")


@dataclass(frozen=True)
class Profile:
    by_thread: dict[int, Counter[str]]  # OS thread id -> category -> busy samples
    other: Counter[str]  # project file -> samples, within "other"
    idle: int  # samples of a waiting thread, left out

    @property
    def samples(self) -> Counter[str]:
        return sum(self.by_thread.values(), Counter())

    @property
    def total(self) -> int:
        return sum(self.samples.values())


def read_raw(path: Path) -> Profile:
    """py-spy's raw (collapsed) output: one ``thread (tid): name;frame;...;leaf count`` line per distinct
    stack, root first."""
    by_thread: dict[int, Counter[str]] = {}
    other: Counter[str] = Counter()
    idle = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        # The roots name the process (its command line) and the thread: not code, never classified.
        roots = [f for f in frames[:2] if ROOT_FRAME.match(f)]
        found = classify(frames[len(roots) :])
        if found is None:
            idle += int(count)
            continue
        name, where = found
        tid = next((int(m.group(1)) for f in roots if (m := THREAD_FRAME.match(f))), 0)
        by_thread.setdefault(tid, Counter())[name] += int(count)
        if name == OTHER:
            other[where] += int(count)
    return Profile(by_thread, other, idle)


def cpu_by_category(profile: Profile, threads: dict[int, float], total_s: float) -> dict[str, float]:
    """Each thread's CPU split by its own samples' shares: sampling counts a thread that is runnable but
    waits for a core as busy, so raw sample counts favour the long-running decoders on a loaded machine;
    weighting per thread by its real CPU undoes most of that. CPU no thread figure covers (a thread that
    ended between polls) is spread by the shares of all samples; the rows add up to ``total_s``."""
    out: dict[str, float] = {}
    for tid, counts in profile.by_thread.items():
        busy = sum(counts.values())
        for name, n in counts.items():
            out[name] = out.get(name, 0.0) + threads.get(tid, 0.0) * n / busy
    covered, everything = sum(out.values()), profile.total or 1
    if covered > total_s:  # the polls and /proc's total disagree by a tick or two: trust the total
        return {name: cpu * total_s / covered for name, cpu in out.items()}
    for name, n in profile.samples.items():
        out[name] = out.get(name, 0.0) + (total_s - covered) * n / everything
    return out


async def start_py_spy(pid: int, out: Path, rate_hz: int) -> asyncio.subprocess.Process:
    """py-spy attached to ``pid`` (it needs ptrace: a child of this process, as root or with
    kernel.yama.ptrace_scope ≤ 1, may trace its sibling)."""
    argv = [str(PY_SPY), "record", "--native", "--threads", "--subprocesses", "--format", "raw"]
    proc = await asyncio.create_subprocess_exec(
        *argv,
        "--rate",
        str(rate_hz),
        "--pid",
        str(pid),
        "--output",
        str(out),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    await asyncio.sleep(1.0)  # attached and sampling before the call starts
    if proc.returncode is not None:
        text = (await proc.stdout.read()).decode(errors="replace") if proc.stdout else ""
        raise RuntimeError(f"py-spy could not attach to the server (ptrace allowed?):\n{text}")
    return proc


async def stop_py_spy(proc: asyncio.subprocess.Process) -> str:
    """Ctrl-C, as a user stops it: it writes the file then exits; what it said."""
    proc.send_signal(signal.SIGINT)
    out, _ = await proc.communicate()
    return out.decode(errors="replace").strip()


@dataclass(frozen=True)
class Call:
    profile: Profile
    threads: dict[int, float]  # OS thread id -> CPU seconds over the call
    cpu_s: float
    audio_s: float
    recording: Path
    py_spy: str


async def profile_call(sample: Path, model_dir: Path, tmp: Path, rate_hz: int) -> Call:
    server = await start_server(CALLCOACH, model_dir, tmp / "data")
    raw = RAW_OUT
    raw.parent.mkdir(parents=True, exist_ok=True)
    try:
        spy = await start_py_spy(server.proc.pid, raw, rate_hz)
        watch = ThreadWatch(server.proc.pid)
        polling = asyncio.create_task(watch.run())
        cpu0 = tree_cpu_s(server.proc.pid)
        (trace,) = await place_calls(server, [Plan("twilio", sample)])
        cpu_s = tree_cpu_s(server.proc.pid) - cpu0
        polling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await polling
        said = await stop_py_spy(spy)
    finally:
        await stop_server(server)
    recordings = sorted((tmp / "data").rglob("*.wav"))
    if not recordings:
        raise RuntimeError("the server wrote no recording of the call")
    return Call(read_raw(raw), watch.cpu_s(), cpu_s, float(trace.ended()["end_s"]), recordings[0], said)


# --- the report --------------------------------------------------------------------------------------------


def rows(call: Call, split: Split) -> dict[str, float]:
    """CPU seconds per category: each thread's measured CPU split by its samples."""
    cpu = cpu_by_category(call.profile, call.threads, call.cpu_s)
    vosk = cpu.pop(VOSK, 0.0)
    cpu[VOSK + " on speech"] = vosk * split.speech_share
    cpu[VOSK + " on silence (gate padding)"] = vosk * (1 - split.speech_share)
    return {name: cpu.get(name, 0.0) for name in ORDER}


def samples_line(text: str) -> str:
    """py-spy's summary (samples taken, errors), without its advertising."""
    found = [line.removeprefix("py-spy> ") for line in text.splitlines() if "amples" in line]
    return found[-1] if found else "-"


def report(call: Call, split: Split, rate_hz: int) -> list[str]:
    per = rows(call, split)
    head = f"{'where':<42} {'CPU s':>7} {'per call-s':>10} {'share':>6}"
    lines = [head, "-" * len(head)]
    for name, cpu_s in per.items():
        lines.append(f"{name:<42} {cpu_s:7.2f} {cpu_s / call.audio_s:10.4f} {cpu_s / call.cpu_s:6.1%}")
    lines.append(
        f"{'total (server process tree, /proc)':<42} {call.cpu_s:7.2f} {call.cpu_s / call.audio_s:10.4f}"
    )
    top = ", ".join(f"{where} {n / call.profile.total:.1%}" for where, n in call.profile.other.most_common(6))
    audio = split.speech_audio_s + split.silence_audio_s
    return [
        *lines,
        "",
        f"other, by file: {top}",
        f"py-spy at {rate_hz} Hz: {call.profile.total} busy samples ({call.profile.idle} of waiting threads "
        f"left out) = {call.profile.total / rate_hz:.1f} thread-s busy against {call.cpu_s:.1f} CPU s in "
        "/proc: a thread that is runnable but waits for a core counts as busy, hence each thread's samples "
        f"are weighted by its own CPU ({len(call.profile.by_thread)} threads sampled busy)",
        f"py-spy said: {samples_line(call.py_spy)}",
        f"Vosk split, measured in-process on the call's recording, gated as the pipeline gates it: "
        f"{audio:.1f} channel-s decoded, {split.skipped_audio_s:.1f} skipped; speech "
        f"{split.speech_audio_s / audio:.0%} of the decoded audio (the rest the gates' padding) and "
        f"{split.speech_share:.0%} of Vosk's time; "
        f"{split.speech_cpu_s / split.speech_audio_s:.3f} CPU s per speech second, "
        f"{split.silence_cpu_s / split.silence_audio_s:.3f} per silence second (one channel); "
        f"{split.results_cpu_s / (split.speech_cpu_s + split.silence_cpu_s):.0%} of it in "
        "Result/PartialResult after each chunk",
    ]


async def _profile(sample: Path, model_dir: Path, rate_hz: int) -> tuple[Call, Split]:
    with tempfile.TemporaryDirectory(prefix="callcoach-profile-") as tmp:
        call = await profile_call(sample, model_dir, Path(tmp), rate_hz)
        split = await asyncio.to_thread(vosk_split, call.recording, model_dir)
    return call, split


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sample", type=Path, default=SAMPLE, help="the recording the caller plays")
    parser.add_argument("--rate", type=int, default=RATE_HZ, help=f"py-spy samples a second ({RATE_HZ})")
    args = parser.parse_args(argv)

    from callcoach.live.model import ModelError, check_model_dir, default_model_dir

    model_dir = Path(os.environ.get("CALLCOACH_MODEL") or default_model_dir())
    try:
        check_model_dir(model_dir)
    except ModelError as exc:
        print(exc.message, file=sys.stderr)
        return 2
    started, load = time.monotonic(), os.getloadavg()[0]
    print(f"profiling one live Twilio call of {args.sample.name} with py-spy ...", file=sys.stderr)
    call, split = asyncio.run(_profile(args.sample, model_dir, args.rate))
    print()
    print(
        f"Where a live call's CPU goes ({args.sample.name}, {call.audio_s:.1f} s, one coach listening), "
        "py-spy --native"
    )
    print("\n".join(report(call, split, args.rate)))
    print(f"load average (1 min) before/after: {load:.2f}/{os.getloadavg()[0]:.2f}")
    print(f"(profile took {time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
