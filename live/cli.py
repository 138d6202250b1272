"""The ``callcoach`` command: parse flags and environment once into :class:`Settings`, then dispatch.

Errors a user can fix end as one line on stderr, ``callcoach: error: <cause and fix>``, and exit status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TextIO

from callcoach.audio.errors import AudioError
from callcoach.audio.framing import Step
from callcoach.detectors.rules import NO_RULES, RuleSet
from callcoach.live import audit_cli, batch, call_cli, export_cli, import_cli, sheet_cli, user_cli
from callcoach.live import settings as settings_mod
from callcoach.live.errors import UserError
from callcoach.live.eventlog import EventLog
from callcoach.live.events import Error
from callcoach.live.model import ModelError, check_model_dir, fetch_model, load_model
from callcoach.live.progress import FileProgress, StatusLine
from callcoach.live.report import json_line, timeline
from callcoach.live.rules_file import load_rules
from callcoach.live.session import CallSession
from callcoach.live.settings import Settings, SettingsError
from callcoach.live.sources import FileSource
from callcoach.live.static_graph import (
    INSTALL_HINT,
    StaticGraphError,
    compile_static_graph,
    composable,
    has_static_graph,
    missing_tools,
)

EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 141  # as a shell reports a command ended by SIGPIPE


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    command: Callable[[argparse.Namespace, Settings], int] = args.command
    try:
        return command(args, settings_mod.from_sources(args))
    except (AudioError, ModelError, SettingsError, UserError) as exc:
        _fail(str(getattr(exc, "message", exc)))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader stopped early (`callcoach analyze --json | head`): nothing of ours went wrong. Point
        # stdout at /dev/null so that Python's flush at exit does not fail a second time, as its docs advise.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    return EXIT_USAGE


def _fail(message: str) -> None:
    print(f"callcoach: error: {message}", file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="callcoach", description="Real-time call-listening assistant.")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    analyze = sub.add_parser("analyze", help="run recorded calls through the pipeline and print them")
    analyze.add_argument(
        "files", nargs="+", type=Path, metavar="FILE_OR_DIR", help="WAV, FLAC or OGG recordings, or folders"
    )
    analyze.add_argument("--json", action="store_true", help="print one JSON event per line")
    analyze.add_argument("--jobs", type=int, metavar="N", help="calls analysed at once (default: the cores)")
    analyze.add_argument("--summary", type=Path, metavar="FILE.csv", help="write one row per call to it")
    detector_settings = ("silence_threshold_s", "monologue_s", "rules_file")
    settings_mod.add_arguments(
        analyze,
        "model_dir",
        "agent_channel",
        "customer_channel",
        *detector_settings,
        "frame_s",
        "redact",
        "gate_speech",
        "decoder_effort",
    )
    analyze.set_defaults(command=_analyze)

    server_settings = (
        "host",
        "port",
        "recordings_dir",
        "data_dir",
        "db",
        "model_dir",
        "agent_channel",
        "customer_channel",
        *detector_settings,
        "ingest_token",
        "audiosocket_port",
        "audiosocket_agent_port",
        "default_team",
        "max_call_s",
        "ingest_idle_s",
        "redact",
        "gate_speech",
        "decoder_effort",
        "retention_days",
        "follow_up_calls",
        "upload_max_mb",
        "upload_max_minutes",
        "bus",
    )
    serve = sub.add_parser("serve", help="serve the coach's page, the websocket and the live-call ingest")
    settings_mod.add_arguments(serve, *server_settings)
    serve.set_defaults(command=lambda _a, s: _web().serve(s))

    listen = sub.add_parser("listen", help="serve, with a sound card's input as a live call")
    listen.add_argument("--device", help="input device (number or name; default: the system's)")
    settings_mod.add_arguments(listen, *server_settings)
    listen.set_defaults(command=lambda a, s: _web().listen(s, _device(a.device)))

    sim = sub.add_parser("simulate-call", help="stream a recording to callcoach as a phone platform would")
    sim.add_argument("file", type=Path, help="the recording to play as a call")
    target = sim.add_mutually_exclusive_group(required=True)
    target.add_argument("--twilio", metavar="URL", help="Twilio Media Streams: ws://host:port/ingest/twilio")
    target.add_argument("--audiofork", metavar="URL", help="audio fork: ws://host:port/ingest/audiofork")
    target.add_argument(
        "--audiosocket", metavar="HOST:PORT", help="AudioSocket: customer leg (agent: PORT+1)"
    )
    sim.add_argument("--agent-port", type=int, help="AudioSocket port of the agent's leg (default PORT+1)")
    sim.add_argument("--speed", type=float, default=1.0, help="times real time (default 1.0)")
    sim.add_argument("--drop-after", type=float, metavar="S", help="break the connection after S s of audio")
    settings_mod.add_arguments(sim, "agent_channel", "customer_channel", "ingest_token")
    sim.set_defaults(command=_simulate)

    model = sub.add_parser("model", help="the Vosk speech model")
    model_sub = model.add_subparsers(required=True, metavar="ACTION")
    fetch = model_sub.add_parser(
        "fetch", help="download and verify the small English model (no-op if present)"
    )
    settings_mod.add_arguments(fetch, "model_dir")
    fetch.set_defaults(command=_model_fetch)
    compile_ = model_sub.add_parser(
        "compile", help="compose the model's decoding graph once (decoding then takes about 0.4 of the CPU)"
    )
    settings_mod.add_arguments(compile_, "model_dir")
    compile_.set_defaults(command=_model_compile)
    where = model_sub.add_parser("path", help="print the model directory in use")
    settings_mod.add_arguments(where, "model_dir")
    where.set_defaults(command=lambda _a, s: print(s.model_dir) or 0)

    user_cli.add_parser(sub)
    audit_cli.add_parsers(sub)
    sheet_cli.add_parser(sub)
    export_cli.add_parser(sub)
    call_cli.add_parser(sub)
    import_cli.add_parser(sub)  # recordings into a server's data folder, as the page uploads
    return parser


def _web() -> Any:
    """The server-side commands, imported only when one runs (the CLI's other commands need no web)."""
    from callcoach.web import commands

    return commands


def _device(raw: str | None) -> str | int | None:
    return int(raw) if raw is not None and raw.isdigit() else raw


def _simulate(args: argparse.Namespace, settings: Settings) -> int:
    targets = {k: getattr(args, k) for k in ("twilio", "audiofork", "audiosocket") if getattr(args, k)}
    if args.agent_port:
        targets["agent_port"] = str(args.agent_port)
    if args.speed <= 0:
        raise SettingsError("--speed must be above 0, e.g. 1 for real time or 4 for four times faster")
    result: int = _web().simulate_call(settings, args.file, targets, args.speed, args.drop_after)
    return result


def _model_fetch(_args: argparse.Namespace, settings: Settings) -> int:
    path = fetch_model(settings.model_dir, progress=_progress)
    # The static graph is an optimisation: without the OpenFst tools the model still works as shipped.
    if composable(path) and not has_static_graph(path) and missing_tools():
        _progress(f"note: decoding would take about 0.4 of the CPU with a composed graph: {INSTALL_HINT}")
    elif composable(path):
        _model_compile(_args, settings)
    print(path)
    return 0


def _model_compile(_args: argparse.Namespace, settings: Settings) -> int:
    try:
        if not compile_static_graph(settings.model_dir, _progress):
            _progress(f"{settings.model_dir} already has its composed graph (graph/HCLG.fst)")
    except StaticGraphError as exc:
        raise ModelError("model_compile_failed", exc.message) from exc
    return 0


def _progress(message: str) -> None:
    print(message, file=sys.stderr)


def _analyze(args: argparse.Namespace, settings: Settings) -> int:
    one = args.files[0]
    if len(args.files) > 1 or one.is_dir() or args.jobs is not None or args.summary is not None:
        return _analyze_many(args, settings)
    source = FileSource(one, settings)  # bad audio and bad rules are reported before the model loads
    rules = load_rules(settings.rules_file) if settings.rules_file is not None else NO_RULES
    model = load_model(settings.model_dir, settings.decoder_effort)
    out = sys.stdout if args.json else None
    bar = FileProgress(StatusLine(sys.stderr, tty=True), source.info.duration_s, time.monotonic)
    progress = bar if sys.stderr.isatty() else None  # a log file gets no bar: the report says it all
    events = asyncio.run(analyze(source, settings, model, out=out, rules=rules, progress=progress))
    if progress is not None:
        bar.finish()
    if not args.json:
        print("\n".join(timeline(events.events)))
    faults = [e for e in events.events if isinstance(e, Error) and e.fatal]
    for fault in faults:
        _fail(fault.message)
    return EXIT_USAGE if faults else 0


def _analyze_many(args: argparse.Namespace, settings: Settings) -> int:
    """Folders, several files, ``--jobs`` or ``--summary``: the batch (:mod:`callcoach.live.batch`)."""
    files = batch.audio_files(args.files)
    if settings.rules_file is not None:
        load_rules(settings.rules_file)  # a broken rules file stops the batch before any worker starts
    check_model_dir(settings.model_dir)
    jobs = batch.default_jobs() if args.jobs is None else args.jobs
    err = sys.stderr
    return batch.run_batch(
        files, settings, jobs=jobs, as_json=args.json, summary=args.summary, out=sys.stdout, err=err,
        tty=err.isatty(),
    )  # fmt: skip


async def analyze(
    source: FileSource,
    settings: Settings,
    model: Any,
    *,
    out: TextIO | None = None,
    rules: RuleSet = NO_RULES,
    progress: Callable[[float], None] | None = None,
) -> EventLog:
    """Run one recording through a :class:`CallSession`; with ``out``, stream JSON lines as events happen;
    with ``progress``, tell it the audio seconds read so far, as the session takes each step."""
    started = source.started()
    with ThreadPoolExecutor(settings.decode_threads, thread_name_prefix="vosk") as executor:
        session = CallSession(started, model=model, settings=settings, executor=executor, rules=rules)
        printer = asyncio.create_task(_print_json(session.log, out)) if out else None
        frames = source.frames()
        await session.run(_reporting(frames, progress) if progress else frames)
        if printer:
            await printer
    return session.log


async def _reporting(steps: AsyncIterator[Step], progress: Callable[[float], None]) -> AsyncIterator[Step]:
    async for step in steps:
        yield step
        progress(step[0].end_s)


async def _print_json(log: EventLog, out: TextIO) -> None:
    async for seq, event in log.follow():
        out.write(json_line(event, seq=seq, call_id=log.call_id) + "\n")
    out.flush()
