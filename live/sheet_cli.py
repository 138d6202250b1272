"""``callcoach sheet``: a call's coaching sheet on the command line.

    callcoach sheet CALL_OR_FILE [--json] [--data DIR]

``CALL_OR_FILE`` is a call stored in the ``--data`` folder (a live call the server kept), or a recording,
which is analysed first exactly as ``callcoach analyze`` does. The sheet reads as the conversation goes:
strengths first, then the ranked opportunities (quote, time, why it matters, what to try instead), the
coaches' notes and pins, the balance, the agent's self-assessment and the commitments; ``--json`` prints
it as one JSON object (the fields of ``GET /api/calls/ID/sheet``). An unknown call or an unreadable file
is one line on stderr naming the cause and the fix, and exit status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

from callcoach.detectors.rules import NO_RULES
from callcoach.live import settings as settings_mod
from callcoach.live.coaching import Commitment, SelfAssessment
from callcoach.live.coaching_store import CoachingStore
from callcoach.live.db import database_of, exists, shown
from callcoach.live.errors import UserError
from callcoach.live.events import CallInfo, Error, Event
from callcoach.live.model import load_model
from callcoach.live.report import clock
from callcoach.live.rules_file import load_rules
from callcoach.live.settings import Settings
from callcoach.live.sheet import CoachingSheet, SheetMoment, SheetNote, build_sheet
from callcoach.live.sources import FileSource
from callcoach.live.storage import FILE_NAME as CALLS_FILE
from callcoach.live.storage import Storage, StoredCall

EXIT_USAGE = 2
_WIDTH = 100
_AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")


def add_parser(sub: Any) -> None:
    """Register ``sheet`` on the ``callcoach`` parser's sub-commands."""
    sheet = sub.add_parser("sheet", help="a call's coaching sheet: strengths, then the top opportunities")
    sheet.add_argument("call", metavar="CALL_OR_FILE", help="a stored call's id, or a recording to analyse")
    sheet.add_argument("--json", action="store_true", help="print the sheet as one JSON object")
    analysis = ("model_dir", "agent_channel", "customer_channel", "silence_threshold_s", "monologue_s")
    settings_mod.add_arguments(sheet, "data_dir", "db", *analysis, "rules_file", "redact")
    sheet.set_defaults(command=_sheet)


def _sheet(args: argparse.Namespace, settings: Settings) -> int:
    path = Path(args.call)
    info: CallInfo | None = None
    if path.is_file():
        call_id, events = path.stem, analysed(path, settings)
    elif path.suffix.lower() in _AUDIO_SUFFIXES or "/" in args.call:
        raise UserError(f"there is no file {path}: give a recording's path, or a stored call's id")
    else:
        stored = _stored(args.call, settings)
        call_id, events, info = args.call, list(stored.events), stored.info
    own, commitments = coaching_records(call_id, settings) if info is not None else (None, [])
    sheet = build_sheet(call_id, events, info=info, self_assessment=own, commitments=commitments)
    print(json.dumps(sheet.to_json(), indent=2) if args.json else "\n".join(readable(sheet)))
    faults = [e for e in events if isinstance(e, Error) and e.fatal]
    for fault in faults:  # the sheet of what could be analysed stands; the failure is said, as analyze does
        print(f"callcoach: error: {fault.message}", file=sys.stderr)
    return EXIT_USAGE if faults else 0


def analysed(path: Path, settings: Settings) -> list[Event]:
    """A recording's events, analysed as ``callcoach analyze`` does (the sheet and the exports of a file)."""
    # Imported here: the CLI's module imports this one to register the command.
    from callcoach.live.cli import analyze

    source = FileSource(path, settings)  # bad audio and bad rules are reported before the model loads
    rules = load_rules(settings.rules_file) if settings.rules_file is not None else NO_RULES
    model = load_model(settings.model_dir, settings.decoder_effort)
    return list(asyncio.run(analyze(source, settings, model, rules=rules)).events)


def coaching_records(call_id: str, settings: Settings) -> tuple[SelfAssessment | None, list[Commitment]]:
    """The agent's self-assessment of a stored call and the commitments made about it."""
    store = CoachingStore(database_of(settings, CALLS_FILE))
    try:
        return store.self_assessment(call_id), store.commitments_for_call(call_id)
    finally:
        store.close()


def stored_calls(settings: Settings) -> list[StoredCall]:
    """Every call stored in the server's ``--data`` (or ``--db``), with its notes and pins; reading creates
    nothing (a mistyped --data is said, not made)."""
    database, data_dir = database_of(settings, CALLS_FILE), settings.data_dir
    if not exists(database):
        raise UserError(
            f"no calls are stored in {data_dir} (there is no {CALLS_FILE}): give the server's --data "
            f"folder (and its --db, if it has one), or a recording's path to analyse it"
        )
    storage = Storage(database, data_dir / "recordings")
    try:
        return storage.load_all()
    finally:
        storage.close()


def _stored(call_id: str, settings: Settings) -> StoredCall:
    """The stored call of ``call_id``, with its notes and pins."""
    found = next((c for c in stored_calls(settings) if c.info.call_id == call_id), None)
    if found is None:
        where = shown(settings.db) if settings.db else settings.data_dir
        raise UserError(
            f"there is no call {call_id!r} stored in {where}: give the id of a call the server kept "
            f"(the page's address shows it after #call=), or a recording's path to analyse it"
        )
    return found


def readable(sheet: CoachingSheet) -> list[str]:
    """The sheet as a coach reads it on a terminal: strengths first, then the ranked opportunities."""
    length = f" · {clock(sheet.duration_s)}" if sheet.duration_s is not None else ""
    agent = f" · agent {sheet.agent}" if sheet.agent else ""
    lines = [f"Coaching sheet: {sheet.title or sheet.call_id}{length}{agent}"]
    lines.append(f"Balance: {sheet.praise_count} praise, {sheet.coach_count} to coach")
    lines += ["", "Strengths"]
    for strength in sheet.strengths:
        lines += _strength(strength)
    if not sheet.strengths:
        lines.append("  (nothing flagged: ask the agent what went well, and listen for it)")
    shown = len(sheet.opportunities)
    total = shown + len(sheet.more)
    lines += ["", f"Opportunities ({shown} of {total})" if sheet.more else "Opportunities"]
    for n, moment in enumerate(sheet.opportunities, start=1):
        lines += _opportunity(n, moment)
    if not sheet.opportunities:
        lines.append("  (nothing to coach on this call)")
    if sheet.more:
        lines.append(f"  and {len(sheet.more)} more, for another day:")
        lines += [f"     {clock(m.start_s)}  {m.title}" for m in sheet.more]
    lines += ["", "Coaches' notes", *_notes(sheet.notes)]
    lines += ["", "Agent's self-assessment", *_self_assessment(sheet)]
    lines += ["", "Commitments", *_commitments(sheet)]
    return lines


def _strength(item: SheetMoment | SheetNote) -> list[str]:
    if isinstance(item, SheetNote):
        out = [f"  + {clock(item.start_s)}  Note by {item.author_name or item.author}{_pin(item.pinned)}"]
        if item.quote is not None:
            out += _wrapped(f'{item.quote.speaker}: "{item.quote.text}"', "said")
        return out + _wrapped(item.text, "note")
    head = f"  + {clock(item.start_s)}  {item.title}{_pin(item.pinned)}"
    return [head, *_said(item), *_wrapped(item.suggestion, "keep")]


def _opportunity(n: int, moment: SheetMoment) -> list[str]:
    rule = f" (rule {moment.rule})" if moment.rule else ""
    head = f"  {n}. {clock(moment.start_s)}  {moment.title}{rule}{_pin(moment.pinned)}"
    return [head, *_said(moment), *_wrapped(moment.why, "why"), *_wrapped(moment.suggestion, "try")]


def _said(moment: SheetMoment) -> list[str]:
    if moment.quotes:
        return [
            line
            for q in moment.quotes
            for line in _wrapped(f'{q.speaker} at {clock(q.start_s)}: "{q.text}"', "said")
        ]
    return _wrapped(f'"{moment.quote}"', "said") if moment.quote else []


def _notes(notes: tuple[SheetNote, ...]) -> list[str]:
    if not notes:
        return ["  (no notes)"]
    return [
        line
        for note in notes
        for line in _headed(
            f"{note.text}{_pin(note.pinned)}",
            f"  {clock(note.start_s)}  {note.author_name or note.author} ({note.tag}):",
        )
    ]


def _self_assessment(sheet: CoachingSheet) -> list[str]:
    own = sheet.self_assessment
    if own is None:
        return ["  (not written yet: the agent writes it before seeing this sheet)"]
    return [*_wrapped(own.went_well, "went well", 12), *_wrapped(own.do_differently, "would change", 12)]


def _commitments(sheet: CoachingSheet) -> list[str]:
    if not sheet.commitments:
        return ["  (none yet)"]
    out: list[str] = []
    for c in sheet.commitments:
        accepted = f"accepted {c.accepted_at[:10]}" if c.accepted_at else "not accepted yet"
        out += _headed(f"{c.behaviour} ({c.kind}), from {c.due_date}, {accepted}", "  -")
    return out


def _pin(pinned: bool) -> str:
    return "  [pinned]" if pinned else ""


def _wrapped(text: str, label: str, width: int = 5) -> list[str]:
    """A field of a moment (``why: ...``), indented under it and wrapped to the terminal's usual width."""
    return _headed(text, f"       {label + ':':<{width + 1}}")


def _headed(text: str, head: str) -> list[str]:
    """``text`` after ``head`` on its first line, its other lines indented to line up under it."""
    if not text:
        return []
    first = head if head.endswith(" ") else f"{head} "
    indent = " " * min(len(first), 20)  # a long head (a note's author) does not squeeze the text
    return textwrap.wrap(text, _WIDTH, initial_indent=first, subsequent_indent=indent)
