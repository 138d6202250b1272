"""`callcoach analyze` end to end: real Vosk on the generated sample calls, run as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from callcoach.live.codec import from_json
from callcoach.live.eventlog import latest_alerts
from callcoach.live.events import Alert, Transcript

pytestmark = pytest.mark.vosk
CALLCOACH = Path(sys.executable).parent / "callcoach"


def analyze(
    path: Path, *args: str, model_dir: Path, cli: Path = CALLCOACH
) -> tuple[list[dict[str, Any]], subprocess.CompletedProcess[str]]:
    proc = subprocess.run(
        [str(cli), "analyze", str(path), "--json", "--model", str(model_dir), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return [json.loads(line) for line in proc.stdout.splitlines()], proc


@pytest.fixture(scope="module")
def runs(samples: Path, model_dir: Path) -> dict[str, list[dict[str, Any]]]:
    out = {}
    for name in ("bereavement_cold", "bereavement_warm", "plain"):
        lines, proc = analyze(samples / f"{name}.wav", model_dir=model_dir)
        assert proc.returncode == 0, proc.stderr
        out[name] = lines
    return out


def truth(samples: Path, name: str) -> dict[str, Any]:
    return json.loads((samples / f"{name}.truth.json").read_text())


def alerts(lines: list[dict[str, Any]]) -> list[Alert]:
    return latest_alerts([e for line in lines if isinstance(e := from_json(line), Alert)])


def test_json_lines_are_typed_events_in_sequence(runs: dict[str, list[dict[str, Any]]]) -> None:
    lines = runs["bereavement_cold"]
    assert [line["seq"] for line in lines] == list(range(1, len(lines) + 1))
    assert {line["v"] for line in lines} == {1}
    assert lines[0]["type"] == "call_started" and lines[-1]["type"] == "call_ended"
    transcripts = [line for line in lines if line["type"] == "transcript"]
    assert {t["final"] for t in transcripts} == {True, False}  # partials stream too
    for t in transcripts:
        assert {"speaker", "text", "start_s", "end_s", "final"} <= t.keys()
        assert t["speaker"] in ("agent", "customer")


def test_cold_call_transcript_silence_and_cold_reply(
    runs: dict[str, list[dict[str, Any]]], samples: Path
) -> None:
    events = [from_json(line) for line in runs["bereavement_cold"]]
    said = " ".join(
        e.text for e in events if isinstance(e, Transcript) and e.final and e.speaker == "customer"
    )
    assert "uncle" in said and "passed away" in said

    found = alerts(runs["bereavement_cold"])
    silences = [a for a in found if a.kind == "silence"]
    assert len(silences) == 1
    turns = truth(samples, "bereavement_cold")["turns"]
    news_end = next(t["end_s"] for t in turns if "passed away" in t["text"])
    reply = next(t for t in turns if t["text"].startswith("Well, if you"))
    assert abs(silences[0].start_s - news_end) <= 0.5
    assert silences[0].end_s is not None and abs(silences[0].end_s - reply["start_s"]) <= 0.5

    cold = [a for a in found if a.kind == "cold_reply_to_bad_news"]
    assert len(cold) == 1
    assert cold[0].polarity == "coach" and cold[0].speaker == "agent"
    assert "this week" in cold[0].quote and "move forward" in cold[0].quote
    assert cold[0].suggestion and "sorry" in cold[0].suggestion.lower()
    assert cold[0].pause_s is not None and 5.0 <= cold[0].pause_s <= 6.0
    assert not [a for a in found if a.kind == "empathy_shown"]


def test_silence_alert_fires_live_at_the_threshold(runs: dict[str, list[dict[str, Any]]]) -> None:
    first = next(
        line for line in runs["bereavement_cold"] if line["type"] == "alert" and line["kind"] == "silence"
    )
    assert first["revision"] == 0 and first["end_s"] is None
    assert first["detected_s"] == pytest.approx(first["start_s"] + 5.0, abs=0.11)
    ended_at = next(i for i, line in enumerate(runs["bereavement_cold"]) if line["type"] == "call_ended")
    assert runs["bereavement_cold"].index(first) < ended_at


def test_warm_call_gets_praise_and_nothing_to_correct(runs: dict[str, list[dict[str, Any]]]) -> None:
    found = alerts(runs["bereavement_warm"])
    assert [a.kind for a in found] == ["empathy_shown"]
    assert found[0].polarity == "praise" and "sorry" in found[0].quote


def test_plain_call_gets_no_alert(runs: dict[str, list[dict[str, Any]]]) -> None:
    assert alerts(runs["plain"]) == []


def test_human_timeline_names_quote_time_and_suggestion(
    samples: Path, model_dir: Path, callcoach: Path
) -> None:
    proc = subprocess.run(
        [str(callcoach), "analyze", str(samples / "bereavement_cold.wav"), "--model", str(model_dir)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Transcript" in out and "customer" in out and "agent" in out
    assert "[COACH ]" in out and "silence" in out.lower() and "so sorry" in out.lower()


def test_telephone_mulaw_8k_call_works(samples: Path, model_dir: Path, tmp_path: Path) -> None:
    phone = tmp_path / "phone.wav"
    subprocess.run(
        ["sox", str(samples / "bereavement_cold.wav"), "-r", "8000", "-e", "mu-law", str(phone)], check=True
    )
    lines, proc = analyze(phone, model_dir=model_dir)
    assert proc.returncode == 0, proc.stderr
    kinds = sorted(a.kind for a in alerts(lines))
    assert kinds == ["cold_reply_to_bad_news", "silence"]


def test_mono_call_is_one_mixed_speaker_with_silence(samples: Path, model_dir: Path, tmp_path: Path) -> None:
    mono = tmp_path / "mono.flac"
    subprocess.run(["sox", str(samples / "bereavement_cold.wav"), "-c", "1", str(mono)], check=True)
    lines, proc = analyze(mono, model_dir=model_dir)
    assert proc.returncode == 0, proc.stderr
    assert {line["speaker"] for line in lines if line["type"] == "transcript"} == {"mixed"}
    assert [a.kind for a in alerts(lines)] == ["silence"]


def test_swapped_channels_setting(samples: Path, model_dir: Path) -> None:
    lines, proc = analyze(samples / "bereavement_cold.wav", "--agent-channel", "right", model_dir=model_dir)
    assert proc.returncode == 0, proc.stderr
    # With the roles swapped the "customer" never shares news, so there is no cold reply to find.
    assert "cold_reply_to_bad_news" not in [a.kind for a in alerts(lines)]
