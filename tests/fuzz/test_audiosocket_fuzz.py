"""The Asterisk AudioSocket parser (``web/ingest/audiosocket.py``), fuzzed: any byte stream, cut anywhere, is
events or :class:`IngestError` s, the same events however it is cut; a stream spoken by
:class:`AudioSocketEncoder` comes back event for event."""

from __future__ import annotations

import itertools
import uuid

import numpy as np
import numpy.typing as npt
from hypothesis import example, given
from hypothesis import strategies as st

from callcoach.web.ingest.audiosocket import SLIN_RATES, AudioSocketEncoder, AudioSocketParser
from callcoach.web.ingest.types import (
    DTMF_DIGITS,
    AudioChunk,
    Dtmf,
    IngestError,
    IngestEvent,
    StreamClosed,
    StreamOpened,
)

ENCODER = AudioSocketEncoder()
KINDS = st.sampled_from([0x00, 0x01, 0x03, 0x02, 0xFF, *SLIN_RATES]) | st.integers(0, 255)
# Frames well formed enough to get past the length framing, plus raw bytes that are not.
FRAMES = st.builds(ENCODER.frame, KINDS, st.binary(max_size=40)) | st.binary(max_size=8)
UUID_FRAME = st.uuids().map(ENCODER.uuid)


def run(parser: AudioSocketParser, pieces: list[bytes]) -> tuple[list[IngestEvent], list[str]]:
    """Feed every piece as a caller does: after an error, go on (an empty feed parses what is buffered)."""
    events: list[IngestEvent] = []
    codes: list[str] = []
    for piece in pieces:
        while True:
            try:
                events += parser.feed(piece)
                break
            except IngestError as error:
                events += error.events
                codes.append(error.code)
                piece = b""
    return events, codes


def cut(data: bytes, at: list[int]) -> list[bytes]:
    edges = sorted({0, len(data), *(a % (len(data) + 1) for a in at)})
    return [data[a:b] for a, b in itertools.pairwise(edges)]


@given(
    st.one_of(UUID_FRAME, st.just(b"")),
    st.lists(FRAMES, max_size=8),
    st.lists(st.integers(0, 500), max_size=8),
)
def test_any_bytes_cut_anywhere_give_the_same_events_or_ingest_errors(
    first: bytes, frames: list[bytes], at: list[int]
) -> None:
    data = first + b"".join(frames)
    whole, pieces = AudioSocketParser(), AudioSocketParser()
    (whole_events, whole_codes), (piece_events, piece_codes) = run(whole, [data]), run(pieces, cut(data, at))
    assert whole_events == piece_events
    # Each feed after a hang-up is refused once: the count of refusals follows the cuts, their kinds do not.
    assert set(whole_codes) == set(piece_codes)
    assert _closed(whole.close()) == _closed(pieces.close())


def _closed(events: list[IngestEvent]) -> list[object]:
    return [(type(e), getattr(e, "reason", None)) for e in events]


SAMPLES = st.lists(st.integers(-(2**15), 2**15 - 1), max_size=80).map(lambda xs: np.array(xs, np.int16))


@given(
    st.uuids(),
    st.sampled_from(sorted(SLIN_RATES.values())),
    SAMPLES.filter(len),
    st.lists(SAMPLES | st.sampled_from(DTMF_DIGITS), max_size=6),
    st.lists(st.integers(0, 2000), max_size=8),
)
@example(
    uuid.UUID(int=1), 8000, np.zeros(1, np.int16), [np.zeros(0, np.int16)], []
)  # the encoder: empty audio
def test_an_encoded_stream_comes_back_event_for_event(
    call: uuid.UUID, rate: int, first: npt.NDArray[np.int16], items: list[object], at: list[int]
) -> None:
    """Audio first: the stream opens at its rate (a DTMF first opens it at 8 kHz; the example tests)."""
    data = ENCODER.uuid(call)
    expected: list[IngestEvent] = [StreamOpened("asterisk", str(call), {}, ("inbound",), rate, 1)]
    for item in [first, *items]:
        if isinstance(item, str):
            data += ENCODER.dtmf(item)
            expected.append(Dtmf(item))
        else:
            assert isinstance(item, np.ndarray)
            data += ENCODER.audio(item, rate)
            if len(item):
                expected.append(AudioChunk("inbound", item.reshape(-1, 1), rate))
    data += ENCODER.hangup()
    events, codes = run(AudioSocketParser(), cut(data, at))
    assert codes == []
    *middle, closed = events
    assert middle == expected
    assert isinstance(closed, StreamClosed) and closed.reason == "hangup"
