"""PostgreSQL's side of the database layer (:mod:`live.db`): one psycopg 3 connection per store.

psycopg 3's synchronous API: the stores' methods block and their callers run them in an executor, as they
did with sqlite3, so they keep their shape. The connection is in autocommit mode with explicit transactions,
as SQLite's is; statements are written with ``?`` and get psycopg's ``%s`` here. An exclusive transaction
holds an advisory lock, so that several nodes migrating one database run one after the other. A connection
that broke (the server restarted, or dropped it) fails the statement it was running and is opened again for
the next one, so a server outlives its database's restart.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg

from callcoach.live.db import (
    URL_HELP,
    Database,
    DatabaseError,
    DatabaseUnavailable,
    Dialect,
    IntegrityError,
    Row,
    shown,
    without_password,
)

CONNECT_TIMEOUT_S = 10
# The advisory lock of an exclusive transaction: one key for all of callcoach ("call" in ASCII).
EXCLUSIVE_LOCK_KEY = 0x63616C6C


class PostgresDatabase(Database):
    dialect: Dialect = "postgresql"

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        super().__init__()
        self._url, self._read_only = url, read_only
        self._sql: dict[str, str] = {}  # each statement with psycopg's placeholders, made once
        self._in_transaction = False
        self._db = self._connect()

    def _connect(self) -> psycopg.Connection[Row]:
        try:
            given = psycopg.conninfo.conninfo_to_dict(
                self._url
            )  # a URL libpq cannot parse: the user's to fix
            # The URL's own settings win over these defaults.
            extra: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "callcoach"}
            extra = {k: v for k, v in extra.items() if k not in given}
            if self._read_only:
                extra["options"] = f"{given.get('options', '')} -c default_transaction_read_only=on".strip()
            # Autocommit, as with SQLite: explicit transactions only.
            return psycopg.connect(self._url, autocommit=True, **extra)
        except psycopg.ProgrammingError as exc:  # libpq could not parse the URL
            raise DatabaseUnavailable(
                "db_bad_url",
                f"--db {shown(self._url)!r} is not a usable PostgreSQL URL ({self._why(exc)}): "
                f"give --db (or CALLCOACH_DB) as {URL_HELP}, or leave it unset to keep SQLite files in "
                "--data",
            ) from exc
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailable(
                "db_unreachable",
                f"cannot reach PostgreSQL at {shown(self._url)} ({self._why(exc)}): start the database "
                "server or fix the host, port, user, password or database name in --db (CALLCOACH_DB)",
            ) from exc

    def _why(self, exc: BaseException) -> str:
        return without_password(_first_line(exc), self._url)

    @contextmanager
    def _errors(self) -> Iterator[None]:
        if self._db.broken and not self._in_transaction:
            self._db = self._connect()  # the server restarted since the last statement
        try:
            yield
        except psycopg.IntegrityError as exc:
            raise IntegrityError(_first_line(exc)) from exc
        except psycopg.Error as exc:
            if self._db.broken:
                raise DatabaseUnavailable(
                    "db_unreachable",
                    f"lost the connection to PostgreSQL at {shown(self._url)} ({self._why(exc)}): the next "
                    "statement connects again; if PostgreSQL stays down, start it",
                ) from exc
            raise DatabaseError(_first_line(exc)) from exc

    def _query(self, sql: str) -> Any:
        query = self._sql.get(sql)
        if query is None:  # a literal % would be read as a placeholder: doubled first
            query = self._sql[sql] = sql.replace("%", "%%").replace("?", "%s")
        return query

    def _run(self, sql: str, args: Sequence[Any]) -> int:
        return self._db.execute(self._query(sql), args).rowcount

    def _run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._db.cursor() as cursor:
            cursor.executemany(self._query(sql), rows)

    def _fetch(self, sql: str, args: Sequence[Any]) -> list[Row]:
        return self._db.execute(self._query(sql), args).fetchall()

    def _begin(self, exclusive: bool) -> None:
        self._db.execute("BEGIN")
        self._in_transaction = True
        if exclusive:  # held until COMMIT or ROLLBACK, by whichever node asked first
            self._db.execute("SELECT pg_advisory_xact_lock(%s)", (EXCLUSIVE_LOCK_KEY,))

    def _end(self, *, commit: bool) -> None:
        self._in_transaction = False
        if not self._db.broken:
            self._db.execute("COMMIT" if commit else "ROLLBACK")

    def _close(self) -> None:
        self._db.close()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
