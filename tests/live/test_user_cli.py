"""`callcoach user ...` as an admin types it (the installed command in a subprocess), and the hint the
server prints while it has no admin."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from callcoach.live.accounts import Accounts
from callcoach.live.settings import Settings
from callcoach.web.commands import account_hint, banner

EXIT_USAGE = 2


def run(
    callcoach: Path, data: Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``callcoach user ARGS --data DATA`` with no CALLCOACH_* variables of the caller's; stdin is a pipe
    (empty unless given), never the terminal."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCOACH_")}
    argv = [str(callcoach), "user", *args, "--data", str(data)]
    return subprocess.run(argv, input=stdin or "", capture_output=True, text=True, timeout=60, env=env)


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return proc.stdout


def error_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = proc.stderr.splitlines()
    assert proc.returncode == EXIT_USAGE, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("callcoach: error: "), proc.stderr
    return lines[0].removeprefix("callcoach: error: ")


def accounts(data: Path) -> Accounts:
    return Accounts(data / "accounts.sqlite3")


def test_add_with_password_stdin_then_log_in(callcoach: Path, tmp_path: Path) -> None:
    out = ok(
        run(
            callcoach,
            tmp_path,
            *("add", "ana", "--role", "lead", "--team", "billing", "--team", "north"),
            *("--name", "Ana Lead", "--password-stdin"),
            stdin="ana-password\nthe second line is not read\n",
        )
    )
    assert "added ana (Ana Lead), lead of billing, north" in out
    db = accounts(tmp_path)
    user = db.authenticate("ana", "ana-password")
    assert user is not None and (user.role, user.teams) == ("lead", ("billing", "north"))


def test_add_with_invite_prints_a_link_that_sets_the_password(callcoach: Path, tmp_path: Path) -> None:
    out = ok(
        run(
            callcoach,
            tmp_path,
            "add",
            "bo",
            "--role",
            "coach",
            "--team",
            "north",
            "--invite",
            "--port",
            "9000",
        )
    )
    (token,) = re.findall(r"http://127\.0\.0\.1:9000/invite/(\S+)", out)
    db = accounts(tmp_path)
    assert not db.has_password("bo")
    db.redeem_invite(token, "bo-password")
    assert db.authenticate("bo", "bo-password") is not None


def test_an_admin_needs_no_team_others_do(callcoach: Path, tmp_path: Path) -> None:
    ok(
        run(
            callcoach, tmp_path, "add", "root", "--role", "admin", "--password-stdin", stdin="root-password\n"
        )
    )
    assert accounts(tmp_path).has_admin()
    message = error_line(run(callcoach, tmp_path, "add", "cy", "--role", "coach", "--invite"))
    assert "a coach needs at least one --team" in message


def test_an_agent_is_added_with_the_team_that_coaches_them(callcoach: Path, tmp_path: Path) -> None:
    message = error_line(run(callcoach, tmp_path, "add", "bo", "--role", "agent", "--invite"))
    assert "an agent needs a --team: the team whose coaches and leads coach them" in message
    out = ok(run(callcoach, tmp_path, "add", "bo", "--role", "agent", "--team", "north", "--invite"))
    assert "added bo (bo), agent of north" in out
    assert accounts(tmp_path).get("bo").role == "agent"


def test_add_without_a_password_source_names_the_ways(callcoach: Path, tmp_path: Path) -> None:
    message = error_line(run(callcoach, tmp_path, "add", "cy", "--role", "coach", "--team", "north"))
    assert "--password-stdin" in message and "--invite" in message
    assert accounts(tmp_path).users() == []  # nothing half-made


@pytest.mark.parametrize(
    ("stdin", "expected"),
    [("short\n", "at least 8 characters"), ("", "stdin was empty")],
    ids=["too short", "empty stdin"],
)
def test_a_bad_password_is_refused(callcoach: Path, tmp_path: Path, stdin: str, expected: str) -> None:
    proc = run(
        callcoach, tmp_path, "add", "cy", "--role", "coach", "--team", "n", "--password-stdin", stdin=stdin
    )
    assert expected in error_line(proc)
    assert accounts(tmp_path).users() == []


def test_add_twice_fails_unless_exist_ok(callcoach: Path, tmp_path: Path) -> None:
    argv = ("add", "demo", "--role", "lead", "--team", "default", "--password-stdin")
    ok(run(callcoach, tmp_path, *argv, stdin="demo-password\n"))
    assert "a user 'demo' exists already" in error_line(run(callcoach, tmp_path, *argv, stdin="other-pass\n"))
    out = ok(run(callcoach, tmp_path, *argv, "--exist-ok", stdin="other-password\n"))
    assert "demo exists already" in out
    assert accounts(tmp_path).authenticate("demo", "demo-password") is not None  # left as it was


def test_list_shows_role_teams_and_whether_a_password_is_set(callcoach: Path, tmp_path: Path) -> None:
    assert "no users" in ok(run(callcoach, tmp_path, "list"))
    ok(run(callcoach, tmp_path, "add", "ana", "--role", "lead", "--team", "billing", "--name", "Ana Lead",
           "--password-stdin", stdin="ana-password\n"))  # fmt: skip
    ok(run(callcoach, tmp_path, "add", "bo", "--role", "coach", "--team", "north", "--invite"))
    lines = ok(run(callcoach, tmp_path, "list")).splitlines()
    assert lines[0].split() == ["USERNAME", "NAME", "ROLE", "TEAMS", "PASSWORD"]
    assert lines[1].split() == ["ana", "Ana", "Lead", "lead", "billing", "set"]
    assert lines[2].split() == ["bo", "bo", "coach", "north", "not", "set"]


def test_invite_passwd_and_remove(callcoach: Path, tmp_path: Path) -> None:
    ok(run(callcoach, tmp_path, "add", "bo", "--role", "coach", "--team", "north", "--invite"))
    out = ok(run(callcoach, tmp_path, "invite", "bo"))
    assert re.search(r"http://127\.0\.0\.1:8080/invite/\S+", out)

    db = accounts(tmp_path)
    ok(run(callcoach, tmp_path, "passwd", "bo", "--password-stdin", stdin="bo-password\n"))
    user = db.authenticate("bo", "bo-password")
    assert user is not None
    session = db.start_session(user)
    ok(run(callcoach, tmp_path, "passwd", "bo", "--password-stdin", stdin="bo-new-password\n"))
    assert db.session_user(session) is None  # a new password ends the old sessions
    assert "pass --password-stdin" in error_line(run(callcoach, tmp_path, "passwd", "bo"))

    assert "removed bo" in ok(run(callcoach, tmp_path, "remove", "bo"))
    assert db.users() == []


@pytest.mark.parametrize(
    "action", [("invite", "zed"), ("passwd", "zed", "--password-stdin"), ("remove", "zed")]
)
def test_an_unknown_user_is_named(callcoach: Path, tmp_path: Path, action: tuple[str, ...]) -> None:
    message = error_line(run(callcoach, tmp_path, *action, stdin="zed-password\n"))
    assert message == "no user 'zed': see `callcoach user list`"


def test_a_bad_username_is_one_line(callcoach: Path, tmp_path: Path) -> None:
    proc = run(callcoach, tmp_path, "add", "a b", "--role", "admin", "--invite")
    assert "use letters, digits, dot, dash or underscore" in error_line(proc)


# --- the server's first-run hint -------------------------------------------------------------------------


def test_the_banner_says_how_to_make_the_first_admin_with_the_same_data(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "my data", port=9000)
    hint = account_hint(settings)
    assert hint.startswith("No accounts yet: create the first admin with")
    assert f"callcoach user add admin --role admin --invite --data '{tmp_path}/my data' --port 9000" in hint
    assert banner(settings, hint).endswith(hint)

    db = accounts(settings.data_dir)
    db.add_user("ana", "lead", ["billing"])
    assert account_hint(settings).startswith("No admin yet")
    db.add_user("root", "admin", [])
    assert account_hint(settings) == ""


def test_the_hint_leaves_out_data_when_it_is_the_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    hint = account_hint(Settings())
    assert "  callcoach user add admin --role admin --invite\n" in hint
