"""``callcoach call ...``: what an admin does to a call kept in ``--data`` from the command line.

    callcoach call assign CALL USER [--data DIR] [--recordings DIR]

``assign`` makes the agent account ``USER`` the call's agent (it wins over the agent the phone platform
named): the agent sees the call on their page, and its moments count in their follow-ups. ``CALL`` is a
stored call's id or a recording's (as the page lists it). A running server on the same ``--data`` takes
it on within seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
from typing import Any

from callcoach.live import settings as settings_mod
from callcoach.live.accounts import FILE_NAME as ACCOUNTS_FILE
from callcoach.live.accounts import AccountError, Accounts
from callcoach.live.catalog import recording_ids
from callcoach.live.coaching_store import CoachingStore
from callcoach.live.db import DatabaseError, database_of, exists, open_database
from callcoach.live.errors import UserError
from callcoach.live.settings import Settings
from callcoach.live.storage import FILE_NAME as CALLS_FILE

ASSIGNED_BY = "callcoach call assign"  # who assigned, as the record keeps it: the command line


def add_parser(sub: Any) -> None:
    """Register ``call`` and its actions on the ``callcoach`` parser's sub-commands."""
    call = sub.add_parser("call", help="a call's agent: assign")
    actions = call.add_subparsers(required=True, metavar="ACTION")
    assign = actions.add_parser("assign", help="make an agent account the call's agent")
    assign.add_argument("call_id", metavar="CALL", help="the call's id, as the page lists it")
    assign.add_argument("username", metavar="USER", help="the agent's login name")
    settings_mod.add_arguments(assign, "data_dir", "db", "recordings_dir", "default_team")
    assign.set_defaults(command=_assign)


def _assign(args: argparse.Namespace, settings: Settings) -> int:
    agent = _agent(settings, args.username)
    if not _known_call(settings, args.call_id):
        raise UserError(
            f"no call {args.call_id!r} in {settings.data_dir} or the recordings in "
            f"{settings.recordings_dir}: copy the id from the call list "
            "(or pass the server's --data and --recordings)"
        )
    store = CoachingStore(database_of(settings, CALLS_FILE))
    try:
        store.assign(args.call_id, agent, ASSIGNED_BY, dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    finally:
        store.close()
    print(f"call {args.call_id} is now {agent}'s")
    return 0


def _agent(settings: Settings, username: str) -> str:
    accounts = Accounts(database_of(settings, ACCOUNTS_FILE))
    try:
        user = accounts.get(username)
    except AccountError as exc:
        raise UserError(str(exc)) from exc
    finally:
        accounts.close()
    if user.role != "agent":
        raise UserError(
            f"{username} is a {user.role}, not an agent: a call's agent is an agent account "
            f"(callcoach user add NAME --role agent --team TEAM)"
        )
    return user.username


def _known_call(settings: Settings, call_id: str) -> bool:
    """A stored call (live calls are stored as they happen) or a recording the server lists."""
    if call_id in recording_ids(settings.recordings_dir, settings.default_team):
        return True
    database = database_of(settings, CALLS_FILE)
    if not exists(database):
        return False
    with contextlib.closing(open_database(database, read_only=True)) as db:
        try:
            return db.fetchone("SELECT 1 FROM calls WHERE call_id = ?", (call_id,)) is not None
        except DatabaseError:  # no calls table: nothing was ever stored there
            return False
