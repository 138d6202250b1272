"""The ownership phrase table: loading ``ownership.toml`` and answering questions about an agent line.

Owns the data side of the ownership detector: whether a line commits the agent to act personally
("I'll take care of this"), and whether it says when ("by four", "tomorrow"). The frustration detector
asks the wider question of a reply to an upset customer: whether it takes the problem on at all, which an
offer ("let me sort this out for you") also does. The table is read once at import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from callcoach.detectors.table_file import TableFile
from callcoach.detectors.text import PhraseSet, compile_phrases, normalise

FILE = TableFile("ownership.toml")


@dataclass(frozen=True)
class OwnershipTable:
    commitment: PhraseSet
    offer: PhraseSet
    when: re.Pattern[str]

    def commits(self, text: str) -> str | None:
        """The words of ``text`` that commit the agent to act personally, or None."""
        return self.commitment.search(text)

    def takes_on(self, text: str) -> bool:
        """Whether ``text`` takes the problem on: a commitment, or an offer ("let me fix that")."""
        return self.commits(text) is not None or self.offer.search(text) is not None

    def says_when(self, text: str) -> bool:
        """Whether ``text`` says when it will happen ("by four", "tomorrow", "right now")."""
        return self.when.search(normalise(text)) is not None


def load_table(source: str | None = None) -> OwnershipTable:
    """Parse the table from TOML text, or from the packaged data file when ``source`` is None.

    Raises ValueError naming the malformed entry, so a bad edit fails at import, loudly.
    """
    data = FILE.load(source)
    terms = FILE.terms(data)
    ownership = FILE.table(data, "ownership")
    patterns = FILE.strings(ownership, "patterns", "ownership")
    if not patterns:
        raise FILE.error("ownership", "needs at least one pattern")
    ignore = FILE.strings(ownership, "ignore", "ownership")
    return OwnershipTable(
        commitment=PhraseSet.build(patterns, ignore, terms),
        # The same look-alikes: "let me put you through to the team who can sort it" offers nothing.
        offer=PhraseSet.build(FILE.strings(FILE.table(data, "offer"), "patterns", "offer"), ignore, terms),
        when=compile_phrases(FILE.strings(FILE.table(data, "when"), "patterns", "when"), terms),
    )


TABLE = load_table()
