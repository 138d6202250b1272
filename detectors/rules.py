"""Coach-defined rules: the TOML a team lead writes, parsed and checked into :class:`Rule` values.

Owns the format (documented in the README, "Coach-defined rules", and shown in ``rules.example.toml``)
and its validation. Text in, a :class:`RuleSet` or a :class:`RulesError` out: no file is read here, so
the CLI, the server's watcher and the tests all hand it a string. Every problem found is reported at
once, each naming the rule (by name, else by position), the field and the fix, because a lead fixing a
file wants the whole list, not one complaint per save.

A phrase is matched against the normalised text of :mod:`detectors.text` (lowercase, no apostrophes or
punctuation), whole words only: ``*`` ends a word ("quality*" is "quality", "qualities"), ``[num]`` is
any number in digits or words ("24", "twenty four", "one hundred and five").
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

import regex

from callcoach.detectors.text import NUMBER_WORDS, normalise
from callcoach.live.events import Polarity

RuleSpeaker: TypeAlias = Literal["agent", "customer", "any"]
When: TypeAlias = Literal["said", "missing"]
SPEAKERS: tuple[RuleSpeaker, ...] = ("agent", "customer", "any")
WHENS: tuple[When, ...] = ("said", "missing")
POLARITIES: tuple[Polarity, ...] = ("coach", "praise")
REQUIRED = ("name", "speaker", "say", "when", "polarity", "title", "why", "suggestion")
OPTIONAL = ("within_s",)
_NAME = re.compile(r"[a-z0-9_]+")
# "oh" is left out on purpose: "oh no" is not a number. "and"/"point" join the parts of one number.
_NUMBER_PART = rf"(?:\d+|{'|'.join(NUMBER_WORDS)})"
NUMBER = rf"{_NUMBER_PART}(?: (?:and |point )?{_NUMBER_PART})*"


@dataclass(frozen=True)
class Rule:
    """One rule as the lead wrote it, with its phrases compiled into one whole-word pattern."""

    name: str
    speaker: RuleSpeaker
    say: tuple[str, ...]
    when: When
    polarity: Polarity
    title: str
    why: str
    suggestion: str
    within_s: tuple[float, float] | None = None  # None: the whole call
    pattern: regex.Pattern[str] = field(default=regex.compile(r"(?!)"), compare=False, repr=False)


@dataclass(frozen=True)
class RuleSet:
    """The rules of one file, in file order (the order their alerts of one instant come out in)."""

    rules: tuple[Rule, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.rules)


NO_RULES = RuleSet()


@dataclass(frozen=True)
class RuleProblem:
    """One thing wrong with the file: which rule, which field, and what to write instead."""

    rule: str  # 'rule "calm_down"', 'rule 3' or 'the file'
    field: str  # the key, or "" for the rule (or file) as a whole
    fix: str

    def __str__(self) -> str:
        where = f"{self.rule}, {self.field}" if self.field else self.rule
        return f"{where}: {self.fix}"


class RulesError(ValueError):
    """The rules cannot be used; ``message`` lists every problem. ``code`` is the ``Error`` event's code."""

    code = "rules_invalid"

    def __init__(self, problems: list[RuleProblem]) -> None:
        self.problems = tuple(problems)
        self.message = "; ".join(str(p) for p in problems)
        super().__init__(self.message)


def parse_rules(text: str) -> RuleSet:
    """The rules in ``text`` (TOML); raises :class:`RulesError` naming every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError([RuleProblem("the file", "", f"is not valid TOML ({exc}): fix that line")]) from None
    problems = [
        RuleProblem("the file", key, "is not part of the format: the file holds [[rule]] tables only")
        for key in data
        if key != "rule"
    ]
    entries = data.get("rule", [])
    if not isinstance(entries, list):
        entries = []
        problems.append(RuleProblem("the file", "rule", "must be written [[rule]] (a list of tables)"))
    rules: list[Rule] = []
    seen: set[str] = set()
    for position, entry in enumerate(entries, start=1):
        rule, found = _rule(entry, position)
        name = entry.get("name") if isinstance(entry, Mapping) else None
        if isinstance(name, str) and name in seen:
            found.append(
                RuleProblem(_label(entry, position), "name", "is used by an earlier rule: make it unique")
            )
        if isinstance(name, str):
            seen.add(name)
        problems += found
        if rule is not None and not found:
            rules.append(rule)
    if problems:
        raise RulesError(problems)
    return RuleSet(tuple(rules))


def _label(entry: Any, position: int) -> str:
    """How a problem names the rule: by its name when it has a usable one, else by its place in the file."""
    name = entry.get("name") if isinstance(entry, Mapping) else None
    if isinstance(name, str) and _NAME.fullmatch(name):
        return f'rule "{name}"'
    return f"rule {position} (the {_ordinal(position)} [[rule]])"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _rule(entry: Any, position: int) -> tuple[Rule | None, list[RuleProblem]]:
    """One [[rule]] table checked field by field; the rule (None if a field is unusable) and its problems."""
    label = _label(entry, position)
    if not isinstance(entry, Mapping):
        return None, [RuleProblem(label, "", "must be a table of keys under [[rule]]")]
    problems = [
        RuleProblem(label, key, f"is not a rule key: use {', '.join(REQUIRED + OPTIONAL)}")
        for key in entry
        if key not in REQUIRED + OPTIONAL
    ]
    problems += [
        RuleProblem(label, key, f"is missing: {_HINTS[key]}") for key in REQUIRED if key not in entry
    ]
    checks = {
        "name": _check_name,
        "speaker": lambda v: _check_choice(v, SPEAKERS),
        "when": lambda v: _check_choice(v, WHENS),
        "polarity": lambda v: _check_choice(v, POLARITIES),
        "title": _check_text,
        "why": _check_text,
        "suggestion": _check_text,
        "say": _check_say,
        "within_s": _check_window,
    }
    for key, check in checks.items():
        if key in entry and (fix := check(entry[key])):
            problems.append(RuleProblem(label, key, fix))
    if problems:
        return None, problems
    say = tuple(entry["say"])
    window = entry.get("within_s")
    return Rule(
        name=entry["name"],
        speaker=entry["speaker"],
        say=say,
        when=entry["when"],
        polarity=entry["polarity"],
        title=entry["title"].strip(),
        why=entry["why"].strip(),
        suggestion=entry["suggestion"].strip(),
        within_s=(float(window[0]), float(window[1])) if window is not None else None,
        pattern=compile_say(say, partial=entry["when"] == "missing"),
    ), []


_HINTS = {
    "name": 'add name = "a_short_name" (lowercase letters, digits, _)',
    "speaker": 'add speaker = "agent", "customer" or "any"',
    "say": 'add say = ["a phrase", "another phrase"]',
    "when": 'add when = "said" (alert when a phrase is said) or "missing" (when none is said)',
    "polarity": 'add polarity = "coach" or "praise"',
    "title": "add title = the card's heading",
    "why": "add why = why it matters, in a sentence",
    "suggestion": "add suggestion = what to say instead (for praise: what to keep doing)",
}


def _check_name(value: Any) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        return f"{value!r} is not a usable name: use lowercase letters, digits and _ only, e.g. calm_down"
    return ""


def _check_choice(value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        return f"{value!r} is not one of {', '.join(repr(c) for c in choices)}: use one of those"
    return ""


def _check_text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        return "must be a non-empty string"
    return ""


def _check_say(value: Any) -> str:
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        return 'must be a list of phrases in quotes, e.g. ["calm down", "relax"]'
    if not value:
        return 'is empty: list at least one phrase, e.g. ["calm down"]'
    for phrase in value:
        try:
            phrase_pattern(phrase)
        except ValueError as exc:
            return f"phrase {phrase!r} {exc}"
    return ""


def _check_window(value: Any) -> str:
    numbers = isinstance(value, list) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in value
    )
    if not numbers or len(value) != 2:
        return "must be two numbers of seconds into the call, [start, end], e.g. [0, 30]"
    start, end = value
    if start < 0:
        return f"starts at {start}, before the call: use a start of 0 or more"
    if end <= start:
        return f"ends at {end}, not after its start {start}: make the end the larger number"
    return ""


def compile_say(phrases: tuple[str, ...], partial: bool = False) -> regex.Pattern[str]:
    """One pattern matching any of ``phrases`` as whole words of normalised text.

    Compiled with the ``regex`` package for its fuzzy matching (see :func:`_fuzzy`). ``partial`` (for a
    "missing" rule, where a false alert says the agent failed to say what they said) also accepts most of a
    long phrase heard right: 3 of 5 words in a row, "... may be recorded" when the recogniser garbled "this
    call" into "disloyal".
    """
    parts = [_phrase_parts(p) for p in phrases]
    runs = [run for words in parts for run in (_runs(words) if partial else [words])]
    alternation = "|".join(f"(?:{' '.join(run)})" for run in runs)
    return regex.compile(rf"(?<![a-z0-9])(?:{alternation})(?![a-z0-9])")


def phrase_pattern(phrase: str) -> str:
    """The regular expression for one phrase; ValueError (worded to follow the phrase) when it is unusable."""
    return " ".join(_phrase_parts(phrase))


def _phrase_parts(phrase: str) -> list[str]:
    """One regular expression per word of ``phrase``."""
    tokens = phrase.split()
    if not tokens:
        raise ValueError("is empty: write the words to listen for")
    parts: list[str] = []
    for token in tokens:
        parts.extend(_token_pattern(token))
    return parts


# A partial match needs this share of a phrase's words, in a row, and at least 3 of them.
_PARTIAL_SHARE = 0.6
_PARTIAL_MIN_WORDS = 3


def _runs(words: list[str]) -> list[list[str]]:
    """The phrase, and every run of its words long enough to stand for it."""
    least = max(_PARTIAL_MIN_WORDS, math.ceil(_PARTIAL_SHARE * len(words)))
    if len(words) <= least:
        return [words]
    return [words[i : i + n] for n in range(len(words), least - 1, -1) for i in range(len(words) - n + 1)]


def _token_pattern(token: str) -> list[str]:
    if "[" in token or "]" in token:
        if token.lower() == "[num]":
            return [f"(?:{NUMBER})"]
        if token.count("[") != token.count("]"):
            raise ValueError(f"has unbalanced brackets in {token!r}: write [num] for any number")
        raise ValueError(f"has {token!r}: the only bracketed word is [num] (any number), between spaces")
    star = token.endswith("*")
    body = token[:-1] if star else token
    if "*" in body:
        raise ValueError(f"has a '*' inside {token!r}: '*' only ends a word, e.g. quality*")
    pieces = normalise(body).split()
    if not pieces:
        if star:
            raise ValueError("has a '*' on its own: '*' ends a word, e.g. quality*")
        raise ValueError(f"has {token!r}, which has no letters or digits: leave it out")
    if star and not body[-1:].isalnum():
        raise ValueError(f"has {token!r}: '*' must follow a letter or digit, e.g. quality*")
    *head, last = pieces
    return [*map(_fuzzy, head), _stem(last) if star else _fuzzy(last)]


def _fuzzy(word: str, bounded: bool = True) -> str:
    """A plain word, allowing a recogniser's near miss in a long one ("folding" for "holding", "rewarded"
    for "recorded"): one letter changed, added or dropped in a word of 5 letters or more, two from 8.
    Short words stay exact: "calm"/"come" or "can"/"can't" differ in a letter and mean something else."""
    edits = 2 if len(word) >= 8 else 1 if len(word) >= 5 else 0
    if not edits or not word.isalpha():
        return re.escape(word)
    fuzzy = f"(?:{word}){{e<={edits}:[a-z]}}"
    # A starred word's ending follows (``_stem``): only its start is held to the word boundary.
    return f"(?<![a-z0-9]){fuzzy}(?![a-z0-9])" if bounded else f"(?<![a-z0-9]){fuzzy}"


def _stem(word: str) -> str:
    """``word*``: the word with any ending, allowing English's spelling changes before one (a final "y"
    turns to "i", qualities; a final "e" drops before -ing and -able, charging)."""
    options = [f"{_fuzzy(word, bounded=False)}[a-z0-9]*"]
    if len(word) > 2 and word.endswith("y"):
        options.append(f"{re.escape(word[:-1])}i[a-z0-9]*")
    if len(word) > 2 and word.endswith("e"):
        options.append(f"{re.escape(word[:-1])}(?:ing|able)[a-z0-9]*")
    return f"(?:{'|'.join(options)})"
