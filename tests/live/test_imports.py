"""The checks a recording passes on its way in (upload or ``callcoach import``) and where a good one goes:
not audio, empty, too long, too large, too many channels, a bad name or team, each refused with its code
and nothing of it kept; a good one kept under its team with a safe unique name and its sidecar."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from callcoach.live.imports import (
    Accepted,
    Refusal,
    SizeGuard,
    import_file,
    incoming_file,
    read_meta,
    safe_stem,
    sweep_incoming,
    take,
    uploads_dir,
)
from callcoach.live.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def tone(path: Path, seconds: float = 1.0, channels: int = 2, fmt: str = "WAV") -> Path:
    t = np.arange(round(seconds * 16000)) / 16000
    wave = np.sin(2 * np.pi * 440 * t) * 0.25  # floats: libsndfile 1.2's MP3 encoder garbles int16
    sf.write(path, np.repeat(wave[:, None], channels, axis=1), 16000, format=fmt)
    return path


def refused(outcome: Accepted | Refusal, code: str) -> Refusal:
    assert isinstance(outcome, Refusal), outcome
    assert outcome.code == code, outcome
    return outcome


def kept_files(settings: Settings) -> list[str]:
    root = uploads_dir(settings)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_a_good_call_is_kept_under_its_team_with_its_sidecar(tmp_path: Path, settings: Settings) -> None:
    outcome = import_file(tone(tmp_path / "Support call 1.wav"), "billing", "right", settings)
    assert isinstance(outcome, Accepted) and outcome.team == "billing" and outcome.duration_s == 1.0
    assert outcome.path == uploads_dir(settings) / "billing" / "Support-call-1.wav"
    meta = read_meta(outcome.path)
    assert meta is not None and meta.title == "Support call 1.wav" and meta.agent_channel == "right"
    assert meta.by == "callcoach import"
    assert kept_files(settings) == ["billing/Support-call-1.wav", "billing/Support-call-1.wav.json"]


def test_a_text_file_named_wav_is_refused_naming_the_file(tmp_path: Path, settings: Settings) -> None:
    fake = tmp_path / "call.wav"
    fake.write_text("this is not a recording\n")
    outcome = refused(import_file(fake, "billing", "", settings), "not_audio")
    assert outcome.message.startswith("call.wav is not audio")
    assert str(settings.data_dir) not in outcome.message  # the client's name, never the server's paths
    assert kept_files(settings) == []  # nothing kept, not even the incoming copy


def test_an_empty_file_is_refused(tmp_path: Path, settings: Settings) -> None:
    (tmp_path / "empty.wav").write_bytes(b"")
    refused(import_file(tmp_path / "empty.wav", "billing", "", settings), "empty_audio")
    sf.write(tmp_path / "silent.wav", np.zeros((0, 2), dtype=np.int16), 16000)  # a header, no samples
    refused(import_file(tmp_path / "silent.wav", "billing", "", settings), "empty_audio")
    assert kept_files(settings) == []


def test_a_call_longer_than_the_limit_is_refused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", upload_max_minutes=0.01)  # 0.6 s
    outcome = refused(import_file(tone(tmp_path / "long.wav", 1.0), "billing", "", settings), "too_long")
    assert "--upload-max-minutes" in outcome.message
    assert kept_files(settings) == []


def test_a_file_larger_than_the_limit_is_refused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", upload_max_mb=0.01)  # 10 KiB; a second is 64 kB
    outcome = refused(import_file(tone(tmp_path / "big.wav", 1.0), "billing", "", settings), "too_large")
    assert "--upload-max-mb" in outcome.message
    assert kept_files(settings) == []


def test_the_size_guard_refuses_from_the_first_byte_over() -> None:
    guard = SizeGuard(10)
    assert guard.add(6) and guard.add(4)
    assert not guard.add(1) and guard.seen == 11


def test_more_than_two_channels_is_refused(tmp_path: Path, settings: Settings) -> None:
    refused(import_file(tone(tmp_path / "x.wav", channels=3), "billing", "", settings), "too_many_channels")


def test_a_hostile_name_is_kept_as_a_safe_one_inside_its_team(tmp_path: Path, settings: Settings) -> None:
    names = [("../../etc/passwd.wav", "passwd"), ("C:\\calls\\a b.wav", "a-b"), ("...", "recording")]
    for name, stem in names:
        incoming = incoming_file(settings)
        tone(incoming.with_suffix(".tmp"))
        incoming.with_suffix(".tmp").rename(incoming)
        outcome = take(incoming, name, "billing", "", "ana", settings)
        assert isinstance(outcome, Accepted)
        assert outcome.path.parent == uploads_dir(settings) / "billing"
        assert outcome.path.name == f"{stem}.wav"
        meta = read_meta(outcome.path)
        assert meta is not None and "/" not in meta.title and "\\" not in meta.title
        assert not incoming.exists()
    assert safe_stem("x" * 200 + ".wav") == "x" * 60 and safe_stem("ça va?.ogg") == "a-va"


def test_a_bad_team_or_channel_is_refused(tmp_path: Path, settings: Settings) -> None:
    for team in ("../etc", "a/b", "a\\b", "", ".hidden", "..", " north", "x" * 65, "a\nb"):
        refused(import_file(tone(tmp_path / "x.wav"), team, "", settings), "bad_team")
    refused(import_file(tone(tmp_path / "x.wav"), "billing", "middle", settings), "bad_channel")
    assert kept_files(settings) == []


def test_a_team_named_as_people_name_teams_is_its_folder(tmp_path: Path, settings: Settings) -> None:
    outcome = import_file(tone(tmp_path / "x.wav"), "Billing team 2", "", settings)
    assert isinstance(outcome, Accepted) and outcome.path.parent == uploads_dir(settings) / "Billing team 2"


def test_the_same_name_twice_gets_two_files(tmp_path: Path, settings: Settings) -> None:
    first = import_file(tone(tmp_path / "a.wav"), "billing", "", settings)
    second = import_file(tone(tmp_path / "a.wav"), "billing", "left", settings)
    assert isinstance(first, Accepted) and isinstance(second, Accepted)
    assert (first.path.name, second.path.name) == ("a.wav", "a-2.wav")
    assert json.loads((second.path.parent / "a-2.wav.json").read_text())["agent_channel"] == "left"


def test_the_kept_suffix_is_the_audio_s_not_the_client_s(tmp_path: Path, settings: Settings) -> None:
    flac = tone(tmp_path / "call.flac", fmt="FLAC").rename(tmp_path / "call.wav")  # FLAC named .wav
    outcome = import_file(flac, "billing", "", settings)
    assert isinstance(outcome, Accepted) and outcome.path.name == "call.flac"
    mp3 = tone(tmp_path / "call.mp3", fmt="MP3")  # libsndfile 1.1+ writes and reads MP3
    outcome = import_file(mp3, "billing", "", settings)
    assert isinstance(outcome, Accepted) and outcome.path.name == "call.mp3"


def test_what_a_stopped_upload_left_behind_is_swept_once_old(settings: Settings) -> None:
    import os
    import time

    old, new = incoming_file(settings), incoming_file(settings)
    old.write_bytes(b"half a file")
    new.write_bytes(b"being written")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert sweep_incoming(settings, time.time()) == 1
    assert not old.exists() and new.exists()


def test_the_limits_are_settings_with_flags_and_environment() -> None:
    import argparse

    from callcoach.live.settings import SettingsError, add_arguments, from_sources

    parser = argparse.ArgumentParser()
    add_arguments(parser, "upload_max_mb", "upload_max_minutes")
    env = {"CALLCOACH_UPLOAD_MAX_MB": "20", "CALLCOACH_UPLOAD_MAX_MINUTES": "90"}
    assert (
        from_sources(parser.parse_args([]), env).upload_max_mb,
        from_sources(None, env).upload_max_minutes,
    ) == (
        20.0,
        90.0,
    )
    flagged = from_sources(parser.parse_args(["--upload-max-mb", "5"]), env)
    assert (flagged.upload_max_mb, flagged.upload_max_minutes) == (5.0, 90.0)  # the flag wins
    with pytest.raises(SettingsError, match="--upload-max-mb"):
        from_sources(parser.parse_args(["--upload-max-minutes", "0"]), {})


def test_serve_takes_the_limits_as_flags(callcoach: Path) -> None:
    import subprocess

    usage = subprocess.run(
        [str(callcoach), "serve", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "--upload-max-mb" in usage and "--upload-max-minutes" in usage
