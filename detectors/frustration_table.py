"""The frustration phrase table: loading ``frustration.toml`` and answering questions about a line of text.

Owns the data side of the frustration detector: which kind of frustration a customer line shows (asking
for a manager, a threat to leave, having to call again, a long wait, a problem still not fixed, plain
anger), whether an agent line names the feeling, and the reply to suggest when it does not. The
detector (``frustration.py``) only decides *when* to judge. The table is read once at import.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from callcoach.detectors.text import PhraseSet, compile_phrases, normalise

DATA_FILE = "frustration.toml"


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
    if source is None:
        source = resources.files("callcoach.detectors").joinpath(DATA_FILE).read_text(encoding="utf-8")
    data = tomllib.loads(source)
    terms = {name: str(value) for name, value in _table(data, "terms").items()}
    kinds = _table(data, "kinds")
    if not kinds:
        raise ValueError(f"{DATA_FILE}: [kinds] must define at least one kind of frustration")
    ack = _table(data, "acknowledgement")
    return FrustrationTable(
        kinds=tuple(_kind(name, _as_table(entry, f"kinds.{name}"), terms) for name, entry in kinds.items()),
        ignore=compile_phrases(_strings(_table(data, "frustration"), "ignore", "frustration"), terms),
        acknowledgement=PhraseSet.build(
            _strings(ack, "patterns", "acknowledgement"), _strings(ack, "ignore", "acknowledgement"), terms
        ),
    )


def _kind(name: str, entry: Mapping[str, Any], terms: Mapping[str, str]) -> Frustration:
    where = f"kinds.{name}"
    return Frustration(
        name=name,
        label=_string(entry, "label", where),
        acknowledge=_string(entry, "acknowledge", where),
        take_on=_string(entry, "take_on", where),
        pattern=compile_phrases(_strings(entry, "patterns", where), terms),
    )


def _table(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    return _as_table(data.get(key, {}), key)


def _as_table(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{DATA_FILE}: [{where}] must be a table")
    return value


def _string(entry: Mapping[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{DATA_FILE}: [{where}] needs a non-empty string {key!r}")
    return value


def _strings(entry: Mapping[str, Any], key: str, where: str) -> list[str]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{DATA_FILE}: [{where}] {key!r} must be a list of strings")
    return list(value)


TABLE = load_table()
