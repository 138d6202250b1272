"""The redactor on hand-built lines as Vosk writes them: what it hides, what it leaves, when it lets go.

Every line is built word by word (0.4 s a word), so the times of a ``[card]`` word and of its
``redaction`` event can be checked against the words it replaced.
"""

from __future__ import annotations

import itertools
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from callcoach.live.events import Event, Redaction, Speech, Transcript, Word
from callcoach.live.number_spans import luhn
from callcoach.live.redaction import HOLD_GAP_S, MAX_HOLD_S, Redactor

WORD_S = 0.4
DIGIT_NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
CARD = "4532015112830366"  # passes the Luhn check
SPOKEN_CARD = "four five three two zero one five one one two eight three zero three six six"
DIGIT_RUN = re.compile(
    r"\b(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|\d)(?:\W+(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|\d)){3,}"
)


def said(text: str, start_s: float, *, final: bool = True, speaker: str = "customer") -> Transcript:
    words = tuple(
        Word(w, round(start_s + i * WORD_S, 3), round(start_s + (i + 1) * WORD_S - 0.05, 3))
        for i, w in enumerate(text.split())
    )
    return Transcript(speaker, text, start_s, words[-1].end_s, final, words)  # type: ignore[arg-type]


def run(*lines: Transcript, end_s: float | None = None) -> list[Event]:
    """Feed the lines in order, ticking the clock to each line's end as a session would; then finish."""
    redactor = Redactor()
    out: list[Event] = []
    for line in lines:
        out += redactor.feed(line)
        out += redactor.tick(line.end_s)
    if end_s is not None:
        out += redactor.tick(end_s)
    return out + redactor.finish()


def texts(events: list[Event]) -> list[str]:
    return [e.text for e in events if isinstance(e, Transcript)]


def redactions(events: list[Event]) -> list[Redaction]:
    return [e for e in events if isinstance(e, Redaction)]


def kinds(events: list[Event]) -> list[str]:
    return [r.kind for r in redactions(events)]


def only_line(events: list[Event]) -> Transcript:
    (line,) = events
    assert isinstance(line, Transcript)
    return line


def one_line(text: str) -> str:
    (line,) = texts(run(said(text, 10.0)))
    return line


# --- cards -----------------------------------------------------------------------------------------------


def test_a_card_read_in_words_becomes_one_card_word_spanning_its_digits() -> None:
    line = said(f"my card number is {SPOKEN_CARD} thanks", 10.0)
    out = run(line)
    (redacted,) = [e for e in out if isinstance(e, Transcript)]
    assert redacted.text == "my card number is [card] thanks"
    assert [w.text for w in redacted.words] == ["my", "card", "number", "is", "[card]", "thanks"]
    card_word = redacted.words[4]
    assert (card_word.start_s, card_word.end_s) == (line.words[4].start_s, line.words[19].end_s)
    assert redactions(out) == [Redaction("customer", "card", card_word.start_s, card_word.end_s)]
    assert (redacted.start_s, redacted.end_s) == (line.start_s, line.end_s)


def test_a_card_that_fails_the_luhn_check_is_still_hidden_as_a_number() -> None:
    assert not luhn("4532015112830367")
    assert (
        one_line("four five three two zero one five one one two eight three zero three six seven")
        == "[number]"
    )


def test_written_card_numbers_are_cards() -> None:
    assert one_line("it is 4532 0151 1283 0366 ok") == "it is [card] ok"
    assert one_line("it is 4532-0151-1283-0366") == "it is [card]"
    assert one_line("it is 4532015112830366") == "it is [card]"


def test_a_line_without_word_times_is_redacted_over_its_whole_time() -> None:
    out = run(Transcript("customer", "it is 4532 0151 1283 0366 and the code 123", 2.0, 7.5, True))
    assert texts(out) == ["it is [card] and the code [cvv]"]
    assert redactions(out) == [
        Redaction("customer", "card", 2.0, 7.5),
        Redaction("customer", "cvv", 2.0, 7.5),
    ]


def test_double_triple_and_oh_count_as_the_digits_they_say() -> None:
    # 4111 1111 1111 1111 passes Luhn; with one digit more or less it would not, nor be a card.
    assert luhn("4111111111111111") and not luhn("411111111111111") and not luhn("41111111111111111")
    spoken = "four one one one double one one one triple one one one one one one"
    assert kinds(run(said(spoken, 1.0))) == ["card"]
    # 5500 0000 0000 0004 (Luhn-valid) with "oh" and "double oh" for the zeros
    assert luhn("5500000000000004")
    spoken = "five five double oh oh oh zero zero zero oh oh oh zero zero zero four"
    assert kinds(run(said(spoken, 1.0))) == ["card"]


def test_the_cvv_and_expiry_after_a_card_are_hidden() -> None:
    out = run(
        said(f"it is {SPOKEN_CARD}", 0.0),
        said("and the security code is one two three", 12.0),
        said("it expires oh nine twenty seven", 18.0),
    )
    assert texts(out) == ["it is [card]", "and the security code is [cvv]", "it expires [expiry]"]
    assert kinds(out) == ["card", "cvv", "expiry"]


def test_expiry_forms_after_a_card() -> None:
    for said_expiry in ("september twenty six", "zero nine two seven", "oh nine slash two seven", "09/27"):
        out = run(said(SPOKEN_CARD, 0.0), said(f"expiry {said_expiry}", 10.0))
        assert texts(out)[1] == "expiry [expiry]", said_expiry


def test_a_cvv_in_the_same_breath_as_the_card() -> None:
    out = run(said(f"{SPOKEN_CARD} code one two three", 0.0))
    assert texts(out) == ["[card] code [cvv]"]


def test_a_cvv_straight_after_the_card_is_split_off_it() -> None:
    out = run(said(f"{SPOKEN_CARD} one two three", 0.0))
    assert texts(out) == ["[card] [cvv]"]
    assert kinds(out) == ["card", "cvv"]


def test_three_digits_with_no_card_before_are_left_alone() -> None:
    assert one_line("the security code is one two three") == "the security code is one two three"


def test_numbers_long_after_a_card_are_ordinary_again() -> None:
    out = run(said(SPOKEN_CARD, 0.0), said("it is in room one two three", 60.0))
    assert texts(out)[1] == "it is in room one two three"


# --- SSNs and long numbers -------------------------------------------------------------------------------


def test_a_social_security_number() -> None:
    assert one_line("my social is one two three four five six seven eight nine") == "my social is [ssn]"
    assert one_line("it is 123-45-6789") == "it is [ssn]"
    assert kinds(run(said("one two three four five six seven eight nine", 0.0))) == ["ssn"]


def test_nine_digits_no_ssn_could_be_are_a_number() -> None:
    assert one_line("nine nine nine one two three four five six") == "[number]"


def test_long_account_numbers() -> None:
    assert (
        one_line("my account number is seven seven three one nine two eight four")
        == "my account number is [number]"
    )
    assert one_line("account double seven oh three triple one four") == "account [number]"
    assert one_line("reference 88213 44712") == "reference [number]"


def test_a_misheard_digit_inside_a_long_number_does_not_leave_its_halves() -> None:
    assert (
        one_line("four five three two zero one five one one two made three zero three six six") == "[number]"
    )
    assert one_line("four five free to zero one five one") == "[number]"  # "three two" misheard


def test_ordinary_numbers_are_left_alone() -> None:
    for text in (
        "i need two weeks",
        "one moment please",
        "it is ten thirty",
        "it costs forty nine ninety nine",
        "i have three kids",
        "for two weeks to get it",
        "call me back in five minutes",
        "my zip is nine oh two one oh",
        "the pin is one two three four",
        "it was one to one",
    ):
        assert one_line(text) == text
        assert kinds(run(said(text, 0.0))) == []


# --- numbers read across pauses --------------------------------------------------------------------------


def test_a_card_read_across_two_finals_is_held_then_hidden_in_both() -> None:
    first = said("four five three two zero one five one", 1.0)
    second = said("one two eight three zero three six six", first.end_s + 1.5)
    redactor = Redactor()
    assert redactor.feed(first) == []  # it ends in a number: held
    assert redactor.tick(first.end_s + 1.0) == []
    # The two together are a card; as the second ends in digits too (a CVV may follow), both wait on.
    assert redactor.feed(second) == []
    out = redactor.tick(second.end_s + HOLD_GAP_S)
    assert texts(out) == ["[card]", "[card]"]
    assert redactions(out) == [Redaction("customer", "card", first.words[0].start_s, second.words[-1].end_s)]
    assert redactor.finish() == []


def test_a_card_read_in_four_groups_with_its_cvv_and_expiry() -> None:
    groups = [
        "my card number is five five five five",
        "five five five five",
        "five five five five",
        "four four four four",
    ]
    lines = []
    t = 0.5
    for text in [*groups, "the security code is one two three", "it expires in september twenty seven"]:
        lines.append(said(text, t))
        t = lines[-1].end_s + 1.3
    out = run(*lines, end_s=t + 10)
    assert texts(out) == [
        "my card number is [card]",
        "[card]",
        "[card]",
        "[card]",
        "the security code is [cvv]",
        "it expires in [expiry]",
    ]
    assert kinds(out) == ["card", "cvv", "expiry"]


def test_a_held_line_is_released_once_the_speaker_stays_quiet() -> None:
    line = said("my zip is nine oh two one oh", 1.0)
    redactor = Redactor()
    assert redactor.feed(line) == []
    assert redactor.tick(line.end_s + HOLD_GAP_S - 0.1) == []
    assert redactor.tick(line.end_s + HOLD_GAP_S) == [line]


def test_while_the_speaker_goes_on_the_hold_lasts_until_their_next_final() -> None:
    line = said("four five three two", 1.0)
    redactor = Redactor()
    assert redactor.feed(line) == []
    partial = only_line(redactor.feed(said("zero one", line.end_s + 1.0, final=False)))
    assert partial.text == "[number]"  # any number at all while the line before is held
    assert redactor.tick(line.end_s + HOLD_GAP_S + 1) == []
    # Nothing final came: the held line goes at MAX_HOLD_S, and the partial is sent again after it.
    released = redactor.tick(line.end_s + MAX_HOLD_S)
    assert released == [line, partial]


def test_a_voice_heard_again_keeps_the_hold_when_vosk_is_slow_to_say_what() -> None:
    # On phone audio Vosk's first partial of the next group can come seconds after the voice starts.
    first = said("five five five five", 1.0)
    second = said("five five five five", first.end_s + 1.3)
    redactor = Redactor()
    assert redactor.feed(Speech("customer", 0.9, None)) == [Speech("customer", 0.9, None)]
    assert redactor.feed(first) == []
    redactor.feed(Speech("customer", 0.9, first.end_s))
    assert redactor.tick(first.end_s + HOLD_GAP_S) == [first]  # silence: no reason to wait on
    redactor = Redactor()
    redactor.feed(first)
    redactor.feed(Speech("customer", second.start_s, None))
    assert redactor.tick(first.end_s + HOLD_GAP_S + 1) == []
    assert redactor.feed(second) == []  # joined, and it ends in digits too
    assert texts(redactor.tick(second.end_s + HOLD_GAP_S)) == ["[number]", "[number]"]


def test_lines_far_apart_are_judged_apart() -> None:
    first = said("four five three two", 1.0)
    second = said("zero one five one", first.end_s + HOLD_GAP_S + 2)
    assert texts(run(first, second)) == ["four five three two", "zero one five one"]


def test_a_line_that_goes_on_in_words_releases_the_held_one_first() -> None:
    first = said("four five three two zero one five one", 1.0)  # eight digits: a number on its own
    second = said("sorry what was that", first.end_s + 1.0)
    assert texts(run(first, second)) == ["[number]", "sorry what was that"]


def test_other_speakers_and_events_pass_straight_through_a_hold() -> None:
    redactor = Redactor()
    assert redactor.feed(said("four five three two", 1.0)) == []
    agent = said("go on", 3.0, speaker="agent")
    speech = Speech("agent", 3.0, None)
    assert redactor.feed(agent) == [agent]
    assert redactor.feed(speech) == [speech]


def test_words_that_are_not_the_text_keep_no_number_either() -> None:
    line = said("my card is four five three two", 1.0, final=False)
    lagging = Transcript("customer", line.text, line.start_s, line.end_s, False, line.words[:5])
    masked = only_line(Redactor().feed(lagging))
    assert masked.text == "my card is [number]"
    assert [w.text for w in masked.words] == ["my", "card", "is", "[number]", "[number]"]


# --- partials --------------------------------------------------------------------------------------------


def test_partials_mask_four_digits_or_more() -> None:
    redactor = Redactor()
    partial = only_line(redactor.feed(said("my card is four five three two zero", 1.0, final=False)))
    assert partial.text == "my card is [number]"
    assert [w.text for w in partial.words][-1] == "[number]"
    plain = only_line(redactor.feed(said("i have three kids", 1.0, final=False, speaker="agent")))
    assert plain.text == "i have three kids"


def test_a_partial_ending_in_a_number_hides_it_until_the_speaker_goes_on() -> None:
    redactor = Redactor()
    assert only_line(redactor.feed(said("my card number is five", 1.0, final=False))).text == (
        "my card number is [number]"
    )
    assert only_line(redactor.feed(said("i have three", 5.0, final=False))).text == "i have [number]"
    assert only_line(redactor.feed(said("i have three kids", 5.0, final=False))).text == "i have three kids"
    assert only_line(redactor.feed(said("oh", 9.0, final=False, speaker="agent"))).text == "oh"


def test_partials_after_a_card_mask_any_number() -> None:
    redactor = Redactor()
    redactor.feed(said(f"{SPOKEN_CARD} thanks", 0.0))
    partial = only_line(redactor.feed(said("the code is one two", 9.0, final=False)))
    assert partial.text == "the code is [number]"


# --- property: a card read in any grouping never shows ---------------------------------------------------


def _luhn_complete(body: list[int]) -> str:
    for check in range(10):
        digits = "".join(map(str, body)) + str(check)
        if luhn(digits):
            return digits
    raise AssertionError("one check digit always completes a Luhn number")


@settings(max_examples=60, deadline=None)
@given(
    body=st.lists(st.integers(0, 9), min_size=15, max_size=15),
    cuts=st.sets(st.sampled_from([4, 8, 12]), max_size=3),
    oh=st.booleans(),
    pause_s=st.floats(0.3, HOLD_GAP_S - 0.5),
)
def test_a_card_in_any_grouping_never_reaches_the_log(
    body: list[int], cuts: set[int], oh: bool, pause_s: float
) -> None:
    digits = _luhn_complete(body)
    words = [("oh" if oh and d == "0" else DIGIT_NAMES[int(d)]) for d in digits]
    bounds = [0, *sorted(cuts), len(words)]
    lines = []
    t = 1.0
    for a, b in itertools.pairwise(bounds):
        lines.append(said(" ".join(words[a:b]), t))
        t = lines[-1].end_s + pause_s
    out = run(*lines, end_s=t + MAX_HOLD_S)
    assert texts(out) == ["[card]"] * len(lines)
    assert kinds(out) == ["card"]
    for line in out:
        if isinstance(line, Transcript):
            assert not DIGIT_RUN.search(line.text) and all(w.text == "[card]" for w in line.words)
