"""The Vosk speech model on disk: where it lives, whether it is usable, loading it, and fetching it.

This module owns the model directory and its installation. It checks a directory for the files Vosk
needs, loads it into one ``vosk.Model`` (the caller holds that one model and shares it between the
recognizers of all speakers; there is no global cache here), and installs the small en-US model when it
is missing: from the Vosk model site, or else from the copy on Maven Central through the ordinary Maven
client. Every failure is a :class:`ModelError` with a stable ``code`` and a one-line message naming the
cause and the fix.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import re
import shutil
import subprocess
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import Literal, TypeAlias

from callcoach.live.blas import choose_core

# Before libvosk.so (and its OpenBLAS) loads: the kernels its matrix products run on (live/blas.py).
choose_core()

import vosk  # noqa: E402

from callcoach.live.decoder_search import (  # noqa: E402
    ENDPOINTS,
    FEATURES,
    SearchError,
    effort_options,
    label,
    searched_model_dir,
)

ENV_VAR = "CALLCOACH_MODEL"
MODEL_NAME = "vosk-model-small-en-us"
MODEL_URL = "https://alphacephei.com/vosk/models/vosk-model-small-en-us-0.15.zip"
# The same small en-US model, as Vosk's Android package on Maven Central (group:artifact:version).
MAVEN_ARTIFACT = ("com.alphacephei", "vosk-model-en", "0.3.45")
AAR_MODEL_PREFIX = "assets/model-en-us/"
FETCH_HINT = (
    "run `callcoach model fetch` (or pass --model DIR / set CALLCOACH_MODEL to a Vosk model directory)"
)

ModelErrorCode: TypeAlias = Literal[
    "model_missing", "model_broken", "model_fetch_failed", "model_search_failed", "model_compile_failed"
]
Progress: TypeAlias = Callable[[str], None]


class ModelError(Exception):
    """The model cannot be used or installed. ``code`` is stable; ``message`` names cause and fix."""

    def __init__(self, code: ModelErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: ModelErrorCode = code
        self.message = message


def default_model_dir() -> Path:
    """Where ``callcoach model fetch`` installs the model: the user's cache, per the XDG spec."""
    # The spec says to ignore a relative XDG_CACHE_HOME; an empty one means "unset".
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    cache = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return cache / "callcoach" / "models" / MODEL_NAME


def _is_empty_dir(path: Path) -> bool:
    return path.is_dir() and not any(path.iterdir())


def _missing_files(path: Path) -> list[str]:
    missing = [rel for rel in ("am/final.mdl", "conf/model.conf") if not (path / rel).is_file()]
    graph = path / "graph"
    # Big models ship one static graph (HCLG.fst); small ones a lookahead pair composed at run time.
    if not (graph / "HCLG.fst").is_file() and not all((graph / f).is_file() for f in ("HCLr.fst", "Gr.fst")):
        missing.append("graph/HCLG.fst (or graph/HCLr.fst + graph/Gr.fst)")
    return missing


def check_model_dir(path: Path) -> None:
    """Raise :class:`ModelError` unless ``path`` holds the files a Vosk model needs."""
    if not path.exists():
        raise ModelError("model_missing", f"No Vosk model at {path}: {FETCH_HINT}")
    if not path.is_dir():
        raise ModelError("model_missing", f"No Vosk model at {path} (a file, not a directory): {FETCH_HINT}")
    if _is_empty_dir(path):
        raise ModelError("model_missing", f"No Vosk model at {path} (the directory is empty): {FETCH_HINT}")
    missing = _missing_files(path)
    if missing:
        raise ModelError(
            "model_broken",
            f"The Vosk model at {path} is incomplete (missing {', '.join(missing)}): "
            f"delete it and {FETCH_HINT}",
        )


def load_model(path: Path, effort: str = "full") -> vosk.Model:
    """Check ``path`` and load it to decode with the named search ``effort`` and reproducible features
    (``live/decoder_search.py``: one derived directory per effort, ``<model>.search-full-dither0``); the
    one model is shared by every recognizer of the process, which is safe because nothing random is left
    in its decoding: a recording gives the same words whatever was decoded before it."""
    check_model_dir(path)
    try:
        path = searched_model_dir(
            path,
            {**ENDPOINTS, **effort_options(effort)},
            name=f"{effort}-{label(FEATURES)}",
            fallback=default_model_dir().parent,
            features=FEATURES,
        )
    except SearchError as exc:
        raise ModelError("model_search_failed", exc.message) from exc
    # Kaldi prints INFO (0), WARNING (-1) and ERROR (-2) lines itself; only a level below ERROR silences
    # them all. A failed load still raises below, and the CLI reports it as its one line.
    vosk.SetLogLevel(-3)
    try:
        return vosk.Model(str(path))
    except Exception as exc:  # vosk raises a bare Exception("Failed to create a model")
        raise ModelError(
            "model_broken",
            f"Vosk could not load the model at {path} ({exc}; its files are damaged or not a Vosk model): "
            f"delete it and {FETCH_HINT}",
        ) from exc


def fetch_model(
    dest: Path,
    *,
    progress: Progress,
    url: str = MODEL_URL,
    timeout_s: float = 15.0,
    mvn: Sequence[str] = ("mvn",),
    maven_repo: Path | None = None,
) -> Path:
    """Install the small en-US model at ``dest`` unless a valid one is already there; return ``dest``.

    The Vosk model site comes first (``url``); when it cannot be reached, Maven Central's copy via the
    ``mvn`` command. ``maven_repo`` is the local Maven repository to find the download in (default: the
    one ``mvn`` uses). The model appears at ``dest`` whole or not at all.
    """
    try:
        check_model_dir(dest)
    except ModelError:
        pass
    else:
        progress(f"model: already installed at {dest}")
        return dest
    if dest.exists() and not _is_empty_dir(dest):
        # Never delete what someone else put there: it may be their own directory given by mistake.
        raise ModelError(
            "model_fetch_failed",
            f"{dest} exists but is not a Vosk model: move it away or delete it, then fetch again",
        )
    dest.parent.mkdir(parents=True, exist_ok=True)

    progress(f"model: downloading {url}")
    try:
        with _staging(dest) as tmp:
            _install(_from_site(url, tmp, timeout_s, progress), dest)
        progress(f"model: installed at {dest} (from the Vosk model site)")
        return dest
    except (OSError, ValueError, http.client.HTTPException, zipfile.BadZipFile, ModelError) as exc:
        site_error = _reason(exc)
    coords = ":".join(MAVEN_ARTIFACT)
    progress(f"model: the Vosk model site failed ({site_error}); trying Maven Central ({coords}) via mvn")
    try:
        with _staging(dest) as tmp:
            _install(_from_maven(tmp, mvn, maven_repo, progress), dest)
        progress(f"model: installed at {dest} (from Maven Central via mvn)")
        return dest
    except (OSError, ValueError, zipfile.BadZipFile, subprocess.SubprocessError, ModelError) as exc:
        maven_error = _reason(exc)
    raise ModelError(
        "model_fetch_failed",
        f"Could not fetch the Vosk model: the Vosk model site ({url}) failed: {site_error}; "
        f"Maven Central ({coords} via mvn) failed: {maven_error}. Check the network or proxy, or download "
        f"{url} elsewhere and unzip it to {dest} (or pass --model DIR / set {ENV_VAR})",
    )


def _reason(exc: BaseException) -> str:
    return exc.message if isinstance(exc, ModelError) else str(exc) or type(exc).__name__


@contextlib.contextmanager
def _staging(dest: Path) -> Iterator[Path]:
    # Beside dest, so the final rename stays on one filesystem and is atomic.
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.fetch-"))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _install(model: Path, dest: Path) -> None:
    missing = _missing_files(model)
    if missing:
        raise ModelError(
            "model_fetch_failed", f"the download holds no Vosk model (missing {', '.join(missing)})"
        )
    with contextlib.suppress(OSError):
        dest.rmdir()  # an empty directory only (checked by the caller); rename cannot replace it
    try:
        model.rename(dest)
    except OSError as exc:
        # Another fetch may have won the race; its model is as good as ours.
        if _missing_files(dest):
            raise ModelError("model_fetch_failed", f"could not move the model into {dest}: {exc}") from exc


def _from_site(url: str, tmp: Path, timeout_s: float, progress: Progress) -> Path:
    archive = tmp / "model.zip"
    with urllib.request.urlopen(url, timeout=timeout_s) as response, archive.open("wb") as out:
        total = int(response.headers.get("Content-Length") or 0)
        done, shown = 0, 0
        while chunk := response.read(1 << 20):
            out.write(chunk)
            done += len(chunk)
            if total and done * 10 // total > shown:
                shown = done * 10 // total
                progress(f"model: {done * 100 // total}% of {total / 1e6:.0f} MB")
    unpacked = tmp / "unpacked"
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(unpacked)  # extractall drops ".." and absolute parts of member names
    # The zip holds one top directory (vosk-model-small-en-us-0.15/); accept a flat one too.
    tops = [p for p in unpacked.iterdir() if p.is_dir()]
    return tops[0] if len(tops) == 1 and not _missing_files(tops[0]) else unpacked


def _from_maven(tmp: Path, mvn: Sequence[str], maven_repo: Path | None, progress: Progress) -> Path:
    if shutil.which(mvn[0]) is None:
        raise ModelError("model_fetch_failed", f"{mvn[0]} not found: install Maven (`apt-get install maven`)")
    group, artifact, version = MAVEN_ARTIFACT
    _run_mvn(mvn, "dependency:get", f"-Dartifact={group}:{artifact}:{version}:aar", "-Dtransitive=false")
    rel = Path(*group.split("."), artifact, version, f"{artifact}-{version}.aar")
    repos = [maven_repo] if maven_repo is not None else [Path.home() / ".m2" / "repository"]
    if maven_repo is None and not (repos[0] / rel).is_file():
        # A settings.xml may put the local repository elsewhere; only mvn knows where.
        printed = _run_mvn(mvn, "help:evaluate", "-Dexpression=settings.localRepository", "-DforceStdout")
        repos.append(Path(printed.strip()))
    aar = next((repo / rel for repo in repos if (repo / rel).is_file()), None)
    if aar is None:
        where = " or ".join(str(repo / rel) for repo in repos)
        raise ModelError("model_fetch_failed", f"mvn ran but left no {where}")
    _verify_sha1(aar)
    progress(f"model: unpacking {aar}")
    unpacked = tmp / "unpacked"
    with zipfile.ZipFile(aar) as zf:
        for info in zf.infolist():
            if info.is_dir() or not info.filename.startswith(AAR_MODEL_PREFIX):
                continue
            member = PurePosixPath(info.filename[len(AAR_MODEL_PREFIX) :])
            if member.is_absolute() or ".." in member.parts:
                raise ModelError("model_fetch_failed", f"{aar} has an unsafe entry {info.filename!r}")
            target = unpacked.joinpath(*member.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, target.open("wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
    return unpacked


def _run_mvn(mvn: Sequence[str], *args: str) -> str:
    """Run one quiet batch-mode mvn goal and return its stdout without colour codes."""
    done = subprocess.run([*mvn, "-B", "-q", *args], capture_output=True, text=True, timeout=600)
    # mvn -q still wraps lines in ANSI colour resets, even in batch mode.
    out = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", done.stdout)
    if done.returncode != 0:
        lines = [ln for ln in (out + re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", done.stderr)).splitlines() if ln]
        last = lines[-1].strip() if lines else f"exit status {done.returncode}"
        raise ModelError("model_fetch_failed", f"`mvn {args[0]}` failed: {last}")
    return out


def _verify_sha1(path: Path) -> None:
    sha1_file = path.with_name(path.name + ".sha1")
    if not sha1_file.is_file():
        raise ModelError("model_fetch_failed", f"no {sha1_file.name} beside {path} to verify it against")
    # Maven writes the bare hex digest; sha1sum-style files add the file name after it.
    words = sha1_file.read_text(encoding="ascii", errors="replace").split()
    expected = words[0].lower() if words else ""
    digest = hashlib.sha1()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    if digest.hexdigest() != expected:
        raise ModelError(
            "model_fetch_failed",
            f"{path} does not match its SHA-1 ({digest.hexdigest()} != {expected or 'empty'}): "
            f"delete {path.parent} and fetch again",
        )
