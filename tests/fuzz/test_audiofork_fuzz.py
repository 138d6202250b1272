"""The FreeSWITCH audio fork parser (``web/ingest/audiofork.py``), fuzzed: any text or binary message is
events or an :class:`IngestError`; metadata and audio spoken by :class:`AudioForkEncoder`, cut into binary
messages anywhere, come back whole."""

from __future__ import annotations

import itertools
import json
from typing import Any

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from callcoach.web.ingest.audiofork import AudioForkEncoder, AudioForkParser
from callcoach.web.ingest.types import AudioChunk, IngestError, IngestEvent, StreamClosed, StreamOpened
from tests.fuzz.strategies import JSON, TEXT

MESSAGES = st.lists(st.text(st.characters(exclude_categories=())) | st.binary(max_size=64), max_size=6)


def feed(parser: AudioForkParser, message: str | bytes) -> list[IngestEvent]:
    try:
        return parser.text(message) if isinstance(message, str) else parser.binary(message)
    except IngestError:
        return []


@given(st.sampled_from(["mono", "mixed", "stereo"]), MESSAGES)
@example("mono", ["[" * 30_000])  # RecursionError out of json.loads
@example("mono", ['{"uuid": "u", "n": ' + "9" * 5000 + "}"])  # ValueError out of json.loads
def test_any_messages_are_events_or_ingest_errors(mix: str, messages: list[str | bytes]) -> None:
    parser = AudioForkParser("u", mix)
    for message in messages:
        feed(parser, message)
    parser.close()


@given(
    st.dictionaries(
        st.sampled_from(["uuid", "sampleRate", "sample_rate", "channels", "mixType"]) | TEXT, JSON
    )
)
@example({"uuid": "u", "channels": 1.0})  # passed `in (1, 2)`, then reshape(-1, 1.0) raised TypeError
@example({"uuid": "u", "channels": 2.0})
@example({"uuid": "u", "sampleRate": "9" * 5000})  # int() of 5000 digits raised ValueError
def test_any_metadata_opens_the_stream_or_is_an_ingest_error(metadata: dict[str, Any]) -> None:
    parser = AudioForkParser()
    try:
        [opened] = parser.text(json.dumps(metadata))
    except IngestError:
        return
    assert isinstance(opened, StreamOpened) and type(opened.channels) is int
    [chunk] = parser.binary(b"\x01\x00" * 2 * opened.channels)
    assert isinstance(chunk, AudioChunk) and chunk.pcm.shape == (2, opened.channels)


@given(
    st.sampled_from([("mono", 1), ("mixed", 1), ("stereo", 2)]),
    st.sampled_from([8000, 16000, 24000, 48000]),
    st.dictionaries(TEXT, TEXT | JSON, max_size=4),
    st.lists(st.integers(-(2**15), 2**15 - 1), max_size=200),
    st.lists(st.integers(0, 400), max_size=6),
)
def test_encoded_metadata_and_audio_come_back_whole_however_cut(
    layout: tuple[str, int], rate: int, extra: dict[str, Any], samples: list[int], cuts: list[int]
) -> None:
    mix, channels = layout
    metadata = {**extra, "uuid": "call-1", "sampleRate": rate, "mixType": mix, "channels": channels}
    encoder = AudioForkEncoder(metadata, rate, channels)
    pcm = np.array(samples[: len(samples) - len(samples) % channels], np.int16).reshape(-1, channels)
    data = encoder.audio(pcm)
    parser = AudioForkParser()
    [opened] = parser.text(encoder.metadata_text())
    strings = {k: v if isinstance(v, str) else json.dumps(v) for k, v in metadata.items()}
    track = {"mono": "caller", "mixed": "mixed", "stereo": "caller+callee"}[mix]
    assert opened == StreamOpened("freeswitch", "call-1", strings, (track,), rate, channels)
    edges = sorted({0, len(data), *(c for c in cuts if c < len(data))})
    chunks = [e for a, b in itertools.pairwise(edges) for e in parser.binary(data[a:b])]
    assert all(isinstance(c, AudioChunk) and c.track == track and c.sample_rate == rate for c in chunks)
    got = np.concatenate(
        [c.pcm for c in chunks if isinstance(c, AudioChunk)] or [np.zeros((0, channels), np.int16)]
    )
    assert np.array_equal(got, pcm)
    [closed] = parser.close()
    assert isinstance(closed, StreamClosed) and closed.reason == "stop"
