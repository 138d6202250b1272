"""Taking a recording in from a user: the checks a file must pass and where a good one is put.

The page's upload (``POST /api/recordings``, :mod:`callcoach.web.upload_routes`) and ``callcoach import``
(:mod:`callcoach.live.import_cli`) both end here, so a file is refused or kept the same way whichever way
it came. A file is checked where it was written in the data folder (``uploads/.incoming``): audio
libsndfile reads (WAV, FLAC, OGG/Opus, MP3), not empty, one or two channels, no longer than
``upload_max_minutes``; its size is checked while it is written (:class:`SizeGuard`, ``upload_max_mb``).
A good one goes to ``<data>/uploads/<team>/`` under a name made from the client's (slugged: the client's
name is never a path) with a sidecar ``<name>.json`` (:class:`UploadMeta`) keeping the name the user gave
it, who brought it and which channel is its agent: the catalog lists the file under its team with that
title and analyses it with that channel, at once and again after every restart. Refusals are values
(:class:`Refusal`) with a stable code and a message naming the cause and the fix; nothing of a refused
file is kept, and what a stopped server left half-written is swept (:func:`sweep_incoming`). Blocking:
callers in the event loop run these in an executor.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from callcoach.audio.decode import AudioInfo, probe
from callcoach.audio.errors import AudioError
from callcoach.live.settings import Settings

TOO_LARGE = "too_large"
TOO_LONG = "too_long"
NOT_AUDIO = "not_audio"
EMPTY_AUDIO = "empty_audio"
TOO_MANY_CHANNELS = "too_many_channels"
BAD_TEAM = "bad_team"
BAD_CHANNEL = "bad_channel"
# libsndfile's format -> the suffix the kept file gets (the catalog lists these suffixes). Others that
# libsndfile reads (AIFF, AU, CAF...) are refused: no phone platform records them.
SUFFIXES = {"WAV": ".wav", "WAVEX": ".wav", "RF64": ".wav", "FLAC": ".flac", "OGG": ".ogg", "MP3": ".mp3"}
CHANNELS = ("left", "right")
_KINDS = "WAV, FLAC, OGG/Opus or MP3"


@dataclass(frozen=True)
class Refusal:
    """Why a file was not taken: ``code`` is stable, ``message`` names the file, the cause and the fix."""

    code: str
    message: str


@dataclass(frozen=True)
class Accepted:
    """A file taken: where it now is, and its team."""

    path: Path
    team: str
    duration_s: float


@dataclass(frozen=True)
class UploadMeta:
    """The sidecar of a taken file (``<file>.json``): what the catalog needs to list and analyse it."""

    title: str  # the name the user gave the file: shown in the call list, never used as a path
    agent_channel: str | None  # None: the server's --agent-channel
    by: str  # the user (or ``callcoach import``) who brought it
    at: str  # when, ISO 8601


class SizeGuard:
    """Counts a file's bytes as they are written; :meth:`add` is False once they pass the limit, so a
    file too large is refused before more of it is kept. Sans I/O."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.seen = 0

    def add(self, n: int) -> bool:
        self.seen += n
        return self.seen <= self.max_bytes


def max_bytes(settings: Settings) -> int:
    return int(settings.upload_max_mb * 1024 * 1024)


def too_large(name: str, settings: Settings) -> Refusal:
    return Refusal(
        TOO_LARGE,
        f"{name} is larger than {settings.upload_max_mb:g} MB, the upload limit: split the call or export "
        "it compressed (FLAC, OGG), or ask an admin to raise --upload-max-mb",
    )


def uploads_dir(settings: Settings) -> Path:
    """Where taken files are kept, a folder per team (the catalog lists them beside ``--recordings``)."""
    return settings.data_dir / "uploads"


def incoming_file(settings: Settings) -> Path:
    """A new, unique path in the data folder to write a file being taken to before it is checked."""
    folder = uploads_dir(settings) / ".incoming"  # a dot-folder: never listed as a team
    folder.mkdir(parents=True, exist_ok=True)
    return folder / uuid.uuid4().hex


def sweep_incoming(settings: Settings, now_s: float, older_than_s: float = 3600.0) -> int:
    """Delete what a server or an import that stopped mid-file left in the incoming folder (files older
    than ``older_than_s``: one being written now is newer); how many."""
    folder = uploads_dir(settings) / ".incoming"
    swept = 0
    for path in folder.iterdir() if folder.is_dir() else ():
        try:
            if now_s - path.stat().st_mtime > older_than_s:
                path.unlink()
                swept += 1
        except OSError:  # gone already, or not ours to delete: left for the next start
            continue
    return swept


def check_team(team: str) -> Refusal | None:
    """A team is the name of its folder (as in ``--recordings``): one plain name, nothing that walks out
    of the uploads folder or hides from its listing."""
    plain = team.strip() == team and all(c.isprintable() and c not in "/\\" for c in team)
    if plain and 0 < len(team) <= 64 and not team.startswith("."):
        return None
    return Refusal(
        BAD_TEAM,
        f"team {team[:80]!r} cannot name a folder: give a team's name (at most 64 characters, no '/' or "
        "'\\', not starting with '.')",
    )


def check_channel(channel: str) -> Refusal | None:
    """``channel`` is the agent's: left or right (empty: the server's setting)."""
    if channel in ("", *CHANNELS):
        return None
    return Refusal(BAD_CHANNEL, f"agent channel {channel[:40]!r} is unknown: give left or right")


def display_name(raw: str) -> str:
    """The client's file name as a title: its last path part, printable, at most 120 characters."""
    last = re.split(r"[\\/]", raw)[-1]
    text = "".join(c for c in last if c.isprintable()).strip()
    return text[:120] or "recording"


def safe_stem(name: str) -> str:
    """A file stem safe on any filesystem and as a call id, made from the client's name."""
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-")[:60].strip("-")
    return slug or "recording"


def check_audio(path: Path, name: str, settings: Settings) -> AudioInfo | Refusal:
    """What ``path`` holds if it is a call callcoach can take, else why not (naming it ``name``)."""
    try:
        info = probe(path)
    except AudioError as exc:
        code = EMPTY_AUDIO if exc.code == EMPTY_AUDIO else NOT_AUDIO
        return Refusal(code, exc.message.replace(str(path), name))
    if info.format not in SUFFIXES:
        return Refusal(
            NOT_AUDIO, f"{name} is {info.format} audio, which calls are not: export it as {_KINDS}"
        )
    if info.channels > 2:
        return Refusal(
            TOO_MANY_CHANNELS,
            f"{name} has {info.channels} channels; a call has one (both speakers) or two (agent and "
            "customer): mix it down, e.g. `sox in.wav out.wav remix 1 2`",
        )
    limit_s = settings.upload_max_minutes * 60
    if info.duration_s > limit_s:
        return Refusal(
            TOO_LONG,
            f"{name} is {info.duration_s / 60:.1f} min long; calls are taken up to "
            f"{settings.upload_max_minutes:g} min: cut it, or ask an admin to raise --upload-max-minutes",
        )
    return info


def take(
    incoming: Path, name: str, team: str, channel: str, by: str, settings: Settings
) -> Accepted | Refusal:
    """Check the file written to ``incoming`` and keep it under ``team``, or refuse it; either way
    ``incoming`` is gone afterwards. ``name`` is the client's file name, ``channel`` the agent's."""
    try:
        refused = check_team(team) or check_channel(channel)
        checked = refused or check_audio(incoming, display_name(name), settings)
        if isinstance(checked, Refusal):
            return checked
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        meta = UploadMeta(display_name(name), channel or None, by, now)
        path = _place(
            incoming,
            uploads_dir(settings) / team,
            safe_stem(display_name(name)),
            SUFFIXES[checked.format],
            meta,
        )
        return Accepted(path, team, round(checked.duration_s, 3))
    finally:
        incoming.unlink(missing_ok=True)


def import_file(source: Path, team: str, channel: str, settings: Settings) -> Accepted | Refusal:
    """``callcoach import``'s way in for one file: the same size limit, checks and placing as an upload."""
    name = source.name
    try:
        size = source.stat().st_size
    except OSError as exc:
        return Refusal(
            NOT_AUDIO, f"{name} cannot be read ({exc.strerror}): check the path and its permissions"
        )
    if not SizeGuard(max_bytes(settings)).add(size):
        return too_large(name, settings)
    incoming = incoming_file(settings)
    try:
        shutil.copyfile(source, incoming)  # checked and kept as a copy: the user's file stays theirs
    except OSError as exc:
        incoming.unlink(missing_ok=True)
        return Refusal(
            NOT_AUDIO, f"{name} cannot be read ({exc.strerror}): check the path and its permissions"
        )
    return take(incoming, name, team, channel, "callcoach import", settings)


def read_meta(audio: Path) -> UploadMeta | None:
    """The sidecar of a kept file, or None (a recording of ``--recordings``, or an unreadable sidecar)."""
    try:
        data = json.loads(sidecar(audio).read_text())
        meta = UploadMeta(**data)
    except (OSError, ValueError, TypeError):
        return None
    channel_ok = meta.agent_channel is None or meta.agent_channel in CHANNELS
    return meta if isinstance(meta.title, str) and channel_ok else None


def sidecar(audio: Path) -> Path:
    return audio.with_name(audio.name + ".json")


def _place(incoming: Path, folder: Path, stem: str, suffix: str, meta: UploadMeta) -> Path:
    """Link ``incoming`` into ``folder`` under the first free name ``stem[-n]suffix``, its sidecar first.

    The sidecar's name is claimed exclusively before the audio appears (a running server may list the
    folder at any moment, and another import may be choosing a name), and the audio appears whole, by a
    link (same filesystem: both are in the data folder).
    """
    folder.mkdir(parents=True, exist_ok=True)
    n = 1
    while True:
        audio = folder / (f"{stem}{suffix}" if n == 1 else f"{stem}-{n}{suffix}")
        n += 1
        if audio.exists():
            continue
        try:
            fd = os.open(sidecar(audio), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue
        with os.fdopen(fd, "w") as f:
            json.dump(asdict(meta), f)
        try:
            os.link(incoming, audio)
        except FileExistsError:
            sidecar(audio).unlink()
            continue
        return audio
