"""The exports of a call (live/exports.py), read back by real parsers of each format and held to a strict
check of the cue syntax: WebVTT (webvtt-py, strict), SubRip (srt), the plain transcript and the CSVs."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import srt
import webvtt

from callcoach.live.events import (
    Alert,
    CallEnded,
    CallInfo,
    CallStarted,
    Event,
    Note,
    Quote,
    Transcript,
    Word,
)
from callcoach.live.exports import (
    MAX_CUE_CHARS,
    MAX_CUE_S,
    MOMENT_COLUMNS,
    TEAM_COLUMNS,
    moments_csv,
    plain_text,
    team_csv,
)
from callcoach.live.exports import srt as to_srt
from callcoach.live.exports import (
    webvtt as to_webvtt,
)

VTT_TIMING = re.compile(r"\d{2}:[0-5]\d:[0-5]\d\.\d{3} --> \d{2}:[0-5]\d:[0-5]\d\.\d{3}")
SRT_TIMING = re.compile(r"\d{2}:[0-5]\d:[0-5]\d,\d{3} --> \d{2}:[0-5]\d:[0-5]\d,\d{3}")


def words(text: str, start_s: float, step_s: float = 0.4) -> tuple[Word, ...]:
    return tuple(
        Word(w, round(start_s + i * step_s, 2), round(start_s + i * step_s + 0.3, 2))
        for i, w in enumerate(text.split())
    )


LONG = (
    "I can see the payment went out on the third and then a second one on the fifth which is why the "
    "account shows a balance below zero today and I am sorry about that"
)


def call() -> list[Event]:
    return [
        CallStarted("c1", "file", "2026-11-30T10:00:00+00:00", ("agent", "customer")),
        Transcript("agent", "thank you for", 0.5, 1.5, False),  # a partial: never exported
        Transcript("agent", "thank you for calling", 0.5, 1.8, True, words("thank you for calling", 0.5)),
        Transcript("customer", "my card is [card] & <that> is it", 2.0, 5.0, True),  # no word times
        Transcript("agent", LONG, 3661.0, 3661.0 + 0.4 * len(LONG.split()), True, words(LONG, 3661.0)),
        Transcript("customer", "uh huh", 3666.0, 3666.5, True),  # said during the long line's cues
        Transcript("customer", "   ", 3700.0, 3700.5, True),  # nothing said: no cue
        CallEnded(3710.0),
    ]


def test_webvtt_parses_strictly_with_voices_and_escapes() -> None:
    text = to_webvtt(call())
    parsed = webvtt.from_string(text, strict=True)
    captions = parsed.captions
    assert captions[0].voice == "Agent" and captions[0].text == "thank you for calling"
    assert (captions[0].start, captions[0].end) == ("00:00:00.500", "00:00:01.800")
    assert captions[1].voice == "Customer"
    assert captions[1].raw_text == "<v Customer>my card is [card] &amp; &lt;that&gt; is it"
    assert captions[2].start == "01:01:01.000" and captions[2].voice == "Agent"
    # the customer's "uh huh" between the long line's cues, in the order of their start times
    voices = [c.voice for c in captions[2:]]
    assert voices[:3] == ["Agent", "Customer", "Agent"] and set(voices[3:]) == {"Agent"}
    strict_vtt(text)


def strict_vtt(text: str) -> None:
    """The file's own syntax, line by line: header, blank line, then blocks of id, timing, one text line."""
    head, *blocks = text.split("\n\n")
    assert head == "WEBVTT" and text.endswith("\n") and not text.endswith("\n\n")
    previous_start = ""
    for n, block in enumerate(blocks, start=1):
        ident, timing, payload = block.rstrip("\n").split("\n")
        assert ident == str(n) and VTT_TIMING.fullmatch(timing), block
        start, end = timing.split(" --> ")
        assert previous_start <= start < end  # zero-padded stamps order as text
        previous_start = start
        assert re.fullmatch(r"<v (Agent|Customer|Speaker)>[^<>]+", payload) and "-->" not in payload


def test_long_lines_are_split_into_readable_cues_timed_by_their_words() -> None:
    captions = [
        c for c in webvtt.from_string(to_webvtt(call()), strict=True).captions[2:] if c.voice == "Agent"
    ]
    assert len(captions) > 1
    assert " ".join(c.text for c in captions) == LONG
    for caption in captions:
        assert len(caption.text) <= MAX_CUE_CHARS
        assert seconds(caption.end) - seconds(caption.start) <= MAX_CUE_S
    # each cue starts at its first word and ends at its last one's end
    first = len(captions[0].text.split())
    assert seconds(captions[0].end) == round(3661.0 + 0.4 * (first - 1) + 0.3, 3)
    assert seconds(captions[1].start) == round(3661.0 + 0.4 * first, 3)


def seconds(stamp: str) -> float:
    hours, minutes, rest = stamp.split(":")
    return round(int(hours) * 3600 + int(minutes) * 60 + float(rest), 3)


def test_srt_parses_numbered_with_speakers() -> None:
    text = to_srt(call())
    subs = list(srt.parse(text))
    assert [s.index for s in subs] == list(range(1, len(subs) + 1))
    assert subs[0].content == "Agent: thank you for calling"
    assert subs[0].start == dt.timedelta(seconds=0.5) and subs[0].end == dt.timedelta(seconds=1.8)
    assert subs[1].content == "Customer: my card is [card] & <that> is it"
    for n, block in enumerate(text.rstrip("\n").split("\n\n"), start=1):
        ident, timing, payload = block.split("\n")
        assert ident == str(n) and SRT_TIMING.fullmatch(timing) and payload
    assert to_srt([CallStarted("c", "file", "", ("agent",))]) == ""


def test_plain_text_has_a_line_per_utterance() -> None:
    lines = plain_text(call()).splitlines()
    assert lines[0] == "[00:00:00] Agent: thank you for calling"
    assert lines[1] == "[00:00:02] Customer: my card is [card] & <that> is it"
    assert lines[2:] == [f"[01:01:01] Agent: {LONG}", "[01:01:06] Customer: uh huh"]


def alert(alert_id: str, kind: str, start_s: float, end_s: float | None, revision: int = 0) -> Alert:
    return Alert(
        alert_id, revision, kind, "coach", "agent", start_s, end_s, start_s, f"title {alert_id}",
        f"quote {alert_id}", f"why {alert_id}", f"try {alert_id}",
    )  # fmt: skip


def test_moments_csv_has_latest_revisions_notes_and_lone_notes() -> None:
    quoted = Alert(
        "cold", 0, "cold_reply_to_bad_news", "coach", "agent", 10.0, 14.0, 14.0, "Cold", "",
        "why", "=HYPERLINK(\"x\")",
        quotes=(Quote("customer", "my dad died", 10.0, 11.0), Quote("agent", "account number?", 13.0, 14.0)),
    )  # fmt: skip
    events: list[Event] = [
        alert("s1", "silence", 2.0, 7.0),
        alert("s1", "silence", 2.0, 9.5, revision=1),
        quoted,
        alert("r1", "rule", 20.0, None),
        Note("n1", 12.0, "coach", "ask about the dad first", "ana", "Ana"),
        Note("n2", 13.5, "coach", "-and slower", "bo", ""),
        Note("n3", 30.0, "praise", "good close", "ana", "Ana", quote=Quote("agent", "bye now", 29.0, 30.0)),
    ]
    rows = list(csv.reader(io.StringIO(moments_csv(events))))
    assert tuple(rows[0]) == MOMENT_COLUMNS
    assert rows[1] == ["silence", "coach", "2.000", "9.500", "Agent", "quote s1", "why s1", "try s1", ""]
    assert rows[2][:6] == ["cold_reply_to_bad_news", "coach", "10.000", "14.000", "Agent",
                           "Customer: my dad died / Agent: account number?"]  # fmt: skip
    assert rows[2][7] == '\'=HYPERLINK("x")'  # never run as a formula
    assert rows[2][8] == "Ana: ask about the dad first | bo: -and slower"
    assert rows[3][:4] == ["rule", "coach", "20.000", ""]
    assert rows[4] == ["note", "praise", "30.000", "", "", "Agent: bye now", "", "", "Ana: good close"]
    assert len(rows) == 5


def test_team_csv_names_each_call_on_its_rows() -> None:
    info = CallInfo("c1", "Line 1", "twilio", "2026-11-30T10:00:00Z", 60.0, False, "ready", agent="dan")
    quiet = CallInfo("c2", "Line 2", "twilio", "2026-11-29T10:00:00Z", 60.0, False, "ready")
    rows = list(csv.reader(io.StringIO(team_csv([(info, [alert("m", "monologue", 5, 40)]), (quiet, [])]))))
    assert tuple(rows[0]) == TEAM_COLUMNS
    assert rows[1][:5] == ["c1", "2026-11-30", "Line 1", "dan", "monologue"]
    assert len(rows) == 2
