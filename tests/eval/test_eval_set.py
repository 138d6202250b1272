"""The evaluation set itself: its scripts, its generator, its scorer, and one real run per detector kind.

The scripts and the scorer are checked without sound; the generator's determinism with espeak-ng and sox;
the whole chain (generate, ``callcoach analyze --json``, match) on real Vosk with a plain call holding
each kind the detectors register today (a kind whose detector is not merged yet is skipped).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from tests.eval import real
from tests.eval.analyze import Analysis, analyze
from tests.eval.generate import OUT, SILENCE_S, generate, layout
from tests.eval.run import load_truth, select
from tests.eval.score import Found, Matching, Truth, final_alerts, flips, match, tally
from tests.eval.script import KINDS, MONO_KINDS, Call, ScriptError, load_calls

CALLS = load_calls()


def _positives(call: Call) -> list[str]:
    """The kinds a call holds, silences counted from its long pauses (the generator finds them)."""
    long_pauses = [t for t in call.turns if t.overlap_s is None and t.pause_s > SILENCE_S]
    return [m.kind for m in call.moments] + ["silence"] * len(long_pauses)


# --- the scripts ----------------------------------------------------------------------------------------


def test_the_set_is_big_and_varied_enough() -> None:
    assert len(CALLS) >= 45
    positives = Counter(k for call in CALLS.values() for k in _positives(call))
    lookalikes = Counter(m.kind for call in CALLS.values() for m in call.lookalikes)
    assert {k: positives[k] for k in KINDS if positives[k] < 8} == {}, "every kind needs 8 positives"
    assert [k for k in KINDS if not lookalikes[k]] == [], "every kind needs a hard negative"
    outputs = Counter(c.output for c in CALLS.values())
    assert outputs["mono"] >= 2 and outputs["mulaw8k"] >= 2
    assert len({v.voice for c in CALLS.values() for v in c.voices.values()}) >= 5


def test_every_moment_names_turns_of_its_call() -> None:
    for call in CALLS.values():
        ids = [t.id for t in call.turns]
        for m in (*call.moments, *call.lookalikes):
            assert m.span.seconds is not None or (m.span.first in ids and m.span.last in ids), call.name
        if call.output == "mono":
            assert {m.kind for m in call.moments} <= set(MONO_KINDS), call.name


@pytest.mark.parametrize(
    ("moment", "message"),
    [
        ('{ kind = "empathy_shown", turn = "nope" }', "names turn 'nope'"),
        ('{ kind = "empathy", turn = "t0" }', "unknown kind 'empathy'"),
        ('{ kind = "rule", rule = "no_such_rule", turn = "t0" }', "no rule 'no_such_rule'"),
        ('{ kind = "silence", turn = "t0" }', "silences are found by the generator"),
    ],
)
def test_a_broken_script_says_what_to_fix(tmp_path: Path, moment: str, message: str) -> None:
    (tmp_path / "bad.toml").write_text(
        '[[call]]\nname = "bad"\nagent = { voice = "en-us", speed = 150 }\n'
        'customer = { voice = "en-gb", speed = 150 }\nturns = [ { agent = "Hello." } ]\n'
        f"moments = [ {moment} ]\n"
    )
    with pytest.raises(ScriptError, match=message):
        load_calls(tmp_path)


def test_layout_places_pauses_overlaps_and_cuts() -> None:
    call = CALLS["bank_loan_cutoffs"]
    rate = 16_000
    clips = [np.zeros(2 * rate, dtype=np.int16) for _ in call.turns]  # every turn 2 s long
    placed = layout(call, clips)
    ids = [t.id for t in call.turns]
    cut_end = placed[ids.index("cut1")][1]
    assert placed[ids.index("int1")][0] == cut_end - round(0.5 * rate)  # overlap_s = 0.5
    assert placed[ids.index("cold")][0] == placed[ids.index("news")][1] + round(0.7 * rate)  # default pause


# --- the generator --------------------------------------------------------------------------------------


@pytest.mark.parametrize("output", ["stereo", "mulaw8k", "mono"])
def test_the_generator_gives_the_same_bytes_twice(tmp_path: Path, output: str) -> None:
    call = min(
        (c for c in CALLS.values() if c.output == output), key=lambda c: sum(len(t.text) for t in c.turns)
    )
    for run in ("a", "b"):
        generate([call], tmp_path / run, force=True)
    for suffix in (".wav", ".truth.json"):
        first, second = ((tmp_path / run / f"{call.name}{suffix}").read_bytes() for run in ("a", "b"))
        assert first == second, f"{call.name}{suffix} differs between two runs"
    truth = json.loads((tmp_path / "a" / f"{call.name}.truth.json").read_text())
    assert all(t["end_s"] > t["start_s"] for t in truth["turns"])


# --- the scorer -----------------------------------------------------------------------------------------


def _alert(start: float, end: float | None, kind: str = "silence", **extra: object) -> dict[str, object]:
    return {"type": "alert", "id": f"{kind}-{start}", "revision": 0, "kind": kind, "polarity": "coach",
            "start_s": start, "end_s": end, "detected_s": start + 5, "title": "t", "quote": "q", "rule": None,
            **extra}  # fmt: skip


def test_the_last_revision_of_an_alert_is_the_alert() -> None:
    first = _alert(10.0, None, id="silence-1")
    revised = _alert(10.0, 16.5, id="silence-1", revision=1)
    other = {"type": "transcript", "text": "hello"}
    [found] = final_alerts("c", [first, other, revised])
    assert (found.start_s, found.end_s) == (10.0, 16.5)
    [open_alert] = final_alerts("c", [first])
    assert open_alert.end_s == 15.0  # still open at the end: lasts to where it was detected


def _found(start: float, end: float, kind: str = "silence", rule: str | None = None) -> Found:
    return Found("c", f"{kind}-{start}", kind, rule, "coach", start, end)


def test_a_flip_is_a_call_whose_runs_raise_different_alerts_of_a_kind() -> None:
    steady = [[_found(10, 15), _found(20, 30, "monologue")]] * 3
    moved = [[_found(10, 15)], [_found(10, 15)], [_found(10, 16)]]  # one run ends it elsewhere
    gone = [[_found(40, 45, "rule", "no_guarantees")], [], [_found(40, 45, "rule", "no_guarantees")]]
    counted = flips([steady, moved, gone], ["silence", "monologue", "interruption"])
    assert (counted["silence"].calls, counted["silence"].flipped, counted["silence"].rate) == (2, 1, 0.5)
    assert (counted["monologue"].flipped, counted["monologue"].rate) == (0, 0.0)
    assert counted["interruption"].rate is None  # never raised: no rate
    assert counted["rule:no_guarantees"].flipped == 1 and counted["rule"].flipped == 1


def test_an_alert_matches_truth_of_its_kind_within_the_tolerance() -> None:
    truth = [Truth("c", "silence", None, 10.0, 16.0)]
    assert match(truth, [_found(17.5, 18.0)]).hits  # 1.5 s after: within 2 s
    assert not match(truth, [_found(18.5, 19.0)]).hits  # 2.5 s after: a false alert and a miss
    wrong_kind = match(truth, [_found(11.0, 12.0, kind="monologue")])
    assert (len(wrong_kind.false_alerts), len(wrong_kind.misses)) == (1, 1)


def test_rules_match_on_their_name_too() -> None:
    truth = [Truth("c", "rule", "no_guarantees", 5.0, 9.0)]
    assert match(truth, [_found(6.0, 8.0, kind="rule", rule="no_guarantees")]).hits
    other = match(truth, [_found(6.0, 8.0, kind="rule", rule="thanks_for_waiting")])
    assert (len(other.hits), len(other.false_alerts), len(other.misses)) == (0, 1, 1)


def test_one_alert_matches_one_moment_and_the_matching_is_maximal() -> None:
    truths = [Truth("c", "silence", None, 10.0, 16.0), Truth("c", "silence", None, 19.0, 25.0)]
    # The first alert overlaps both moments, the second only the first: a greedy pass in arrival order would
    # give the first moment to the first alert and leave the second alert false.
    alerts = [_found(15.0, 20.0), _found(11.0, 12.0)]
    for order in (alerts, alerts[::-1]):
        result = match(truths, order)
        assert (len(result.hits), result.misses, result.false_alerts) == (2, [], [])
    twice = match(truths[:1], [_found(11.0, 12.0), _found(13.0, 14.0)])
    assert (len(twice.hits), len(twice.false_alerts)) == (1, 1)


def test_the_tally_counts_per_kind_and_per_rule_against_the_targets() -> None:
    truths = [Truth("c", "silence", None, 0, 6)] * 10 + [Truth("c", "rule", "no_guarantees", 0, 5)]
    hits = [(t, _found(0, 6)) for t in truths[:9]]
    result = Matching(hits=hits, misses=truths[9:], false_alerts=[_found(30, 31, kind="monologue")])
    scores = {s.kind: s for s in tally([result], truths, ["silence", "monologue", "interruption"])}
    assert (scores["silence"].tp, scores["silence"].fn, scores["silence"].recall) == (9, 1, 0.9)
    assert scores["silence"].passed  # precision 1.0, recall 0.9
    assert not scores["monologue"].passed  # one false alert, nothing right: precision 0
    assert scores["interruption"].precision is None and scores["interruption"].passed  # nothing either way
    assert scores["rule"].fn == 1 and scores["rule:no_guarantees"].recall == 0.0
    assert not scores["rule:no_guarantees"].passed


def test_real_recordings_count_coach_alerts_as_false_unless_accepted() -> None:
    accepted = [real.Accepted(Truth("x.wav", "silence", None, 0.0, 6.7), "line noise before the call")]
    praise = Found("x.wav", "e-1", "empathy_shown", None, "praise", 3.0, 4.0)
    verdicts = real.judge([_found_in("x.wav", 1.0, 6.0), _found_in("x.wav", 20.0, 26.0), praise], accepted)
    assert [(v.counted, v.reason) for v in verdicts] == [
        (True, "line noise before the call"),
        (False, None),
        (True, None),
    ]
    assert real.options(Path("call.opus")) == ("--agent-channel", "right")


def _found_in(call: str, start: float, end: float) -> Found:
    return Found(call, f"s-{start}", "silence", None, "coach", start, end)


# --- one real run per registered kind --------------------------------------------------------------------


# The plainest example of each kind, few calls covering them all (two at a time, well under a minute of
# Vosk): a failure here is the chain broken or a detector missing the obvious, not one of the set's hard
# cases, which `make eval` measures.
SMOKE = {
    "silence": "bank_mortgage_hold_turnaround",
    "cold_reply_to_bad_news": "bank_loan_cutoffs",
    "empathy_shown": "trv_funeral_flight_warm",
    "interruption": "bank_loan_cutoffs",
    "monologue": "bank_overdraft_monologue",
    "customer_frustration": "bank_identity_theft_third_call",
    "de_escalation": "bank_mortgage_hold_turnaround",
    "ownership": "bank_mortgage_hold_turnaround",
    "turned_around": "bank_mortgage_hold_turnaround",
    "rule": "bank_mortgage_hold_turnaround",
}


def test_the_set_measures_every_kind_the_detectors_raise() -> None:
    from callcoach.detectors.registry import KINDS as REGISTERED

    assert set(KINDS) == set(REGISTERED)


def test_each_kind_has_a_smoke_call_that_holds_it() -> None:
    assert set(SMOKE) == set(KINDS)
    assert all(kind in _positives(CALLS[name]) for kind, name in SMOKE.items())


@pytest.fixture(scope="module")
def runs(model_dir: Path) -> Iterator[dict[str, tuple[Analysis, Matching]]]:
    """The smoke call of each registered kind, generated and analysed (two at a time), then matched."""
    calls = {SMOKE[k]: CALLS[SMOKE[k]] for k in sorted(KINDS)}
    generate(list(calls.values()), OUT)
    with ThreadPoolExecutor(max_workers=2) as pool:
        analyses = dict(zip(calls, pool.map(lambda n: analyze(OUT / f"{n}.wav"), calls), strict=True))
    matched = {}
    for name, result in analyses.items():
        moments, _lookalikes, _data = load_truth(name, OUT)
        matched[name] = (result, match(moments, final_alerts(name, result.events)))
    yield matched


@pytest.mark.vosk
@pytest.mark.parametrize("kind", KINDS)
def test_a_call_holding_each_kind_is_found(kind: str, runs: dict[str, tuple[Analysis, Matching]]) -> None:
    call = CALLS[SMOKE[kind]]
    result, matching = runs[call.name]
    assert result.returncode == 0, result.stderr
    found = [t for t, _a in matching.hits if t.kind == kind]
    missed = [t for t in matching.misses if t.kind == kind]
    assert found, f"{call.name}: no {kind} alert matched its truth {missed}"


def test_only_picks_calls_by_name_glob_or_kind() -> None:
    truths = {
        "bank_a": [Truth("bank_a", "silence", None, 0, 6)],
        "tel_b": [Truth("tel_b", "rule", "no_guarantees", 0, 5)],
    }
    assert select(list(truths), truths, []) == (["bank_a", "tel_b"], set())
    assert select(list(truths), truths, ["bank_*"]) == (["bank_a"], set())
    assert select(list(truths), truths, ["rule:no_guarantees"]) == (["tel_b"], {"rule:no_guarantees"})
    assert select(list(truths), truths, ["rule"]) == (["tel_b"], {"rule"})
