"""The bad-news phrase table: loading ``bad_news.toml`` and answering questions about a line of text.

Owns the data side of the bad-news detector: which category of bad news a customer line carries, whether
an agent line acknowledges it, what pending thing (documents, a payment...) the call is about, and the
suggested reply built from those. The detector itself (``bad_news.py``) only decides *when* to judge.
The table is read once at import from the packaged TOML file; the file's header documents its shape.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from callcoach.detectors.text import PhraseSet, compile_phrases, earliest, normalise

DATA_FILE = "bad_news.toml"


@dataclass(frozen=True)
class Category:
    """One kind of bad news and how a warm reply to it opens."""

    name: str
    label: str  # as a coach says it: "a death in the family"
    acknowledge: str  # the reply's first sentence: "Oh no, I'm so sorry to hear that."
    otherwise: str  # the second sentence when no pending thing is mentioned
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class BadNewsTable:
    categories: tuple[Category, ...]
    ignore: re.Pattern[str]
    acknowledgement: PhraseSet
    apology_but: re.Pattern[str]
    pending: tuple[tuple[re.Pattern[str], str], ...]

    def classify(self, text: str) -> Category | None:
        """The first category (in file order, most serious first) whose patterns match ``text``."""
        cleaned = self.ignore.sub(" | ", normalise(text))
        return next((c for c in self.categories if c.pattern.search(cleaned)), None)

    def acknowledges(self, text: str) -> bool:
        """Whether ``text`` acknowledges someone's bad news ("oh no", "so sorry", "take your time"...)."""
        return text in self.acknowledgement

    def apology_then_business(self, text: str) -> bool:
        """Whether ``text`` apologises and turns to business in one breath ("sorry, but I'll need...")."""
        return self.apology_but.search(normalise(text)) is not None

    def pending_thing(self, texts: Iterable[str]) -> str | None:
        """The first pending thing ("the documents") mentioned in ``texts``, searched in order."""
        for text in texts:
            thing = earliest(text, self.pending)
            if thing is not None:
                return thing
        return None

    def suggestion(self, category: Category, texts: Iterable[str]) -> str:
        """A reply that acknowledges first, then lifts the pressure: "... The documents can wait."."""
        thing = self.pending_thing(texts)
        follow_up = f"{thing[:1].upper()}{thing[1:]} can wait." if thing else category.otherwise
        return f"{category.acknowledge} {follow_up}"


def load_table(source: str | None = None) -> BadNewsTable:
    """Parse the table from TOML text, or from the packaged data file when ``source`` is None.

    Raises ValueError naming the missing or malformed entry, so a bad edit fails at import, loudly.
    """
    if source is None:
        source = resources.files("callcoach.detectors").joinpath(DATA_FILE).read_text(encoding="utf-8")
    data = tomllib.loads(source)
    terms = {name: str(value) for name, value in _table(data, "terms").items()}
    bad_news = _table(data, "bad_news")
    ack = _table(data, "acknowledgement")
    apology_but = _strings(ack, "apology_but")
    return BadNewsTable(
        categories=tuple(_category(name, _as_table(entry, name), terms) for name, entry in _categories(data)),
        ignore=compile_phrases(_strings(bad_news, "ignore"), terms),
        # "Sorry, but..." is blanked out before looking for an acknowledgement: it does not count as one.
        acknowledgement=PhraseSet.build(
            _strings(ack, "patterns"), _strings(ack, "ignore") + apology_but, terms
        ),
        apology_but=compile_phrases(apology_but, terms),
        pending=tuple(_pending(entry, terms) for entry in data.get("pending", [])),
    )


def _categories(data: Mapping[str, Any]) -> list[tuple[str, Any]]:
    categories = _table(data, "categories")
    if not categories:
        raise ValueError(f"{DATA_FILE}: [categories] must define at least one category")
    return list(categories.items())


def _category(name: str, entry: Mapping[str, Any], terms: Mapping[str, str]) -> Category:
    where = f"categories.{name}"
    return Category(
        name=name,
        label=_string(entry, "label", where),
        acknowledge=_string(entry, "acknowledge", where),
        otherwise=_string(entry, "otherwise", where),
        pattern=compile_phrases(_strings(entry, "patterns", where), terms),
    )


def _pending(entry: Any, terms: Mapping[str, str]) -> tuple[re.Pattern[str], str]:
    table = _as_table(entry, "pending")
    return compile_phrases([_string(table, "pattern", "pending")], terms), _string(table, "say", "pending")


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


def _strings(entry: Mapping[str, Any], key: str, where: str = "") -> list[str]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{DATA_FILE}: [{where or key}] {key!r} must be a list of strings")
    return list(value)


TABLE = load_table()
