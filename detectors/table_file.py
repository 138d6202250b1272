"""Reading a detector's packaged phrase-table TOML file, and the checks every such table makes.

Owns the loading code the word tables (``bad_news_table.py``, ``frustration_table.py``,
``ownership_table.py``) share: reading the packaged file or the TOML text a test passes in, the
``[terms]`` table, and checking that an entry is a table, a non-empty string or a list of strings.
Every error is a ValueError that names the file and the entry, so a bad edit fails at import, loudly,
and says where to look. What each table *means* stays in its own module.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class TableFile:
    """One TOML data file packaged under ``callcoach.detectors``, named in every error it raises."""

    name: str  # "bad_news.toml"

    def load(self, source: str | None = None) -> Mapping[str, Any]:
        """Parse ``source``, or the packaged file when it is None."""
        if source is None:
            source = resources.files("callcoach.detectors").joinpath(self.name).read_text(encoding="utf-8")
        try:
            return tomllib.loads(source)
        except tomllib.TOMLDecodeError as exc:
            # Without the file's name a syntax error at import would not say which table to fix.
            raise ValueError(f"{self.name}: not valid TOML: {exc}") from exc

    def error(self, where: str, problem: str) -> ValueError:
        """The error for entry ``[where]``: "bad_news.toml: [categories] must define ..."."""
        return ValueError(f"{self.name}: [{where}] {problem}")

    def terms(self, data: Mapping[str, Any]) -> dict[str, str]:
        """The ``[terms]`` table: named alternatives that patterns refer to as ``{name}``."""
        return {name: str(value) for name, value in self.table(data, "terms").items()}

    def table(self, data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        """The table ``[key]`` of ``data``; empty when absent."""
        return self.as_table(data.get(key, {}), key)

    def as_table(self, value: Any, where: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.error(where, "must be a table")
        return value

    def string(self, entry: Mapping[str, Any], key: str, where: str) -> str:
        value = entry.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.error(where, f"needs a non-empty string {key!r}")
        return value

    def strings(self, entry: Mapping[str, Any], key: str, where: str) -> list[str]:
        """The list of strings ``key`` of ``entry``; empty when absent."""
        value = entry.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(where, f"{key!r} must be a list of strings")
        return list(value)
