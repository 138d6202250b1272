"""``callcoach import``: recordings into a server's data folder from the command line, as the page uploads.

    callcoach import DIR|FILE... [--team T] [--agent-channel left|right] [--data DIR]

Each file (a folder's files, not its sub-folders) gets the upload's checks and placing
(:mod:`callcoach.live.imports`): kept under ``<data>/uploads/<team>/`` or refused with the reason, one
line each. A server running on the same ``--data`` lists the new calls within a few seconds (it lists
its uploads folder again every few seconds) and analyses them; one started later lists them at start.
Exit status 0 when every file was taken, 1 when any was refused, 2 when there was nothing to import.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from callcoach.live import settings as settings_mod
from callcoach.live.errors import UserError
from callcoach.live.imports import CHANNELS, Accepted, check_team, import_file
from callcoach.live.settings import Settings


def add_parser(sub: Any) -> None:
    """Register ``import`` on the ``callcoach`` parser's sub-commands."""
    parser = sub.add_parser("import", help="add recordings to a server's calls, as an upload on the page")
    parser.add_argument(
        "paths", nargs="+", type=Path, metavar="DIR|FILE", help="a folder of recordings, or files"
    )
    parser.add_argument(
        "--agent-channel",
        dest="import_channel",
        choices=CHANNELS,
        default="",
        help="which channel is the agent in these files (default: the server's --agent-channel)",
    )
    settings_mod.add_arguments(parser, "data_dir", "default_team", "upload_max_mb", "upload_max_minutes")
    parser.set_defaults(command=_import)


def _import(args: argparse.Namespace, settings: Settings) -> int:
    team = settings.default_team  # --team, CALLCOACH_TEAM, or the default team
    if refused := check_team(team):
        raise UserError(refused.message)
    files = [f for path in args.paths for f in _files(path)]
    if not files:
        raise UserError("no files to import there: give a folder of recordings or the files themselves")
    taken = 0
    for source in files:
        outcome = import_file(source, team, args.import_channel, settings)
        if isinstance(outcome, Accepted):
            taken += 1
            print(f"imported {source} -> {outcome.path} ({outcome.duration_s:.1f} s, team {team})")
        else:
            print(f"refused  {source}: {outcome.code}: {outcome.message}")
    print(
        f"{taken} of {len(files)} imported into {settings.data_dir}; a server on it lists them within seconds"
    )
    return 0 if taken == len(files) else 1


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    if not path.exists():
        raise UserError(f"no file or folder at {path}: check the path")
    return [path]
