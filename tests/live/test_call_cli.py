"""`callcoach call assign CALL USER` as an admin types it (the installed command in a subprocess)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from callcoach.live.coaching_store import CoachingStore
from tests.helpers.auth import create_user
from tests.helpers.stored_calls import store_call, write_wav

EXIT_USAGE = 2


def assign(callcoach: Path, data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCOACH_")}
    recordings = data.parent / "recordings"
    argv = [str(callcoach), "call", "assign", *args, "--data", str(data), "--recordings", str(recordings)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)


def assignments(data: Path) -> dict[str, str]:
    store = CoachingStore(data / "calls.sqlite3")
    try:
        return store.assignments()
    finally:
        store.close()


def test_assign_a_stored_call_and_a_recording(callcoach: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    create_user(data, "bo", "agent-password", role="agent", teams=("north",))
    store_call(data, "kept-1", age_days=0)
    write_wav(tmp_path / "recordings" / "North Call.wav", 0.5)  # listed as north-call, as the page does

    done = assign(callcoach, data, "kept-1", "bo")
    assert done.returncode == 0, done.stderr
    assert "kept-1" in done.stdout and "bo" in done.stdout
    assert assign(callcoach, data, "North-Call", "bo").returncode == 0
    assert assignments(data) == {"kept-1": "bo", "North-Call": "bo"}


def test_refusals_name_the_fix(callcoach: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    create_user(data, "bo", "agent-password", role="agent", teams=("north",))
    create_user(data, "di", "coach-password", role="coach", teams=("north",))
    store_call(data, "kept-1", age_days=0)
    cases = {
        ("nope", "bo"): "no call 'nope'",
        ("kept-1", "di"): "di is a coach, not an agent",
        ("kept-1", "zed"): "no user 'zed'",
    }
    for args, said in cases.items():
        proc = assign(callcoach, data, *args)
        assert proc.returncode == EXIT_USAGE, proc.stderr
        assert proc.stderr.startswith("callcoach: error: ") and said in proc.stderr, proc.stderr
    assert assignments(data) == {}
