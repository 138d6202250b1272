"""The phrase tables' shared loading code: every error names the file and the entry to fix."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from callcoach.detectors import bad_news_table, frustration_table, ownership_table
from callcoach.detectors.table_file import TableFile

FILE = TableFile("example.toml")


def test_the_packaged_file_is_read_when_no_text_is_given() -> None:
    data = TableFile("ownership.toml").load()
    assert FILE.strings(FILE.table(data, "ownership"), "patterns", "ownership")


def test_entries_are_read_and_checked() -> None:
    data = FILE.load("[terms]\nme = 'I|we'\n[kinds.x]\nlabel = 'l'\npatterns = ['a', 'b']")
    assert FILE.terms(data) == {"me": "I|we"}
    entry = FILE.as_table(FILE.table(data, "kinds")["x"], "kinds.x")
    assert FILE.string(entry, "label", "kinds.x") == "l"
    assert FILE.strings(entry, "patterns", "kinds.x") == ["a", "b"]
    assert FILE.strings(entry, "ignore", "kinds.x") == []  # absent: none
    assert FILE.table(data, "when") == {}


@pytest.mark.parametrize(
    ("source", "read", "message"),
    [
        ("kinds = 3", lambda d: FILE.table(d, "kinds"), r"^example\.toml: \[kinds\] must be a table$"),
        (
            "[kinds.x]\nlabel = ' '",
            lambda d: FILE.string(d["kinds"]["x"], "label", "kinds.x"),
            r"^example\.toml: \[kinds\.x\] needs a non-empty string 'label'$",
        ),
        (
            "[kinds.x]\npatterns = ['a', 1]",
            lambda d: FILE.strings(d["kinds"]["x"], "patterns", "kinds.x"),
            r"^example\.toml: \[kinds\.x\] 'patterns' must be a list of strings$",
        ),
    ],
)
def test_a_bad_entry_is_named_with_its_file(
    source: str, read: Callable[[Mapping[str, Any]], object], message: str
) -> None:
    data = FILE.load(source)
    with pytest.raises(ValueError, match=message):
        read(data)


@pytest.mark.parametrize(
    ("load", "name"),
    [
        (bad_news_table.load_table, "bad_news.toml"),
        (frustration_table.load_table, "frustration.toml"),
        (ownership_table.load_table, "ownership.toml"),
    ],
)
def test_a_table_that_is_not_toml_names_its_file(load: Callable[[str], object], name: str) -> None:
    # tomllib's own message says only where in the text: the file it was in is what a user needs first.
    with pytest.raises(ValueError, match=rf"^{name}: not valid TOML: .*line 1"):
        load("[kinds.x\nlabel = 'l'")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("[categories]\nx = 3", r"\[categories\.x\] must be a table"),
        (
            "[categories.x]\nlabel = 'l'\nacknowledge = 'a'\notherwise = 'o'\n[acknowledgement]\n"
            "apology_but = 3",
            r"\[acknowledgement\] 'apology_but' must be a list of strings",
        ),
    ],
)
def test_bad_news_errors_name_the_whole_entry(source: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        bad_news_table.load_table(source)
