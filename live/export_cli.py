"""``callcoach export``: a call's transcript or moments in a format another tool reads, its coaching sheet
as a PDF, or a team's moments over a period as one CSV.

    callcoach export CALL_OR_FILE --format vtt|srt|txt|csv|pdf [--out FILE] [--data DIR]
    callcoach export --team TEAM [--from DATE] [--to DATE] --format csv [--out FILE] [--data DIR]

``CALL_OR_FILE`` is a call stored in the ``--data`` folder (what the server kept, redacted if it was
recorded with redaction on), or a recording, which is analysed first as ``callcoach analyze`` does. The
formats are :mod:`callcoach.live.exports`'. A team's CSV has every moment of every stored call of the team
whose day (its start, UTC) is within ``--from`` and ``--to`` (each included; either may be left out), one
row each, after the call's id, date, title and agent. Without ``--out`` the export goes to stdout, except
the PDF (:mod:`callcoach.live.sheet_pdf`, with the agent's self-assessment and the commitments of a stored
call): binary is never sent to a terminal, so it is written to ``<call>.sheet.pdf`` in the current folder,
whose name is printed. An unknown call, a mistyped folder or date is one line on stderr naming the cause
and the fix, exit status 2.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from pathlib import Path
from typing import Any, Literal, TypeAlias

from callcoach.live import settings as settings_mod
from callcoach.live.errors import CallcoachError, UserError
from callcoach.live.events import CallInfo, CallStarted, Error, Event
from callcoach.live.exports import FORMATS, Format, export, in_period, parse_day, team_csv
from callcoach.live.settings import Settings
from callcoach.live.sheet import build_sheet
from callcoach.live.sheet_cli import analysed, coaching_records, stored_calls

EXIT_USAGE = 2
_AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
CliFormat: TypeAlias = Format | Literal["pdf"]
CLI_FORMATS: tuple[CliFormat, ...] = (*FORMATS, "pdf")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def add_parser(sub: Any) -> None:
    """Register ``export`` on the ``callcoach`` parser's sub-commands."""
    parser = sub.add_parser(
        "export", help="a call's transcript (vtt, srt, txt), moments (csv) or sheet (pdf); a team's CSV"
    )
    parser.add_argument("call", nargs="?", metavar="CALL_OR_FILE", help="a stored call's id, or a recording")
    parser.add_argument("--format", required=True, choices=CLI_FORMATS, help="vtt, srt, txt, csv or pdf")
    parser.add_argument(
        "--out", type=Path, metavar="FILE", help="write it here (default: stdout; a PDF: CALL.sheet.pdf)"
    )
    parser.add_argument("--team", metavar="TEAM", help="every moment of this team's stored calls (csv)")
    parser.add_argument("--from", dest="from_day", metavar="YYYY-MM-DD", help="calls from this day on")
    parser.add_argument("--to", dest="to_day", metavar="YYYY-MM-DD", help="calls up to this day, included")
    analysis = ("model_dir", "agent_channel", "customer_channel", "silence_threshold_s", "monologue_s")
    settings_mod.add_arguments(parser, "data_dir", "db", *analysis, "rules_file", "redact", "decoder_effort")
    parser.set_defaults(command=_export)


def _export(args: argparse.Namespace, settings: Settings) -> int:
    fmt: CliFormat = args.format
    if (args.call is None) == (args.team is None):
        raise UserError("say what to export: a call's id or a recording, or --team TEAM (not both)")
    if args.team is not None:
        if fmt != "csv":
            raise UserError(f"a team's export is its moments as CSV: use --format csv, not {fmt}")
        period = _day(args.from_day, "--from"), _day(args.to_day, "--to")
        _write(team_csv(team_calls(args.team, period, settings)), args.out)
        return 0
    if args.from_day or args.to_day:
        raise UserError("--from and --to choose a team's calls: give them with --team, or leave them out")
    call_id, events, info = _call(args.call, settings)
    if fmt == "pdf":
        _write_pdf(call_id, events, info, settings, args.out)
    else:
        _write(export(events, fmt), args.out)
    faults = [e for e in events if isinstance(e, Error) and e.fatal]
    for fault in faults:  # what could be analysed is exported; the failure is said, as analyze does
        print(f"callcoach: error: {fault.message}", file=sys.stderr)
    return EXIT_USAGE if faults else 0


def _call(call: str, settings: Settings) -> tuple[str, list[Event], CallInfo | None]:
    """The call's id, events and (a stored call's) list line: a recording is analysed, named by its stem."""
    path = Path(call)
    if path.is_file():
        return path.stem, analysed(path, settings), None
    if path.suffix.lower() in _AUDIO_SUFFIXES or "/" in call:
        raise UserError(f"there is no file {path}: give a recording's path, or a stored call's id")
    found = next((c for c in stored_calls(settings) if c.info.call_id == call), None)
    if found is None:
        raise UserError(
            f"there is no call {call!r} stored in {settings.data_dir}: give the id of a call the server "
            f"kept (the page's address shows it after #call=), or a recording's path to analyse it"
        )
    return call, list(found.events), found.info


def team_calls(
    team: str, period: tuple[dt.date | None, dt.date | None], settings: Settings
) -> list[tuple[CallInfo, list[Event]]]:
    """The team's stored calls whose day is in ``period`` (either end open), oldest first."""
    first, last = period
    if first and last and first > last:
        raise UserError(f"--from {first} is after --to {last}: give the earlier day first")
    chosen = []
    for call in stored_calls(settings):
        if (call.info.team or settings.default_team) == team and in_period(call.info.started_at, first, last):
            chosen.append((call.info, list(call.events)))
    return sorted(chosen, key=lambda c: c[0].started_at)


def _day(text: str | None, flag: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return parse_day(text)
    except ValueError as exc:
        raise UserError(f"{flag} {exc}") from None


def _write_pdf(
    call_id: str, events: list[Event], info: CallInfo | None, settings: Settings, out: Path | None
) -> None:
    """The call's coaching sheet as a PDF in ``out``, or in ``<call>.sheet.pdf`` here (its name printed)."""
    # Imported here: every callcoach command imports this module, and fpdf2 takes half a second to load.
    from callcoach.live.sheet_pdf import render_pdf

    own, commitments = coaching_records(call_id, settings) if info is not None else (None, [])
    sheet = build_sheet(call_id, events, info=info, self_assessment=own, commitments=commitments)
    started = next((e.started_at for e in events if isinstance(e, CallStarted)), None)
    try:
        pdf = render_pdf(
            sheet, started_at=info.started_at if info else started, made_at=dt.datetime.now(dt.UTC)
        )
    except CallcoachError as exc:  # the fonts are missing: the message names the package to install
        raise UserError(exc.message) from None
    target = out or Path(f"{_UNSAFE_NAME.sub('_', call_id).strip('._') or 'call'}.sheet.pdf")
    try:
        target.write_bytes(pdf)
    except OSError as exc:
        raise UserError(
            f"cannot write {target} ({exc.strerror}): give --out a file in a folder you can write"
        ) from exc
    if out is None:
        print(target)


def _write(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        out.write_text(text, encoding="utf-8", newline="")  # the formats' own line ends, as they are
    except OSError as exc:
        raise UserError(
            f"cannot write {out} ({exc.strerror}): give --out a file in a folder you can write"
        ) from exc
