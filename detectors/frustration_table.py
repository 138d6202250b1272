"""The frustration phrase table: loading ``frustration.toml`` and answering questions about a line of text.

Owns the data side of the frustration detector: which kind of frustration a customer line shows (asking
for a manager, a threat to leave, having to call again, a long wait, a problem still not fixed, plain
anger), whether an agent line names the feeling, and the reply to suggest when it does not. The
detector (``frustration.py``) only decides *when* to judge. The table is read once at import.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from callcoach.detectors.table_file import TableFile
from callcoach.detectors.text import PhraseSet, compile_phrases, normalise
from callcoach.detectors.trigger import Guard, Heard, load_guard
from callcoach.live.events import Word

FILE = TableFile("frustration.toml")


@dataclass(frozen=True)
class Frustration:
    """One kind of frustration and the reply that meets it."""

    name: str
    label: str  # as a coach says it: "having to call again"
    acknowledge: str  # names the feeling: "I'm so sorry you've had to call about this again..."
    take_on: str  # takes the problem on: "Let me make sure it gets sorted this time."
    pattern: re.Pattern[str]

    @property
    def example(self) -> str:
        return f"{self.acknowledge} {self.take_on}"


@dataclass(frozen=True)
class FrustrationTable:
    kinds: tuple[Frustration, ...]
    ignore: re.Pattern[str]
    acknowledgement: PhraseSet
    guard: Guard = field(default_factory=Guard)

    def heard(self, words: Sequence[Word]) -> Heard[Frustration] | None:
        """The first kind (in file order) that ``words`` show as a trigger the guard accepts (heard
        clearly, in a plausible sentence), with its confidence."""
        for kind in self.kinds:
            confidence = self.guard.confidence(words, kind.pattern, self.ignore)
            if confidence is not None:
                return Heard(kind, confidence)
        return None

    def classify(self, text: str) -> Frustration | None:
        """The first kind (in file order, most specific first) whose patterns match ``text``."""
        cleaned = self.ignore.sub(" | ", normalise(text))
        return next((k for k in self.kinds if k.pattern.search(cleaned)), None)

    def acknowledges(self, text: str) -> bool:
        """Whether ``text`` names the customer's feeling ("I can hear how frustrating this has been")."""
        return text in self.acknowledgement


def load_table(source: str | None = None) -> FrustrationTable:
    """Parse the table from TOML text, or from the packaged data file when ``source`` is None.

    Raises ValueError naming the missing or malformed entry, so a bad edit fails at import, loudly.
    """
    data = FILE.load(source)
    terms = FILE.terms(data)
    kinds = FILE.table(data, "kinds")
    if not kinds:
        raise FILE.error("kinds", "must define at least one kind of frustration")
    ack = FILE.table(data, "acknowledgement")
    return FrustrationTable(
        kinds=tuple(_kind(name, entry, terms) for name, entry in kinds.items()),
        ignore=compile_phrases(FILE.strings(FILE.table(data, "frustration"), "ignore", "frustration"), terms),
        acknowledgement=PhraseSet.build(
            FILE.strings(ack, "patterns", "acknowledgement"),
            FILE.strings(ack, "ignore", "acknowledgement"),
            terms,
        ),
        guard=load_guard(FILE, data),
    )


def _kind(name: str, value: Any, terms: Mapping[str, str]) -> Frustration:
    where = f"kinds.{name}"
    entry = FILE.as_table(value, where)
    return Frustration(
        name=name,
        label=FILE.string(entry, "label", where),
        acknowledge=FILE.string(entry, "acknowledge", where),
        take_on=FILE.string(entry, "take_on", where),
        pattern=compile_phrases(FILE.strings(entry, "patterns", where), terms),
    )


TABLE = load_table()
