"""PII redaction end to end: a synthesised customer reads out a card number (in four groups, across
pauses), its security code and its expiry; real Vosk hears it; nothing downstream may show the digits.

The call is made in a temporary folder by ``tests/helpers/synth.py`` (espeak-ng, sox):
stereo 16 kHz, the agent left, the customer right. ``callcoach analyze --json`` must show the
``redaction`` events and no run of the card's digits in any transcript, word or alert (a silence after
the expiry is flagged, quoting the redacted line), nor may the text report; ``--no-redact`` keeps them.
Then the real ``callcoach serve`` takes the same file as a live Twilio call (8 kHz mu-law on the wire)
and, from its recordings folder, as a recording: the live call's stored WAV is silent on the customer's
channel inside each redacted span and not outside, and the recording is served as a silenced copy
while the user's file stays as it was.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pytest_asyncio
import soundfile as sf

from callcoach.live.silencing import PAD_S
from samples.make_samples import Voice
from tests.helpers.calls import Plan, place_calls, wait_stored
from tests.helpers.server import Server, clean_env, start_server, stop_server
from tests.helpers.synth import synthesise_call

pytestmark = [pytest.mark.vosk]

CUSTOMER = 1  # the right channel
# (speaker, what they say, the silence before it in seconds). The voice and speed are ones the small
# model hears digits from reliably (see VOICES); the card is Mastercard's 5555 5555 5555 4444 test
# number, which passes the Luhn check.
TURNS = [
    ("agent", "thank you for calling, can i take the card number please", 0.0),
    ("customer", "my card number is five five five five", 0.8),
    ("customer", "five five five five", 1.2),
    ("customer", "five five five five", 1.2),
    ("customer", "four four four four", 1.2),
    ("customer", "the security code is one two three", 1.4),
    ("customer", "it expires in september twenty seven", 1.2),
    ("agent", "thank you, that is all done", 6.0),  # after a silence: its alert quotes the line before
    ("customer", "thank you, i have three kids so i need two weeks", 1.0),
]
VOICES = {"agent": Voice("en-us+m3", 150), "customer": Voice("en-us+f2", 140)}
DIGIT = r"(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|\d)"
DIGIT_RUN = re.compile(rf"\b{DIGIT}(?:\W+{DIGIT}){{3,}}")  # four digits in a row, in words or figures
CARD_WORDS = re.compile(r"\b(?:five|four)\b")  # said in the call only as digits of the card


@pytest.fixture(scope="module")
def card_call(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The call as a stereo WAV in a temporary folder (never committed)."""
    yield synthesise_call(tmp_path_factory.mktemp("card") / "card_call.wav", TURNS, VOICES, tail_s=1.5)


def analyze(callcoach: Path, model_dir: Path, path: Path, *flags: str) -> str:
    proc = subprocess.run(
        [str(callcoach), "analyze", str(path), "--model", str(model_dir), *flags],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def strings(value: Any) -> Iterator[str]:
    """Every string anywhere in a JSON value: texts, words, quotes, titles, explanations."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def assert_no_card(events: list[dict[str, Any]]) -> None:
    for event in events:
        if event["type"] == "frame":
            continue
        for text in strings(event):
            assert not DIGIT_RUN.search(text) and not CARD_WORDS.search(text), (text, event)
        for word in event.get("words", []):  # each word alone, too: none is a digit of the card
            assert not CARD_WORDS.search(word["text"]), event


def said(events: list[dict[str, Any]], speaker: str) -> str:
    lines = [e for e in events if e["type"] == "transcript" and e["final"] and e["speaker"] == speaker]
    return " ".join(e["text"] for e in sorted(lines, key=lambda e: e["start_s"]))


# --- analyze ---------------------------------------------------------------------------------------------


def test_analyze_json_hides_the_card_its_code_and_expiry(
    callcoach: Path, model_dir: Path, card_call: Path
) -> None:
    events = [json.loads(line) for line in analyze(callcoach, model_dir, card_call, "--json").splitlines()]
    redactions = [e for e in events if e["type"] == "redaction"]
    assert [(r["speaker"], r["kind"]) for r in redactions] == [
        ("customer", "card"),
        ("customer", "cvv"),
        ("customer", "expiry"),
    ]
    assert_no_card(events)
    customer = said(events, "customer")
    # The four groups of the card, each masked, whatever Vosk made of "my card number is" before them.
    assert "[card] [card] [card] [card] the security code" in customer, customer
    assert "security code is [cvv]" in customer and "[expiry]" in customer, customer
    assert "three kids" in customer and "two weeks" in customer, customer  # ordinary numbers stay
    # The silence after the expiry is flagged, quoting the line before it as the log has it.
    quotes = [q["text"] for e in events if e["type"] == "alert" for q in e["quotes"]]
    assert any(q.endswith("expires in [expiry]") for q in quotes), quotes  # "it" or Vosk's "in" before it
    card = redactions[0]
    card_words = [w for e in events if e["type"] == "transcript" for w in e["words"] if w["text"] == "[card]"]
    assert card_words[0]["start_s"] == card["start_s"] and card_words[-1]["end_s"] == card["end_s"]


def test_analyze_text_report_hides_the_card(callcoach: Path, model_dir: Path, card_call: Path) -> None:
    report = analyze(callcoach, model_dir, card_call)
    assert "[card]" in report and not DIGIT_RUN.search(report) and not CARD_WORDS.search(report), report
    assert re.search(r"hidden: +card \d\d:\d\d\.\d–\d\d:\d\d\.\d \(customer\), cvv", report), report


def test_no_redact_keeps_the_digits(callcoach: Path, model_dir: Path, card_call: Path) -> None:
    events = [
        json.loads(line)
        for line in analyze(callcoach, model_dir, card_call, "--json", "--no-redact").splitlines()
    ]
    assert not [e for e in events if e["type"] == "redaction"]
    customer = said(events, "customer")
    assert "five five five five" in customer and "one two three" in customer, customer


# --- serve: a live call's recording, and a recording from the folder -------------------------------------


@dataclass
class Served:
    server: Server
    live_events: list[dict[str, Any]]  # what the coach following the live call got
    recording: Path  # the live call's stored WAV
    original: Path  # the user's recording in the recordings folder
    original_sha: str


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def served(
    callcoach: Path, model_dir: Path, card_call: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Served]:
    base = tmp_path_factory.mktemp("serve")
    recordings = base / "recordings"
    recordings.mkdir()
    original = recordings / "card_call.wav"
    shutil.copy(card_call, original)
    sha = hashlib.sha256(original.read_bytes()).hexdigest()
    server = await start_server(callcoach, model_dir, base / "data", recordings=recordings)
    try:
        (trace,) = await place_calls(server, [Plan("twilio", card_call, speed=2.0)])
        async with server.client() as http:
            await wait_stored(http, server, {trace.call_id})
        yield Served(server, trace.events, server.data / "recordings" / f"{trace.call_id}.wav", original, sha)
    finally:
        await stop_server(server)


def customer_speech(events: list[dict[str, Any]]) -> list[tuple[float, float]]:
    return [
        (e["start_s"], e["end_s"])
        for e in events
        if e["type"] == "speech" and e["speaker"] == "customer" and e["end_s"]
    ]


@pytest.mark.asyncio(loop_scope="module")
async def test_the_coach_of_a_live_call_never_sees_the_card(served: Served) -> None:
    assert_no_card(served.live_events)
    # Phone audio (8 kHz mu-law) may cost Vosk a digit ("four four" heard as "for for"): the card is
    # then hidden as a long number, its code and expiry no longer known as such.
    kinds = [e["kind"] for e in served.live_events if e["type"] == "redaction"]
    assert kinds and kinds[0] in ("card", "number"), kinds


@pytest.mark.asyncio(loop_scope="module")
async def test_the_live_recording_is_silent_where_redacted_and_not_elsewhere(served: Served) -> None:
    audio, rate = sf.read(served.recording, dtype="int16")
    customer = audio[:, CUSTOMER]
    redactions = [e for e in served.live_events if e["type"] == "redaction"]
    assert redactions
    silenced = np.zeros(len(customer), dtype=bool)
    for r in redactions:
        first, last = round((r["start_s"] - PAD_S) * rate), round((r["end_s"] + PAD_S) * rate)
        assert not customer[first:last].any(), r
        silenced[max(first, 0) : last] = True
    # The customer's speech outside the spans is still there: each of their turns that was not
    # redacted as a whole keeps its sound ("my card number is", "the security code is", "three kids").
    loud = 0
    for start_s, end_s in customer_speech(served.live_events):
        span = slice(round(start_s * rate), round(end_s * rate))
        kept = customer[span][~silenced[span]]
        if len(kept) > 0.3 * rate:
            assert np.abs(kept.astype(np.int32)).max() > 1000, (start_s, end_s)
            loud += 1
    assert loud >= 3
    assert np.abs(audio[:, 0].astype(np.int32)).max() > 1000  # the agent's channel is left alone


@pytest.mark.asyncio(loop_scope="module")
async def test_a_recording_is_served_silenced_and_the_users_file_is_untouched(served: Served) -> None:
    server = served.server
    async with server.client() as http:
        async with http.get(f"{server.base}/recordings/card_call") as resp:  # waits for its analysis
            assert resp.status == 200, await resp.text()
            body = await resp.read()
        async with http.get(f"{server.base}/api/calls") as resp:
            assert resp.status == 200
    assert hashlib.sha256(served.original.read_bytes()).hexdigest() == served.original_sha
    copy = served.server.data / "redacted" / "card_call.wav"
    assert body == copy.read_bytes()
    served_audio, rate = sf.read(copy, dtype="int16")
    original, _ = sf.read(served.original, dtype="int16")
    differs = np.flatnonzero((served_audio != original).any(axis=1))
    assert differs.size > rate  # over a second of card, code and expiry
    assert not served_audio[differs, CUSTOMER].any()  # what changed is silence on the customer's side
    assert np.array_equal(served_audio[:, 0], original[:, 0])
