"""Every event type round-trips through JSON, field for field; malformed input is refused by name."""

from __future__ import annotations

import json

import numpy as np
import pytest

from callcoach.live.codec import EVENT_TYPES, EventDecodeError, Wire, envelope, from_json, to_json
from callcoach.live.events import (
    Alert,
    AlertKind,
    CallEnded,
    CallInfo,
    CallStarted,
    Error,
    Frame,
    Note,
    Pin,
    Quote,
    Redaction,
    Sentiment,
    Speech,
    Transcript,
    Word,
)
from callcoach.live.messages import (
    AddNote,
    CallList,
    JoinSession,
    LeaveSession,
    Participant,
    Playback,
    PlaybackSync,
    Presence,
    SessionPlayback,
    SetPin,
    StartSession,
    Subscribe,
    Subscribed,
    Unsubscribe,
    Welcome,
)

EXAMPLES: list[Wire] = [
    Frame("agent", 1.5, 16000, np.array([0, 1, -1, 32767, -32768], dtype=np.int16)),
    CallStarted("c1", "file", "2026-11-25T10:00:00+00:00", ("agent", "customer"), "c1.wav", 24.6),
    CallEnded(24.6, "dropped"),
    Transcript("customer", "my uncle just passed away", 5.2, 7.0, True, (Word("my", 5.2, 5.4, 0.9),)),
    Transcript("agent", "well", 9.0, 9.3, False),
    Speech("agent", 1.0, None),
    Speech("agent", 1.0, 2.5),
    Alert(
        id="cold_reply_to_bad_news-1",
        revision=0,
        kind="cold_reply_to_bad_news",
        polarity="coach",
        speaker="agent",
        start_s=16.0,
        end_s=19.5,
        detected_s=19.6,
        title="Cold reply to bad news",
        quote="well if you can get those docs in",
        why="The customer shared a death in the family.",
        suggestion="Oh no, I'm so sorry to hear that. The documents can wait.",
        quotes=(Quote("customer", "my uncle just passed away", 5.2, 7.0),),
        pause_s=5.5,
        confidence=0.97,
    ),
    Alert("silence-1", 1, "silence", "coach", None, 10.0, None, 15.0, "Silence", "", "why", "try"),
    Error("truncated_audio", "x.wav is cut short", fatal=True, at_s=3.2),
    Redaction("customer", "card", 9.1, 13.2),
    Sentiment("customer", 11.2, 13.9, -0.51),
    CallList(
        (
            CallInfo(
                "c1", "c1.wav", "file", "2026-11-25T10:00:00+00:00", 24.6, False, "ready", 2, 1, "/a/c1"
            ),
            CallInfo("c2", "Line 4", "twilio", "2026-11-25T10:01:00+00:00", None, True, "live"),
        )
    ),
    Subscribe("c1", after_seq=12),
    Subscribed("c1", live=False, duration_s=24.6),
    Unsubscribe("c1"),
    Playback("c1", 12.25, True),
    Note(
        "note-1", 21.6, "praise", "Lovely save", "bo", "Bo", Quote("agent", "oh no", 21.5, 22.0), "2026-11-25"
    ),
    Note("note-2", 3.0, "coach", "Slow start", "bo", "Bo"),
    Pin("note-1", True, 21.6, "ana"),
    Welcome("ana", "Ana Lead", "lead", ("billing", "retention")),
    Welcome(
        "ana", "Ana Lead", "lead", ("billing",), (AlertKind("empathy_shown", "Empathy", "praise", "star"),)
    ),
    Presence("s1", "c1", (Participant("ana", "Ana", "lead", True), Participant("bo", "Bo", "coach"))),
    StartSession("c1"),
    JoinSession("s1"),
    LeaveSession("s1"),
    AddNote("c1", 21.6, "coach", "text", Quote("agent", "well", 21.5, 22.0)),
    SetPin("c1", "silence-1", False),
    SessionPlayback("s1", 15.0, True, 1.5),
    PlaybackSync("s1", 15.0, False, "ana", 1.5),
]


def test_examples_cover_every_type() -> None:
    assert {type(e).TYPE for e in EXAMPLES} == set(EVENT_TYPES)


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: type(e).TYPE)
def test_round_trip_through_json_text(event: Wire) -> None:
    text = json.dumps(envelope(event, seq=7, call_id="c1"))
    data = json.loads(text)
    assert (data["v"], data["seq"], data["call"], data["type"]) == (1, 7, "c1", type(event).TYPE)
    assert from_json(data) == event


def test_alert_duration_is_derived() -> None:
    alert = EXAMPLES[7]
    assert isinstance(alert, Alert)
    assert to_json(alert)["duration_s"] == 3.5


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"type": "nope"}, "unknown event type 'nope'"),
        ({}, "unknown event type None"),
        ({"type": "speech", "speaker": "agent"}, "missing the field 'start_s'"),
        (
            {
                "type": "transcript",
                "speaker": "agent",
                "text": "",
                "start_s": 0,
                "end_s": 1,
                "final": True,
                "words": "x",
            },
            "transcript.words must be a list",
        ),
        ({"type": "frame", "speaker": "agent", "start_s": 0, "sample_rate": 8000, "pcm_b64": "!!"}, "frame"),
        (["not", "an", "object"], "must be a JSON object"),
        (
            {"type": "playback", "call_id": "c1", "position_s": "soon", "playing": True},
            "position_s must be a num",
        ),
        (
            {"type": "playback", "call_id": "c1", "position_s": 1, "playing": 1},
            "playing must be true or false",
        ),
        ({"type": "speech", "speaker": "boss", "start_s": 0}, "speech.speaker must be one of 'agent'"),
        ({"type": "calls", "calls": [{"call_id": 3}]}, r"calls.calls\[0\].call_id must be a string"),
    ],
)
def test_malformed_events_are_refused_by_name(data: object, named: str) -> None:
    with pytest.raises(EventDecodeError, match=named):
        from_json(data)  # type: ignore[arg-type]


NOTE_QUOTE = {"speaker": "agent", "text": "well", "start_s": 1.0, "end_s": 2.0}


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf"), 10**400])
@pytest.mark.parametrize(
    ("data", "field"),
    [
        (
            {
                "type": "note",
                "id": "n",
                "at_s": 1.0,
                "tag": "coach",
                "text": "",
                "author": "a",
                "author_name": "A",
                "quote": {**NOTE_QUOTE, "start_s": "N"},
            },
            "note.quote.start_s",
        ),
        ({"type": "session_playback", "session_id": "s", "position_s": "N", "playing": True}, "position_s"),
        (
            {"type": "session_playback", "session_id": "s", "position_s": 1.0, "playing": True, "rate": "N"},
            "session_playback.rate",
        ),
        (
            {
                "type": "call_started",
                "call_id": "c",
                "source": "file",
                "started_at": "",
                "speakers": [],
                "duration_s": "N",
            },
            "call_started.duration_s",
        ),
        (
            {"type": "frame", "speaker": "agent", "start_s": "N", "sample_rate": 8000, "pcm_b64": ""},
            "frame.start_s",
        ),
    ],
)
def test_non_finite_numbers_are_refused(data: dict[str, object], field: str, number: float) -> None:
    def put(value: object) -> object:
        if isinstance(value, dict):
            return {k: put(v) for k, v in value.items()}
        return number if value == "N" else value

    with pytest.raises(EventDecodeError, match=f"{field} must be a finite number"):
        from_json(put(data))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"speaker": "boss"}, "frame.speaker must be one of"),
        ({"sample_rate": float("inf")}, "frame.sample_rate must be a whole number"),
        ({"sample_rate": 0}, "frame.sample_rate must be a positive whole number"),
        ({"pcm_b64": 7}, "frame.pcm_b64 must be a string"),
        ({"pcm_b64": "AA=="}, "pcm_b64 is not 16-bit PCM"),
    ],
)
def test_a_frame_s_fields_are_checked_like_every_event_s(fields: dict[str, object], named: str) -> None:
    good = to_json(Frame("agent", 1.0, 8000, np.zeros(2, np.int16)))
    with pytest.raises(EventDecodeError, match=named):
        from_json({**good, **fields})


def test_a_refused_value_is_quoted_short() -> None:
    with pytest.raises(EventDecodeError) as caught:
        from_json({"type": "unsubscribe", "call_id": ["x" * 60_000]})
    assert len(str(caught.value)) < 200
