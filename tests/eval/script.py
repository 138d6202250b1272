"""The evaluation calls' scripts: parse ``tests/eval/calls/*.toml`` into typed calls and check them.

Owns the script format (documented in ``tests/eval/calls/README.md``) and everything that can be known
without synthesising a sound: which turns exist, what each truth moment and look-alike refers to, and that
every kind and rule name is one the scorer knows. A mistake in a script fails here, naming the file, the
call and the fix, never halfway through synthesis or scoring.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CALLS_DIR = HERE / "calls"
RULES_FILE = HERE / "rules.toml"

SPEAKERS = ("agent", "customer")
OUTPUTS = ("stereo", "mulaw8k", "mono")
# The kinds a call may hold. Silences are not written by hand: the generator finds every gap over 5 s.
KINDS = (
    "silence",
    "cold_reply_to_bad_news",
    "empathy_shown",
    "interruption",
    "monologue",
    "customer_frustration",
    "de_escalation",
    "ownership",
    "turned_around",
    "rule",
)
# A mono file is one mixed speaker: only what needs no speaker can be found in it.
MONO_KINDS = ("silence", "rule")
DEFAULT_PAUSE_S = 0.7


class ScriptError(ValueError):
    """A script that cannot be used; the message names the file, the call and what to change."""


@dataclass(frozen=True)
class Voice:
    voice: str  # espeak-ng voice, e.g. "en-us+m3"
    speed: int  # words per minute


@dataclass(frozen=True)
class Turn:
    id: str  # the name moments refer to; "t<index>" when the script gives none
    speaker: str
    text: str
    pause_s: float  # silence before it, after the latest speech so far (ignored with overlap_s)
    overlap_s: float | None  # starts this long before the previous turn ends
    cut_s: float | None  # the speaker is cut off this long after the turn starts


@dataclass(frozen=True)
class Span:
    """Where a moment is: from the start of turn ``first`` to the end of turn ``last``, or fixed seconds."""

    first: str | None = None
    last: str | None = None
    seconds: tuple[float, float] | None = None


@dataclass(frozen=True)
class Moment:
    kind: str
    rule: str | None
    span: Span
    note: str


@dataclass(frozen=True)
class Call:
    name: str
    source: Path
    about: str
    output: str
    lead_s: float
    tail_s: float
    voices: dict[str, Voice]
    turns: tuple[Turn, ...]
    moments: tuple[Moment, ...]
    lookalikes: tuple[Moment, ...]  # what it must NOT hold, where the words come close

    def turn(self, turn_id: str) -> Turn:
        return next(t for t in self.turns if t.id == turn_id)


def rule_speakers(path: Path = RULES_FILE) -> dict[str, str]:
    """Each coach-defined rule's name and whose words it listens to (agent, customer or any)."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {str(r["name"]): str(r.get("speaker", "any")) for r in data.get("rule", [])}


def load_calls(directory: Path = CALLS_DIR, rules: dict[str, str] | None = None) -> dict[str, Call]:
    """Every call of every script file, by name, checked."""
    known_rules = rule_speakers() if rules is None else rules
    calls: dict[str, Call] = {}
    for path in sorted(directory.glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        defaults = data.get("defaults", {})
        for raw in data.get("call", []):
            call = _parse_call(path, raw, defaults)
            if call.name in calls:
                raise ScriptError(
                    f"{path}: call {call.name!r} is also in {calls[call.name].source}; rename one"
                )
            _check(call, known_rules)
            calls[call.name] = call
    return calls


def _parse_call(path: Path, raw: dict[str, Any], defaults: dict[str, Any]) -> Call:
    name = str(raw.get("name", ""))
    where = f"{path.name}: call {name!r}"
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise ScriptError(f"{where}: give every call a name of [a-z0-9_]+")
    merged = {**defaults, **raw}
    voices = {}
    for who in SPEAKERS:
        v = merged.get(who)
        if not isinstance(v, dict):
            raise ScriptError(
                f'{where}: no voice for the {who}; add {who} = {{ voice = "en-us", speed = 150 }}'
            )
        voices[who] = Voice(str(v["voice"]), int(v["speed"]))
    turns = tuple(_parse_turn(where, i, t) for i, t in enumerate(raw.get("turns", [])))
    return Call(
        name=name,
        source=path,
        about=str(raw.get("about", "")),
        output=str(merged.get("output", "stereo")),
        lead_s=float(merged.get("lead_s", 0.5)),
        tail_s=float(merged.get("tail_s", 1.0)),
        voices=voices,
        turns=turns,
        moments=tuple(_parse_moment(where, m) for m in raw.get("moments", [])),
        lookalikes=tuple(_parse_moment(where, m) for m in raw.get("lookalikes", [])),
    )


def _parse_turn(where: str, index: int, raw: dict[str, Any]) -> Turn:
    speakers = [s for s in SPEAKERS if s in raw]
    if len(speakers) != 1:
        raise ScriptError(f'{where}: turn {index} needs exactly one of agent = "..." or customer = "..."')
    unknown = set(raw) - {"id", "pause_s", "overlap_s", "cut_s", *SPEAKERS}
    if unknown:
        raise ScriptError(f"{where}: turn {index} has unknown keys {sorted(unknown)}")
    return Turn(
        id=str(raw.get("id", f"t{index}")),
        speaker=speakers[0],
        text=str(raw[speakers[0]]),
        pause_s=float(raw.get("pause_s", DEFAULT_PAUSE_S if index else 0.0)),
        overlap_s=float(raw["overlap_s"]) if "overlap_s" in raw else None,
        cut_s=float(raw["cut_s"]) if "cut_s" in raw else None,
    )


def _parse_moment(where: str, raw: dict[str, Any]) -> Moment:
    kind = str(raw.get("kind", ""))
    if "turn" in raw:
        span = Span(str(raw["turn"]), str(raw["turn"]))
    elif "turns" in raw:
        first, last = raw["turns"]
        span = Span(str(first), str(last))
    elif "span_s" in raw:
        start, end = raw["span_s"]
        span = Span(seconds=(float(start), float(end)))
    else:
        raise ScriptError(
            f'{where}: the {kind} moment needs turn = "id", turns = ["a", "b"] or span_s = [s, e]'
        )
    rule = raw.get("rule")
    return Moment(kind, None if rule is None else str(rule), span, str(raw.get("note", "")))


def _check(call: Call, rules: dict[str, str]) -> None:
    where = f"{call.source.name}: call {call.name!r}"
    if call.output not in OUTPUTS:
        raise ScriptError(f"{where}: output {call.output!r}; use one of {OUTPUTS}")
    if not call.turns:
        raise ScriptError(f"{where}: has no turns")
    ids = [t.id for t in call.turns]
    if len(set(ids)) != len(ids):
        raise ScriptError(f"{where}: two turns share an id; make the ids unique")
    if call.turns[0].overlap_s is not None:
        raise ScriptError(f"{where}: the first turn cannot overlap a previous one")
    for moment in (*call.moments, *call.lookalikes):
        _check_moment(where, call, moment, rules)


def _check_moment(where: str, call: Call, moment: Moment, rules: dict[str, str]) -> None:
    if moment.kind not in KINDS:
        raise ScriptError(f"{where}: unknown kind {moment.kind!r}; use one of {KINDS}")
    if moment.kind == "silence" and moment in call.moments:
        raise ScriptError(
            f"{where}: silences are found by the generator from the pauses; write no silence moment"
        )
    if (moment.kind == "rule") != (moment.rule is not None):
        raise ScriptError(f"{where}: a rule moment names its rule (rule = ...) and only a rule moment does")
    if moment.rule is not None and moment.rule not in rules:
        raise ScriptError(f"{where}: no rule {moment.rule!r} in {RULES_FILE.name}; have {sorted(rules)}")
    needs_speaker = moment.kind not in MONO_KINDS or (moment.rule is not None and rules[moment.rule] != "any")
    if call.output == "mono" and moment in call.moments and needs_speaker:
        raise ScriptError(f"{where}: a mono call holds only silences and rules for speaker any")
    ids = [t.id for t in call.turns]
    for turn_id in (moment.span.first, moment.span.last):
        if turn_id is not None and turn_id not in ids:
            raise ScriptError(f"{where}: the {moment.kind} moment names turn {turn_id!r}; have {ids}")
    first, last = moment.span.first, moment.span.last
    if first is not None and last is not None and ids.index(first) > ids.index(last):
        raise ScriptError(f"{where}: the {moment.kind} moment's turns are in the wrong order")
