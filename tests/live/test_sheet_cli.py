"""`callcoach sheet` as a coach types it (the installed command in a subprocess): the sample recordings
analysed by real Vosk, a call stored in a data folder, and the mistakes a user makes."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from callcoach.live.coaching import Commitment, SelfAssessment
from callcoach.live.coaching_store import CoachingStore
from callcoach.live.events import Alert, Note, Pin
from callcoach.live.sheet import build_sheet
from callcoach.live.sheet_cli import readable
from callcoach.live.storage import Storage
from tests.helpers.stored_calls import call_events, store_call

EXIT_USAGE = 2
FIELDS = {"call_id", "strengths", "opportunities", "notes", "praise_count", "coach_count"}
FIELDS |= {"self_assessment", "commitments"}


def run(callcoach: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCOACH_")}
    return subprocess.run(
        [str(callcoach), "sheet", *args], capture_output=True, text=True, timeout=300, env=env
    )


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def sheets(callcoach: Path, samples: Path, model_dir: Path) -> dict[str, dict[str, Any]]:
    """The --json sheet of each bereavement sample."""
    return {
        name: json.loads(
            ok(run(callcoach, str(samples / f"{name}.wav"), "--json", "--model", str(model_dir)))
        )
        for name in ("bereavement_cold", "bereavement_warm")
    }


@pytest.mark.vosk
def test_the_cold_call_ranks_the_cold_reply_first_and_the_silence_after_it(
    sheets: dict[str, dict[str, Any]],
) -> None:
    sheet = sheets["bereavement_cold"]
    assert sheet.keys() >= FIELDS and sheet["call_id"] == "bereavement_cold"
    assert [o["kind"] for o in sheet["opportunities"]] == ["cold_reply_to_bad_news", "silence"]
    cold, silence = sheet["opportunities"]
    assert "passed away" in " ".join(q["text"] for q in cold["quotes"])  # the news the agent skipped
    assert "documents" in cold["quote"] and 20 < cold["start_s"] < 23  # the reply, 5.5 s after the news
    assert "sorry" in cold["suggestion"].lower() and cold["why"]
    assert silence["start_s"] < cold["start_s"]  # ranked below by severity, though it came first
    assert sheet["strengths"] == [] and (sheet["praise_count"], sheet["coach_count"]) == (0, 2)
    assert (sheet["self_assessment"], sheet["commitments"], sheet["more"]) == (None, [], [])


@pytest.mark.vosk
def test_the_warm_call_has_its_empathy_as_a_strength(sheets: dict[str, dict[str, Any]]) -> None:
    sheet = sheets["bereavement_warm"]
    assert [s["kind"] for s in sheet["strengths"]] == ["empathy_shown"]
    empathy = sheet["strengths"][0]
    assert "sorry to hear that" in empathy["quote"] and empathy["start_s"] > 16
    assert sheet["opportunities"] == [] and (sheet["praise_count"], sheet["coach_count"]) == (1, 0)


@pytest.mark.vosk
def test_readable_sheet_puts_strengths_first_then_quote_time_why_and_try(
    callcoach: Path, samples: Path, model_dir: Path
) -> None:
    out = ok(run(callcoach, str(samples / "bereavement_cold.wav"), "--model", str(model_dir)))
    lines = out.splitlines()
    assert lines[0] == "Coaching sheet: bereavement_cold.wav · 00:34.5"
    assert out.index("Strengths") < out.index("Opportunities") < out.index("Coaches' notes")
    first = lines.index("Opportunities") + 1
    assert lines[first].startswith("  1. 00:21.") and "Cold reply" in lines[first]
    numbered = [line for line in lines if line.startswith("  2. ")]
    assert len(numbered) == 1 and "silence" in numbered[0]
    block = out[out.index("  1. ") : out.index("  2. ")]
    assert "said: customer at 00:06." in block and "why:" in block and "try:" in block


def test_a_stored_call_with_its_notes_and_pins(callcoach: Path, tmp_path: Path) -> None:
    store_call(tmp_path, "line-7", age_days=1)  # with a coach's note "ask first" at 1.0 s
    storage = Storage(tmp_path / "calls.sqlite3", tmp_path / "recordings")
    try:
        storage.annotate("line-7", Pin("note-line-7", True, 1.0, "ana"))
    finally:
        storage.close()
    sheet = json.loads(ok(run(callcoach, "line-7", "--json", "--data", str(tmp_path))))
    assert sheet["call_id"] == "line-7" and sheet["title"] == "Line line-7"
    assert [(n["text"], n["author_name"], n["pinned"]) for n in sheet["notes"]] == [
        ("ask first", "Ana", True)
    ]
    assert (sheet["praise_count"], sheet["coach_count"]) == (0, 1)
    out = ok(run(callcoach, "line-7", "--data", str(tmp_path)))
    assert "  00:01.0  Ana (coach): ask first  [pinned]" in out.splitlines()


def test_a_stored_call_with_its_agents_view_and_commitment(callcoach: Path, tmp_path: Path) -> None:
    store_call(tmp_path, "line-7", age_days=1)
    records = CoachingStore(tmp_path / "calls.sqlite3")
    try:
        records.write_self_assessment(SelfAssessment("line-7", "bo", "kept calm", "ask first", "2026-01-02"))
        records.add_commitment(
            agent="bo",
            call_id="line-7",
            kind="silence",
            behaviour="say what I am doing while I look",
            due_date="2026-01-03",
            coach="ana",
            at="2026-01-02T10:00:00+00:00",
        )
    finally:
        records.close()
    sheet = json.loads(ok(run(callcoach, "line-7", "--json", "--data", str(tmp_path))))
    assert sheet["self_assessment"]["went_well"] == "kept calm"
    assert [c["behaviour"] for c in sheet["commitments"]] == ["say what I am doing while I look"]


def test_more_than_three_opportunities_are_folded_into_one_line(callcoach: Path, tmp_path: Path) -> None:
    store_call(tmp_path, "busy", age_days=1)
    storage = Storage(tmp_path / "calls.sqlite3", tmp_path / "recordings")
    try:
        stored = next(c for c in storage.load_all() if c.info.call_id == "busy")
        *said, ended = call_events("busy", stored.info.started_at, 2.0)
        silences = [_silence(f"s{n}", float(n)) for n in range(5)]
        storage.save(stored.info, [*said, *silences, ended], stored.recording)
    finally:
        storage.close()
    out = ok(run(callcoach, "busy", "--data", str(tmp_path)))
    assert "Opportunities (3 of 5)" in out
    more = out.splitlines()[out.splitlines().index("  and 2 more, for another day:") + 1 :]
    assert more[:2] == ["     00:03.0  Silence 3", "     00:04.0  Silence 4"]


def _silence(alert_id: str, start_s: float) -> Alert:
    return Alert(
        alert_id, 0, "silence", "coach", None, start_s, start_s + 0.5, start_s + 0.5,
        f"Silence {int(start_s)}", "", "dead air", "say something",
    )  # fmt: skip


def test_an_unknown_call_or_an_unreadable_file_is_one_line_and_exit_2(
    callcoach: Path, tmp_path: Path
) -> None:
    store_call(tmp_path, "line-7", age_days=1)
    unknown = run(callcoach, "line-8", "--data", str(tmp_path))
    assert unknown.returncode == EXIT_USAGE and unknown.stdout == ""
    assert unknown.stderr.startswith(f"callcoach: error: there is no call 'line-8' stored in {tmp_path}: ")

    empty = tmp_path / "empty"
    nothing = run(callcoach, "line-7", "--data", str(empty))
    assert nothing.returncode == EXIT_USAGE and "no calls are stored in" in nothing.stderr
    assert not empty.exists()  # a mistyped --data is said, not made

    garbage = tmp_path / "garbage.wav"
    garbage.write_text("not audio at all")
    unreadable = run(callcoach, str(garbage))
    assert unreadable.returncode == EXIT_USAGE and unreadable.stdout == ""
    assert unreadable.stderr.startswith("callcoach: error: ") and len(unreadable.stderr.splitlines()) == 1

    missing = run(callcoach, str(tmp_path / "nowhere.wav"))
    assert missing.returncode == EXIT_USAGE
    fix = "give a recording's path, or a stored call's id"
    assert missing.stderr == f"callcoach: error: there is no file {tmp_path / 'nowhere.wav'}: {fix}\n"


def test_the_readable_sheet_shows_the_agents_view_and_the_commitments() -> None:
    own = SelfAssessment(
        "c1", "sam", "I stayed calm with her", "say sorry before the documents", "2026-11-30"
    )
    commitment = Commitment(
        "k1", "sam", "c1", "cold_reply_to_bad_news", "acknowledge bad news before business",
        "2026-12-01", "ana", "2026-11-30T11:05:00Z", accepted_at="2026-11-30T11:07:00Z",
    )  # fmt: skip
    praise = Note("n1", 3.0, "praise", "lovely greeting", "ana", "Ana Lead")
    sheet = build_sheet("c1", [praise], self_assessment=own, commitments=[commitment])
    lines = readable(sheet)
    assert lines[lines.index("Strengths") + 1 : lines.index("Strengths") + 3] == [
        "  + 00:03.0  Note by Ana Lead",
        "       note: lovely greeting",
    ]
    view = lines[lines.index("Agent's self-assessment") + 1 :]
    assert view[:2] == [
        "       went well:   I stayed calm with her",
        "       would change: say sorry before the documents",
    ]
    commitments = " ".join(line.strip() for line in lines[lines.index("Commitments") + 1 :])
    assert commitments == (
        "- acknowledge bad news before business (cold_reply_to_bad_news), from 2026-12-01, "
        "accepted 2026-11-30"
    )
