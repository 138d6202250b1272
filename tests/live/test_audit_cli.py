"""`callcoach purge` and `callcoach audit` as an admin types them (the installed command in a subprocess)
on a data folder with stored calls of several ages."""

from __future__ import annotations

import json
import os
import pwd
import subprocess
from pathlib import Path

from tests.helpers.stored_calls import rows, store_call

EXIT_USAGE = 2


def run(callcoach: Path, data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCOACH_")}
    argv = [str(callcoach), *args, "--data", str(data)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return proc.stdout


def kept(data: Path, call_id: str) -> list[object]:
    """The call's rows (call, events, notes and pins) and whether its WAV is there."""
    return [
        *(rows(data, t, call_id) for t in ("calls", "events", "annotations")),
        (data / "recordings" / f"{call_id}.wav").exists(),
    ]


def test_a_dry_run_lists_the_old_calls_and_deletes_nothing(callcoach: Path, tmp_path: Path) -> None:
    store_call(tmp_path, "old", age_days=120)
    store_call(tmp_path, "new", age_days=3)
    out = ok(run(callcoach, tmp_path, "purge", "--older-than", "90d", "--dry-run"))
    assert out.splitlines()[0] == "would delete 1 call saved over 90d ago"
    assert "  old (Line old), saved " in out and "nothing was deleted (--dry-run)" in out
    assert kept(tmp_path, "old") == [1, 3, 1, True]
    assert ok(run(callcoach, tmp_path, "audit", "--json")) == ""  # nothing happened, nothing recorded


def test_purge_deletes_old_calls_with_their_events_notes_and_recordings(
    callcoach: Path, tmp_path: Path
) -> None:
    store_call(tmp_path, "old", age_days=120)
    store_call(tmp_path, "older", age_days=365)
    store_call(tmp_path, "new", age_days=3)
    out = ok(run(callcoach, tmp_path, "purge", "--older-than", "90d"))
    assert out.splitlines()[0] == "deleted 2 calls saved over 90d ago"
    assert out.index("  older (Line older)") < out.index("  old (Line old)")  # oldest first
    assert "3 events, notes and pins: 1" in out and str(tmp_path / "recordings" / "old.wav") in out
    assert kept(tmp_path, "old") == kept(tmp_path, "older") == [0, 0, 0, False]
    assert kept(tmp_path, "new") == [1, 3, 1, True]

    entries = [json.loads(line) for line in ok(run(callcoach, tmp_path, "audit", "--json")).splitlines()]
    me = f"cli:{pwd.getpwuid(os.getuid()).pw_name}"
    assert [(e["user"], e["action"], e["call_id"], e["detail"]) for e in entries] == [
        (me, "purge", "older", "callcoach purge --older-than 90d"),
        (me, "purge", "old", "callcoach purge --older-than 90d"),
    ]
    assert all(e["at"].endswith("Z") for e in entries)

    table = ok(run(callcoach, tmp_path, "audit", "--call", "old")).splitlines()
    assert table[0].split() == ["TIME", "(UTC)", "USER", "ACTION", "CALL", "DETAIL"]
    assert len(table) == 2 and table[1].split()[1:4] == [me, "purge", "old"]
    assert ok(run(callcoach, tmp_path, "audit", "--user", "bo")) == "no audit entries match\n"
    assert (
        ok(run(callcoach, tmp_path, "audit", "--since", "1d", "--call", "new")) == "no audit entries match\n"
    )


def test_nothing_stored_is_said_and_nothing_is_made(callcoach: Path, tmp_path: Path) -> None:
    out = ok(run(callcoach, tmp_path / "typo", "purge", "--older-than", "30d"))
    assert "no calls are stored in" in out and "is --data right?" in out
    assert "no audit.sqlite3 in" in ok(run(callcoach, tmp_path / "typo", "audit"))
    assert not (tmp_path / "typo").exists()


def test_a_bad_duration_or_since_is_one_line_with_the_fix(callcoach: Path, tmp_path: Path) -> None:
    for args in (("purge", "--older-than", "90"), ("audit", "--since", "last week")):
        proc = run(callcoach, tmp_path, *args)
        assert proc.returncode == EXIT_USAGE, proc.stderr
        [line] = proc.stderr.splitlines()
        assert line.startswith("callcoach: error: ") and "e.g. 90d, 12h or 30m" in line
