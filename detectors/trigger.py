"""Whether a phrase found in a final line was heard well enough to raise a coach moment on.

Owns the guard the keyword-triggered detectors share (bad news, frustration). Their tables match regular
expressions against a line's text; Vosk gives every word of a final a confidence (0-1). A match is
only a trigger when

* every word of it longer than ``short_letters`` letters was heard with at least ``min_confidence``
  (the short ones are articles and pronouns, Vosk's commonest slips): a word Vosk doubts more than that
  ("passed" at 0.41 for a mumble) is not news (a lower bar than for the words around it: the evaluation
  calls' true news is often heard at 0.5-0.7, "my father died" with "died" at 0.60);
* it sits in a plausible sentence: among the ``context_words`` words either side of it, fewer than half
  (and fewer than two) are fragments, that is letters ("s i n g e r"), their usual hearings ("eyes",
  "are") or short words (``short_letters`` letters at most) heard with less than ``doubtful_below``: a
  spelled letter is heard as a short doubtful word ("by" 0.52, "he" 0.62), while a doubtful long word is
  ordinary noise in a sentence ("a few funeral" at 0.44-0.56 for "the funeral"). A customer spelling her
  name ("okay eyes by injury he are") is a run of fragments, whatever single word of it Vosk was sure of;
* when the table asks for it (bad news does), it is no lone keyword: the words (the trigger's own
  included) hold at least two heard clearly that are neither letters nor fillers, a subject and what
  happened ("my uncle just passed"), so a final of one keyword ("okay injury", "funeral" out of line
  noise) is no news. A pronoun is not required: Vosk drops
  them ("I was assaulted last week" came out as "one assaulted last week").

The numbers and word lists are data, in each detector's TOML file (``[guard]``). A trigger's confidence is
the lowest of those words' confidences: a phrase is only as sure as its least sure word, and a mean would let
one misheard word hide among sure ones, which is exactly the word that makes a false alert. Sans-I/O: words
in, a confidence or None out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from callcoach.detectors.table_file import TableFile
from callcoach.detectors.text import normalise
from callcoach.live.events import Transcript, Word

T = TypeVar("T")
# One odd word beside a trigger is ordinary ASR noise; a run needs at least this many fragments.
_MIN_RUN = 2
# A sentence, not a lone keyword: a subject and what happened to it, at the least.
_MIN_SAID = 2


@dataclass(frozen=True)
class Heard(Generic[T]):
    """What a table recognised in some words, and the confidence of the trigger that raised it."""

    kind: T
    confidence: float


@dataclass(frozen=True)
class Guard:
    """When a phrase match counts (see the module docstring); read from a table's ``[guard]``."""

    min_confidence: float = 0.0
    doubtful_below: float = 0.0
    short_letters: int = 3
    context_words: int = 3
    fragment_share: float = 0.5
    letters: frozenset[str] = frozenset()
    needs_company: bool = False  # two words at least that are neither fragments nor fillers
    fillers: frozenset[str] = frozenset()

    def confidence(
        self, words: Sequence[Word], pattern: re.Pattern[str], ignore: re.Pattern[str]
    ) -> float | None:
        """The confidence of the first match of ``pattern`` in ``words`` that counts as a trigger (after
        blanking out the ``ignore`` look-alikes); None when no match counts."""
        text, owner = spoken(words)
        # Blanked to the same length, so that character offsets still find their words; a "|" is no word
        # character, so no phrase matches across a blanked look-alike.
        blanked = ignore.sub(lambda m: "|" * len(m.group(0)), text)
        for match in pattern.finditer(blanked):
            first, last = owner[match.start()], owner[match.end() - 1]
            lowest = min(w.confidence for w in self._content(words[first : last + 1]))
            plausible = lowest >= self.min_confidence and self._plausible(words, first, last)
            if plausible and (not self.needs_company or self._company(words)):
                return round(lowest, 3)
        return None

    def _content(self, trigger: Sequence[Word]) -> Sequence[Word]:
        """The words of a trigger that carry it: those longer than ``short_letters`` (all of them when
        none is). Vosk's commonest slips are short function words ("speak to her manager" for "a
        manager", "her" at 0.34), which change nothing a coach would act on."""
        return [w for w in trigger if len(normalise(w.text)) > self.short_letters] or trigger

    def _fragment(self, word: Word) -> bool:
        token = normalise(word.text)
        doubtful = word.confidence < self.doubtful_below and len(token) <= self.short_letters
        return doubtful or token in self.letters

    def _company(self, words: Sequence[Word]) -> bool:
        """Two words at least (the trigger's own count) that are heard clearly, no letter and no filler."""
        said = [w for w in words if not self._fragment(w) and normalise(w.text) not in self.fillers]
        return len(said) >= _MIN_SAID

    def _plausible(self, words: Sequence[Word], first: int, last: int) -> bool:
        """Whether the trigger ``words[first..last]`` sits in a sentence rather than a run of fragments."""
        around = [
            *words[max(0, first - self.context_words) : first],
            *words[last + 1 : last + 1 + self.context_words],
        ]
        fragments = sum(1 for w in around if self._fragment(w))
        return fragments < max(_MIN_RUN, math.ceil(self.fragment_share * len(around)))


def spoken(words: Sequence[Word]) -> tuple[str, list[int]]:
    """The words' normalised text (as :func:`~callcoach.detectors.text.normalise` makes it) and, for each
    of its characters, the index of the word it came from (a joining space belongs to the word before)."""
    parts: list[str] = []
    owner: list[int] = []
    for i, word in enumerate(words):
        token = normalise(word.text)
        if not token:
            continue  # punctuation only: no word to match
        if parts:
            parts.append(" ")
            owner.append(owner[-1])
        parts.append(token)
        owner += [i] * len(token)
    return "".join(parts), owner


def words_of(line: Transcript) -> tuple[Word, ...]:
    """A final's words; a line without word times (text only) counts as heard with full confidence."""
    if line.words:
        return line.words
    return tuple(Word(token, line.start_s, line.end_s) for token in line.text.split())


def load_guard(file: TableFile, data: Mapping[str, Any]) -> Guard:
    """The ``[guard]`` table of a detector's TOML file; absent, a guard that lets every match through."""
    entry = file.table(data, "guard")
    if not entry:
        return Guard()
    needs_company = entry.get("needs_company", False)
    if not isinstance(needs_company, bool):
        raise file.error("guard", "'needs_company' must be true or false")
    return Guard(
        min_confidence=_number(file, entry, "min_confidence", 0.0, 1.0),
        doubtful_below=_number(file, entry, "doubtful_below", 0.0, 1.0),
        short_letters=int(_number(file, entry, "short_letters", 0, 20, whole=True)),
        context_words=int(_number(file, entry, "context_words", 0, 20, whole=True)),
        fragment_share=_number(file, entry, "fragment_share", 0.0, 1.0),
        letters=frozenset(normalise(w) for w in file.strings(entry, "letters", "guard")),
        needs_company=needs_company,
        fillers=frozenset(normalise(w) for w in file.strings(entry, "fillers", "guard")),
    )


def _number(
    file: TableFile, entry: Mapping[str, Any], key: str, low: float, high: float, whole: bool = False
) -> float:
    value = entry.get(key)
    kinds = (int,) if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
        what = "a whole number" if whole else "a number"
        raise file.error("guard", f"needs {what} {key!r} from {low:g} to {high:g}")
    return float(value)
