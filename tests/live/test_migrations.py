"""Migrations: the SQLite files an older callcoach made open with their rows; a store opened again runs
nothing new; a database a newer callcoach migrated is refused; and several processes and threads opening
one fresh PostgreSQL database at once (nodes starting together) all succeed, the schema made once."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from callcoach.live.accounts import Accounts
from callcoach.live.audit import AuditLog
from callcoach.live.coaching_store import CoachingStore
from callcoach.live.db import DatabaseUnavailable, Target, open_database
from callcoach.live.events import CallEnded, CallInfo, Note
from callcoach.live.migrations import migrate, portable
from callcoach.live.storage import MIGRATIONS as CALLS_MIGRATIONS
from callcoach.live.storage import Storage
from tests.helpers.postgres import DatabaseAt

# What callcoach created before there were migrations (its CREATE statements as they were), with a row.
BEFORE = {
    "calls.sqlite3": """
        CREATE TABLE calls (call_id TEXT PRIMARY KEY, info_json TEXT NOT NULL, recording TEXT,
            saved_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')));
        CREATE TABLE events (call_id TEXT NOT NULL REFERENCES calls(call_id) ON DELETE CASCADE,
            seq INTEGER NOT NULL, event_json TEXT NOT NULL, PRIMARY KEY (call_id, seq));
        CREATE TABLE annotations (id INTEGER PRIMARY KEY AUTOINCREMENT, call_id TEXT NOT NULL,
            event_json TEXT NOT NULL);
        CREATE INDEX annotations_by_call ON annotations (call_id, id);
        CREATE TABLE call_agents (call_id TEXT PRIMARY KEY, agent TEXT NOT NULL, assigned_by TEXT NOT NULL,
            assigned_at TEXT NOT NULL);
        INSERT INTO calls (call_id, info_json) VALUES ('old-1', '{"call_id": "old-1", "title": "Old",
            "source": "twilio", "started_at": "2026-01-01T00:00:00+00:00", "duration_s": 3.0,
            "live": false, "status": "ready"}');
        INSERT INTO events VALUES ('old-1', 1, '{"type": "call_ended", "end_s": 3.0, "reason": "completed"}');
        INSERT INTO annotations (call_id, event_json) VALUES ('old-1', '{"type": "note", "id": "n1",
            "at_s": 1.0, "tag": "coach", "text": "slow down", "author": "ana", "author_name": "Ana"}');
        INSERT INTO call_agents VALUES ('old-1', 'bo', 'ana', '2026-01-02T00:00:00+00:00');
    """,
    "accounts.sqlite3": """
        CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT UNIQUE NOT NULL,
            display_name TEXT NOT NULL, role TEXT NOT NULL, password_hash TEXT);
        CREATE TABLE memberships (user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            team TEXT NOT NULL, PRIMARY KEY (user_id, team));
        CREATE TABLE tokens (digest TEXT PRIMARY KEY, kind TEXT NOT NULL,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, expires_at REAL NOT NULL);
        INSERT INTO users VALUES (7, 'ana', 'Ana Lead', 'lead', NULL);
        INSERT INTO memberships VALUES (7, 'billing');
    """,
    "audit.sqlite3": """
        CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, user TEXT NOT NULL,
            action TEXT NOT NULL, call_id TEXT NOT NULL, detail TEXT NOT NULL);
        INSERT INTO audit (at, user, action, call_id, detail)
            VALUES ('2026-01-03T00:00:00Z', 'bo', 'open', 'old-1', '10.0.0.7');
    """,
}


def versions(target: Target) -> list[tuple[str, int]]:
    with contextlib.closing(open_database(target)) as db:
        rows = db.fetchall("SELECT component, version FROM schema_version ORDER BY component, version")
    return [(str(component), int(version)) for component, version in rows]


def open_every_store(target: Callable[[str], Target], recordings: Path) -> None:
    """Open (so migrate) and close every store, as a starting server does."""
    Storage(target("calls.sqlite3"), recordings).close()
    CoachingStore(target("calls.sqlite3")).close()
    Accounts(target("accounts.sqlite3")).close()
    AuditLog(target("audit.sqlite3")).close()


EVERY_COMPONENT = [("accounts", 1), ("audit", 1), ("calls", 1), ("coaching", 1)]


def test_files_an_older_callcoach_made_open_with_their_rows(tmp_path: Path) -> None:
    for name, script in BEFORE.items():
        with contextlib.closing(sqlite3.connect(tmp_path / name)) as db:
            db.executescript(script)

    storage = Storage(tmp_path / "calls.sqlite3", tmp_path / "recordings")
    [old] = storage.load_all()
    assert old.info.title == "Old" and old.events[0] == CallEnded(3.0, "completed")
    assert isinstance(old.events[1], Note) and old.events[1].text == "slow down"
    storage.save(
        CallInfo("new-1", "New", "twilio", "2026-02-01T00:00:00+00:00", 1.0, False, "ready"), [], None
    )
    assert [c.info.call_id for c in storage.load_all()] == ["old-1", "new-1"]
    assert CoachingStore(tmp_path / "calls.sqlite3").assignments() == {"old-1": "bo"}
    ana = Accounts(tmp_path / "accounts.sqlite3").get("ana")
    assert (ana.id, ana.display_name, ana.teams) == (7, "Ana Lead", ("billing",))
    assert [e.user for e in AuditLog(tmp_path / "audit.sqlite3").entries()] == ["bo"]
    assert versions(tmp_path / "calls.sqlite3") == [("calls", 1), ("coaching", 1)]
    assert versions(tmp_path / "accounts.sqlite3") == [("accounts", 1)]


def test_opening_again_runs_nothing_new(tmp_path: Path, database: DatabaseAt) -> None:
    open_every_store(database, tmp_path / "recordings")
    with contextlib.closing(open_database(database("calls.sqlite3"))) as db:
        assert migrate(db, "calls", CALLS_MIGRATIONS) == []
    open_every_store(database, tmp_path / "recordings")
    assert versions(database("calls.sqlite3"))[-2:] == [("calls", 1), ("coaching", 1)]


def test_a_later_migration_runs_once_after_the_first(database: DatabaseAt) -> None:
    steps = [portable(1, "CREATE TABLE t (a INTEGER)"), portable(2, "ALTER TABLE t ADD COLUMN b TEXT")]
    with contextlib.closing(open_database(database("x.sqlite3"))) as db:
        assert migrate(db, "demo", steps[:1]) == [1]
        assert migrate(db, "demo", steps) == [2]
        assert migrate(db, "demo", steps) == []
        db.execute("INSERT INTO t (a, b) VALUES (?, ?)", (1, "two"))
        assert db.fetchall("SELECT a, b FROM t") == [(1, "two")]


def test_a_database_a_newer_callcoach_migrated_is_refused(tmp_path: Path, database: DatabaseAt) -> None:
    Storage(database("calls.sqlite3"), tmp_path / "recordings").close()
    with contextlib.closing(open_database(database("calls.sqlite3"))) as db:
        db.execute("INSERT INTO schema_version VALUES ('calls', 2, '2027-01-01T00:00:00Z')")
    with pytest.raises(DatabaseUnavailable, match="newer callcoach") as refused:
        Storage(database("calls.sqlite3"), tmp_path / "recordings")
    assert refused.value.code == "db_too_new"


def test_migrations_must_be_numbered_from_one() -> None:
    with contextlib.closing(open_database(":memory:")) as db, pytest.raises(ValueError, match="1, 2, 3"):
        migrate(db, "demo", [portable(2, "SELECT 1")])


def test_threads_opening_one_fresh_database_at_once_all_succeed(tmp_path: Path, database: DatabaseAt) -> None:
    """Eight servers' worth of stores, started together on one empty database."""
    start = threading.Barrier(8)
    failures: list[BaseException] = []

    def node() -> None:
        start.wait()
        try:
            open_every_store(database, tmp_path / "recordings")
        except BaseException as exc:  # collected: a thread's exception would vanish otherwise
            failures.append(exc)

    threads = [threading.Thread(target=node) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    names = {"calls.sqlite3", "accounts.sqlite3", "audit.sqlite3"}
    assert sorted({v for name in names for v in versions(database(name))}) == EVERY_COMPONENT


NODE = """
import sys
from pathlib import Path
from callcoach.live.accounts import Accounts
from callcoach.live.audit import AuditLog
from callcoach.live.coaching_store import CoachingStore
from callcoach.live.storage import Storage
url, recordings = sys.argv[1], Path(sys.argv[2])
print("ready", flush=True)
sys.stdin.readline()  # every process has imported what it needs: they go together
for store in (Storage(url, recordings), CoachingStore(url), Accounts(url), AuditLog(url)):
    store.close()
"""


def test_processes_starting_on_one_fresh_postgres_database_at_once_all_succeed(
    tmp_path: Path, postgres_url: str
) -> None:
    argv = [sys.executable, "-c", NODE, postgres_url, str(tmp_path / "recordings")]
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    nodes = [subprocess.Popen(argv, **pipes) for _ in range(4)]  # type: ignore[call-overload]
    for proc in nodes:
        assert proc.stdout.readline() == "ready\n", proc.communicate(timeout=60)
    for proc in nodes:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in nodes:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    assert versions(postgres_url) == EVERY_COMPONENT
    with contextlib.closing(open_database(postgres_url)) as db:
        tables = db.fetchall("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
    assert [t for (t,) in tables] == [
        *("annotations", "audit", "call_agents", "calls", "commitments", "events", "featured_moments"),
        *("memberships", "schema_version", "self_assessments", "shares", "tokens", "users"),
    ]
