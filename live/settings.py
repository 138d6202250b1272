"""The one settings object, built once at the entry point from flags, ``CALLCOACH_*`` environment, defaults.

Precedence is flag > environment > default. Nothing else in the program reads the environment; every
component gets what it needs from the :class:`Settings` it is handed.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callcoach.detectors.config import DetectorConfig
from callcoach.live.db import URL_HELP, is_url, shown
from callcoach.live.decoder_search import EFFORTS
from callcoach.live.model import default_model_dir


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/callcoach`` (default ``~/.local/share/callcoach``), per the XDG spec."""
    xdg = os.environ.get("XDG_DATA_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / "callcoach"


class SettingsError(ValueError):
    """A setting with a value that cannot work; the message names the setting and what it accepts."""


@dataclass(frozen=True)
class Settings:
    model_dir: Path = field(default_factory=default_model_dir)
    agent_channel: str = "left"
    customer_channel: str | None = None
    # Audio is cut into frames of this length: the pipeline's step, and the granularity of alert timing.
    frame_s: float = 0.1
    # Frames waiting between the source and the pipeline; a full queue makes the source wait.
    queue_frames: int = 64
    # How hard Vosk's beam search works (live/decoder_search.py): "full" is the model's own search,
    # "fast" a narrower one that tests/bench/search.py measured at the same word error rate for 0.85 of
    # the CPU; but on the evaluation calls it lost an empathy moment ("stolen my identity" heard as
    # "told my identity"), so the coach's moments keep the full search unless CPU is worth more.
    decoder_effort: str = "full"
    # Threads that run Vosk; decoding releases the GIL, so one per core pays.
    decode_threads: int = max(2, os.cpu_count() or 2)
    detectors: DetectorConfig = field(default_factory=DetectorConfig)
    host: str = "127.0.0.1"
    port: int = 8080
    recordings_dir: Path = Path("samples")
    # Live calls and their recordings are kept here (SQLite file + recordings/).
    data_dir: Path = field(default_factory=default_data_dir)
    # A PostgreSQL URL: every store's rows (calls, events, notes, accounts, sessions, coaching records, the
    # audit trail) in that database; recordings stay in data_dir. Empty: SQLite files in data_dir.
    db: str = ""
    # The shared secret ingest endpoints require; empty means one is made up at start and printed.
    ingest_token: str = ""
    twilio_agent_track: str = "outbound"
    audiofork_agent_side: str = "callee"
    audiosocket_port: int = 9092
    audiosocket_agent_port: int = 9093
    audiosocket_allow: tuple[str, ...] = ("127.0.0.1", "::1")
    # The team a call belongs to when its source names none (recordings at the top of the folder,
    # AudioSocket, the sound card); a recording in a sub-folder belongs to the team of that name.
    default_team: str = "default"
    # Pages served from other origins that may open the coach websocket (scheme://host[:port]); the
    # server's own origin is always allowed.
    allowed_origins: tuple[str, ...] = ()
    # A live call longer than this is ended (a platform that never hangs up, or a forged timestamp, must
    # not grow a recording and its decoding without bound).
    max_call_s: float = 4 * 3600.0
    # A live call whose platform connection sends nothing for this long is ended as dropped.
    ingest_idle_s: float = 30.0
    # Each speaker's recognizer hears only their speech (and a little padding), not the silences between;
    # off, it decodes every frame (the ungated path, kept for comparison).
    gate_speech: bool = True
    # Card numbers, SSNs and long account numbers are replaced in transcripts and silenced in recordings.
    redact: bool = True
    # Calls, recordings and their events older than this many days are deleted daily; None keeps them.
    retention_days: int | None = None
    # The coach-defined rules (TOML, see rules.example.toml); re-read when the file changes. None: no rules.
    rules_file: Path | None = None
    # A commitment's behaviour has held once this many of the agent's later calls went without a slip.
    follow_up_calls: int = 3
    # A recording uploaded on the page or imported (``callcoach import``) larger or longer than this is
    # refused, with the reason, and the rest of the batch goes on.
    upload_max_mb: float = 500.0
    upload_max_minutes: float = 240.0
    # The bus that several identical nodes share live calls through: "" (the default) keeps every call in
    # this process (no bus, nothing to run); redis://HOST:PORT/DB puts each call's log on a Redis Stream
    # (live/bus_redis.py). The two below apply only with a bus.
    bus: str = ""
    # A call's stream keeps at most about this many events (Redis trims the oldest past it): far above
    # a 4-hour call's few tens of thousands, so only a runaway call is ever cut.
    bus_max_events: int = 200_000
    # A call's stream is kept this long after the call is stored, so that notes made in the debrief
    # still reach every node; then Redis deletes it (storage has everything).
    bus_expire_s: float = 3600.0


def _comma_list(raw: str) -> tuple[str, ...]:
    return tuple(a.strip() for a in raw.split(",") if a.strip())


def _flag(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


# name of the Settings field -> (environment variable, parser from string)
_ENV: dict[str, tuple[str, Any]] = {
    "model_dir": ("CALLCOACH_MODEL", Path),
    "agent_channel": ("CALLCOACH_AGENT_CHANNEL", str),
    "customer_channel": ("CALLCOACH_CUSTOMER_CHANNEL", str),
    "frame_s": ("CALLCOACH_FRAME_S", float),
    "queue_frames": ("CALLCOACH_QUEUE_FRAMES", int),
    "decode_threads": ("CALLCOACH_DECODE_THREADS", int),
    "decoder_effort": ("CALLCOACH_DECODER_EFFORT", str),
    "silence_threshold_s": ("CALLCOACH_SILENCE_S", float),
    "monologue_s": ("CALLCOACH_MONOLOGUE_S", float),
    "host": ("CALLCOACH_HOST", str),
    "port": ("CALLCOACH_PORT", int),
    "recordings_dir": ("CALLCOACH_RECORDINGS", Path),
    "data_dir": ("CALLCOACH_DATA", Path),
    "db": ("CALLCOACH_DB", str),
    "ingest_token": ("CALLCOACH_INGEST_TOKEN", str),
    "twilio_agent_track": ("CALLCOACH_TWILIO_AGENT_TRACK", str),
    "audiofork_agent_side": ("CALLCOACH_AUDIOFORK_AGENT_SIDE", str),
    "audiosocket_port": ("CALLCOACH_AUDIOSOCKET_PORT", int),
    "audiosocket_agent_port": ("CALLCOACH_AUDIOSOCKET_AGENT_PORT", int),
    "audiosocket_allow": (
        "CALLCOACH_AUDIOSOCKET_ALLOW",
        _comma_list,
    ),
    "default_team": ("CALLCOACH_TEAM", str),
    "allowed_origins": ("CALLCOACH_ALLOWED_ORIGINS", _comma_list),
    "max_call_s": ("CALLCOACH_MAX_CALL_S", float),
    "ingest_idle_s": ("CALLCOACH_INGEST_IDLE_S", float),
    "redact": ("CALLCOACH_REDACT", _flag),
    "gate_speech": ("CALLCOACH_GATE", _flag),
    "retention_days": ("CALLCOACH_RETENTION_DAYS", int),
    "rules_file": ("CALLCOACH_RULES", Path),
    "follow_up_calls": ("CALLCOACH_FOLLOW_UP_CALLS", int),
    "upload_max_mb": ("CALLCOACH_UPLOAD_MAX_MB", float),
    "upload_max_minutes": ("CALLCOACH_UPLOAD_MAX_MINUTES", float),
    "bus": ("CALLCOACH_BUS", str),
    "bus_max_events": ("CALLCOACH_BUS_MAX_EVENTS", int),
    "bus_expire_s": ("CALLCOACH_BUS_EXPIRE_S", float),
}


def add_arguments(parser: argparse.ArgumentParser, *names: str) -> None:
    """Declare the flags for the named settings on a sub-command's parser (defaults stay None so that
    the environment and the dataclass defaults can fill in what the user did not pass)."""
    flags: dict[str, tuple[str, dict[str, Any]]] = {
        "model_dir": ("--model", {"type": Path, "metavar": "DIR", "help": "Vosk model directory"}),
        "agent_channel": (
            "--agent-channel",
            {"metavar": "left|right|N", "help": "which channel is the agent (default left)"},
        ),
        "customer_channel": (
            "--customer-channel",
            {"metavar": "left|right|N", "help": "which channel is the customer (default: the other one)"},
        ),
        "frame_s": ("--frame-s", {"type": float, "metavar": "S", "help": "pipeline step in seconds"}),
        "silence_threshold_s": (
            "--silence-s",
            {"type": float, "metavar": "S", "help": "silence worth an alert, in seconds (default 5.0)"},
        ),
        "monologue_s": (
            "--monologue-s",
            {"type": float, "metavar": "S", "help": "agent talking this long unbroken is a monologue (60)"},
        ),
        "rules_file": (
            "--rules",
            {"type": Path, "metavar": "FILE", "help": "coach-defined rules (TOML), re-read when it changes"},
        ),
        "host": ("--host", {"help": "address to listen on (default 127.0.0.1)"}),
        "port": ("--port", {"type": int, "help": "port to listen on (default 8080)"}),
        "recordings_dir": (
            "--recordings",
            {"type": Path, "metavar": "DIR", "help": "folder of recorded calls (default samples)"},
        ),
        "data_dir": (
            "--data",
            {
                "type": Path,
                "metavar": "DIR",
                "help": "where live calls are stored (default ~/.local/share/callcoach)",
            },
        ),
        "db": (
            "--db",
            {
                "metavar": "URL",
                "help": "keep calls, accounts and the rest in PostgreSQL (postgresql://...; default: SQLite "
                "files in --data)",
            },
        ),
        "ingest_token": (
            "--ingest-token",
            {"metavar": "TOKEN", "help": "shared secret for the ingest endpoints"},
        ),
        "audiosocket_port": (
            "--audiosocket-port",
            {"type": int, "help": "AudioSocket port, customer leg (9092)"},
        ),
        "audiosocket_agent_port": (
            "--audiosocket-agent-port",
            {"type": int, "help": "AudioSocket port, agent leg (9093)"},
        ),
        "default_team": (
            "--team",
            {"metavar": "TEAM", "help": "team of calls whose source names none (default: default)"},
        ),
        "max_call_s": (
            "--max-call-s",
            {"type": float, "metavar": "S", "help": "end a live call longer than this (default 14400, 4 h)"},
        ),
        "ingest_idle_s": (
            "--ingest-idle-s",
            {"type": float, "metavar": "S", "help": "drop a live call silent on the wire this long (30)"},
        ),
        "redact": (
            "--no-redact",
            {
                "action": "store_const",
                "const": False,
                "help": "keep card numbers, SSNs and long account numbers (redacted by default)",
            },
        ),
        "gate_speech": (
            "--no-gate",
            {
                "action": "store_const",
                "const": False,
                "help": "decode every frame, silences too (by default only speech and a little padding)",
            },
        ),
        "decoder_effort": (
            "--decoder-effort",
            {
                "choices": tuple(EFFORTS),
                "help": "how hard the speech decoder searches: full (the model's own) or fast (cheaper)",
            },
        ),
        "retention_days": (
            "--retention-days",
            {"type": int, "metavar": "N", "help": "delete calls older than N days, daily (default: keep)"},
        ),
        "follow_up_calls": (
            "--follow-up-calls",
            {
                "type": int,
                "metavar": "N",
                "help": "a commitment has held after N later calls without a slip (3)",
            },
        ),
        "upload_max_mb": (
            "--upload-max-mb",
            {"type": float, "metavar": "MB", "help": "refuse an uploaded or imported file over this (500)"},
        ),
        "upload_max_minutes": (
            "--upload-max-minutes",
            {"type": float, "metavar": "MIN", "help": "refuse an uploaded or imported call over this (240)"},
        ),
        "bus": (
            "--bus",
            {
                "metavar": "URL",
                "help": "share live calls with other nodes: redis://HOST:PORT/DB (default: none)",
            },
        ),
    }
    for name in names:
        flag, kwargs = flags[name]
        parser.add_argument(flag, dest=name, default=None, **kwargs)


def from_sources(args: argparse.Namespace | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Build the settings: each value from the flag if given, else the environment, else the default."""
    env = os.environ if env is None else env
    given = vars(args) if args is not None else {}
    values: dict[str, Any] = {}
    for name, (var, parse) in _ENV.items():
        if given.get(name) is not None:
            values[name] = given[name]
        elif env.get(var):
            values[name] = _parse(var, env[var], parse)
    # The detectors' tunables travel in their own config; the flags and variables name them flat.
    tunables = {k: values.pop(k) for k in ("silence_threshold_s", "monologue_s") if k in values}
    if tunables:
        values["detectors"] = dataclasses.replace(DetectorConfig(), **tunables)
    settings = Settings(**values)
    _validate(settings)
    return settings


_KINDS: dict[Any, str] = {float: "a number", int: "a whole number", _flag: "1 or 0 (true or false)"}


def _parse(var: str, raw: str, parse: Any) -> Any:
    try:
        return parse(raw)
    except ValueError as exc:
        kind = _KINDS.get(parse, "a valid value")
        raise SettingsError(f"{var}={raw!r} is not {kind}: set it to {kind} or unset it") from exc


def _validate(settings: Settings) -> None:
    if not 0.01 <= settings.frame_s <= 1.0:
        raise SettingsError(f"frame length {settings.frame_s} s is out of range: use 0.01 to 1.0 s")
    if settings.detectors.silence_threshold_s <= 0:
        raise SettingsError(
            f"the silence threshold {settings.detectors.silence_threshold_s} s is not positive: "
            "give --silence-s (or CALLCOACH_SILENCE_S) a number of seconds above 0, e.g. 5"
        )
    if settings.detectors.monologue_s <= 0:
        raise SettingsError(
            f"the monologue threshold {settings.detectors.monologue_s} s is not positive: "
            "give --monologue-s (or CALLCOACH_MONOLOGUE_S) a number of seconds above 0, e.g. 60"
        )
    if settings.twilio_agent_track not in ("inbound", "outbound"):
        raise SettingsError("CALLCOACH_TWILIO_AGENT_TRACK must be inbound or outbound")
    if settings.audiofork_agent_side not in ("caller", "callee"):
        raise SettingsError("CALLCOACH_AUDIOFORK_AGENT_SIDE must be caller or callee")
    if not settings.default_team.strip():
        raise SettingsError("CALLCOACH_TEAM is empty: name the default team, e.g. default")
    if settings.decoder_effort not in EFFORTS:
        raise SettingsError(
            f"decoder effort {settings.decoder_effort!r} is unknown: give --decoder-effort "
            f"(or CALLCOACH_DECODER_EFFORT) one of {', '.join(EFFORTS)}"
        )
    if settings.db and not is_url(settings.db):
        raise SettingsError(
            f"--db {shown(settings.db)!r} is not a PostgreSQL URL: give --db (or CALLCOACH_DB) as "
            f"{URL_HELP}, or leave it unset to keep SQLite files in --data"
        )
    if settings.queue_frames < 1 or settings.decode_threads < 1:
        raise SettingsError("queue and thread counts must be at least 1")
    if settings.max_call_s <= 0 or settings.ingest_idle_s <= 0:
        raise SettingsError(
            "--max-call-s and --ingest-idle-s (CALLCOACH_MAX_CALL_S, CALLCOACH_INGEST_IDLE_S) must be "
            "positive numbers of seconds, e.g. 14400 and 30"
        )
    if settings.retention_days is not None and settings.retention_days < 1:
        raise SettingsError(
            f"--retention-days {settings.retention_days}: give a whole number of days of at least 1, "
            "or leave it unset to keep calls"
        )
    if settings.follow_up_calls < 1:
        raise SettingsError(
            f"--follow-up-calls {settings.follow_up_calls}: give a whole number of calls of at least 1, "
            "e.g. 3 (CALLCOACH_FOLLOW_UP_CALLS)"
        )
    if settings.upload_max_mb <= 0 or settings.upload_max_minutes <= 0:
        raise SettingsError(
            "--upload-max-mb and --upload-max-minutes (CALLCOACH_UPLOAD_MAX_MB, "
            "CALLCOACH_UPLOAD_MAX_MINUTES) must be positive numbers, e.g. 500 and 240"
        )
    _validate_bus(settings)


BUS_SCHEMES = ("redis://", "rediss://", "unix://")


def _validate_bus(settings: Settings) -> None:
    if settings.bus and not settings.bus.startswith(BUS_SCHEMES):
        raise SettingsError(
            f"--bus {settings.bus!r} is not a Redis address: give redis://HOST:PORT/DB (or rediss:// for "
            "TLS, unix:///path/redis.sock), or leave --bus and CALLCOACH_BUS unset for a single node"
        )
    if settings.bus_max_events < 1000 or settings.bus_expire_s <= 0:
        raise SettingsError(
            "CALLCOACH_BUS_MAX_EVENTS must be at least 1000 and CALLCOACH_BUS_EXPIRE_S a positive number "
            "of seconds, e.g. 200000 and 3600"
        )
