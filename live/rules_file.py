"""The coach-defined rules file on disk: read it at start, and notice when a lead edits it.

Owns the file's I/O and the reload decision. :class:`RulesReloader` is the sans-I/O core: fed the file's
stamp (modification time, size, inode) each poll and its text when asked, it says when to read the file
and keeps the rules in force. A file is read once it has changed and then held still for one poll, so an
editor caught halfway through saving is never read. A good edit replaces the rules (for calls that start
after it: a call keeps the rules it started with, so each window is judged by one set of rules); a broken
edit, or a file gone, keeps the old rules and becomes a ``rules_invalid`` :class:`Error` naming the rule,
the field and the fix. :func:`watch_rules` is the thin asyncio loop around it that ``serve`` runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from callcoach.detectors.rules import RulesError, RuleSet, parse_rules
from callcoach.live.events import Error
from callcoach.live.settings import SettingsError

CODE = RulesError.code
POLL_S = 1.0


@dataclass(frozen=True)
class Stamp:
    """What a stat says about the file: any change to it means the file may have changed."""

    mtime_ns: int
    size: int
    inode: int


def stamp_of(path: Path) -> Stamp | None:
    """The file's stamp, or None if it cannot be seen (deleted, or a folder on the way is)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return Stamp(st.st_mtime_ns, st.st_size, st.st_ino)


def read_text(path: Path) -> str | None:
    """The file's text, or None if it cannot be read as UTF-8 text."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def load_rules(path: Path) -> RuleSet:
    """The rules at start-up (``analyze``, ``serve``); a missing or broken file is a settings error."""
    if path.exists() and not path.is_file():
        raise SettingsError(
            f"the rules file {path} is a folder, not a file: give --rules the TOML file itself"
        )
    if not path.is_file():
        raise SettingsError(
            f"the rules file {path} does not exist: create it (rules.example.toml shows the format), "
            "or drop --rules / CALLCOACH_RULES"
        )
    text = read_text(path)
    if text is None:
        raise SettingsError(f"the rules file {path} cannot be read as UTF-8 text: check its permissions")
    try:
        return parse_rules(text)
    except RulesError as exc:
        raise SettingsError(f"the rules file {path} is not usable: {exc.message}") from None


class RulesReloader:
    """The rules in force, and when the file must be read again; no I/O, no clock."""

    def __init__(self, path: Path, rules: RuleSet, stamp: Stamp | None) -> None:
        self.path = path
        self.rules = rules
        self.problem: Error | None = None  # while the file is broken: what calls starting now are told
        self._loaded = stamp  # the stamp of the text last read
        self._seen = stamp  # the stamp at the previous poll

    def poll(self, stamp: Stamp | None) -> bool:
        """The file's stamp now; True when it must be read: changed since it was last read, and the same
        as at the previous poll (a file still being written is left for the next poll)."""
        steady = stamp == self._seen
        self._seen = stamp
        return steady and stamp != self._loaded

    def read(self, stamp: Stamp | None, text: str | None) -> Error | None:
        """The file's text as read for ``stamp`` (None: gone or unreadable). None when the new rules are in
        force; else the ``rules_invalid`` error to show, the rules staying as they were."""
        self._loaded = stamp
        if text is None:
            return self._broken(
                f"the rules file {self.path} is gone or unreadable: put it back; "
                "the rules from before stay in force meanwhile"
            )
        try:
            self.rules = parse_rules(text)
        except RulesError as exc:
            return self._broken(
                f"the rules file {self.path} was edited but is not usable, so the rules from before the "
                f"edit stay in force: {exc.message}"
            )
        self.problem = None
        return None

    def _broken(self, message: str) -> Error:
        self.problem = Error(CODE, message, fatal=False)
        return self.problem


async def watch_rules(
    reloader: RulesReloader, on_broken: Callable[[Error], None], poll_s: float = POLL_S
) -> None:
    """Poll the file for good (cancel the task to stop): reload good edits, report broken ones."""
    while True:
        await asyncio.sleep(poll_s)
        stamp = stamp_of(reloader.path)
        if not reloader.poll(stamp):
            continue
        problem = reloader.read(stamp, read_text(reloader.path))
        if problem is None:
            count = len(reloader.rules.rules)
            _say(f"reloaded {reloader.path}: {count} rule(s), for calls that start from now on")
        else:
            _say(problem.message)
            on_broken(problem)


def _say(message: str) -> None:
    # The server's operator messages go to its output, as the retention job's do.
    print(f"callcoach: rules: {message}", flush=True)
