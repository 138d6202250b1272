"""``callcoach user ...``: the accounts of the server that keeps its state in ``--data``.

    callcoach user add NAME --role coach|lead|admin|agent --team T [--team T2] [--name "Display Name"]
                            [--password-stdin | --invite] [--exist-ok]
    callcoach user list | invite NAME | passwd NAME [--password-stdin] | remove NAME

A password comes from stdin (its first line) with ``--password-stdin``, else from a prompt when stdin is
a terminal; ``--invite`` prints a one-time link instead, with which the user chooses their own. Accounts
live in ``DATA/accounts.sqlite3``, beside the server's calls, or in the ``--db`` PostgreSQL database (give
the server's); the server reads them as it runs. An agent
sees only their own calls; their ``--team`` says which coaches and leads coach them.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from callcoach.live import settings as settings_mod
from callcoach.live.accounts import FILE_NAME as ACCOUNTS_FILE
from callcoach.live.accounts import INVITE_TTL_S, ROLES, AccountError, Accounts, sees_every_team
from callcoach.live.db import database_of
from callcoach.live.errors import UserError
from callcoach.live.settings import Settings

Command = Callable[[argparse.Namespace, Settings], int]


def add_parser(sub: Any) -> None:
    """Register ``user`` and its actions on the ``callcoach`` parser's sub-commands."""
    user = sub.add_parser("user", help="accounts: add, list, invite, change passwords, remove")
    actions = user.add_subparsers(required=True, metavar="ACTION")

    add = actions.add_parser("add", help="add a user (coach, lead, admin or agent) to teams")
    add.add_argument("username", metavar="NAME", help="the login name (letters, digits, . - _)")
    add.add_argument("--role", required=True, choices=ROLES, help="coach, lead, admin or agent")
    add.add_argument(
        "--team",
        dest="teams",
        action="append",
        default=[],
        metavar="TEAM",
        help="a team whose calls the user sees (repeat for more; admins see every team; an agent's "
        "team is whose coaches coach them)",
    )
    add.add_argument("--name", dest="display_name", default="", help="the name shown on the page")
    how = add.add_mutually_exclusive_group()
    how.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    how.add_argument("--invite", action="store_true", help="print an invite link instead of a password")
    add.add_argument("--exist-ok", action="store_true", help="a user of that name exists: say so, exit 0")
    _settings(add, _add)

    listing = actions.add_parser("list", help="every user, with role, teams and whether a password is set")
    _settings(listing, _list)

    invite = actions.add_parser("invite", help="a new invite link, with which the user sets a password")
    invite.add_argument("username", metavar="NAME")
    _settings(invite, _invite)

    passwd = actions.add_parser("passwd", help="set a user's password (their sessions end)")
    passwd.add_argument("username", metavar="NAME")
    passwd.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    _settings(passwd, _passwd)

    remove = actions.add_parser("remove", help="remove a user (and end their sessions)")
    remove.add_argument("username", metavar="NAME")
    _settings(remove, _remove)


def _settings(parser: argparse.ArgumentParser, command: Command) -> None:
    settings_mod.add_arguments(parser, "data_dir", "db", "host", "port")
    parser.set_defaults(command=_account_errors(command))


def _account_errors(command: Command) -> Command:
    """An :class:`AccountError` is the user's to fix: one line and exit status 2, as every error."""

    def run(args: argparse.Namespace, settings: Settings) -> int:
        try:
            return command(args, settings)
        except AccountError as exc:
            raise UserError(str(exc)) from exc

    return run


@contextmanager
def _accounts(settings: Settings) -> Iterator[Accounts]:
    accounts = Accounts(database_of(settings, ACCOUNTS_FILE))
    try:
        yield accounts
    finally:
        accounts.close()


def _add(args: argparse.Namespace, settings: Settings) -> int:
    if args.role == "agent" and not args.teams:
        raise UserError(
            "an agent needs a --team: the team whose coaches and leads coach them, e.g. --team default"
        )
    if not sees_every_team(args.role) and not args.teams:
        raise UserError(
            f"a {args.role} needs at least one --team (the teams whose calls they see), e.g. --team default"
        )
    with _accounts(settings) as accounts:
        if args.exist_ok and args.username in {u.username for u in accounts.users()}:
            print(f"user {args.username} exists already; left as it is")
            return 0
        password = None if args.invite else _password(args.password_stdin, "or --invite")
        user = accounts.add_user(
            args.username, args.role, args.teams, display_name=args.display_name, password=password
        )
        teams = ", ".join(user.teams) or "every team"
        print(f"added {user.username} ({user.display_name}), {user.role} of {teams}")
        if args.invite:
            _print_invite(accounts, settings, user.username)
    return 0


def _list(_args: argparse.Namespace, settings: Settings) -> int:
    with _accounts(settings) as accounts:
        rows = [
            (u.username, u.display_name, u.role, ", ".join(u.teams) or "(all)", _yes(accounts, u.username))
            for u in accounts.users()
        ]
    if not rows:
        print(f"no users in {settings.data_dir}: add one with `callcoach user add`")
        return 0
    header = ("USERNAME", "NAME", "ROLE", "TEAMS", "PASSWORD")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


def _yes(accounts: Accounts, username: str) -> str:
    return "set" if accounts.has_password(username) else "not set"


def _invite(args: argparse.Namespace, settings: Settings) -> int:
    with _accounts(settings) as accounts:
        _print_invite(accounts, settings, args.username)
    return 0


def _passwd(args: argparse.Namespace, settings: Settings) -> int:
    with _accounts(settings) as accounts:
        accounts.get(args.username)  # an unknown user is named before any prompt
        accounts.set_password(
            args.username,
            _password(args.password_stdin, f"(or send an invite: callcoach user invite {args.username})"),
        )
    print(f"password of {args.username} set; their login sessions have ended")
    return 0


def _remove(args: argparse.Namespace, settings: Settings) -> int:
    with _accounts(settings) as accounts:
        accounts.remove_user(args.username)
    print(f"removed {args.username}")
    return 0


def _print_invite(accounts: Accounts, settings: Settings, username: str) -> None:
    token = accounts.invite(username)
    host = "localhost" if settings.host in ("", "0.0.0.0", "::") else settings.host
    host = f"[{host}]" if ":" in host else host
    days = INVITE_TTL_S // 86400
    print(f"invite link for {username} (one use, valid {days} days):")
    print(f"  http://{host}:{settings.port}/invite/{token}")


def _password(from_stdin: bool, other_way: str) -> str:
    """The password: stdin's first line, or typed twice at a prompt when stdin is a terminal."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise UserError("--password-stdin, but stdin was empty: pipe the password in on its first line")
        return password
    if not sys.stdin.isatty():
        raise UserError(f"no password: stdin is not a terminal to ask on; pass --password-stdin {other_way}")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != password:
        raise UserError("the two passwords differ: try again")
    return password
