"""The frustration and ownership phrase tables: they load, and a broken edit fails naming the entry."""

from __future__ import annotations

import pytest

from callcoach.detectors import frustration_table, ownership_table


def test_the_packaged_tables_load() -> None:
    names = [k.name for k in frustration_table.TABLE.kinds]
    assert names == ["manager", "threat", "repeat", "waiting", "unresolved", "anger"]  # most specific first
    assert all(k.label and k.acknowledge and k.take_on for k in frustration_table.TABLE.kinds)
    assert ownership_table.TABLE.commits("I'll take care of it")
    assert ownership_table.TABLE.says_when("by four o'clock")
    offer = "let me fix that for you"
    assert ownership_table.TABLE.takes_on(offer) and not ownership_table.TABLE.commits(offer)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("[kinds.x]\nlabel = 'l'\nacknowledge = 'a'\npatterns = []", "kinds.x.*'take_on'"),
        ("[kinds.x]\nlabel='l'\nacknowledge='a'\ntake_on='t'\npatterns=['{nope}']", "{nope}"),
        ("[frustration]\n", "at least one kind"),
        ("[kinds.x]\nlabel='l'\nacknowledge='a'\ntake_on='t'\npatterns='ridiculous'", "list of strings"),
    ],
)
def test_a_broken_frustration_table_fails_loudly(source: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        frustration_table.load_table(source)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("[ownership]\npatterns = []", "at least one pattern"),
        ("[ownership]\npatterns = ['{me} fix']", "{me}"),
        ("ownership = 3", r"\[ownership\] must be a table"),
    ],
)
def test_a_broken_ownership_table_fails_loudly(source: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ownership_table.load_table(source)
