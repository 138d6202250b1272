"""Parsing and checking coach-defined rules: every problem names the rule, the field and the fix; phrases
match Vosk's normalised text with "*" word endings and "[num]" numbers."""

from __future__ import annotations

import pytest

from callcoach.detectors.rules import RulesError, parse_rules, phrase_pattern
from callcoach.detectors.text import normalise
from tests.helpers.rules import disclosure, rule


def problems(text: str) -> str:
    with pytest.raises(RulesError) as caught:
        parse_rules(text)
    assert caught.value.code == "rules_invalid"
    return caught.value.message


def test_a_good_file_gives_its_rules_in_order() -> None:
    rules = parse_rules(disclosure() + rule()).rules
    assert [r.name for r in rules] == ["recording_disclosure", "calm_down"]
    first = rules[0]
    assert (first.speaker, first.when, first.polarity) == ("agent", "missing", "coach")
    assert first.within_s == (0.0, 30.0)
    assert first.say == ("this call may be recorded", "recorded for quality*")
    assert rules[1].within_s is None


def test_an_empty_file_has_no_rules() -> None:
    assert not parse_rules("# nothing yet\n")


def test_toml_syntax_error_names_the_line() -> None:
    message = problems('[[rule]]\nname = "a"\nsay = ["x",\n')
    assert "not valid TOML" in message and "line" in message


def test_unknown_keys_in_a_rule_and_at_the_top() -> None:
    message = problems("[rules]\nx = 1\n" + rule(polarty="coach"))
    assert 'rule "calm_down", polarty: is not a rule key' in message
    assert "the file, rules: is not part of the format" in message


def test_missing_keys_say_what_to_add() -> None:
    message = problems(rule(why=None, say=None))
    assert 'rule "calm_down", why: is missing: add why =' in message
    assert 'rule "calm_down", say: is missing: add say = [' in message


@pytest.mark.parametrize("name", ["Calm Down", "calm-down", "", 3])
def test_bad_name_is_named_by_position(name: object) -> None:
    message = problems(rule() + rule(name=name))
    assert "rule 2 (the 2nd [[rule]]), name:" in message and "lowercase letters, digits and _" in message


def test_duplicate_name() -> None:
    message = problems(rule() + rule(when="missing"))
    assert 'rule "calm_down", name: is used by an earlier rule: make it unique' in message


@pytest.mark.parametrize(
    ("field", "value", "choices"),
    [
        ("speaker", "caller", "'agent', 'customer', 'any'"),
        ("when", "heard", "'said', 'missing'"),
        ("polarity", "good", "'coach', 'praise'"),
    ],
)
def test_bad_choices(field: str, value: str, choices: str) -> None:
    message = problems(rule(**{field: value}))
    assert f"rule \"calm_down\", {field}: '{value}' is not one of {choices}" in message


def test_empty_say_list() -> None:
    assert "say: is empty: list at least one phrase" in problems(rule(say=[]))


def test_say_must_be_a_list_of_strings() -> None:
    assert "say: must be a list of phrases" in problems(rule(say="calm down"))


@pytest.mark.parametrize(
    ("phrase", "fix"),
    [
        ("*ed", "'*' only ends a word"),
        ("qu*ality", "'*' only ends a word"),
        ("calm *", "'*' on its own"),
        ("pay [num", "unbalanced brackets"),
        ("pay num]", "unbalanced brackets"),
        ("hello [name]", "the only bracketed word is [num]"),
        ("  ", "is empty"),
    ],
)
def test_bad_phrases(phrase: str, fix: str) -> None:
    message = problems(rule(say=["calm down", phrase]))
    assert f'rule "calm_down", say: phrase {phrase!r}' in message and fix in message


@pytest.mark.parametrize(
    ("window", "fix"),
    [
        ([30], "must be two numbers"),
        ([0, "30"], "must be two numbers"),
        ([0, 30, 60], "must be two numbers"),
        ("[0, 30]", "must be two numbers"),
        ([30, 30], "not after its start"),
        ([40, 30], "not after its start"),
        ([-5, 30], "before the call"),
    ],
)
def test_bad_windows(window: object, fix: str) -> None:
    message = problems(rule(within_s=window))
    assert 'rule "calm_down", within_s:' in message and fix in message


def test_every_problem_is_reported_at_once() -> None:
    found = problems(rule(speaker="caller", polarity="good") + rule(name="x", say=[]))
    assert found.count("; ") == 2


def test_a_rule_that_is_not_a_table() -> None:
    assert "the file, rule: must be written [[rule]]" in problems('rule = "calm_down"\n')


# --- the matcher ---------------------------------------------------------------------------------------


def matches(phrase: str, text: str) -> bool:
    return parse_rules(rule(say=[phrase])).rules[0].pattern.search(normalise(text)) is not None


@pytest.mark.parametrize(
    ("phrase", "text", "hit"),
    [
        ("recorded for quality*", "this call is recorded for quality and training", True),
        ("recorded for quality*", "recorded for qualities", True),
        ("recorded for quality*", "recorded for quantity", False),
        ("apologi*", "i do apologise for that", True),
        ("apologi*", "my apologies", True),
        ("charge*", "we are charging you", True),
        ("charge*", "the charges", True),
        ("calm down", "just calm down please", True),
        ("calm down", "i am calmer downstairs", False),  # whole words only
        ("can't help", "I can't help you with that.", True),  # apostrophes and case as Vosk's text
        ("cant help", "i can't help", True),
        ("follow-up", "i will follow up tomorrow", True),
        ("[num] pounds", "it costs twenty four pounds", True),
        ("[num] pounds", "it costs 24 pounds", True),
        ("[num] pounds", "one hundred and five pounds", True),
        ("[num] pounds", "some pounds", False),
        ("call you back in [num] days", "ill call you back in three days", True),
        ("[num] days", "sixteen days", True),
        ("[num] days", "oh days", False),
        # The recogniser's near misses of a long word still count; short words stay exact.
        ("thank you for holding", "thank you for folding i found it", True),
        ("recorded for training", "calls are recorded for trading", True),
        ("recorded for training*", "calls are recorded for trading purposes", True),
        ("this call may be recorded", "this call may be rewarded for quality", True),
        ("thank you for holding", "thank you for", False),
        ("calm down", "come down to the branch", False),
        ("nothing i can do", "nothing i cant do", False),
        ("guarantee", "i guarantees", True),
        ("guarantee", "a warranty", False),
    ],
)
def test_phrase_matching(phrase: str, text: str, hit: bool) -> None:
    assert matches(phrase, text) is hit


def test_phrase_pattern_is_plain_words_for_short_plain_phrases() -> None:
    assert phrase_pattern("Calm  down!") == "calm down"


def test_a_missing_rule_accepts_most_of_a_long_phrase_heard_right() -> None:
    # "this call" garbled: a "missing" rule must not say the disclosure was left out.
    heard = normalise("good morning disloyal may be recorded my name is andrew")
    missing = parse_rules(rule(say=["this call may be recorded"], when="missing")).rules[0]
    said = parse_rules(rule(say=["this call may be recorded"], when="said")).rules[0]
    assert missing.pattern.search(heard) is not None
    assert said.pattern.search(heard) is None  # a "said" alert needs the whole phrase
    # Short phrases stay whole, and a run needs three words: "be recorded" alone is not the disclosure.
    short = parse_rules(rule(say=["calls are recorded"], when="missing")).rules[0]
    assert short.pattern.search(normalise("you are recorded")) is None
    assert missing.pattern.search(normalise("this will be recorded")) is None
