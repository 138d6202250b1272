"""Numbered schema migrations, run by every store as it opens, on SQLite and on PostgreSQL.

Each store names its part of the schema (a ``component``: ``calls``, ``coaching``, ``accounts``,
``audit``) and lists its :class:`Migration` s, numbered from 1; ``schema_version`` keeps one row per
migration applied, so a store opened again runs only the new ones. Migration 1 of each is the schema as it
was before there were migrations, every statement ``IF NOT EXISTS``: a SQLite file made by an older
callcoach opens with its rows as they were, and gets its ``schema_version`` rows.

Several nodes starting at once on one PostgreSQL database must not race to create the same tables (two
``CREATE TABLE IF NOT EXISTS`` at once can both try, and one fails): a store migrates inside an exclusive
transaction (:meth:`Database.transaction`), which on PostgreSQL holds an advisory lock until it commits and
on SQLite takes the file's write lock first. The node that gets it second finds the migrations done.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from callcoach.live.db import Database, DatabaseUnavailable, SqliteTuning, Target, open_database

_VERSIONS = """
CREATE TABLE IF NOT EXISTS schema_version (
    component   TEXT NOT NULL,
    version     INTEGER NOT NULL,
    applied_at  TEXT NOT NULL,
    PRIMARY KEY (component, version)
)"""


@dataclass(frozen=True)
class Migration:
    """One step of a component's schema: its statements for each database (the same when portable)."""

    version: int
    sqlite: tuple[str, ...]
    postgresql: tuple[str, ...]

    def statements(self, dialect: str) -> tuple[str, ...]:
        return self.sqlite if dialect == "sqlite" else self.postgresql


def portable(version: int, *statements: str) -> Migration:
    """A migration whose statements both databases run as they are."""
    return Migration(version, statements, statements)


def open_migrated(
    target: Target, component: str, migrations: Sequence[Migration], sqlite: SqliteTuning
) -> Database:
    """The database at ``target`` (see :func:`open_database`) with ``component``'s tables brought up to
    date; what a store opens."""
    db = open_database(target, sqlite=sqlite)
    try:
        migrate(db, component, migrations)
    except BaseException:
        db.close()
        raise
    return db


def migrate(db: Database, component: str, migrations: Sequence[Migration]) -> list[int]:
    """Bring ``component``'s tables up to its last migration; the versions this call applied (none when
    another process had, or this one did at an earlier start)."""
    numbers = [m.version for m in migrations]
    if numbers != list(range(1, len(migrations) + 1)):
        raise ValueError(f"{component}'s migrations are numbered {numbers}: number them 1, 2, 3 ...")
    applied: list[int] = []
    with db.transaction(exclusive=True):
        db.execute(_VERSIONS)
        rows = db.fetchall("SELECT version FROM schema_version WHERE component = ?", (component,))
        done = {int(version) for (version,) in rows}
        _refuse_newer(component, done, len(migrations))
        for migration in migrations:
            if migration.version in done:
                continue
            for statement in migration.statements(db.dialect):
                db.execute(statement)
            db.execute(
                "INSERT INTO schema_version (component, version, applied_at) VALUES (?, ?, ?)",
                (component, migration.version, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())),
            )
            applied.append(migration.version)
    return applied


def _refuse_newer(component: str, done: set[int], known: int) -> None:
    """A database a newer callcoach migrated has tables this one does not know how to keep: refuse it
    rather than write rows the newer code would misread."""
    newest = max(done, default=0)
    if newest > known:
        raise DatabaseUnavailable(
            "db_too_new",
            f"the database's {component} tables are at version {newest}, made by a newer callcoach "
            f"(this one knows up to {known}): run the newer callcoach, or upgrade this one",
        )
