"""The decoder's beam search against its accuracy: CPU per audio second and word error rate per setting.
Prints, asserts nothing.

Each setting of the grid (options of the model's ``conf/model.conf``, applied through the derived model
directory of ``live/decoder_search.py``) decodes every recording in its own fresh process (a Vosk model
carries state from one recognizer to the next, so each setting starts from a fresh one and sees the
recordings in the same order). The worker decodes each channel with bare Vosk, 0.1 s at a time like the
pipeline's step, ungated, with the transcriber's fixed dither, and measures its own process CPU around
the recognizer calls only (not the model load, not reading or resampling): CPU, not wall time, because
the machine is shared. Per setting it prints:

* CPU seconds per audio second (speaker-channel seconds: a stereo call counts twice) and the ratio to the
  default's, which is the figure that survives a noisy machine;
* the word error rate against the scripts (``NAME.truth.json``: the samples and the evaluation calls),
  with the WER routine of ``tests/bench/gating.py``;
* the word error rate against the real recordings' human references (``jfk.ref.txt``,
  ``phone2spk_pyannote.ref.txt`` in ``--real DIR``; the others there have no word transcript);
* how many words differ from the default's own output (edits over the default's words);
* how many finals Vosk made, and how long after an utterance's last word each came (the audio fed by
  then, past the word's end; median and 95th percentile): the endpoint rules' cost in latency.

The default row is the model as callcoach loads it (its endpoint rules and features,
``live/decoder_search.py``); each setting's options go on top of it, endpoint rules included.

    .venv/bin/python -m tests.bench.search [--eval [DIR]] [--real DIR] [--jobs N] [FILE ...]

The default's row comes first. ``--jobs`` runs that many settings at once (CPU is per process, so they
do not spoil each other's figure much; wall time does not count here).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callcoach.live.transcriber import dithered
from tests.bench.gating import Run, against_script, edit_distance, script_words
from tests.bench.live_calls import percentile

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
STEP_S = 0.1
RATE = 16000

# The default (the model as shipped: max-active 3000, beam 10, lattice-beam 2) first. Kaldi's lattice
# decoder also reads --min-active, --prune-interval, --beam-delta and --hash-ratio from the same file;
# beam and max-active are the ones that bound the lookahead composition the profile shows.
GRID: list[dict[str, str]] = [
    {},
    {"max-active": "2000"},
    {"max-active": "1000"},
    {"max-active": "500"},
    {"beam": "9.0"},
    {"beam": "8.0"},
    {"lattice-beam": "1.0"},
    {"beam": "9.0", "max-active": "1000"},
    {"beam": "8.0", "max-active": "2000"},
    {"beam": "8.0", "max-active": "1000", "lattice-beam": "1.0"},
]
# Real recordings with a human word reference: name -> reference file; stereo order as tests/eval/real.py.
REAL_REFERENCES = {"jfk.wav": "jfk.ref.txt", "phone2spk_pyannote.wav": "phone2spk_pyannote.ref.txt"}


@dataclass(frozen=True)
class Decoded:
    finals: dict[str, list[tuple[str, float]]]  # per recording: speaker -> words in order
    cpu_s: float
    audio_s: float


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path, help="scripted recordings (default: the samples)")
    parser.add_argument("--eval", nargs="?", const=ROOT / "build" / "eval", type=Path, metavar="DIR")
    parser.add_argument("--real", type=Path, metavar="DIR", help="real recordings, e.g. ../shared/real")
    parser.add_argument("--jobs", type=int, default=1, help="settings decoded at once (default 1)")
    parser.add_argument(
        "--setting",
        action="append",
        type=json.loads,
        metavar="JSON",
        help='decode this setting instead of the grid (repeatable), e.g. \'{"max-active": "500"}\'',
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        return _worker(json.loads(args.worker), args.files)
    scripted = list(args.files or sorted(SAMPLES.glob("*.wav")))
    if args.eval is not None:
        scripted += sorted(args.eval.glob("*.wav"))
    grid = [{}, *args.setting] if args.setting else GRID
    real = [args.real / name for name in REAL_REFERENCES if args.real and (args.real / name).exists()]
    files = scripted + real
    print(f"{len(scripted)} scripted recordings, {len(real)} real ones; {len(grid)} settings", flush=True)
    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        results = list(pool.map(lambda options: _decode(options, files), grid))
    _report(grid, results, scripted, real)
    return 0


def _report(
    grid: list[dict[str, str]], results: list[dict[str, Any]], scripted: list[Path], real: list[Path]
) -> None:
    base = results[0]
    base_rate = base["cpu_s"] / base["audio_s"]
    print(
        f"\n{'setting':42} {'CPU s/s':>7} {'ratio':>6} {'WER scripts':>11} {'WER real':>9} {'vs default':>10}"
        f" {'finals':>6} {'final after p50/p95':>19}"
    )
    for options, result in zip(grid, results, strict=True):
        rate = result["cpu_s"] / result["audio_s"]
        errors, words = _script_errors(result, scripted)
        real_errors, real_words = _real_errors(result, real)
        changed, base_words = _changed(base, result)
        name = " ".join(f"--{k}={v}" for k, v in options.items()) or "default (as callcoach loads the model)"
        print(
            f"{name:42} {rate:7.3f} {rate / base_rate:6.2f} {_pct(errors, words):>11} "
            f"{_pct(real_errors, real_words):>9} {_pct(changed, base_words):>10} "
            f"{len(result['delays']):>6} {_delays(result['delays']):>19}",
            flush=True,
        )
    print(f"\naudio decoded per setting: {base['audio_s']:.0f} speaker-channel seconds")


def _script_errors(result: dict[str, Any], scripted: list[Path]) -> tuple[int, int]:
    errors = words = 0
    for path in scripted:
        finals = result["finals"][str(path)]
        said = script_words(path, mixed=set(finals) == {"mixed"})
        errors += against_script(said, Run(finals, 0, 0.0, 0.0))
        words += sum(len(w) for w in said.values())
    return errors, words


def _real_errors(result: dict[str, Any], real: list[Path]) -> tuple[int, int]:
    errors = words = 0
    for path in real:
        said = reference_words(path.parent / REAL_REFERENCES[path.name])
        heard = [w for words_ in result["finals"][str(path)].values() for w, _ in words_]
        errors += edit_distance(said, heard)
        words += len(said)
    return errors, words


def _changed(base: dict[str, Any], result: dict[str, Any]) -> tuple[int, int]:
    changed = words = 0
    for path, finals in base["finals"].items():
        for speaker, said in finals.items():
            heard = result["finals"][path].get(speaker, [])
            changed += edit_distance([w for w, _ in said], [w for w, _ in heard])
            words += len(said)
    return changed, words


def reference_words(path: Path) -> list[str]:
    """The words of a real recording's reference, in order: each line's text after its times (a
    ``[a --> b]`` stamp or ``start end speaker``); ``#`` lines are notes."""
    words: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        text = line.split("]", 1)[1] if "]" in line else " ".join(line.split()[3:])
        words += re.findall(r"[a-z0-9']+", text.lower())
    return words


def _decode(options: dict[str, str], files: list[Path]) -> dict[str, Any]:
    """One setting, in a fresh process; its finals per recording, CPU and audio seconds."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "tests.bench.search", "--worker", json.dumps(options), *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if done.returncode != 0:
        sys.exit(f"decoding with {options} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout)
    print(f"  {options or 'default'}: {time.perf_counter() - started:.0f} s wall", flush=True)
    return result


def _worker(options: dict[str, str], files: list[Path]) -> int:
    from callcoach.live.blas import choose_core

    choose_core()  # before Vosk loads, as the pipeline does (live/blas.py)
    import numpy as np
    import soundfile as sf
    import vosk

    from callcoach.audio.resample import StreamResampler
    from callcoach.live.decoder_search import ENDPOINTS, FEATURES, searched_model_dir
    from callcoach.live.model import default_model_dir

    # As the pipeline loads it (its endpointing and features), with the setting's options on top.
    wanted = {**ENDPOINTS, **options}
    vosk.SetLogLevel(-3)
    model = vosk.Model(str(searched_model_dir(default_model_dir(), wanted, features=FEATURES)))
    finals: dict[str, dict[str, list[tuple[str, float]]]] = {}
    cpu_s = audio_s = 0.0
    delays: list[float] = []
    for path in files:
        data, rate = sf.read(str(path), dtype="int16", always_2d=True)
        # Stereo: agent left, customer right (the project's order; .opus would be reversed, not run here).
        names = ["mixed"] if data.shape[1] == 1 else ["agent", "customer"]
        finals[str(path)] = {}
        for index, speaker in enumerate(names):
            pcm = np.ascontiguousarray(data[:, index])
            if rate != RATE:
                resampler = StreamResampler(rate, RATE, 1)
                pcm = np.concatenate([resampler.process(pcm.reshape(-1, 1)), resampler.flush()]).reshape(-1)
            audio_s += len(pcm) / RATE
            words, spent, waited = _decode_channel(vosk.KaldiRecognizer(model, RATE), pcm)
            cpu_s += spent
            delays += waited
            finals[str(path)][speaker] = words
    json.dump({"finals": finals, "cpu_s": cpu_s, "audio_s": audio_s, "delays": delays}, sys.stdout)
    return 0


def _decode_channel(rec: Any, pcm: Any) -> tuple[list[tuple[str, float]], float, list[float]]:
    """As the transcriber decodes (its fixed dither added to each chunk; the model loads without Kaldi's).
    The channel's words (and starts), the CPU its decoding took, and each endpointed final's delay:
    the audio fed by the time Vosk ended the utterance, past its last word's end."""
    rec.SetWords(True)
    step = int(STEP_S * RATE)
    texts: list[str] = []
    delays: list[float] = []
    started = time.process_time()
    for at in range(0, len(pcm), step):
        if rec.AcceptWaveform(dithered(pcm[at : at + step], at).tobytes()):
            texts.append(rec.Result())
            said = json.loads(texts[-1]).get("result", [])
            if said:
                delays.append(min(at + step, len(pcm)) / RATE - float(said[-1]["end"]))
    texts.append(rec.FinalResult())
    spent = time.process_time() - started
    words = [(w["word"], float(w["start"])) for t in texts for w in json.loads(t).get("result", [])]
    return words, spent, delays


def _delays(delays: list[float]) -> str:
    if not delays:
        return "-"
    return f"{percentile(delays, 50):.2f} / {percentile(delays, 95):.2f} s"


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


if __name__ == "__main__":
    sys.exit(main())
