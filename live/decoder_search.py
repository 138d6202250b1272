"""The decoder's search effort and its feature options: what Vosk decodes with, and the model directory
that carries them.

Vosk reads its search options (``--beam``, ``--max-active``, ...) only from the model's ``conf/model.conf``
and its feature options (``--dither``, ...) only from ``conf/mfcc.conf`` (or ``conf/fbank.conf``); it has no
API for either. So a setting other than the model's own is applied by loading the model from a derived
directory made beside it: every entry of the official model linked (symlinks, no copies), except the conf
files it changes, which are written with the options replaced. The official model's files are never touched.
``live/model.py`` always loads through one: :data:`FEATURES` makes every decoding reproducible (see there
why). The derived directory is made once and re-made when what it should hold changes (other options,
another model, the official conf edited); a stamp file inside records what it was made from, and only a
directory with that stamp is ever replaced. A failure is a :class:`SearchError` (``live/model.py`` turns it
into its ``ModelError``) naming the directory and the fix.

The named efforts are measured points (``tests/bench/search.py``), not guesses: ``full`` is the model as
shipped, ``fast`` the cheapest search measured whose word error rate stays within about a point of it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path


class SearchError(Exception):
    """The derived directory cannot be made or the effort is unknown; ``message`` names cause and fix."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# effort -> the search options of model.conf it replaces; full replaces none (the model's own search).
# fast, measured by tests/bench/search.py on the small en-US model (15 scripted calls and 2 real recordings,
# 1392 channel-seconds, bare Vosk): max-active 1000 (shipped 3000) took 0.84-0.86 of the default's CPU with
# the same WER (31.6 % against 31.7 % on the scripts, 21.4 % on the real references). Cheaper settings
# cost more than a point: max-active 500 (0.75, +2.2/+2.9 points), beam 8 (0.86, +1.2/+1.9 points).
EFFORTS: dict[str, dict[str, str]] = {
    "full": {},
    "fast": {"max-active": "1000"},
}
# Vosk's endpointing, set for every model: when the recognizer ends an utterance, so when its final (which
# the reply detectors judge) comes out. Kaldi ends one on trailing silence in its best path: rule 2 after
# 0.4 s when the path is near a final state (a sentence that sounds finished), rule 3 after 0.5 s when it is
# not far from one, rule 4 after 0.7 s whatever the path. The small model ships 0.5 / 0.75 / 1.0 s, and a
# final then came 0.94 s after the utterance's last word (median; 1.15 s at the 95th percentile): almost all
# of the 1 s a coach may wait for a cold reply's alert. Measured by tests/bench/search.py on 55 scripted
# calls and 2 real recordings (6185 channel-seconds, decoded as the transcriber decodes), against the
# shipped rules: 0.4 / 0.5 / 0.7 brings finals 0.18 s sooner (median 0.76 s, 95th percentile 0.92 s) at the
# same word error rate (31.4 % against 31.5 % on the scripts, 19.4 % on the real references, 1.1 % of words
# changed), with 10 % more finals (a pause of 0.5-0.7 s inside a sentence now splits it; the detectors
# read a reply across its lines). Going further cost words on real speech: rule 2 at 0.3 s (with 0.5 /
# 0.75 or 0.45 / 0.6) took the real references from 19.4 % to 22.3 %.
ENDPOINTS: dict[str, str] = {
    "endpoint.rule2.min-trailing-silence": "0.4",
    "endpoint.rule3.min-trailing-silence": "0.5",
    "endpoint.rule4.min-trailing-silence": "0.7",
}
# Feature options every model is loaded with. Kaldi's frame extraction adds Gaussian noise scaled by
# --dither (default 1.0) to every 25 ms window (feature-window.cc: Dither). Its generator is seeded from the
# C library's process-wide rand() (kaldi-math.cc: RandomState), so the noise a recognizer adds depends on
# every window decoded before it in the process, by any recognizer, in any thread: the same recording gave a
# different transcript on each run (issue 16). With --dither=0 Kaldi skips the noise and nothing random is
# left in Vosk's decoding (a model's recognizers then give identical output, sequential or in threads;
# tests/live/test_reproducible.py). The transcriber adds the same amount of noise itself, fixed by each
# sample's place in the call (live/transcriber.py): without any, digital silence cost the small en-US model
# 13 points of word error rate on the generated calls; with it, the rate is the random dither's
# (README, "Reproducible results").
FEATURES: dict[str, str] = {"dither": "0"}
FEATURE_CONFS = ("mfcc.conf", "fbank.conf")  # the one Vosk reads: mfcc when the model has it, else fbank
STAMP = ".callcoach-derived"
_OPTION = re.compile(r"^\s*--([A-Za-z0-9_.-]+)=(.*)$")


def effort_options(effort: str) -> dict[str, str]:
    """The options a named effort replaces; an unknown name is a :class:`SearchError`."""
    try:
        return dict(EFFORTS[effort])
    except KeyError:
        names = ", ".join(EFFORTS)
        raise SearchError(f"Unknown decoder effort {effort!r}: use one of {names}") from None


def replaced_conf(text: str, options: Mapping[str, str]) -> str:
    """``model.conf`` text with each of ``options`` set: a line that sets it is replaced in place, an
    option the file does not set is appended. Every other line is kept as it is."""
    lines, done = [], set()
    for line in text.splitlines():
        match = _OPTION.match(line)
        if match and match.group(1) in options:
            name = match.group(1)
            if name in done:
                continue  # Kaldi takes the last setting; one line per option keeps the file unambiguous
            lines.append(f"--{name}={options[name]}")
            done.add(name)
        else:
            lines.append(line)
    lines += [f"--{name}={value}" for name, value in options.items() if name not in done]
    return "\n".join(lines) + "\n"


def label(options: Mapping[str, str]) -> str:
    """A directory-name-safe label for a set of options, stable in their order: ``beam9.0-max-active1000``."""
    return "-".join(f"{name}{value}" for name, value in sorted(options.items())) or "full"


def feature_conf(model_dir: Path) -> str | None:
    """The name of the feature conf Vosk reads from ``model_dir/conf`` (None: the model has neither)."""
    return next((name for name in FEATURE_CONFS if (model_dir / "conf" / name).is_file()), None)


def searched_model_dir(
    model_dir: Path,
    options: Mapping[str, str],
    name: str | None = None,
    fallback: Path | None = None,
    features: Mapping[str, str] | None = None,
) -> Path:
    """The directory to load ``model_dir`` from so that Vosk searches with ``options`` and extracts its
    features with ``features`` (options of its ``mfcc.conf``, or ``fbank.conf``).

    ``model_dir`` must be a checked model. No options and no features: ``model_dir`` itself. Otherwise
    ``<model_dir>.search-<name>`` beside it (``name`` defaults to the :func:`label` of both), made or re-made
    as needed; where the model's folder cannot be written (a model installed read-only for every user), the
    same in ``fallback`` (callcoach's own cache), named after the model's path so two models never share one.
    """
    features = dict(features or {})
    if not options and not features:
        return model_dir
    source = model_dir.resolve()
    suffix = f".search-{name or label({**options, **features})}"
    try:
        return _searched(source, source.parent / f"{source.name}{suffix}", options, features)
    except SearchError:
        if fallback is None or fallback.resolve() == source.parent:
            raise
        where = hashlib.sha256(str(source).encode()).hexdigest()[:8]
        return _searched(source, fallback / f"{source.name}-{where}{suffix}", options, features)


def _confs(source: Path, options: Mapping[str, str], features: Mapping[str, str]) -> dict[str, str]:
    """The conf files the derived directory writes (name -> text); every other one is linked."""
    wanted = {"model.conf": options}
    features_conf = feature_conf(source)
    if features and features_conf is not None:
        wanted[features_conf] = features
    confs = {}
    for conf_name, replaced in wanted.items():
        path = source / "conf" / conf_name
        try:
            confs[conf_name] = replaced_conf(path.read_text(encoding="utf-8"), replaced)
        except (OSError, UnicodeDecodeError) as exc:
            raise SearchError(f"Cannot read {path} ({exc}): delete the model and fetch it again") from exc
    return confs


def _searched(source: Path, target: Path, options: Mapping[str, str], features: Mapping[str, str]) -> Path:
    confs = _confs(source, options, features)
    stamp = _stamp(source, confs)
    if _stamp_of(target) == stamp:
        return target
    if _exists(target) and _stamp_of(target) is None:
        # Never replace what callcoach did not make: it may be someone's own directory.
        raise SearchError(
            f"{target} exists but was not made by callcoach: move it away or delete it, then start again",
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)  # the cache, the first time it is used
        _make(source, target, confs, stamp)
    except OSError as exc:
        if _stamp_of(target) == stamp:
            return target  # another process starting at the same moment made the same directory first
        raise SearchError(
            f"Cannot make the decoder's model directory {target} ({exc.strerror or exc}): make "
            f"{target.parent} writable, or use --decoder-effort full (the model as it is)",
        ) from exc
    return target


def _stamp(source: Path, confs: Mapping[str, str]) -> str:
    entries = sorted(p.name for p in source.iterdir())
    conf_files = sorted(p.name for p in (source / "conf").iterdir())
    return json.dumps({"source": str(source), "entries": entries, "conf_files": conf_files, **confs})


def _exists(target: Path) -> bool:
    try:
        return target.exists()
    except OSError:
        return False  # a name too long for the filesystem: making it fails below, with the fix named


def _stamp_of(target: Path) -> str | None:
    try:
        return (target / STAMP).read_text(encoding="utf-8")
    except OSError:
        return None


def _make(source: Path, target: Path, confs: Mapping[str, str], stamp: str) -> None:
    """Build the derived directory beside ``target`` and swap it in whole, so that a reader never sees a
    half-made one (two processes starting at once both build; the last rename wins, both are the same)."""
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.make-"))
    try:
        for entry in source.iterdir():
            if entry.name != "conf":
                (staging / entry.name).symlink_to(entry)
        (staging / "conf").mkdir()
        for entry in (source / "conf").iterdir():
            if entry.name not in confs:
                (staging / "conf" / entry.name).symlink_to(entry)
        for conf_name, text in confs.items():
            (staging / "conf" / conf_name).write_text(text, encoding="utf-8")
        (staging / STAMP).write_text(stamp, encoding="utf-8")
        staging.chmod(0o755)  # mkdtemp makes it private; the official model is readable by all
        if target.exists():
            old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
            os.replace(target, old / "dir")
            shutil.rmtree(old, ignore_errors=True)  # links and our conf only: rmtree does not follow links
        os.replace(staging, target)
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(staging)
