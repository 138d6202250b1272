"""Settings come from flags, then CALLCOACH_* environment, then defaults; bad values are named."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from callcoach.live.settings import SettingsError, add_arguments, from_sources


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser, "model_dir", "agent_channel", "silence_threshold_s", "frame_s", "port")
    return parser.parse_args(argv)


def test_flag_beats_environment_beats_default() -> None:
    env = {"CALLCOACH_MODEL": "/env/model", "CALLCOACH_SILENCE_S": "4", "CALLCOACH_PORT": "9000"}
    settings = from_sources(_args("--model", "/flag/model"), env)
    assert settings.model_dir == Path("/flag/model")
    assert settings.detectors.silence_threshold_s == 4.0
    assert settings.port == 9000
    assert settings.agent_channel == "left"


def test_defaults_without_flags_or_environment() -> None:
    settings = from_sources(None, {})
    assert settings.detectors.silence_threshold_s == 5.0
    assert settings.frame_s == 0.1


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"CALLCOACH_PORT": "eighty"}, "CALLCOACH_PORT"),
        ({"CALLCOACH_FRAME_S": "5"}, "frame length"),
        ({"CALLCOACH_REDACT": "maybe"}, "CALLCOACH_REDACT='maybe' is not 1 or 0"),
        ({"CALLCOACH_MAX_CALL_S": "0"}, "--max-call-s"),
        ({"CALLCOACH_RETENTION_DAYS": "0"}, "--retention-days 0"),
        ({"CALLCOACH_FOLLOW_UP_CALLS": "0"}, "--follow-up-calls 0"),
        ({"CALLCOACH_BUS": "http://127.0.0.1:6379"}, "is not a Redis address: give redis://HOST:PORT/DB"),
        ({"CALLCOACH_BUS": "redis://r:6379/0", "CALLCOACH_BUS_MAX_EVENTS": "10"}, "CALLCOACH_BUS_MAX_EVENTS"),
    ],
)
def test_bad_values_are_named(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        from_sources(None, env)


def test_limits_redaction_and_retention_defaults() -> None:
    settings = from_sources(None, {})
    assert (settings.max_call_s, settings.ingest_idle_s) == (4 * 3600.0, 30.0)
    assert settings.redact is True
    assert settings.retention_days is None


def test_no_redact_flag_and_environment() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser, "redact", "retention_days")
    assert from_sources(parser.parse_args(["--no-redact"]), {}).redact is False
    assert from_sources(parser.parse_args([]), {"CALLCOACH_REDACT": "0"}).redact is False
    assert from_sources(parser.parse_args([]), {"CALLCOACH_REDACT": "yes"}).redact is True
    assert from_sources(parser.parse_args(["--retention-days", "90"]), {}).retention_days == 90


def test_follow_up_calls_flag_and_environment() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser, "follow_up_calls")
    assert from_sources(parser.parse_args([]), {}).follow_up_calls == 3
    assert from_sources(parser.parse_args([]), {"CALLCOACH_FOLLOW_UP_CALLS": "5"}).follow_up_calls == 5
    flag = parser.parse_args(["--follow-up-calls", "2"])
    assert from_sources(flag, {"CALLCOACH_FOLLOW_UP_CALLS": "5"}).follow_up_calls == 2


def test_bus_flag_and_environment() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser, "bus")
    single = from_sources(parser.parse_args([]), {})
    assert (single.bus, single.bus_max_events, single.bus_expire_s) == ("", 200_000, 3600.0)
    assert (
        from_sources(parser.parse_args([]), {"CALLCOACH_BUS": "redis://r:6379/2"}).bus == "redis://r:6379/2"
    )
    flag = parser.parse_args(["--bus", "redis://10.0.0.5:6379/0"])
    assert from_sources(flag, {"CALLCOACH_BUS": "redis://r:6379/2"}).bus == "redis://10.0.0.5:6379/0"
