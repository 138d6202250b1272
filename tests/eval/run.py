"""``make eval``: score the detectors on the labelled evaluation set, then run them on real recordings.

Generates the set if stale (``tests.eval.generate``), runs ``callcoach analyze --json --rules
tests/eval/rules.toml`` on every call (two at a time), matches the alerts to the truth (``tests.eval.score``)
and prints, per kind, the truth count, true and false positives, misses, precision and recall against the
targets (precision >= 0.9, recall >= 0.85), then every miss and false alert with its call, time, title and
quote. Then every recording in the real folder, with each coach alert judged by ``real_truth.toml``. The
results go to ``build/eval/results.json`` (``results.only.json`` for a run with ``--only``; ``--json``
prints them instead of the table), each call's events to ``build/eval/<call>.events.jsonl``. Exit status
1 when a target fails (a false coach alert on a real recording included), 2 when a call cannot be analysed.

    .venv/bin/python -m tests.eval.run [--only CALL|GLOB|KIND ...] [--real DIR | --no-real] [--json]
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tests.eval import real
from tests.eval.analyze import Analysis, analyze
from tests.eval.generate import OUT, ROOT, generate
from tests.eval.score import (
    PRECISION_TARGET,
    RECALL_TARGET,
    TOLERANCE_S,
    Found,
    Matching,
    Score,
    Truth,
    final_alerts,
    match,
    tally,
)
from tests.eval.script import KINDS, RULES_FILE, load_calls

REAL = ROOT.parent / "shared" / "real"


def clock(s: float) -> str:
    return f"{int(s // 60):02d}:{s % 60:04.1f}"


def load_truth(name: str, out: Path) -> tuple[list[Truth], list[Truth], dict[str, Any]]:
    data = json.loads((out / f"{name}.truth.json").read_text())

    def truths(key: str) -> list[Truth]:
        return [
            Truth(name, m["kind"], m["rule"], m["start_s"], m["end_s"], m["where"], m["note"])
            for m in data[key]
        ]

    return truths("moments"), truths("lookalikes"), data


def select(
    names: Sequence[str], truths: dict[str, list[Truth]], only: Sequence[str]
) -> tuple[list[str], set[str]]:
    """The calls to run and the kind keys to report: ``--only`` takes call names, globs and kinds."""
    if not only:
        return list(names), set()
    kinds = {o for o in only if o in KINDS or o.startswith("rule:")}
    chosen = [
        n
        for n in names
        if any(fnmatch.fnmatch(n, o) for o in only)
        or any(t.key in kinds or t.kind in kinds for t in truths[n])
    ]
    return chosen, kinds


def run_calls(names: Sequence[str], out: Path, jobs: int) -> dict[str, Analysis]:
    def one(name: str) -> Analysis:
        result = analyze(out / f"{name}.wav")
        lines = "".join(json.dumps(e) + "\n" for e in result.events)
        (out / f"{name}.events.jsonl").write_text(lines)
        return result

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return dict(zip(names, pool.map(one, names), strict=True))


def print_table(scores: Sequence[Score]) -> None:
    print(f"{'kind':<34}{'truth':>6}{'TP':>5}{'FP':>5}{'FN':>5}{'precision':>11}{'recall':>8}  target")
    for s in scores:
        p = "-" if s.precision is None else f"{s.precision:.2f}"
        r = "-" if s.recall is None else f"{s.recall:.2f}"
        label = f"  {s.kind}" if s.kind.startswith("rule:") else s.kind
        verdict = "PASS" if s.passed else "FAIL"
        print(f"{label:<34}{s.truth:>6}{s.tp:>5}{s.fp:>5}{s.fn:>5}{p:>11}{r:>8}  {verdict}")


def describe_miss(t: Truth, data: dict[str, Any]) -> str:
    said = [
        f'{x["speaker"]}: "{x["text"]}"'
        for x in data["turns"]
        if x["start_s"] < t.end_s and x["end_s"] > t.start_s
    ]
    where = f"[{t.where}] " if t.where else ""
    head = f"  {t.call}  {clock(t.start_s)}–{clock(t.end_s)}  {t.key}  {where}{t.note}".rstrip()
    return f"{head}\n      " + ("\n      ".join(said[-2:]) if said else "(nobody speaking)")


def describe_false(a: Found, lookalikes: Sequence[Truth]) -> str:
    hit = next(
        (
            lk
            for lk in lookalikes
            if lk.key == a.key and a.start_s <= lk.end_s + TOLERANCE_S and a.end_s >= lk.start_s - TOLERANCE_S
        ),
        None,
    )
    tag = f"\n      look-alike it was written to test: {hit.note}" if hit is not None else ""
    head = f'  {a.call}  {clock(a.start_s)}–{clock(a.end_s)}  {a.key}  "{a.title}"'
    return f'{head}\n      quote: "{a.quote}"{tag}'


def run_real(folder: Path, jobs: int, as_json: bool) -> dict[str, Any]:
    """Analyse each real recording and judge its coach alerts; print them unless JSON was asked for."""
    say = (lambda *_a: None) if as_json else print
    if not folder.is_dir():
        say(f"\nReal recordings: skipped, no folder {folder} (give --real DIR, or REAL=DIR to make eval)")
        return {"folder": str(folder), "skipped": True, "false": 0}
    files = real.recordings(folder)
    accepted = real.load_accepted()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        # Without the set's rules: they are the policy the generated calls were written to, and these calls
        # come from elsewhere (a "missing" disclosure there says nothing about the detectors).
        runs = list(pool.map(lambda p: analyze(p, real.options(p), rules=None), files))
    say(
        f"\nReal recordings ({folder}, no rules): coach alerts are false unless tests/eval/real_truth.toml "
        "accepts them"
    )
    report: dict[str, Any] = {"folder": str(folder), "skipped": False, "files": {}, "false": 0, "errors": 0}
    for path, result in zip(files, runs, strict=True):
        verdicts = real.judge(final_alerts(path.name, result.events), accepted)
        opts = " ".join(real.options(path))
        say(f"  {path.name}{f' ({opts})' if opts else ''}: {len(verdicts)} alert(s)")
        if result.returncode != 0:
            report["errors"] += 1
            say(f"    analyze failed ({result.returncode}): {result.stderr}")
        for v in verdicts:
            a = v.alert
            state = (
                "praise, not counted" if not v.counted else (f"right: {v.reason}" if v.reason else "FALSE")
            )
            say(
                f'    [{a.polarity.upper():6}] {clock(a.start_s)}–{clock(a.end_s)}  {a.key}  "{a.title}"'
                f"  {state}"
            )
            say(f'             quote: "{a.quote}"')
        report["false"] += sum(1 for v in verdicts if v.counted and v.reason is None)
        report["files"][path.name] = [
            {**asdict(v.alert), "counted": v.counted, "reason": v.reason} for v in verdicts
        ]
    coach = sum(1 for f in report["files"].values() for v in f if v["counted"])
    verdict = "PASS" if report["false"] == 0 else "FAIL"
    say(
        f"  {coach} coach alert(s), {coach - report['false']} right, {report['false']} false"
        f" (target: none false)  {verdict}"
    )
    return report


def commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return done.stdout.strip()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--only", nargs="+", default=[], metavar="CALL|GLOB|KIND", help="run only these calls or kinds"
    )
    parser.add_argument(
        "--real", type=Path, default=REAL, help="folder of real recordings (default: %(default)s)"
    )
    parser.add_argument("--no-real", action="store_true", help="skip the real recordings")
    parser.add_argument("--jobs", type=int, default=2, help="calls analysed at once (default: %(default)s)")
    parser.add_argument(
        "--out", type=Path, default=OUT, help="generated calls and results (default: %(default)s)"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of the table")
    args = parser.parse_args(argv)
    began = time.monotonic()
    say = (lambda *_a: None) if args.json else print

    calls = load_calls()
    made = generate(list(calls.values()), args.out)
    truth = {n: load_truth(n, args.out) for n in calls}
    names, kinds = select(list(calls), {n: t[0] + t[1] for n, t in truth.items()}, args.only)
    if not names:
        print(
            f"error: --only {' '.join(args.only)} matches no call and no kind ({', '.join(KINDS)})",
            file=sys.stderr,
        )
        return 2
    minutes = sum(truth[n][2]["duration_s"] for n in names) / 60
    say(
        f"Evaluation set: {len(names)} calls, {minutes:.1f} min of audio ({len(made)} regenerated); "
        f"tolerance ±{TOLERANCE_S:g} s; rules from {RULES_FILE.name}"
    )

    results = run_calls(names, args.out, args.jobs)
    failed = {n: r for n, r in results.items() if r.returncode != 0}
    matchings: dict[str, Matching] = {}
    for name in names:
        alerts = [
            a
            for a in final_alerts(name, results[name].events)
            if not kinds or a.key in kinds or a.kind in kinds
        ]
        moments = [t for t in truth[name][0] if not kinds or t.key in kinds or t.kind in kinds]
        matchings[name] = match(moments, alerts)
    all_truth = [t for n in names for t in truth[n][0] if not kinds or t.key in kinds or t.kind in kinds]
    scores = tally(matchings.values(), all_truth, kinds or [k for k in KINDS if k != "rule"])

    if not args.json:
        print()
        print_table(scores)
        print(
            f"\nTargets: precision >= {PRECISION_TARGET}, recall >= {RECALL_TARGET}"
            " (a kind with no alerts has no precision)"
        )
        print("\nMissed (a truth moment no alert matched):")
        for n in names:
            for t in matchings[n].misses:
                print(describe_miss(t, truth[n][2]))
        print("\nFalse alerts (matching no truth moment of their kind):")
        for n in names:
            for a in matchings[n].false_alerts:
                print(describe_false(a, truth[n][1]))
        for n, r in failed.items():
            print(f"\nerror: analyze failed on {n} ({r.returncode}): {r.stderr}")
    real_report = {"skipped": True, "false": 0} if args.no_real else run_real(args.real, args.jobs, args.json)

    elapsed = time.monotonic() - began
    report = {
        "commit": commit(),
        "elapsed_s": round(elapsed, 1),
        "tolerance_s": TOLERANCE_S,
        "scores": [
            {**asdict(s), "precision": s.precision, "recall": s.recall, "passed": s.passed} for s in scores
        ],
        "calls": {
            n: {
                "hits": [{"truth": asdict(t), "alert": asdict(a)} for t, a in matchings[n].hits],
                "misses": [asdict(t) for t in matchings[n].misses],
                "false_alerts": [asdict(a) for a in matchings[n].false_alerts],
                "analyze_returncode": results[n].returncode,
            }
            for n in names
        },
        "real": real_report,
    }
    # A partial run (--only) keeps its own file, so the last full run stays there to compare against.
    results = args.out / ("results.only.json" if args.only else "results.json")
    results.write_text(json.dumps(report, indent=2) + "\n")
    if args.json:
        print(json.dumps(report, indent=2))
    say(f"\nResults in {results}; took {elapsed / 60:.1f} min")
    if failed or real_report.get("errors"):
        return 2
    return 0 if all(s.passed for s in scores) and real_report["false"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
