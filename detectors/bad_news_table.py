"""The bad-news phrase table: loading ``bad_news.toml`` and answering questions about a line of text.

Owns the data side of the bad-news detector: which category of bad news a customer line carries, whether
an agent line acknowledges it, what pending thing (documents, a payment...) the call is about, and the
suggested reply built from those. The detector itself (``bad_news.py``) only decides *when* to judge.
The table is read once at import from the packaged TOML file; the file's header documents its shape.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from callcoach.detectors.table_file import TableFile
from callcoach.detectors.text import PhraseSet, compile_phrases, earliest, normalise
from callcoach.detectors.trigger import Guard, Heard, load_guard
from callcoach.live.events import Word

FILE = TableFile("bad_news.toml")


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
    guard: Guard = field(default_factory=Guard)

    def heard(self, words: Sequence[Word], skip: Collection[str] = ()) -> Heard[Category] | None:
        """The first category (in file order) that ``words`` carry as a trigger the guard accepts (heard
        clearly, in a plausible sentence, with a subject), with its confidence; leaving out ``skip``."""
        for category in self.categories:
            if category.name in skip:
                continue
            confidence = self.guard.confidence(words, category.pattern, self.ignore)
            if confidence is not None:
                return Heard(category, confidence)
        return None

    def classify(self, text: str, skip: Collection[str] = ()) -> Category | None:
        """The first category (in file order, most serious first) whose patterns match ``text``, leaving
        out the categories named in ``skip``."""
        return next((c for c in self.categories_in(text) if c.name not in skip), None)

    def categories_in(self, text: str) -> list[Category]:
        """Every category whose patterns match ``text``, in file order."""
        cleaned = self.ignore.sub(" | ", normalise(text))
        return [c for c in self.categories if c.pattern.search(cleaned)]

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
    data = FILE.load(source)
    terms = FILE.terms(data)
    bad_news = FILE.table(data, "bad_news")
    ack = FILE.table(data, "acknowledgement")
    apology_but = FILE.strings(ack, "apology_but", "acknowledgement")
    return BadNewsTable(
        categories=tuple(_category(name, entry, terms) for name, entry in _categories(data)),
        ignore=compile_phrases(FILE.strings(bad_news, "ignore", "bad_news"), terms),
        # "Sorry, but..." is blanked out before looking for an acknowledgement: it does not count as one.
        acknowledgement=PhraseSet.build(
            FILE.strings(ack, "patterns", "acknowledgement"),
            FILE.strings(ack, "ignore", "acknowledgement") + apology_but,
            terms,
        ),
        apology_but=compile_phrases(apology_but, terms),
        pending=tuple(_pending(entry, terms) for entry in data.get("pending", [])),
        guard=load_guard(FILE, data),
    )


def _categories(data: Mapping[str, Any]) -> list[tuple[str, Any]]:
    categories = FILE.table(data, "categories")
    if not categories:
        raise FILE.error("categories", "must define at least one category")
    return list(categories.items())


def _category(name: str, value: Any, terms: Mapping[str, str]) -> Category:
    where = f"categories.{name}"
    entry = FILE.as_table(value, where)
    return Category(
        name=name,
        label=FILE.string(entry, "label", where),
        acknowledge=FILE.string(entry, "acknowledge", where),
        otherwise=FILE.string(entry, "otherwise", where),
        pattern=compile_phrases(FILE.strings(entry, "patterns", where), terms),
    )


def _pending(value: Any, terms: Mapping[str, str]) -> tuple[re.Pattern[str], str]:
    entry = FILE.as_table(value, "pending")
    pattern = compile_phrases([FILE.string(entry, "pattern", "pending")], terms)
    return pattern, FILE.string(entry, "say", "pending")


TABLE = load_table()
