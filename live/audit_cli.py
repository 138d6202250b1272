"""``callcoach audit`` and ``callcoach purge``: the audit trail and the retention of the server whose state
is in ``--data``.

    callcoach audit [--call ID] [--user U] [--since 7d|ISO] [--json]
    callcoach purge --older-than 90d [--dry-run]

``audit`` prints who opened, listened to, exported or purged which call and when, newest last: a table, or
one JSON object per line with ``--json``. ``purge`` deletes the stored calls saved longer ago than that,
with their events, notes, pins and recordings in the data folder, says what it deleted, and records it
in the trail as the system account that ran it (``cli:NAME``). Recordings in the recordings folder are the
operator's own files and stay. A running server lists calls purged here until it restarts: to purge a
running server's calls, give it ``--retention-days``.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import time
from typing import Any

from callcoach.live import settings as settings_mod
from callcoach.live.audit import FILE_NAME, AuditEntry, AuditLog, utc_iso
from callcoach.live.db import database_of, exists
from callcoach.live.retention import DURATION_HELP, describe, parse_duration_s, parse_since, purge_calls
from callcoach.live.settings import Settings
from callcoach.live.storage import FILE_NAME as CALLS_FILE
from callcoach.live.storage import PurgedCall, Storage


def add_parsers(sub: Any) -> None:
    """Register ``audit`` and ``purge`` on the ``callcoach`` parser's sub-commands."""
    audit = sub.add_parser("audit", help="who opened, listened to, exported or purged which call, and when")
    audit.add_argument("--call", metavar="ID", help="only this call")
    audit.add_argument("--user", metavar="NAME", help="only this user")
    audit.add_argument("--since", metavar="7d|ISO", help="only from then on: a duration ago, or a date")
    audit.add_argument("--json", action="store_true", help="one JSON object per line")
    settings_mod.add_arguments(audit, "data_dir", "db")
    audit.set_defaults(command=_audit)

    purge = sub.add_parser("purge", help="delete stored calls older than a duration, with their recordings")
    purge.add_argument("--older-than", required=True, metavar="DURATION", help=DURATION_HELP)
    purge.add_argument("--dry-run", action="store_true", help="only print what would be deleted")
    settings_mod.add_arguments(purge, "data_dir", "db")
    purge.set_defaults(command=_purge)


def _audit(args: argparse.Namespace, settings: Settings) -> int:
    since = parse_since(args.since, time.time()) if args.since else None
    database = database_of(settings, FILE_NAME)
    entries: list[AuditEntry] = []
    if exists(database):  # reading creates nothing: a mistyped --data is said, not made
        trail = AuditLog(database)
        try:
            entries = trail.entries(call_id=args.call, user=args.user, since=since)
        finally:
            trail.close()
    if args.json:
        for entry in entries:
            print(json.dumps(entry.to_json()))
    elif not entries:
        where = (
            "" if exists(database) else f" (there is no {FILE_NAME} in {settings.data_dir}: is --data right?)"
        )
        print(f"no audit entries{' match' if (args.call or args.user or since) else ''}{where}")
    else:
        _table(entries)
    return 0


def _table(entries: list[AuditEntry]) -> None:
    header = ("TIME (UTC)", "USER", "ACTION", "CALL", "DETAIL")
    rows = [header, *((e.at, e.user, e.action, e.call_id or "-", e.detail) for e in entries)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _purge(args: argparse.Namespace, settings: Settings) -> int:
    older_than_s, now_s = parse_duration_s(args.older_than), time.time()
    database = database_of(settings, CALLS_FILE)
    if not exists(database):  # a mistyped --data is said, not made
        print(f"no calls are stored in {settings.data_dir} (is --data right?): nothing to purge")
        return 0
    storage = Storage(database, settings.data_dir / "recordings")
    try:
        purged = (
            storage.purge(utc_iso(now_s - older_than_s), dry_run=True)
            if args.dry_run
            else _purge_recorded(storage, settings, older_than_s, now_s, args.older_than)
        )
    finally:
        storage.close()
    verb = "would delete" if args.dry_run else "deleted"
    print(f"{verb} {len(purged)} call{'' if len(purged) == 1 else 's'} saved over {args.older_than} ago")
    for call in purged:
        print(f"  {describe(call)}")
    if args.dry_run:
        print("nothing was deleted (--dry-run)")
    return 0


def _purge_recorded(
    storage: Storage, settings: Settings, older_than_s: float, now_s: float, older_than: str
) -> list[PurgedCall]:
    trail = AuditLog(database_of(settings, FILE_NAME))
    try:
        return purge_calls(
            storage,
            trail,
            older_than_s=older_than_s,
            now_s=now_s,
            actor=f"cli:{pwd.getpwuid(os.getuid()).pw_name}",  # who ran it: the system account
            why=f"callcoach purge --older-than {older_than}",
        )
    finally:
        trail.close()
