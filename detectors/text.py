"""Normalising ASR text and matching phrase patterns against it.

Vosk's small English model writes lowercase words without punctuation, but it is not consistent about
apostrophes ("im sorry" next to "i'm sorry") and the tests and other recognisers may hand us cased,
punctuated text. Everything is therefore brought to one form before matching: lowercase, apostrophes
dropped ("i'm" -> "im"), every other non-alphanumeric character turned into a space, runs of spaces
collapsed. Patterns are regular expressions written against that form; they match whole words only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_APOSTROPHES = re.compile(r"['\u2018\u2019\u02bc`]")
_NON_WORD = re.compile(r"[^a-z0-9]+")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
# The words of a number said aloud (digits are written as such); "oh" is left out: "oh no" is no number.
NUMBER_WORDS: tuple[str, ...] = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
    "thirty",
    "forty",
    "fifty",
    "sixty",
    "seventy",
    "eighty",
    "ninety",
    "hundred",
    "thousand",
    "million",
    "billion",
)
# Fillers and backchannels: a listener's "mhm" while the other speaker goes on is not a turn of their own.
BACKCHANNEL = frozenset(
    ("mhm", "mm", "hmm", "uh", "huh", "um", "ah", "ok", "okay", "yeah", "yes", "yep", "right", "sure")
)


def normalise(text: str) -> str:
    """The matching form of ``text``: lowercase words separated by single spaces, no apostrophes."""
    lowered = _APOSTROPHES.sub("", text.lower())
    return _NON_WORD.sub(" ", lowered).strip()


def words(text: str) -> list[str]:
    """The words of ``text`` in matching form."""
    return normalise(text).split()


def expand(pattern: str, terms: Mapping[str, str]) -> str:
    """``pattern`` with each ``{name}`` replaced by the alternation ``terms[name]``, in a group.

    Lets a data file say ``lost my {relative}`` once instead of repeating the list of relatives.
    """

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in terms:
            raise ValueError(f"pattern {pattern!r} uses {{{name}}} but no such term is defined")
        return f"(?:{terms[name]})"

    return _PLACEHOLDER.sub(substitute, pattern)


def compile_phrases(patterns: Iterable[str], terms: Mapping[str, str] | None = None) -> re.Pattern[str]:
    """One regex matching any of ``patterns`` as whole words of normalised text.

    Apostrophes are dropped from the patterns too, so a data file may say "can't imagine" and still
    match "cant imagine". An empty list compiles to a pattern that never matches.
    """
    parts = [_APOSTROPHES.sub("", expand(p, terms or {})) for p in patterns]
    if not parts:
        return re.compile(r"(?!)")
    alternation = "|".join(f"(?:{p})" for p in parts)
    return re.compile(rf"(?<![a-z0-9])(?:{alternation})(?![a-z0-9])")


@dataclass(frozen=True)
class PhraseSet:
    """Phrases to find, minus look-alikes to ignore ("my phone died" is not a bereavement).

    ``ignore`` spans are blanked out of the text before ``patterns`` are searched, which is simpler
    and easier to extend than writing a negative lookaround into every pattern.
    """

    patterns: re.Pattern[str]
    ignore: re.Pattern[str]

    @classmethod
    def build(
        cls, patterns: Iterable[str], ignore: Iterable[str] = (), terms: Mapping[str, str] | None = None
    ) -> PhraseSet:
        return cls(compile_phrases(patterns, terms), compile_phrases(ignore, terms))

    def search(self, text: str) -> str | None:
        """The first matching phrase in ``text`` (any form; it is normalised here), or None."""
        cleaned = self.ignore.sub(" | ", normalise(text))
        match = self.patterns.search(cleaned)
        return match.group(0) if match else None

    def __contains__(self, text: object) -> bool:
        return isinstance(text, str) and self.search(text) is not None


def earliest(text: str, candidates: Iterable[tuple[re.Pattern[str], str]]) -> str | None:
    """Of the ``(pattern, value)`` pairs, the value whose pattern matches earliest in ``text``."""
    cleaned = normalise(text)
    best: tuple[int, str] | None = None
    for pattern, value in candidates:
        match = pattern.search(cleaned)
        if match and (best is None or match.start() < best[0]):
            best = (match.start(), value)
    return best[1] if best else None
