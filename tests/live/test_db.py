"""The database layer: one interface whatever the backend; a URL that cannot work and a server that cannot be
reached are said with the fix (never the password); a PostgreSQL connection the server dropped is opened
again, so a server outlives its database's restart."""

from __future__ import annotations

import contextlib
from pathlib import Path

import psycopg
import pytest

from callcoach.live.db import DatabaseError, DatabaseUnavailable, IntegrityError, open_database, upsert
from callcoach.live.settings import SettingsError, from_sources
from callcoach.live.storage import Storage
from tests.helpers.postgres import DatabaseAt
from tests.helpers.server import free_port


def test_the_same_statements_on_either_database(database: DatabaseAt) -> None:
    with contextlib.closing(open_database(database("x.sqlite3"))) as db:
        db.execute("CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT NOT NULL)")
        put = upsert("kv", ("k", "v"), key=("k",))
        db.executemany(put, [("a", "1"), ("b", "2")])
        db.execute(put, ("a", "100%"))  # a literal % is data, not a placeholder
        assert db.fetchall("SELECT k, v FROM kv ORDER BY k") == [("a", "100%"), ("b", "2")]
        assert db.fetchone("SELECT v FROM kv WHERE k = ?", ("nope",)) is None
        assert db.execute("DELETE FROM kv WHERE k = ?", ("b",)) == 1
        with pytest.raises(IntegrityError):
            db.execute("INSERT INTO kv (k, v) VALUES (?, ?)", ("a", "again"))
        with pytest.raises(ZeroDivisionError), db.transaction():
            db.execute("INSERT INTO kv (k, v) VALUES (?, ?)", ("c", "3"))
            raise ZeroDivisionError  # the block fails: its insert goes too
        assert db.fetchall("SELECT k FROM kv ORDER BY k") == [("a",)]
        with pytest.raises(DatabaseError, match=r"no_such_table|does not exist"):
            db.fetchall("SELECT * FROM no_such_table")


def test_an_unreachable_server_is_named_with_the_fix_but_not_the_password() -> None:
    url = f"postgresql://ana:s3cret-pw@127.0.0.1:{free_port()}/calls"  # nothing listens there
    with pytest.raises(DatabaseUnavailable) as refused:
        open_database(url)
    assert refused.value.code == "db_unreachable"
    message = refused.value.message
    assert message.startswith("cannot reach PostgreSQL at postgresql://ana:***@127.0.0.1:")
    assert "start the database server or fix" in message and "--db (CALLCOACH_DB)" in message
    assert "s3cret" not in message


@pytest.mark.parametrize(
    "url", ["postgresql://ana:s3cret pw@db/calls", "postgresql://db/calls?colour=blue", "postgresql://[db"]
)
def test_a_url_libpq_cannot_read_is_named_with_the_form_to_give(url: str) -> None:
    with pytest.raises(DatabaseUnavailable) as refused:
        open_database(url)
    assert refused.value.code == "db_bad_url"
    assert "is not a usable PostgreSQL URL" in refused.value.message
    assert "postgresql://USER:PASSWORD@HOST:PORT/DATABASE" in refused.value.message
    assert "s3cret" not in refused.value.message


def test_settings_take_only_a_postgresql_url() -> None:
    assert from_sources(env={"CALLCOACH_DB": "postgresql://db/calls"}).db == "postgresql://db/calls"
    assert from_sources(env={}).db == ""  # SQLite files in --data
    with pytest.raises(SettingsError, match="is not a PostgreSQL URL") as refused:
        from_sources(env={"CALLCOACH_DB": "mysql://root:hunter2@db/calls"})
    assert "hunter2" not in str(refused.value) and "leave it unset" in str(refused.value)


def test_a_connection_the_server_dropped_is_opened_again(tmp_path: Path, postgres_url: str) -> None:
    storage = Storage(postgres_url, tmp_path / "recordings")
    assert storage.load_all() == []
    with psycopg.connect(postgres_url, autocommit=True) as admin:  # as a restart of the server does
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'callcoach' AND datname = current_database()"
        )
    with pytest.raises(DatabaseError):  # the statement it was running is lost, and said so
        storage.load_all()
    assert storage.load_all() == []  # the next one has a new connection
    storage.close()
