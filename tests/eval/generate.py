"""Synthesise the evaluation calls into ``build/eval/``: one recording and one truth file per call.

Owns the sound and the truth in seconds. Each turn is spoken by espeak-ng and trimmed by
``samples/make_samples.py``'s own :func:`synthesise`; this module lays the turns out in time (a pause after
the latest speech, or an overlap with the previous turn, a clip cut short for a speaker who is cut off),
mixes them onto the agent's and the customer's channel, and writes the call as its script asks: stereo
16 kHz (agent LEFT), stereo 8 kHz G.711 mu-law (sox), or a mono mix. The truth (``<name>.truth.json``)
gives each turn's and each moment's start and end from the sample counts, plus every silence over
:data:`SILENCE_S`, found here from the layout so no script has to remember one.

A call is regenerated only when its script or this code changed (a hash of both is kept in its truth), and
a run gives the same bytes every time (no dither anywhere).

    .venv/bin/python -m tests.eval.generate [--out build/eval] [--force] [NAME ...]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from samples.make_samples import SAMPLE_RATE, Pcm, seconds, wav_bytes, write_atomically
from samples.make_samples import Voice as SampleVoice
from samples.make_samples import synthesise as espeak
from tests.eval.script import SPEAKERS, Call, Moment, load_calls

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "build" / "eval"
SILENCE_S = 5.0  # the silence detector's default threshold: a longer gap is a truth moment
# Scripted gaps must stay clear of the threshold: speech edges move by a few tenths in voice activity
# detection, so a 4.9 s gap may be heard as 5.1 s. A gap in this band fails the script check.
AMBIGUOUS_S = (3.5, 6.5)
FADE_S = 0.02  # a turn cut short ends in a short fade, not a click
CODE = (Path(__file__), ROOT / "tests" / "eval" / "script.py", ROOT / "samples" / "make_samples.py")


def synthesise(text: str, voice_name: str, speed: int) -> Pcm:
    return espeak(text, SampleVoice(voice_name, speed))


def layout(call: Call, clips: Sequence[Pcm]) -> list[tuple[int, int]]:
    """Each turn's (start, end) in samples; clips are already cut where the script cuts them."""
    placed: list[tuple[int, int]] = []
    latest = round(call.lead_s * SAMPLE_RATE)
    for turn, clip in zip(call.turns, clips, strict=True):
        if turn.overlap_s is None:
            start = latest + round(turn.pause_s * SAMPLE_RATE)
        else:
            prev_start, prev_end = placed[-1]
            start = max(prev_start, prev_end - round(turn.overlap_s * SAMPLE_RATE))
        placed.append((start, start + len(clip)))
        latest = max(latest, start + len(clip))
    return placed


def cut(clip: Pcm, cut_s: float | None) -> Pcm:
    if cut_s is None:
        return clip
    kept = clip[: round(cut_s * SAMPLE_RATE)].astype(np.float64)
    fade = min(len(kept), round(FADE_S * SAMPLE_RATE))
    kept[len(kept) - fade :] *= np.linspace(1.0, 0.0, fade)
    return np.round(kept).astype(np.int16)


def silences(placed: Sequence[tuple[int, int]], total: int) -> list[tuple[int, int]]:
    """Every stretch where nobody speaks (lead and tail included), in samples."""
    gaps, latest = [], 0
    for start, end in sorted(placed):
        if start > latest:
            gaps.append((latest, start))
        latest = max(latest, end)
    if total > latest:
        gaps.append((latest, total))
    return gaps


def mix(call: Call, clips: Sequence[Pcm], placed: Sequence[tuple[int, int]], total: int) -> Pcm:
    """Stereo int16 (agent left, customer right), or one mixed channel for a mono call."""
    wide = np.zeros((total, len(SPEAKERS)), dtype=np.int32)
    for turn, clip, (start, end) in zip(call.turns, clips, placed, strict=True):
        wide[start:end, SPEAKERS.index(turn.speaker)] += clip
    if call.output == "mono":
        wide = wide.sum(axis=1, keepdims=True)
    return np.clip(wide, -32768, 32767).astype(np.int16)


def encode(call: Call, pcm: Pcm) -> bytes:
    wav = wav_bytes(pcm)
    if call.output != "mulaw8k":
        return wav
    # sox: 8 kHz G.711 mu-law, as a phone platform records it. -D: no dither, so the bytes repeat.
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.wav", Path(tmp) / "out.wav"
        src.write_bytes(wav)
        subprocess.run(
            ["sox", "-D", "-V1", str(src), "-r", "8000", "-e", "mu-law", "-b", "8", str(dst)],
            check=True,
            capture_output=True,
        )
        return dst.read_bytes()


def script_hash(call: Call) -> str:
    # The script file by name, not path: a checkout elsewhere has the same calls.
    facts = {**asdict(call), "source": call.source.name}
    digest = hashlib.sha256(json.dumps(facts, default=str, sort_keys=True).encode())
    for path in CODE:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def span_samples(call: Call, moment: Moment, placed: Sequence[tuple[int, int]]) -> tuple[int, int]:
    if moment.span.seconds is not None:
        return round(moment.span.seconds[0] * SAMPLE_RATE), round(moment.span.seconds[1] * SAMPLE_RATE)
    ids = [t.id for t in call.turns]
    assert moment.span.first is not None and moment.span.last is not None  # checked by the script loader
    return placed[ids.index(moment.span.first)][0], placed[ids.index(moment.span.last)][1]


def moment_json(call: Call, moment: Moment, placed: Sequence[tuple[int, int]]) -> dict[str, Any]:
    start, end = span_samples(call, moment, placed)
    where = (
        moment.span.first
        if moment.span.first == moment.span.last
        else f"{moment.span.first}..{moment.span.last}"
    )
    return {
        "kind": moment.kind,
        "rule": moment.rule,
        "start_s": seconds(start),
        "end_s": seconds(end),
        "where": where if moment.span.seconds is None else "span_s",
        "note": moment.note,
    }


def truth(call: Call, placed: Sequence[tuple[int, int]], total: int) -> dict[str, Any]:
    gaps = [g for g in silences(placed, total) if g[1] - g[0] > SILENCE_S * SAMPLE_RATE]
    return {
        "call": call.name,
        "hash": script_hash(call),
        "output": call.output,
        "duration_s": seconds(total),
        "voices": {who: asdict(v) for who, v in call.voices.items()},
        "turns": [
            {"id": t.id, "speaker": t.speaker, "text": t.text, "start_s": seconds(s), "end_s": seconds(e)}
            for t, (s, e) in zip(call.turns, placed, strict=True)
        ],
        "moments": [
            *(
                {
                    "kind": "silence",
                    "rule": None,
                    "start_s": seconds(s),
                    "end_s": seconds(e),
                    "where": "gap",
                    "note": f"{(e - s) / SAMPLE_RATE:.1f} s with nobody speaking",
                }
                for s, e in gaps
            ),
            *(moment_json(call, m, placed) for m in call.moments),
        ],
        "lookalikes": [moment_json(call, m, placed) for m in call.lookalikes],
    }


def check_gaps(call: Call, placed: Sequence[tuple[int, int]], total: int) -> None:
    lo, hi = (round(x * SAMPLE_RATE) for x in AMBIGUOUS_S)
    for start, end in silences(placed, total):
        if lo <= end - start <= hi:
            raise ValueError(
                f"{call.source.name}: call {call.name!r} has a {(end - start) / SAMPLE_RATE:.1f} s gap at "
                f"{start / SAMPLE_RATE:.1f} s, too near the {SILENCE_S:.0f} s silence threshold to score; "
                f"make it under {AMBIGUOUS_S[0]} s or over {AMBIGUOUS_S[1]} s"
            )


def render(call: Call, clips: Sequence[Pcm]) -> tuple[bytes, dict[str, Any]]:
    """The call's file bytes and its truth, from its turns' synthesised clips."""
    clips = [cut(clip, turn.cut_s) for turn, clip in zip(call.turns, clips, strict=True)]
    placed = layout(call, clips)
    total = max(end for _, end in placed) + round(call.tail_s * SAMPLE_RATE)
    check_gaps(call, placed, total)
    return encode(call, mix(call, clips, placed, total)), truth(call, placed, total)


def is_fresh(call: Call, out: Path) -> bool:
    truth_file, wav = out / f"{call.name}.truth.json", out / f"{call.name}.wav"
    if not (truth_file.exists() and wav.exists()):
        return False
    return bool(json.loads(truth_file.read_text()).get("hash") == script_hash(call))


def generate(calls: Sequence[Call], out: Path = OUT, force: bool = False) -> list[Call]:
    """Write every stale call (all with ``force``); returns the calls it wrote."""
    out.mkdir(parents=True, exist_ok=True)
    todo = [c for c in calls if force or not is_fresh(c, out)]
    # espeak-ng and sox are single-threaded and each turn is independent: run the turns side by side.
    with ThreadPoolExecutor(max_workers=2) as pool:
        pending = {
            c.name: [
                pool.submit(synthesise, t.text, c.voices[t.speaker].voice, c.voices[t.speaker].speed)
                for t in c.turns
            ]
            for c in todo
        }
        for call in todo:
            data, facts = render(call, [f.result() for f in pending[call.name]])
            write_atomically(out / f"{call.name}.wav", data)
            # The truth last: its hash marks the pair complete.
            write_atomically(out / f"{call.name}.truth.json", (json.dumps(facts, indent=2) + "\n").encode())
    return todo


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("names", nargs="*", help="calls to make (default: all)")
    parser.add_argument("--out", type=Path, default=OUT, help="output folder (default: %(default)s)")
    parser.add_argument("--force", action="store_true", help="regenerate even the calls that are up to date")
    args = parser.parse_args(argv)
    calls = load_calls()
    unknown = sorted(set(args.names) - set(calls))
    if unknown:
        print(f"error: no call {', '.join(unknown)}; see tests/eval/calls/", file=sys.stderr)
        return 2
    made = generate([calls[n] for n in args.names or calls], args.out, args.force)
    print(f"{len(made)} call(s) written to {args.out}, {len(args.names or calls) - len(made)} up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
