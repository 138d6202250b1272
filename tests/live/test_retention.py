"""Durations and start times as a user types them, which stored calls a purge selects, and what it
deletes with them (events, notes, pins, the recording in the data folder) and what it leaves, on SQLite and
on PostgreSQL."""

from __future__ import annotations

import contextlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callcoach.live.audit import AuditLog, utc_iso
from callcoach.live.catalog import CallCatalog
from callcoach.live.db import Target, open_database
from callcoach.live.errors import UserError
from callcoach.live.retention import describe, parse_duration_s, parse_since, purge_calls
from callcoach.live.settings import Settings
from callcoach.live.storage import Storage
from tests.helpers.postgres import DatabaseAt
from tests.helpers.stored_calls import DAY_S, age, rows, store_call, write_wav

NOW = 1_796_000_000.0


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90d", 90 * 86400), ("12h", 43200), ("30m", 1800), ("1.5d", 129600), (" 7D ", 604800)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration_s(text) == seconds


@given(st.integers(min_value=1, max_value=100_000), st.sampled_from([("d", 86400), ("h", 3600), ("m", 60)]))
def test_every_whole_number_of_a_unit(n: int, unit: tuple[str, int]) -> None:
    assert parse_duration_s(f"{n}{unit[0]}") == n * unit[1]


@pytest.mark.parametrize("text", ["90", "d", "90s", "-3d", "0d", "90 days", "1e3d", "", "99999999d"])
def test_what_is_not_a_duration_says_what_is(text: str) -> None:
    with pytest.raises(UserError, match=r"e\.g\. 90d, 12h or 30m"):
        parse_duration_s(text)


def test_since_a_duration_ago_or_a_date() -> None:
    assert parse_since("7d", NOW) == utc_iso(NOW - 7 * DAY_S)
    assert parse_since("2026-11-01", NOW) == "2026-11-01T00:00:00Z"  # no offset: UTC
    assert parse_since("2026-11-01T09:30", NOW) == "2026-11-01T09:30:00Z"
    assert parse_since("2026-11-01T09:30:00Z", NOW) == "2026-11-01T09:30:00Z"
    assert parse_since("2026-11-01T10:30:00+01:00", NOW) == "2026-11-01T09:30:00Z"


def test_since_neither_says_both_forms() -> None:
    with pytest.raises(UserError, match=r"90d.*2026-11-01"):
        parse_since("last week", NOW)


def three_calls(data: Path, db: Target) -> None:
    store_call(data, "ancient", age_days=400, db=db)
    store_call(data, "old", age_days=91, db=db)
    store_call(data, "recent", age_days=89, db=db)


def test_purge_deletes_the_calls_saved_before_the_cutoff_with_all_they_had(
    tmp_path: Path, database: DatabaseAt
) -> None:
    db = database("calls.sqlite3")
    three_calls(tmp_path, db)
    storage = Storage(db, tmp_path / "recordings")
    purged = storage.purge(utc_iso(time.time() - 90 * DAY_S))
    assert [(p.call_id, p.title, p.events, p.annotations) for p in purged] == [
        ("ancient", "Line ancient", 3, 1),
        ("old", "Line old", 3, 1),
    ]
    for gone in ("ancient", "old"):
        assert [rows(tmp_path, t, gone, db=db) for t in ("calls", "events", "annotations")] == [0, 0, 0]
        assert not (tmp_path / "recordings" / f"{gone}.wav").exists()
    assert [rows(tmp_path, t, "recent", db=db) for t in ("calls", "events", "annotations")] == [1, 3, 1]
    assert (tmp_path / "recordings" / "recent.wav").exists()
    assert [s.info.call_id for s in storage.load_all()] == ["recent"]
    assert storage.purge(utc_iso(time.time() - 90 * DAY_S)) == []  # once is enough


def test_a_dry_run_selects_the_same_calls_and_deletes_nothing(tmp_path: Path, database: DatabaseAt) -> None:
    db = database("calls.sqlite3")
    three_calls(tmp_path, db)
    storage = Storage(db, tmp_path / "recordings")
    cutoff = utc_iso(time.time() - 90 * DAY_S)
    planned = storage.purge(cutoff, dry_run=True)
    assert [p.call_id for p in planned] == ["ancient", "old"]
    assert len(storage.load_all()) == 3
    assert all((tmp_path / "recordings" / f"{c}.wav").exists() for c in ("ancient", "old", "recent"))
    assert storage.purge(cutoff) == planned


def test_a_call_saved_exactly_at_the_cutoff_is_kept(tmp_path: Path, database: DatabaseAt) -> None:
    db = database("calls.sqlite3")
    store_call(tmp_path, "edge", age_days=0, db=db)
    storage = Storage(db, tmp_path / "recordings")
    with contextlib.closing(open_database(db)) as reader:
        [(saved_at,)] = reader.fetchall("SELECT saved_at FROM calls")
    assert storage.purge(saved_at) == []
    assert [p.call_id for p in storage.purge(utc_iso(time.time() + 1))] == ["edge"]


def test_a_recording_outside_the_data_folder_is_the_operators_and_stays(
    tmp_path: Path, database: DatabaseAt
) -> None:
    db = database("data/calls.sqlite3")
    store_call(tmp_path / "data", "theirs", age_days=100, db=db)
    operators = tmp_path / "recordings" / "theirs.wav"
    write_wav(operators, 1.0)
    with contextlib.closing(open_database(db)) as writer:  # as a call of the folder's would be
        writer.execute("UPDATE calls SET recording = ?", (str(operators),))
    storage = Storage(db, tmp_path / "data" / "recordings")
    [purged] = storage.purge(utc_iso(time.time() - 90 * DAY_S))
    assert purged.recording is None
    assert operators.exists()
    assert rows(tmp_path / "data", "calls", "theirs", db=db) == 0


def test_purge_calls_records_each_deleted_call_in_the_trail(tmp_path: Path, database: DatabaseAt) -> None:
    three_calls(tmp_path, database("calls.sqlite3"))
    storage = Storage(database("calls.sqlite3"), tmp_path / "recordings")
    trail = AuditLog(database("audit.sqlite3"))
    purged = purge_calls(
        storage,
        trail,
        older_than_s=90 * DAY_S,
        now_s=time.time(),
        actor="retention",
        why="--retention-days 90",
    )
    assert [p.call_id for p in purged] == ["ancient", "old"]
    assert [(e.user, e.action, e.call_id, e.detail) for e in trail.entries()] == [
        ("retention", "purge", "ancient", "--retention-days 90"),
        ("retention", "purge", "old", "--retention-days 90"),
    ]
    assert "old (Line old), saved " in describe(purged[1]) and "3 events, notes and pins: 1" in describe(
        purged[1]
    )


def test_nothing_old_enough_records_nothing(tmp_path: Path, database: DatabaseAt) -> None:
    db = database("calls.sqlite3")
    store_call(tmp_path, "recent", age_days=1, db=db)
    trail = AuditLog(database("audit.sqlite3"))
    storage = Storage(db, tmp_path / "recordings")
    assert purge_calls(storage, trail, older_than_s=DAY_S * 2, now_s=time.time(), actor="x", why="y") == []
    assert trail.entries() == []
    age(tmp_path, "recent", 3, db=db)
    assert (
        len(purge_calls(storage, trail, older_than_s=DAY_S * 2, now_s=time.time(), actor="x", why="y")) == 1
    )


def test_a_removed_call_leaves_the_list_and_listeners_hear_of_it(tmp_path: Path) -> None:
    three_calls(tmp_path, tmp_path / "calls.sqlite3")
    storage = Storage(tmp_path / "calls.sqlite3", tmp_path / "recordings")
    settings = Settings(data_dir=tmp_path, recordings_dir=tmp_path / "none")
    with ThreadPoolExecutor(1) as executor:
        catalog = CallCatalog(settings, None, executor, storage)
        catalog.load_stored()
        changes: list[int] = []
        catalog.listen(lambda: changes.append(len(catalog.calls())))
        catalog.remove("old")
        catalog.remove("no-such-call")
        assert [c.call_id for c in catalog.calls()] == ["ancient", "recent"]
        assert catalog.get("old") is None
        assert changes == [2]


def test_two_servers_purging_one_database_at_once_delete_each_call_once(
    tmp_path: Path, database: DatabaseAt
) -> None:
    """Each node of a cluster runs the daily retention: a call purged by one is not purged (and recorded in
    the trail) by the other as well."""
    db = database("calls.sqlite3")
    for n in range(6):
        store_call(tmp_path, f"old-{n}", age_days=100, db=db)
    nodes = [Storage(db, tmp_path / "recordings") for _ in range(2)]
    start = threading.Barrier(len(nodes))
    cutoff = utc_iso(time.time() - 90 * DAY_S)

    def purge(storage: Storage) -> list[str]:
        start.wait()
        return [call.call_id for call in storage.purge(cutoff)]

    with ThreadPoolExecutor(len(nodes)) as pool:
        purged = [call_id for ids in pool.map(purge, nodes) for call_id in ids]
    assert sorted(purged) == [f"old-{n}" for n in range(6)]
