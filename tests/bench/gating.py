"""Speech gating against decoding every frame: same words, how much less decoding. Prints, asserts nothing.

Each recording is run through ``callcoach analyze --json`` twice, gated (the default) and ungated
(``--no-gate``), each in a fresh subprocess so that both start from a fresh Vosk model (one model carries
state from one recognizer to the next). Per recording and in total it prints:

* the word match of the gated finals against the ungated ones, per speaker, in order: words both runs
  have (longest matching blocks) over the ungated run's words, and the word error rate of gated against
  ungated (substitutions, deletions and insertions over the ungated words);
* the same for a second ungated run against the first: the floor. Vosk's features are dithered from one
  random generator in the process, which the call's two recognizer threads draw from in whatever order
  they run, so ungated decoding does not quite repeat itself either (and any change in what is fed moves
  the draws); the gated run is as good as ungated if it is about as far from it as ungated is;
* how far the matched words' times moved (largest start difference, seconds);
* where the recording has a script next to it (``NAME.truth.json``: the samples, the evaluation calls),
  the word error rate of each run against the script's words, so "as good as ungated" is also measured
  against what was said;
* the number of finals of each run (gating closes an utterance where the speaker stops; Vosk's own
  endpoint waits for more silence, so the count may differ while the words do not);
* wall and CPU seconds (user+sys of the subprocess) of each run, less the model's load, measured once
  by a subprocess that only loads it.

    .venv/bin/python -m tests.bench.gating [--eval [DIR]] [--real DIR] [FILE ...]

With no files it runs the samples; ``--eval`` adds the evaluation calls (``build/eval/*.wav``, made by
``make eval``; skipped if absent), ``--real`` the real recordings (channel order as tests/eval/real.py).
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

from tests.eval.real import options as real_options
from tests.eval.real import recordings as real_recordings

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
CALLCOACH = Path(sys.executable).parent / "callcoach"


@dataclass(frozen=True)
class Run:
    finals: dict[str, list[tuple[str, float]]]  # speaker -> (word, start_s) in order
    count: int  # finals
    wall_s: float
    cpu_s: float


@dataclass(frozen=True)
class Comparison:
    words: int  # in the ungated finals
    matched: int
    errors: int  # word edits from ungated to gated
    moved_s: float  # largest start difference of a matched word


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path, help="recordings (default: the samples)")
    parser.add_argument("--eval", nargs="?", const=ROOT / "build" / "eval", type=Path, metavar="DIR")
    parser.add_argument("--real", type=Path, metavar="DIR", help="real recordings, e.g. ../shared/real")
    args = parser.parse_args(argv)
    jobs: list[tuple[Path, tuple[str, ...]]] = [(p, ()) for p in args.files or sorted(SAMPLES.glob("*.wav"))]
    if args.eval is not None:
        found = sorted(args.eval.glob("*.wav"))
        print(f"evaluation calls: {len(found)} in {args.eval}" if found else f"no {args.eval}/*.wav: skipped")
        jobs += [(p, ()) for p in found]
    if args.real is not None:
        jobs += [(p, real_options(p)) for p in real_recordings(args.real)]
    load_wall_s, load_cpu_s = _model_load()
    print(f"model load (subtracted below): {load_wall_s:.2f} s wall, {load_cpu_s:.2f} s CPU\n", flush=True)
    print(
        f"{'recording':36} {'words':>5} {'gated: match':>12} {'WER':>6} {'moved':>6} "
        f"{'floor: match':>12} {'WER':>6} {'script WER u/g':>14} {'finals u/g':>10} {'wall s u/g':>11} "
        f"{'CPU s u/g':>11}"
    )
    script = [0, 0, 0]  # words of the scripts, errors of ungated, of gated
    totals = {"gated": Comparison(0, 0, 0, 0.0), "floor": Comparison(0, 0, 0, 0.0)}
    cpu = [0.0, 0.0]
    for path, extra in jobs:
        ungated = _analyze(path, (*extra, "--no-gate"))
        again = _analyze(path, (*extra, "--no-gate"))
        gated = _analyze(path, extra)
        c, f = compare(ungated, gated), compare(ungated, again)
        totals = {"gated": _add(totals["gated"], c), "floor": _add(totals["floor"], f)}
        u_cpu, g_cpu = ungated.cpu_s - load_cpu_s, gated.cpu_s - load_cpu_s
        u_wall, g_wall = ungated.wall_s - load_wall_s, gated.wall_s - load_wall_s
        cpu = [cpu[0] + u_cpu, cpu[1] + g_cpu]
        said = script_words(path, mixed=set(ungated.finals) == {"mixed"})
        if said:
            errors = (against_script(said, ungated), against_script(said, gated))
            total = sum(len(w) for w in said.values())
            script = [script[0] + total, script[1] + errors[0], script[2] + errors[1]]
            versus = f"{_pct(errors[0], total):>6}/{_pct(errors[1], total):<7}"
        else:
            versus = f"{'-':>14}"
        print(
            f"{path.name[:36]:36} {c.words:5d} {_rates(c)} {c.moved_s:6.3f} {_rates(f)} {versus} "
            f"{ungated.count:>5d}/{gated.count:<4d} "
            f"{u_wall:5.1f}/{g_wall:<5.1f} {u_cpu:5.1f}/{g_cpu:<5.1f}",
            flush=True,
        )
    g, f = totals["gated"], totals["floor"]
    versus = f"{_pct(script[1], script[0]):>6}/{_pct(script[2], script[0]):<7}"
    print(f"\n{'total':36} {g.words:5d} {_rates(g)} {g.moved_s:6.3f} {_rates(f)} {versus}")
    ratio = cpu[1] / cpu[0] if cpu[0] else 0.0
    print(f"decoding CPU: ungated {cpu[0]:.1f} s, gated {cpu[1]:.1f} s ({ratio:.2f} of ungated)")
    return 0


def _add(a: Comparison, b: Comparison) -> Comparison:
    return Comparison(
        a.words + b.words, a.matched + b.matched, a.errors + b.errors, max(a.moved_s, b.moved_s)
    )


def _rates(c: Comparison) -> str:
    return f"{_pct(c.matched, c.words):>12} {_pct(c.errors, c.words):>6}"


def compare(ungated: Run, gated: Run) -> Comparison:
    """Gated finals against ungated ones, speaker by speaker."""
    words = matched = errors = 0
    moved_s = 0.0
    for speaker in sorted(set(ungated.finals) | set(gated.finals)):
        u, g = ungated.finals.get(speaker, []), gated.finals.get(speaker, [])
        matcher = SequenceMatcher(a=[w for w, _ in u], b=[w for w, _ in g], autojunk=False)
        for block in matcher.get_matching_blocks():
            for k in range(block.size):
                moved_s = max(moved_s, abs(u[block.a + k][1] - g[block.b + k][1]))
            matched += block.size
        words += len(u)
        errors += edit_distance([w for w, _ in u], [w for w, _ in g])
    return Comparison(words, matched, errors, moved_s)


def script_words(path: Path, mixed: bool) -> dict[str, list[str]]:
    """The words of the recording's script per speaker (empty without a script); ``mixed``: all of them
    as the one speaker of a mono recording, in the order of the call."""
    truth = path.with_suffix(".truth.json")
    if not truth.exists():
        return {}
    said: dict[str, list[str]] = {}
    turns = json.loads(truth.read_text(encoding="utf-8")).get("turns", [])
    for turn in sorted(turns, key=lambda t: float(t["start_s"])):
        speaker = "mixed" if mixed else turn["speaker"]
        said.setdefault(speaker, []).extend(re.findall(r"[a-z0-9']+", turn["text"].lower()))
    return said


def against_script(said: dict[str, list[str]], run: Run) -> int:
    """Word edits from the script to what the run heard, over all speakers."""
    return sum(edit_distance(words, [w for w, _ in run.finals.get(s, [])]) for s, words in said.items())


def edit_distance(a: Sequence[str], b: Sequence[str]) -> int:
    """Word-level Levenshtein distance."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]


def finals_of(lines: Sequence[dict[str, Any]]) -> dict[str, list[tuple[str, float]]]:
    """Every final's words per speaker, in order, with their start times."""
    out: dict[str, list[tuple[str, float]]] = {}
    for line in lines:
        if line.get("type") == "transcript" and line["final"]:
            words = line.get("words") or []
            out.setdefault(line["speaker"], []).extend((w["text"], w["start_s"]) for w in words)
    return out


def _analyze(path: Path, extra: Sequence[str]) -> Run:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [str(CALLCOACH), "analyze", str(path), "--json", *extra], capture_output=True, text=True, check=False
    )
    wall_s = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"callcoach analyze {path} {' '.join(extra)} failed:\n{done.stderr}")
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    count = sum(1 for line in lines if line.get("type") == "transcript" and line["final"])
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(finals_of(lines), count, wall_s, cpu_s)


def _model_load() -> tuple[float, float]:
    code = (
        "from callcoach.live.model import load_model; from callcoach.live.settings import Settings; "
        "load_model(Settings().model_dir)"
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return time.perf_counter() - started, cpu_s


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


if __name__ == "__main__":
    sys.exit(main())
