"""Accounts, teams and roles, and the login sessions that prove who is on a socket.

Users have a role (``coach``, ``lead``, ``admin``, ``agent``) and belong to teams; a call belongs to one
team and may have an agent. Who sees a call is decided in one place, :meth:`User.can_see`: an agent sees
a call iff it is theirs (never a team's list), an admin every call, anyone else the calls of their teams.
Passwords are hashed with Argon2id (argon2-cffi); a user may instead get a one-time invite link and choose
a password with it. Login session and invite tokens are random; only their SHA-256 is stored, so the
database alone opens nothing. Blocking SQLite work: the server runs these methods in an executor or at
start-up.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

import argon2

from callcoach.live.errors import CallcoachError
from callcoach.live.events import Role

ROLES: tuple[Role, ...] = get_args(Role)
SESSION_TTL_S = 12 * 3600  # a working day and then some
INVITE_TTL_S = 7 * 24 * 3600
MIN_PASSWORD = 8

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY, username TEXT UNIQUE NOT NULL, display_name TEXT NOT NULL,
    role TEXT NOT NULL, password_hash TEXT
);
CREATE TABLE IF NOT EXISTS memberships (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, team TEXT NOT NULL,
    PRIMARY KEY (user_id, team)
);
CREATE TABLE IF NOT EXISTS tokens (
    digest TEXT PRIMARY KEY, kind TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, expires_at REAL NOT NULL
);
"""


class AccountError(ValueError):
    """A request about accounts that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    role: Role
    teams: tuple[str, ...]

    def can_see(self, team: str, agent: str | None = None) -> bool:
        """Whether this user may see a call of ``team`` whose agent is ``agent``: the one rule for every
        list, socket, file and page. ``agent`` None asks about a team's calls as a whole (a listening
        session on one), which an agent never sees: they see only calls that are theirs."""
        if self.role == "agent":
            return agent is not None and agent == self.username
        return sees_every_team(self.role) or team in self.teams

    def check_can_see(self, team: str, call_id: str, fix: str = "", *, agent: str | None = None) -> None:
        """Refuse (``forbidden_call``) a request about a call this user may not see; ``fix`` is appended
        to the message when the caller knows what the user can do about it."""
        if self.can_see(team, agent):
            return
        if self.role == "agent" and agent is None:  # a team's call as a whole: a listening session, a note
            refusal = "an agent sees their own calls, not a team's: "
            refusal += "listening sessions, notes and pins are for coaches"
            raise CallcoachError("forbidden_call", refusal)
        if self.role == "agent":
            refusal = f"call {call_id!r} is not one of your calls: ask your coach if it should be"
            raise CallcoachError("forbidden_call", refusal)
        refusal = f"call {call_id!r} belongs to team {team!r}, which you are not in"
        raise CallcoachError("forbidden_call", f"{refusal}: {fix}" if fix else refusal)

    def coaches(self, agent: User) -> bool:
        """Whether this user coaches ``agent`` (sees their page): an admin, or a coach or lead of one of
        the agent's teams; an agent only themselves."""
        if self.role == "agent":
            return self.username == agent.username
        return sees_every_team(self.role) or bool(set(self.teams) & set(agent.teams))


def sees_every_team(role: Role) -> bool:
    """Admins see the calls of every team (they need no team of their own); others only their teams'."""
    return role == "admin"


class Accounts:
    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)
        self._hasher = argon2.PasswordHasher()
        self._now = clock  # wall time: sessions and invites expire by the calendar, not the call

    def close(self) -> None:
        self._db.close()

    def has_admin(self) -> bool:
        return self._db.execute("SELECT 1 FROM users WHERE role = 'admin'").fetchone() is not None

    def add_user(
        self,
        username: str,
        role: Role,
        teams: Iterable[str],
        *,
        display_name: str = "",
        password: str | None = None,
    ) -> User:
        if role not in ROLES:
            raise AccountError(f"role {role!r} is not one of {', '.join(ROLES)}")
        if not username or not username.replace(".", "").replace("-", "").replace("_", "").isalnum():
            raise AccountError(f"username {username!r}: use letters, digits, dot, dash or underscore")
        if password:
            _check_password(password)
        digest = self._hasher.hash(password) if password else None
        try:
            cur = self._db.execute(
                "INSERT INTO users (username, display_name, role, password_hash) VALUES (?, ?, ?, ?)",
                (username, display_name or username, role, digest),
            )
        except sqlite3.IntegrityError as exc:
            raise AccountError(f"a user {username!r} exists already") from exc
        self._db.executemany(
            "INSERT OR IGNORE INTO memberships (user_id, team) VALUES (?, ?)",
            [(cur.lastrowid, t) for t in teams],
        )
        return self.get(username)

    def get(self, username: str) -> User:
        row = self._db.execute("SELECT id FROM users WHERE username = ?", (username,)).fetchone()
        if row is None:
            raise AccountError(f"no user {username!r}: see `callcoach user list`")
        return self._user(row[0])

    def users(self) -> list[User]:
        return [self._user(uid) for (uid,) in self._db.execute("SELECT id FROM users ORDER BY username")]

    def has_password(self, username: str) -> bool:
        row = self._db.execute("SELECT password_hash FROM users WHERE username = ?", (username,)).fetchone()
        return row is not None and row[0] is not None

    def remove_user(self, username: str) -> None:
        """The user goes, with their teams, sessions and invites."""
        uid = self.get(username).id
        self._db.execute("DELETE FROM users WHERE id = ?", (uid,))

    def set_password(self, username: str, password: str) -> None:
        """A new password; the user's login sessions end (a changed password locks out whoever had one)."""
        _check_password(password)
        uid = self.get(username).id
        self._db.execute(
            "UPDATE users SET password_hash = ? WHERE id = ?", (self._hasher.hash(password), uid)
        )
        self._db.execute("DELETE FROM tokens WHERE user_id = ? AND kind = 'session'", (uid,))

    def authenticate(self, username: str, password: str) -> User | None:
        row = self._db.execute(
            "SELECT id, password_hash FROM users WHERE username = ?", (username,)
        ).fetchone()
        if row is None or row[1] is None:
            self._hasher.hash(password)  # same work for unknown users: no timing tell
            return None
        try:
            self._hasher.verify(row[1], password)
        except argon2.exceptions.VerificationError:
            return None
        return self._user(row[0])

    def invite(self, username: str) -> str:
        """A one-time token for the invite link: whoever opens it sets the user's password."""
        return self._token("invite", self.get(username).id, INVITE_TTL_S)

    def redeem_invite(self, token: str, password: str) -> User:
        _check_password(password)  # before the invite is used up: a too-short password may try again
        uid = self._take("invite", token, consume=True)
        if uid is None:
            raise AccountError("this invite link is used or expired: ask your lead for a new one")
        user = self._user(uid)
        self.set_password(user.username, password)
        return user

    def start_session(self, user: User) -> str:
        return self._token("session", user.id, SESSION_TTL_S)

    def session_user(self, token: str) -> User | None:
        uid = self._take("session", token, consume=False)
        return None if uid is None else self._user(uid)

    def end_session(self, token: str) -> None:
        self._db.execute("DELETE FROM tokens WHERE digest = ?", (_digest(token),))

    def _token(self, kind: str, user_id: int, ttl_s: float) -> str:
        token = secrets.token_urlsafe(32)
        self._db.execute(
            "INSERT INTO tokens (digest, kind, user_id, expires_at) VALUES (?, ?, ?, ?)",
            (_digest(token), kind, user_id, self._now() + ttl_s),
        )
        return token

    def _take(self, kind: str, token: str, *, consume: bool) -> int | None:
        row = self._db.execute(
            "SELECT user_id, expires_at FROM tokens WHERE digest = ? AND kind = ?", (_digest(token), kind)
        ).fetchone()
        if row is None or row[1] < self._now():
            return None
        if consume:
            self._db.execute("DELETE FROM tokens WHERE digest = ?", (_digest(token),))
        return int(row[0])

    def _user(self, uid: int) -> User:
        name, display, role = self._db.execute(
            "SELECT username, display_name, role FROM users WHERE id = ?", (uid,)
        ).fetchone()
        teams = tuple(
            t
            for (t,) in self._db.execute(
                "SELECT team FROM memberships WHERE user_id = ? ORDER BY team", (uid,)
            )
        )
        return User(uid, name, display, role, teams)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
