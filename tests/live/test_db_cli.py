"""The commands that open the stores, given ``--db`` (or ``CALLCOACH_DB``) as an admin types them (the
installed command in a subprocess): their rows are in PostgreSQL, none in a SQLite file, and a database
that cannot be used is one line naming the fix."""

from __future__ import annotations

import contextlib
import json
import subprocess
from pathlib import Path

from callcoach.live.coaching_store import CoachingStore
from tests.helpers.server import clean_env, free_port
from tests.helpers.stored_calls import store_call

EXIT_USAGE = 2


def run(
    callcoach: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    argv = [str(callcoach), *args]
    return subprocess.run(
        argv, input=stdin, capture_output=True, text=True, timeout=60, env=clean_env(**(env or {}))
    )


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_every_command_keeps_its_rows_in_postgres(callcoach: Path, tmp_path: Path, postgres_url: str) -> None:
    data, db = tmp_path / "data", ["--data", str(tmp_path / "data"), "--db", postgres_url]
    add = ["user", "add", "bo", "--role", "agent", "--team", "north", "--password-stdin"]
    ok(run(callcoach, *add, *db, stdin="agent-password\n"))
    listed = ok(run(callcoach, "user", "list", "--data", str(data), env={"CALLCOACH_DB": postgres_url}))
    assert "bo" in listed and "agent" in listed
    store_call(data, "kept-1", age_days=0, db=postgres_url)
    store_call(data, "old-1", age_days=120, db=postgres_url)

    assigned = ok(run(callcoach, "call", "assign", "kept-1", "bo", *db, "--recordings", str(tmp_path / "r")))
    assert "kept-1" in assigned
    with contextlib.closing(CoachingStore(postgres_url)) as store:
        assert store.assignments() == {"kept-1": "bo"}

    sheet = json.loads(ok(run(callcoach, "sheet", "kept-1", "--json", *db)))
    assert sheet["call_id"] == "kept-1" and "ask first" in json.dumps(sheet["notes"])  # its note, from the db

    exported = ok(run(callcoach, "export", "kept-1", "--format", "txt", *db))
    assert exported == "[00:00:00] Customer: my uncle passed away\n"  # the stored call, from the db
    team = ok(run(callcoach, "export", "--team", "default", "--format", "csv", *db))
    assert "kept-1" in team and "old-1" in team

    purged = ok(run(callcoach, "purge", "--older-than", "90d", *db))
    assert purged.splitlines()[0] == "deleted 1 call saved over 90d ago" and "old-1" in purged
    assert not (data / "recordings" / "old-1.wav").exists() and (data / "recordings" / "kept-1.wav").exists()
    entries = [json.loads(line) for line in ok(run(callcoach, "audit", "--json", *db)).splitlines()]
    assert [(e["action"], e["call_id"]) for e in entries] == [("purge", "old-1")]
    assert list(data.glob("*.sqlite3*")) == []  # the recordings are in --data; no row is


def test_a_database_that_cannot_be_used_is_one_line_with_the_fix(callcoach: Path, tmp_path: Path) -> None:
    unreachable = f"postgresql://ana:s3cret-pw@127.0.0.1:{free_port()}/calls"
    for args in (
        ["user", "list"],
        ["audit"],
        # serve says it before loading the model (this one does not exist: it would fail after)
        ["serve", "--model", str(tmp_path / "no-model"), "--port", str(free_port())],
    ):
        proc = run(callcoach, *args, "--data", str(tmp_path / "data"), "--db", unreachable)
        assert proc.returncode == EXIT_USAGE, proc.stderr
        assert proc.stderr.startswith("callcoach: error: cannot reach PostgreSQL at "), proc.stderr
        assert len(proc.stderr.splitlines()) == 1 and "s3cret" not in proc.stderr, proc.stderr
    proc = run(callcoach, "user", "list", env={"CALLCOACH_DB": "mysql://db/calls"})
    assert proc.returncode == EXIT_USAGE
    assert "is not a PostgreSQL URL: give --db (or CALLCOACH_DB) as postgresql://" in proc.stderr
    assert not (tmp_path / "data").exists()
