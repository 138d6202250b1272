"""The decoder's search effort: which beam-search options Vosk decodes with, and the model directory that
carries them.

Vosk reads its search options (``--beam``, ``--max-active``, ...) only from the model's
``conf/model.conf``; it has no API for them. So a setting other than the model's own is applied by loading
the model from a derived directory made beside it: every entry of the official model linked (symlinks, no
copies), except ``conf/model.conf``, which is written with the options replaced. The official model's files
are never touched. The derived directory is made once and re-made when what it should hold changes (other
options, another model, the official conf edited); a stamp file inside records what it was made from, and
only a directory with that stamp is ever replaced. A failure is a :class:`SearchError` (``live/model.py``
turns it into its ``ModelError``) naming the directory and the fix.

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


# effort -> the model.conf options it replaces; full replaces none (the official directory is used as is).
# fast, measured by tests/bench/search.py on the small en-US model (15 scripted calls and 2 real recordings,
# 1392 channel-seconds, bare Vosk): max-active 1000 (shipped 3000) took 0.84-0.86 of the default's CPU with
# the same WER (31.6 % against 31.7 % on the scripts, 21.4 % on the real references). Cheaper settings
# cost more than a point: max-active 500 (0.75, +2.2/+2.9 points), beam 8 (0.86, +1.2/+1.9 points).
EFFORTS: dict[str, dict[str, str]] = {
    "full": {},
    "fast": {"max-active": "1000"},
}
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


def searched_model_dir(
    model_dir: Path, options: Mapping[str, str], name: str | None = None, fallback: Path | None = None
) -> Path:
    """The directory to load ``model_dir`` from so that Vosk searches with ``options``.

    ``model_dir`` must be a checked model. No options: ``model_dir`` itself. Otherwise
    ``<model_dir>.search-<name>`` beside it (``name`` defaults to :func:`label`), made or re-made as needed;
    where the model's folder cannot be written (a model installed read-only for every user), the same in
    ``fallback`` (callcoach's own cache), named after the model's path so two models never share one.
    """
    if not options:
        return model_dir
    source = model_dir.resolve()
    suffix = f".search-{name or label(options)}"
    try:
        return _searched(source, source.parent / f"{source.name}{suffix}", options)
    except SearchError:
        if fallback is None or fallback.resolve() == source.parent:
            raise
        where = hashlib.sha256(str(source).encode()).hexdigest()[:8]
        return _searched(source, fallback / f"{source.name}-{where}{suffix}", options)


def _searched(source: Path, target: Path, options: Mapping[str, str]) -> Path:
    official = source / "conf" / "model.conf"
    try:
        conf = replaced_conf(official.read_text(encoding="utf-8"), options)
    except (OSError, UnicodeDecodeError) as exc:
        raise SearchError(f"Cannot read {official} ({exc}): delete the model and fetch it again") from exc
    stamp = _stamp(source, conf)
    if _stamp_of(target) == stamp:
        return target
    if target.exists() and _stamp_of(target) is None:
        # Never replace what callcoach did not make: it may be someone's own directory.
        raise SearchError(
            f"{target} exists but was not made by callcoach: move it away or delete it, then start again",
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)  # the cache, the first time it is used
        _make(source, target, conf, stamp)
    except OSError as exc:
        if _stamp_of(target) == stamp:
            return target  # another process starting at the same moment made the same directory first
        raise SearchError(
            f"Cannot make the decoder's model directory {target} ({exc.strerror or exc}): make "
            f"{target.parent} writable, or use --decoder-effort full (the model as it is)",
        ) from exc
    return target


def _stamp(source: Path, conf: str) -> str:
    entries = sorted(p.name for p in source.iterdir())
    confs = sorted(p.name for p in (source / "conf").iterdir())
    return json.dumps({"source": str(source), "entries": entries, "conf_files": confs, "model.conf": conf})


def _stamp_of(target: Path) -> str | None:
    try:
        return (target / STAMP).read_text(encoding="utf-8")
    except OSError:
        return None


def _make(source: Path, target: Path, conf: str, stamp: str) -> None:
    """Build the derived directory beside ``target`` and swap it in whole, so that a reader never sees a
    half-made one (two processes starting at once both build; the last rename wins, both are the same)."""
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.make-"))
    try:
        for entry in source.iterdir():
            if entry.name != "conf":
                (staging / entry.name).symlink_to(entry)
        (staging / "conf").mkdir()
        for entry in (source / "conf").iterdir():
            if entry.name != "model.conf":
                (staging / "conf" / entry.name).symlink_to(entry)
        (staging / "conf" / "model.conf").write_text(conf, encoding="utf-8")
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
