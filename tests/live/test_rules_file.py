"""The rules file: its reload decisions (the sans-I/O core), ``analyze --rules``, and a real ``callcoach
serve`` re-reading it while calls come in: a good edit applies to the calls that start after it, a broken
one keeps the old rules and is told in the server's output and, as a ``rules_invalid`` error, to the call
in progress and to the next call.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from callcoach.detectors.rules import parse_rules
from callcoach.live.rules_file import RulesReloader, Stamp, load_rules
from callcoach.live.settings import SettingsError
from tests.helpers.calls import Plan, Trace, place_calls
from tests.helpers.rules import patience, rule
from tests.helpers.server import Server, clean_env, get_calls, start_server, stop_server
from tests.helpers.synth import synthesise_call

PATIENCE = patience()
NOTHING_FIELDS: dict[str, object] = {
    "name": "nothing_i_can_do",
    "say": ["nothing i can do", "nothing we can do"],
    "title": "Told the customer there is nothing to be done",
    "why": "It closes the door on the customer.",
    "suggestion": "Say what you can do instead.",
}
NOTHING = rule(**NOTHING_FIELDS)
SIGN_OFF = rule(
    name="sign_off",
    say=["goodbye", "good bye", "bye now"],
    polarity="praise",
    title="Signed off politely",
    why="A clear goodbye ends the call on a good note.",
    suggestion="Keep closing calls this way.",
)
BROKEN = SIGN_OFF + rule(**{**NOTHING_FIELDS, "name": "second", "speaker": "caller"})
# A short call in which the agent thanks the customer for waiting, then says there is nothing to be done.
TURNS = [
    ("agent", "Thank you for calling Northwind, this is Sam.", 0.0),
    ("customer", "Hi Sam, I have been waiting on hold for an hour.", 0.6),
    ("agent", "Thank you for your patience. Unfortunately there is nothing I can do about the wait.", 0.8),
    ("customer", "Fine.", 0.6),
    ("agent", "Thanks for calling. Goodbye.", 0.8),
]


# --- the reload decision ---------------------------------------------------------------------------------


def stamp(mtime_ns: int, size: int = 10) -> Stamp:
    return Stamp(mtime_ns, size, 1)


def test_a_changed_file_is_read_once_it_holds_still_for_a_poll() -> None:
    reloader = RulesReloader(Path("rules.toml"), parse_rules(PATIENCE), stamp(1))
    assert not reloader.poll(stamp(1))  # unchanged
    assert not reloader.poll(stamp(2))  # changed: may be half written
    assert not reloader.poll(stamp(3, 20))  # still being written
    assert reloader.poll(stamp(3, 20))  # held still: read it
    assert reloader.read(stamp(3, 20), NOTHING) is None
    assert [r.name for r in reloader.rules.rules] == ["nothing_i_can_do"] and reloader.problem is None
    assert not reloader.poll(stamp(3, 20))  # read already


def test_a_broken_edit_keeps_the_rules_and_says_which_rule_and_why() -> None:
    reloader = RulesReloader(Path("rules.toml"), parse_rules(PATIENCE), stamp(1))
    error = reloader.read(stamp(2), BROKEN)
    assert error is not None and error.code == "rules_invalid" and not error.fatal
    assert "rule \"second\", speaker: 'caller' is not one of" in error.message
    assert "rules from before the edit stay in force" in error.message
    assert [r.name for r in reloader.rules.rules] == ["patience"]
    assert reloader.problem == error
    assert reloader.read(stamp(3), SIGN_OFF) is None and reloader.problem is None  # fixed: in force


def test_a_file_that_is_gone_keeps_the_rules() -> None:
    reloader = RulesReloader(Path("rules.toml"), parse_rules(PATIENCE), stamp(1))
    assert reloader.poll(None) is False and reloader.poll(None) is True
    error = reloader.read(None, None)
    assert error is not None and "gone" in error.message and "put it back" in error.message
    assert [r.name for r in reloader.rules.rules] == ["patience"]


def test_load_rules_at_start_missing_or_broken(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist: create it"):
        load_rules(tmp_path / "nope.toml")
    with pytest.raises(SettingsError, match="is a folder, not a file"):
        load_rules(tmp_path)
    broken = tmp_path / "rules.toml"
    broken.write_text(BROKEN)
    with pytest.raises(SettingsError, match=r'not usable: rule "second", speaker'):
        load_rules(broken)


# --- analyze ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def call(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthesise_call(tmp_path_factory.mktemp("rules-call") / "rules_call.wav", TURNS)


def analyze(callcoach: Path, model_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [str(callcoach), "analyze", *args, "--model", str(model_dir)]
    return subprocess.run(argv, capture_output=True, text=True, env=clean_env(), timeout=300)


def test_analyze_names_the_broken_rule(callcoach: Path, model_dir: Path, call: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(BROKEN)
    done = analyze(callcoach, model_dir, str(call), "--rules", str(rules))
    assert done.returncode == 2 and not done.stdout
    assert done.stderr.strip() == (
        f"callcoach: error: the rules file {rules} is not usable: rule \"second\", speaker: 'caller' is not "
        "one of 'agent', 'customer', 'any': use one of those"
    )
    done = analyze(callcoach, model_dir, str(call), "--rules", str(tmp_path / "none.toml"))
    assert done.returncode == 2 and "the rules file" in done.stderr and "does not exist" in done.stderr


@pytest.mark.vosk
def test_analyze_json_has_the_rule_alerts_at_their_moments(
    callcoach: Path, model_dir: Path, call: Path, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(PATIENCE + NOTHING)
    done = analyze(callcoach, model_dir, str(call), "--rules", str(rules), "--json")
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    alerts = {a["rule"]: a for a in events if a["type"] == "alert" and a["kind"] == "rule"}
    assert set(alerts) == {"patience", "nothing_i_can_do"}
    words = [w for e in events if e["type"] == "transcript" and e["final"] for w in e["words"]]
    for rule_name, first_word in (("patience", "thank"), ("nothing_i_can_do", "nothing")):
        alert = alerts[rule_name]
        said = [w for w in words if w["text"] == first_word and w["start_s"] == alert["start_s"]]
        assert said, (rule_name, alert)  # the alert starts at the phrase's first word
        assert alert["speaker"] == "agent" and alert["detected_s"] >= alert["end_s"] > alert["start_s"]
    assert alerts["patience"]["polarity"] == "praise" and alerts["nothing_i_can_do"]["polarity"] == "coach"


# --- serve: hot reload ------------------------------------------------------------------------------------


def rule_names(trace: Trace) -> set[str]:
    return {a["rule"] for a in trace.alerts("rule")}


def rules_errors(trace: Trace) -> list[dict[str, Any]]:
    return [e for e in trace.of_type("error") if e["code"] == "rules_invalid"]


def edit(path: Path, text: str) -> None:
    """A lead saving the file (a small write: no need to leave the event loop for it)."""
    path.write_text(text)


async def wait_output(server: Server, text: str, count: int = 1, timeout_s: float = 30) -> None:
    """Until the server's output says ``text`` ``count`` times (the watcher polls every second)."""
    deadline = time.monotonic() + timeout_s
    while server.output().count(text) < count:
        assert time.monotonic() < deadline, f"the server never said {text!r}:\n{server.output()}"
        await asyncio.sleep(0.1)


async def wait_live(server: Server) -> None:
    async with server.client() as http:
        async with asyncio.timeout(30):
            while True:
                if any(c["live"] for c in await get_calls(http, server)):
                    return
                await asyncio.sleep(0.05)


@pytest.fixture
def rules_path(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "rules.toml"
    path.write_text(PATIENCE)
    yield path


@pytest.mark.vosk
@pytest.mark.asyncio
async def test_serve_reloads_good_edits_and_keeps_the_rules_through_broken_ones(
    callcoach: Path, model_dir: Path, call: Path, rules_path: Path, tmp_path: Path
) -> None:
    server = await start_server(
        callcoach, model_dir, tmp_path / "data", env={"CALLCOACH_RULES": str(rules_path)}
    )
    try:
        (first,) = await place_calls(server, [Plan("twilio", call, speed=3.0)])
        assert rule_names(first) == {"patience"} and not rules_errors(first)

        edit(rules_path, SIGN_OFF)  # a good edit: calls from now on use it
        await wait_output(server, f"reloaded {rules_path}: 1 rule(s)")

        # A call in progress when the file breaks keeps its rules and is told.
        second_call = asyncio.create_task(place_calls(server, [Plan("twilio", call, speed=1.5)]))
        await wait_live(server)
        edit(rules_path, BROKEN)
        await wait_output(server, "is not usable")
        (second,) = await second_call
        assert rule_names(second) == {"sign_off"}, second.said("agent")
        (told,) = rules_errors(second)
        assert not told["fatal"] and told["at_s"] is not None and told["at_s"] > 0
        assert "rule \"second\", speaker: 'caller' is not one of" in told["message"]
        assert told["at_s"] < second.ended()["end_s"]  # told mid-call

        # A call that starts while the file is broken runs the last good rules and says why.
        (third,) = await place_calls(server, [Plan("twilio", call, speed=3.0)])
        assert rule_names(third) == {"sign_off"}
        assert [e["type"] for e in third.events[:2]] == ["call_started", "error"]
        assert third.events[1]["code"] == "rules_invalid" and third.events[1]["at_s"] == 0.0
        assert 'rule "second", speaker' in server.output()  # the log says which rule and why
    finally:
        await stop_server(server)


@pytest.mark.asyncio
async def test_serve_refuses_to_start_without_its_rules_file(
    callcoach: Path, model_dir: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "rules.toml"
    with pytest.raises(RuntimeError, match=r"exited with 2[\s\S]*the rules file .* does not exist"):
        await start_server(callcoach, model_dir, tmp_path / "data", env={"CALLCOACH_RULES": str(missing)})
