"""Finding personal numbers in a speaker's words: which runs of tokens are a card, a CVV, an expiry, an SSN.

Pure functions over :class:`Token` lists (a word and its times); :mod:`live.redaction` decides which
lines to look at together and what to do with what is found. Vosk writes numbers as lower-case words
("four five three two", "oh", "zero", "double seven", "triple one"); typed text may have digits
("4532 0151", "123-45-6789"). The rules:

* A **digit run** is consecutive digit words and digit strings ("double"/"triple" repeat the next digit,
  "dash" may sit between digits). 13–19 digits passing the Luhn check are a ``card`` (a run of 18+ whose
  first 15 or 16 digits pass is a card with its CVV or expiry said straight after); 9 digits shaped like an
  SSN are an ``ssn``; any other run of :data:`LONG_NUMBER_DIGITS` or more is a ``number`` (account,
  customer or ID numbers, a card misheard by one digit).
* **ASR noise.** The small model hears "two" as "to" and "three" as "free" inside digit runs, so such
  words count as digits there; and one misheard word between two runs of 3+ digits ("... one two made
  three zero ...") joins them (the joined run is then a ``number``: one digit is unknown).
* **After a card**, for :data:`CARD_CONTEXT_S`, the next two groups of numbers the same speaker says are
  its ``cvv`` and ``expiry``: any 3+ digits' worth, including tens, teens, months and "slash"
  ("oh nine twenty seven", "september twenty six"). Cue words just before ("security code",
  "expires") name which; else the shape does.
* Ordinary numbers stay: "two weeks", "one moment", "ten thirty", "three kids", "forty nine ninety nine".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from callcoach.live.events import RedactionKind

LONG_NUMBER_DIGITS = 6
CARD_CONTEXT_S = 30.0  # how long after a card its CVV and expiry are looked for
AFTER_CARD_GROUPS = 2  # the CVV and the expiry

DIGIT_WORDS = {
    "zero": "0",
    "oh": "0",
    "o": "0",
    "nought": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
# What Vosk writes for a digit it mishears; a digit only inside a run (see _trim_soft).
SOFT_DIGITS = {"to": "2", "too": "2", "for": "4", "free": "3", "won": "1", "ate": "8"}
MULTIPLIERS = {"double": 2, "triple": 3}
JOINERS = {"dash", "hyphen"}
TEENS = {"ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen"}
TEENS |= {"nineteen"}
TENS = {"twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"}
MONTHS = {"january", "february", "march", "april", "may", "june", "july", "august", "september"}
MONTHS |= {"october", "november", "december"}
CVV_CUES = {"cvv", "cvc", "cv", "security", "code", "back", "verification"}
EXPIRY_CUES = {"expiry", "expires", "expire", "expiration", "exp", "valid", "until", "thru", "through"}
EXPIRY_CUES |= {"date"}
# Words between two digit runs that mean two numbers, not one misheard digit.
_NO_BRIDGE = CVV_CUES | EXPIRY_CUES | {"and", "is", "the", "number", "my", "then", "or"}
_WRITTEN = re.compile(r"\d+(?:-\d+)*")
_SLASHED = re.compile(r"\d{1,2}/\d{2,4}")  # a written expiry, 09/27
# A run this long may be a card with its CVV or expiry straight after: 15 (Amex) or 16 digits, then 3+.
_CARD_THEN_MORE = ((16, 3), (15, 3))


@dataclass(frozen=True)
class Token:
    """One word of a line, with the times it was said (the line's times when Vosk gave none)."""

    text: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Span:
    """Tokens ``first``..``last`` (inclusive) of the list searched are personal data of ``kind``."""

    kind: RedactionKind
    first: int
    last: int


def clean(text: str) -> str:
    return text.lower().strip(",.;:!?\"'()")


def digits_of(text: str) -> str | None:
    """The digits a token stands for on its own ("seven", "4532", "123-45"), else None."""
    word = clean(text)
    if word in DIGIT_WORDS:
        return DIGIT_WORDS[word]
    return word.replace("-", "") if _WRITTEN.fullmatch(word) else None


def is_numberish(text: str) -> bool:
    """Could this word be part of a spoken number (a digit, "double", "twenty", a month, "slash")?"""
    word = clean(text)
    return digits_of(word) is not None or word in SOFT_DIGITS or word in MULTIPLIERS or _is_extended(word)


def _is_extended(word: str) -> bool:
    extended = word in TENS or word in TEENS or word in MONTHS or word in JOINERS or word == "slash"
    return extended or _SLASHED.fullmatch(word) is not None


def luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def is_ssn(digits: str) -> bool:
    """The SSA's shape: area not 000, 666 or 9xx; group not 00; serial not 0000."""
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


# --- digit runs ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Run:
    pieces: tuple[tuple[int, str], ...]  # (token index, the digits it adds; "?" for a misheard word)

    @property
    def digits(self) -> str:
        return "".join(d for _i, d in self.pieces)


def digit_runs(tokens: Sequence[Token]) -> list[_Run]:
    """Every run of digits, in order, with the misheard-word joins made."""
    runs: list[_Run] = []
    current: list[tuple[int, str]] = []
    i = 0
    while i <= len(tokens):
        step = _digit_step(tokens, i) if i < len(tokens) else None
        if step is None:
            if current:
                runs.append(_Run(tuple(_trim_soft(tokens, current))))
            current = []
            i += 1
            continue
        current += step
        i += len(step)
    return _bridge([r for r in runs if r.pieces], tokens)


def _digit_step(tokens: Sequence[Token], i: int) -> list[tuple[int, str]] | None:
    """The token(s) at ``i`` as part of a digit run: a digit, "double seven", a joiner between digits."""
    word = clean(tokens[i].text)
    if (digits := digits_of(word)) is not None:
        return [(i, digits)]
    if word in SOFT_DIGITS:
        return [(i, SOFT_DIGITS[word])]
    nxt = digits_of(tokens[i + 1].text) if i + 1 < len(tokens) else None
    if word in MULTIPLIERS and nxt is not None and len(nxt) == 1:
        return [(i, ""), (i + 1, nxt * MULTIPLIERS[word])]
    prev = digits_of(tokens[i - 1].text) if i > 0 else None
    if word in JOINERS and prev is not None and nxt is not None:
        return [(i, "")]
    return None


def _trim_soft(tokens: Sequence[Token], pieces: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Misheard-digit words count only inside a real digit run: with fewer than two real digits there is
    none ("for two weeks"), and they never end one ("... six six to confirm")."""
    real = sum(len(d) for i, d in pieces if clean(tokens[i].text) not in SOFT_DIGITS)
    if real < 2:
        return []
    while pieces and clean(tokens[pieces[-1][0]].text) in SOFT_DIGITS:
        pieces = pieces[:-1]
    return pieces


def _bridge(runs: list[_Run], tokens: Sequence[Token]) -> list[_Run]:
    """Join two runs of 3+ digits with one word between them that is no cue (a misheard digit)."""
    out: list[_Run] = []
    for run in runs:
        if out and _bridgeable(out[-1], run, tokens):
            gap = out[-1].pieces[-1][0] + 1
            out[-1] = _Run((*out[-1].pieces, (gap, "?"), *run.pieces))
        else:
            out.append(run)
    return out


def _bridgeable(left: _Run, right: _Run, tokens: Sequence[Token]) -> bool:
    gap = left.pieces[-1][0] + 1
    if right.pieces[0][0] != gap + 1 or len(left.digits) < 3 or len(right.digits) < 3:
        return False
    word = clean(tokens[gap].text)
    return word not in _NO_BRIDGE and not _is_extended(word)


def judge_run(run: _Run) -> list[tuple[RedactionKind, tuple[int, ...]]]:
    """What a digit run is: ``[(kind, its token indices), ...]``; empty for an ordinary number."""
    digits = run.digits
    tokens = tuple(i for i, _d in run.pieces)
    if "?" not in digits and 13 <= len(digits) <= 19 and luhn(digits):
        return [("card", tokens)]
    if "?" not in digits:
        for length, more in _CARD_THEN_MORE:
            split = _split_at(run, length) if len(digits) >= length + more else None
            if split is not None and luhn(digits[:length]):
                card, rest = split
                return [("card", tuple(i for i, _d in card.pieces)), *judge_run(rest)]
    if len(digits) == 9 and "?" not in digits:
        return [("ssn" if is_ssn(digits) else "number", tokens)]
    if len(digits) >= LONG_NUMBER_DIGITS:
        return [("number", tokens)]
    return []


def _split_at(run: _Run, n_digits: int) -> tuple[_Run, _Run] | None:
    """The run cut after its first ``n_digits`` digits, if that falls between two tokens."""
    count = 0
    for k, (_i, digits) in enumerate(run.pieces):
        count += len(digits)
        if count == n_digits:
            return _Run(run.pieces[: k + 1]), _Run(run.pieces[k + 1 :])
        if count > n_digits:
            return None
    return None


# --- after a card: its CVV and expiry --------------------------------------------------------------------


def number_groups(tokens: Sequence[Token], taken: set[int]) -> list[tuple[int, int]]:
    """Runs of number-ish tokens not already redacted, as ``(first, last)``, inclusive."""
    groups: list[tuple[int, int]] = []
    start: int | None = None
    for i, token in enumerate([*tokens, None]):
        inside = token is not None and i not in taken and is_numberish(token.text)
        if inside and start is None:
            start = i
        elif not inside and start is not None:
            groups.append((start, i - 1))
            start = None
    return groups


def weight(tokens: Sequence[Token]) -> tuple[int, int, bool]:
    """(digits' worth, of which not from misheard words, whether a month is named) of a group."""
    total = real = 0
    month = False
    for i, token in enumerate(tokens):
        word = clean(token.text)
        if (digits := digits_of(word)) is not None:
            total, real = total + len(digits), real + len(digits)
        elif word in SOFT_DIGITS:
            total += 1
        elif word in TENS or word in TEENS:
            total, real = total + 2, real + 2
        elif _SLASHED.fullmatch(word):
            total, real = total + len(word) - 1, real + len(word) - 1
        elif word in MULTIPLIERS and i + 1 < len(tokens):
            total += MULTIPLIERS[word] - 1
        month = month or word in MONTHS
    return total, real, month


def after_card_kind(group: Sequence[Token], before: Sequence[Token]) -> RedactionKind | None:
    """A group said soon after a card: its ``cvv``, its ``expiry``, or None for an ordinary number."""
    total, real, month = weight(group)
    if real < 1 or not (total >= 3 or (month and total >= 2)):
        return None
    cues = {clean(t.text) for t in before[-4:]}
    if cues & CVV_CUES:
        return "cvv"
    words = {clean(t.text) for t in group}
    slashed = any(_SLASHED.fullmatch(w) for w in words)
    if cues & EXPIRY_CUES or month or slashed or words & (TENS | TEENS | {"slash"}):
        return "expiry"
    digits = "".join(d for t in group if (d := digits_of(t.text) or SOFT_DIGITS.get(clean(t.text), "")))
    if len(digits) == 4 and 1 <= int(digits[:2]) <= 12:
        return "expiry"  # MMYY
    return "cvv"
