"""One storage interface over two databases: SQLite files (the embedded default) and PostgreSQL (``--db``).

Every store (calls and their events, notes and pins, accounts and login sessions, the coaching records, the
audit trail) talks to a :class:`Database` opened by :func:`open_database`: a SQLite file's path, or a
``postgresql://`` URL. The stores write their SQL once, with ``?`` placeholders and the upsert both speak
(``INSERT ... ON CONFLICT ... DO UPDATE``, :func:`upsert`); what differs stays here: the placeholders, the
connection's settings, how a transaction that must run alone across processes is taken (SQLite's write
lock up front, a PostgreSQL advisory lock), and the errors, which come out as :class:`DatabaseError`
whichever driver raised them. What differs in the tables themselves (identity columns, defaults) is in each
store's migrations (:mod:`live.migrations`).

Each :class:`Database` is one connection behind a lock, so any thread may use it, one at a time (the
stores' methods block; their callers run them in an executor). PostgreSQL's side is
:mod:`live.db_postgres`, imported only when a URL is opened.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from callcoach.live.errors import UserError

if TYPE_CHECKING:
    from callcoach.live.settings import Settings

Target = Path | str  # a SQLite file's path, or a postgresql:// URL
Row = tuple[Any, ...]
Dialect = Literal["sqlite", "postgresql"]
URL_SCHEMES = ("postgresql", "postgres")
URL_HELP = "postgresql://USER:PASSWORD@HOST:PORT/DATABASE"
_PASSWORD = re.compile(r"^([a-zA-Z]+://[^:/@]*:)([^/]*)@")


class DatabaseError(Exception):
    """A statement the database refused or could not run, from either backend (the driver's error is the
    ``__cause__``)."""


class IntegrityError(DatabaseError):
    """A row that breaks a constraint (a second user of one name, say)."""


class DatabaseUnavailable(DatabaseError, UserError):
    """The database cannot be used: ``code`` is ``db_bad_url``, ``db_unreachable`` or ``db_too_new``; the
    message names the cause and the fix (and never the password). A command reports it as any
    :class:`UserError`; to a running server it is a :class:`DatabaseError` like any other (a reconnect that
    failed while PostgreSQL restarts)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class SqliteTuning:
    """How a store's SQLite connection is set up (PostgreSQL needs none of it): each store keeps the
    settings it always had."""

    wal: bool = True
    synchronous_normal: bool = False
    foreign_keys: bool = False
    busy_timeout_s: float = 5.0


def database_of(settings: Settings, file_name: str) -> Target:
    """Where a store keeps its rows: the ``--db`` database when there is one (every store's tables side by
    side in it), else its own SQLite file ``file_name`` in the data folder."""
    return settings.db or settings.data_dir / file_name


def is_url(target: Target) -> bool:
    return isinstance(target, str) and target.lower().startswith(tuple(f"{s}://" for s in URL_SCHEMES))


def exists(target: Target) -> bool:
    """Whether anything can have been stored there yet: a SQLite file that exists, or any database URL (a
    reader checks first so that a mistyped ``--data`` is said, not made)."""
    return is_url(target) or Path(target).exists()


def shown(url: str) -> str:
    """The URL for a message or a log: without its password (``user:***@``), however malformed the rest."""
    return _PASSWORD.sub(r"\1***@", url, count=1)


def without_password(text: str, url: str) -> str:
    """A driver's message about ``url`` (which may quote a piece of it) without the URL's password."""
    found = _PASSWORD.match(url)
    return text.replace(found[2], "***") if found and found[2] else text


def upsert(table: str, columns: Sequence[str], key: Sequence[str]) -> str:
    """``INSERT`` a row of ``columns``, or update the one with the same ``key``: what SQLite's ``INSERT OR
    REPLACE`` did, in the form both databases speak."""
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
    )


def open_database(target: Target, *, sqlite: SqliteTuning | None = None, read_only: bool = False) -> Database:
    """The database at ``target``: a PostgreSQL URL, or else a SQLite file (created with its folder unless
    ``read_only``)."""
    if is_url(target):
        # Imported here: psycopg loads only where a PostgreSQL database is used.
        from callcoach.live.db_postgres import PostgresDatabase

        return PostgresDatabase(str(target), read_only=read_only)
    return SqliteDatabase(Path(target), sqlite or SqliteTuning(), read_only=read_only)


class Database(ABC):
    """The few operations the stores use; statements take ``?`` placeholders."""

    dialect: Dialect

    def __init__(self) -> None:
        # Re-entrant: the statements of a transaction run in the thread that holds it.
        self._lock = threading.RLock()

    def execute(self, sql: str, args: Sequence[Any] = ()) -> int:
        """Run one statement; how many rows it changed."""
        with self._lock, self._errors():
            return self._run(sql, args)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement per row (in one round trip where the driver can)."""
        if rows:
            with self._lock, self._errors():
                self._run_many(sql, rows)

    def fetchone(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        with self._lock, self._errors():
            rows = self._fetch(sql, args)
        return rows[0] if rows else None

    def fetchall(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        with self._lock, self._errors():
            return self._fetch(sql, args)

    @contextmanager
    def transaction(self, *, exclusive: bool = False) -> Iterator[None]:
        """The statements in the block commit together, or not at all if it raises. ``exclusive``: no
        other exclusive transaction on this database runs at the same time, from any process (migrations
        when several nodes start at once, purges when several run their retention)."""
        with self._lock:
            with self._errors():
                self._begin(exclusive)
            try:
                yield
            except BaseException:
                with self._errors():
                    self._end(commit=False)
                raise
            with self._errors():
                self._end(commit=True)

    def close(self) -> None:
        with self._lock:
            self._close()

    # What each database does its own way; the public methods above hold the lock around them.
    @abstractmethod
    def _errors(self) -> AbstractContextManager[None]:
        """Around each driver call: the driver's errors raised as :class:`DatabaseError`."""

    @abstractmethod
    def _run(self, sql: str, args: Sequence[Any]) -> int: ...

    @abstractmethod
    def _run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    @abstractmethod
    def _fetch(self, sql: str, args: Sequence[Any]) -> list[Row]: ...

    @abstractmethod
    def _begin(self, exclusive: bool) -> None: ...

    @abstractmethod
    def _end(self, *, commit: bool) -> None: ...

    @abstractmethod
    def _close(self) -> None: ...


class SqliteDatabase(Database):
    dialect: Dialect = "sqlite"

    def __init__(self, path: Path, tuning: SqliteTuning, *, read_only: bool = False) -> None:
        super().__init__()
        if read_only:  # a URI, so that a missing file is an error rather than made
            uri, kwargs = f"{path.resolve().as_uri()}?mode=ro", {"uri": True}
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            uri, kwargs = str(path), {}
        # check_same_thread off: the executor hands successive calls to different threads; the lock keeps
        # them one at a time. Autocommit, with explicit BEGIN for transactions.
        self._db = sqlite3.connect(
            uri, check_same_thread=False, isolation_level=None, timeout=tuning.busy_timeout_s, **kwargs
        )
        if tuning.wal and not read_only:
            self._db.execute("PRAGMA journal_mode=WAL")
        if tuning.synchronous_normal:
            # A live call commits every half second: in WAL mode NORMAL makes each commit survive the
            # process being killed (the OS has the write) without an fsync each; a power cut may lose the
            # last commits, never corrupt the file.
            self._db.execute("PRAGMA synchronous=NORMAL")
        if tuning.foreign_keys:
            self._db.execute("PRAGMA foreign_keys=ON")

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc
        except sqlite3.Error as exc:
            raise DatabaseError(str(exc)) from exc

    def _run(self, sql: str, args: Sequence[Any]) -> int:
        return self._db.execute(sql, args).rowcount

    def _run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._db.executemany(sql, rows)

    def _fetch(self, sql: str, args: Sequence[Any]) -> list[Row]:
        return self._db.execute(sql, args).fetchall()

    def _begin(self, exclusive: bool) -> None:
        # IMMEDIATE takes the write lock now, so two processes migrating one file run one after the other.
        self._db.execute("BEGIN IMMEDIATE" if exclusive else "BEGIN")

    def _end(self, *, commit: bool) -> None:
        self._db.execute("COMMIT" if commit else "ROLLBACK")

    def _close(self) -> None:
        self._db.close()
