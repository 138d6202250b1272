"""Text normalisation, phrase matching and the bad-news table's loading and wording."""

from __future__ import annotations

import pytest

from callcoach.detectors.alerts import AlertIds, clock
from callcoach.detectors.bad_news_table import TABLE, load_table
from callcoach.detectors.text import PhraseSet, normalise


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("I'm SO sorry.", "im so sorry"),
        ("i\u2019m sorry", "im sorry"),
        ("  well,   if you can -- get them ", "well if you can get them"),
        ("", ""),
    ],
)
def test_normalise(raw: str, normal: str) -> None:
    assert normalise(raw) == normal


def test_phrases_match_whole_words_and_skip_ignored_look_alikes() -> None:
    phrases = PhraseSet.build(
        ["{thing} died", "can't imagine"], ignore=["phone died"], terms={"thing": "phone|dog"}
    )
    assert phrases.search("our dog died") == "dog died"
    assert phrases.search("my phone died") is None
    assert "i cant imagine" in phrases and "I can't imagine!" in phrases
    assert "scant imagines" not in phrases


def test_the_packaged_table_loads() -> None:
    names = [c.name for c in TABLE.categories]
    assert names[0] == "bereavement"  # most serious first: a death outranks whatever else the line holds
    assert {"terminal", "newborn", "addiction", "crime", "illness", "hospital"} <= set(names)
    assert all(c.label and c.acknowledge and c.otherwise for c in TABLE.categories)


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (
            ["we need the paperwork", "and the docs"],
            "Oh no, I'm so sorry to hear that. The paperwork can wait.",
        ),
        (["hello"], "Oh no, I'm so sorry to hear that. Please take all the time you need."),
    ],
)
def test_suggestion_names_the_pending_thing(texts: list[str], expected: str) -> None:
    assert TABLE.suggestion(TABLE.categories[0], texts) == expected


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("[categories.x]\nacknowledge = 'a'\notherwise = 'b'\npatterns = []", "'label'"),
        ("[terms]\n[categories.x]\nlabel='l'\nacknowledge='a'\notherwise='b'\npatterns=['{nope}']", "{nope}"),
        ("[bad_news]\n", "at least one category"),
    ],
)
def test_a_broken_table_fails_loudly(source: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_table(source)


def test_ids_and_clock() -> None:
    ids = AlertIds()
    assert [ids.next("a"), ids.next("b"), ids.next("a")] == ["a-1", "b-1", "a-2"]
    assert (clock(0.0), clock(75.9), clock(3725.0)) == ("00:00", "01:15", "62:05")
