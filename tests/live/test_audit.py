"""The audit trail: entries come back as written, oldest first, filtered; nothing rewrites or deletes
them (on SQLite and on PostgreSQL); and a player's many requests make one ``listen`` per user and call per
window."""

from __future__ import annotations

import contextlib

import pytest

from callcoach.live.audit import LISTEN_WINDOW_S, AuditEntry, AuditLog, ListenWindow, utc_iso
from callcoach.live.db import DatabaseError, Target, open_database
from tests.helpers.postgres import DatabaseAt

T0 = 1_796_000_000.0  # 2026-11-30T...Z: any fixed wall time


class Clock:
    """Wall time that moves only when the test says."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def trail_with_entries(path: Target) -> AuditLog:
    clock = Clock()
    trail = AuditLog(path, clock=clock)
    trail.record("bo", "open", "c1", "10.0.0.7")
    clock.now += 60
    trail.record("bo", "listen", "c1", "10.0.0.7")
    clock.now += 3600
    trail.record("ana", "export", "c2", "10.0.0.9")
    clock.now += 86400
    trail.record("cli:root", "purge", "c1", "callcoach purge --older-than 90d")
    return trail


def test_utc_iso_is_utc_to_the_second_and_sorts_by_time() -> None:
    assert utc_iso(0) == "1970-01-01T00:00:00Z"
    assert utc_iso(T0) < utc_iso(T0 + 1) < utc_iso(T0 + 86400 * 400)


def test_entries_come_back_oldest_first_with_their_times(database: DatabaseAt) -> None:
    trail = trail_with_entries(database("audit.sqlite3"))
    assert trail.entries() == [
        AuditEntry(utc_iso(T0), "bo", "open", "c1", "10.0.0.7"),
        AuditEntry(utc_iso(T0 + 60), "bo", "listen", "c1", "10.0.0.7"),
        AuditEntry(utc_iso(T0 + 3660), "ana", "export", "c2", "10.0.0.9"),
        AuditEntry(utc_iso(T0 + 90060), "cli:root", "purge", "c1", "callcoach purge --older-than 90d"),
    ]


def test_filters_by_call_user_and_since_and_together(database: DatabaseAt) -> None:
    trail = trail_with_entries(database("audit.sqlite3"))
    assert [e.action for e in trail.entries(call_id="c1")] == ["open", "listen", "purge"]
    assert [e.action for e in trail.entries(user="bo")] == ["open", "listen"]
    assert [e.action for e in trail.entries(since=utc_iso(T0 + 60))] == ["listen", "export", "purge"]
    assert [e.action for e in trail.entries(call_id="c1", user="bo", since=utc_iso(T0 + 1))] == ["listen"]
    assert trail.entries(user="nobody") == []


def test_the_trail_outlives_the_process(database: DatabaseAt) -> None:
    trail_with_entries(database("audit.sqlite3")).close()
    again = AuditLog(database("audit.sqlite3"))
    assert len(again.entries()) == 4


def test_nothing_rewrites_or_deletes_an_entry(database: DatabaseAt) -> None:
    trail_with_entries(database("audit.sqlite3")).close()
    with contextlib.closing(open_database(database("audit.sqlite3"))) as db:
        for statement in ["UPDATE audit SET \"user\" = 'someone else'", "DELETE FROM audit"]:
            with pytest.raises(DatabaseError, match="append-only"):
                db.execute(statement)
        if db.dialect == "postgresql":  # which deletes without a row trigger
            with pytest.raises(DatabaseError, match="append-only"):
                db.execute("TRUNCATE audit")
    users = [e.user for e in AuditLog(database("audit.sqlite3")).entries()]
    assert users == ["bo", "bo", "ana", "cli:root"]


def test_an_unknown_action_is_refused(database: DatabaseAt) -> None:
    with pytest.raises(ValueError, match="open, listen, export, purge"):
        AuditLog(database("audit.sqlite3")).record("bo", "peek", "c1")  # type: ignore[arg-type]


def test_one_listen_per_user_and_call_per_window() -> None:
    window = ListenWindow(window_s=600)
    assert window.due("bo", "c1", 100.0)
    assert not window.due("bo", "c1", 100.5)  # the player's next Range request
    assert not window.due("bo", "c1", 699.9)
    assert window.due("ana", "c1", 101.0)  # another user
    assert window.due("bo", "c2", 102.0)  # another call
    assert window.due("bo", "c1", 700.0)  # the window has passed: a new listen
    assert not window.due("bo", "c1", 1000.0)


def test_the_default_window_is_minutes() -> None:
    assert 60 <= LISTEN_WINDOW_S <= 3600
