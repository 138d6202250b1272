"""Accounts: Argon2 passwords, one-time invites, expiring sessions, team visibility (kept on SQLite and on
PostgreSQL)."""

from __future__ import annotations

import contextlib

import pytest

from callcoach.live.accounts import AccountError, Accounts
from callcoach.live.db import open_database
from callcoach.live.errors import CallcoachError
from tests.helpers.postgres import DatabaseAt


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def accounts(database: DatabaseAt, clock: Clock) -> Accounts:
    return Accounts(database("accounts.sqlite3"), clock=clock)


def test_password_login_and_hash_is_not_the_password(accounts: Accounts, database: DatabaseAt) -> None:
    accounts.add_user("ana", "lead", ["north"], display_name="Ana", password="correct horse")
    user = accounts.authenticate("ana", "correct horse")
    assert user is not None and (user.role, user.teams, user.display_name) == ("lead", ("north",), "Ana")
    assert accounts.authenticate("ana", "wrong") is None
    assert accounts.authenticate("nobody", "x") is None
    with contextlib.closing(open_database(database("accounts.sqlite3"))) as db:
        rows = db.fetchall("SELECT * FROM users")
    assert rows and "correct horse" not in repr(rows)


def test_invite_is_one_time(accounts: Accounts) -> None:
    accounts.add_user("bo", "coach", ["north"])
    assert accounts.authenticate("bo", "anything") is None  # no password until the invite is used
    token = accounts.invite("bo")
    assert accounts.redeem_invite(token, "a good password").username == "bo"
    assert accounts.authenticate("bo", "a good password") is not None
    with pytest.raises(AccountError, match="used or expired"):
        accounts.redeem_invite(token, "another password")


def test_sessions_expire_and_end(accounts: Accounts, clock: Clock) -> None:
    user = accounts.add_user("cy", "coach", ["south"], password="password1")
    token = accounts.start_session(user)
    assert accounts.session_user(token) == user
    assert accounts.session_user(token + "x") is None
    clock.now += 13 * 3600
    assert accounts.session_user(token) is None
    token = accounts.start_session(user)
    accounts.end_session(token)
    assert accounts.session_user(token) is None


def test_teams_decide_visibility(accounts: Accounts) -> None:
    coach = accounts.add_user("di", "coach", ["north", "east"])
    admin = accounts.add_user("root", "admin", [])
    assert coach.can_see("north") and not coach.can_see("south")
    assert admin.can_see("south")
    assert accounts.has_admin()


@pytest.mark.parametrize(
    ("username", "role", "named"), [("a b", "coach", "username"), ("ok", "boss", "role 'boss'")]
)
def test_bad_accounts_are_named(accounts: Accounts, username: str, role: str, named: str) -> None:
    with pytest.raises(AccountError, match=named):
        accounts.add_user(username, role, [])  # type: ignore[arg-type]


def test_duplicate_user_refused(accounts: Accounts) -> None:
    accounts.add_user("ed", "coach", [])
    with pytest.raises(AccountError, match="exists already"):
        accounts.add_user("ed", "lead", [])


def test_a_short_password_is_refused_everywhere_and_leaves_the_invite_usable(accounts: Accounts) -> None:
    with pytest.raises(AccountError, match="at least 8 characters"):
        accounts.add_user("fay", "coach", ["north"], password="short")
    accounts.add_user("fay", "coach", ["north"])
    token = accounts.invite("fay")
    with pytest.raises(AccountError, match="at least 8 characters"):
        accounts.redeem_invite(token, "short")
    assert accounts.redeem_invite(token, "long enough").username == "fay"


def test_a_new_password_ends_the_users_sessions(accounts: Accounts) -> None:
    user = accounts.add_user("gus", "coach", ["north"], password="password1")
    other = accounts.add_user("hal", "coach", ["north"], password="password2")
    token, kept = accounts.start_session(user), accounts.start_session(other)
    accounts.set_password("gus", "password3")
    assert accounts.session_user(token) is None
    assert accounts.session_user(kept) == other
    assert accounts.authenticate("gus", "password3") == user
    with pytest.raises(AccountError, match="no user 'nobody'"):
        accounts.set_password("nobody", "password3")


def test_has_password_and_remove_user(accounts: Accounts) -> None:
    user = accounts.add_user("ida", "lead", ["north"], password="password1")
    accounts.add_user("jo", "coach", ["north"])
    assert accounts.has_password("ida") and not accounts.has_password("jo")
    token = accounts.start_session(user)
    accounts.remove_user("ida")
    assert [u.username for u in accounts.users()] == ["jo"]
    assert accounts.session_user(token) is None
    with pytest.raises(AccountError, match="no user 'ida'"):
        accounts.remove_user("ida")


def test_an_agent_sees_only_their_own_calls(accounts: Accounts) -> None:
    """The one rule: an agent sees a call iff it is theirs, whatever its team; never a team's calls."""
    bo = accounts.add_user("bo", "agent", ["north"])
    assert bo.can_see("north", "bo") and bo.can_see("south", "bo")
    assert not bo.can_see("north", "cy") and not bo.can_see("north", "") and not bo.can_see("north")
    with pytest.raises(CallcoachError) as refused:
        bo.check_can_see("north", "call-7", agent="cy")
    assert refused.value.code == "forbidden_call" and "not one of your calls" in refused.value.message
    with pytest.raises(CallcoachError, match="listening sessions, notes and pins are for coaches"):
        bo.check_can_see("north", "call-7")  # a team's call as a whole (a listening session, a note)
    coach = accounts.add_user("di", "coach", ["north"])
    assert coach.can_see("north", "bo") and not coach.can_see("south", "bo")


def test_who_coaches_an_agent(accounts: Accounts) -> None:
    bo = accounts.add_user("bo", "agent", ["north"])
    cy = accounts.add_user("cy", "agent", ["north"])
    north, south = accounts.add_user("di", "lead", ["north"]), accounts.add_user("ed", "coach", ["south"])
    admin = accounts.add_user("root", "admin", [])
    assert north.coaches(bo) and admin.coaches(bo) and not south.coaches(bo)
    assert bo.coaches(bo) and not bo.coaches(cy)
