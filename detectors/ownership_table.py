"""The ownership phrase table: loading ``ownership.toml`` and answering questions about an agent line.

Owns the data side of the ownership detector: whether a line commits the agent to act personally
("I'll take care of this"), and whether it says when ("by four", "tomorrow"). The frustration detector
asks the same question of a reply to an upset customer. The table is read once at import.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from callcoach.detectors.text import PhraseSet, compile_phrases, normalise

DATA_FILE = "ownership.toml"


@dataclass(frozen=True)
class OwnershipTable:
    commitment: PhraseSet
    when: re.Pattern[str]

    def commits(self, text: str) -> str | None:
        """The words of ``text`` that commit the agent to act personally, or None."""
        return self.commitment.search(text)

    def says_when(self, text: str) -> bool:
        """Whether ``text`` says when it will happen ("by four", "tomorrow", "right now")."""
        return self.when.search(normalise(text)) is not None


def load_table(source: str | None = None) -> OwnershipTable:
    """Parse the table from TOML text, or from the packaged data file when ``source`` is None.

    Raises ValueError naming the malformed entry, so a bad edit fails at import, loudly.
    """
    if source is None:
        source = resources.files("callcoach.detectors").joinpath(DATA_FILE).read_text(encoding="utf-8")
    data = tomllib.loads(source)
    terms = {name: str(value) for name, value in _table(data, "terms").items()}
    ownership = _table(data, "ownership")
    patterns = _strings(ownership, "patterns", "ownership")
    if not patterns:
        raise ValueError(f"{DATA_FILE}: [ownership] needs at least one pattern")
    return OwnershipTable(
        commitment=PhraseSet.build(patterns, _strings(ownership, "ignore", "ownership"), terms),
        when=compile_phrases(_strings(_table(data, "when"), "patterns", "when"), terms),
    )


def _table(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise ValueError(f"{DATA_FILE}: [{key}] must be a table")
    return value


def _strings(entry: Mapping[str, Any], key: str, where: str) -> list[str]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{DATA_FILE}: [{where}] {key!r} must be a list of strings")
    return list(value)


TABLE = load_table()
