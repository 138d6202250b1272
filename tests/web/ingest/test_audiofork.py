"""FreeSWITCH mod_audio_fork: metadata then L16 frames, mono/mixed/stereo at 8 and 16 kHz, split anywhere."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest

from callcoach.audio.live_input import ACCEPTED_RATES_HZ
from callcoach.web.ingest.audiofork import RATES, AudioForkEncoder, AudioForkParser
from callcoach.web.ingest.types import AudioChunk, IngestError, IngestEvent, StreamClosed, StreamOpened

UUID = "7dd5e34e-5db4-4edb-a166-757e5d29b941"
# The README's own example metadata: `const callerData = {to: '6173333456', from: '2061236666', callid: ...}`.
README_METADATA = '{"to":"6173333456","from":"2061236666","callid":"f7a3c1@10.0.0.1"}'


def _audio(events: list[IngestEvent]) -> np.ndarray:
    chunks = [e for e in events if isinstance(e, AudioChunk)]
    return np.concatenate([c.pcm for c in chunks])


@pytest.mark.parametrize(
    ("mix", "sampling", "rate", "channels", "track"),
    [
        ("mono", "8k", 8000, 1, "caller"),
        ("mono", "16k", 16000, 1, "caller"),
        ("mixed", "8k", 8000, 1, "mixed"),
        ("stereo", "8k", 8000, 2, "caller+callee"),
        ("stereo", "16k", 16000, 2, "caller+callee"),
    ],
)
def test_encoded_stream_decodes_exactly(
    tone: Callable[..., np.ndarray], mix: str, sampling: str, rate: int, channels: int, track: str
) -> None:
    pcm = tone(rate // 2 + 7, rate, channels=channels)  # not a whole number of 20 ms frames
    enc = AudioForkEncoder({"callid": "abc", "agent": 17}, rate, channels)
    parser = AudioForkParser(UUID, mix, sampling)
    events = parser.text(enc.metadata_text())
    for frame in enc.frames(pcm):
        events += parser.binary(frame)
    events += parser.close()
    assert events[0] == StreamOpened(
        "freeswitch", UUID, {"callid": "abc", "agent": "17"}, (track,), rate, channels
    )
    assert all(c.track == track and c.sample_rate == rate for c in events[1:-1] if isinstance(c, AudioChunk))
    np.testing.assert_array_equal(_audio(events), pcm)
    assert events[-1] == StreamClosed("stop", "the audio fork's websocket closed")


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("sizes", [[1], [3], [5, 1, 2], [7, 11, 13], [4099]])
def test_odd_splits_carry_the_remainder_and_keep_channels_aligned(
    tone: Callable[..., np.ndarray], channels: int, sizes: list[int]
) -> None:
    pcm = tone(1000, 16000, channels=channels)
    data = AudioForkEncoder({}, 16000, channels).audio(pcm)
    parser = AudioForkParser(UUID, "stereo" if channels == 2 else "mono", "16k")
    events: list[IngestEvent] = []
    at, k = 0, 0
    while at < len(data):
        events += parser.binary(data[at : at + sizes[k % len(sizes)]])
        at += sizes[k % len(sizes)]
        k += 1
    assert all(c.pcm.shape[1] == channels for c in events if isinstance(c, AudioChunk))
    np.testing.assert_array_equal(_audio(events), pcm)


def test_little_endian_interleaved_caller_left_callee_right() -> None:
    parser = AudioForkParser(UUID, "stereo", "8k")
    # Two sample frames: caller 1 then 256; callee -1 then -256, as 16-bit little-endian.
    events = parser.binary(bytes([0x01, 0x00, 0xFF, 0xFF, 0x00, 0x01, 0x00, 0xFF]))
    opened, chunk = events
    assert isinstance(opened, StreamOpened) and opened.tracks == ("caller+callee",)
    assert isinstance(chunk, AudioChunk)
    np.testing.assert_array_equal(chunk.pcm, [[1, -1], [256, -256]])


def test_the_readme_metadata_and_its_call_id() -> None:
    [opened] = AudioForkParser(mix_type="mono", sampling="8k").text(README_METADATA)
    assert opened == StreamOpened(
        "freeswitch",
        "f7a3c1@10.0.0.1",
        {"to": "6173333456", "from": "2061236666", "callid": "f7a3c1@10.0.0.1"},
        ("caller",),
        8000,
        1,
    )


@pytest.mark.parametrize(
    ("metadata", "rate", "channels", "track"),
    [
        ({"sampleRate": 16000}, 16000, 1, "caller"),
        ({"sample_rate": "16k", "channels": 2}, 16000, 2, "caller+callee"),
        ({"mixType": "stereo"}, 8000, 2, "caller+callee"),
        ({"mix_type": "mixed", "sampleRate": "24000"}, 24000, 1, "mixed"),
        ({"mixType": "stereo", "channels": 1}, 8000, 1, "caller"),
    ],
)
def test_metadata_overrides_the_constructor(
    metadata: dict[str, object], rate: int, channels: int, track: str
) -> None:
    [opened] = AudioForkParser(UUID).text(json.dumps(metadata))
    assert isinstance(opened, StreamOpened)
    assert (opened.sample_rate, opened.channels, opened.tracks) == (rate, channels, (track,))


def test_audio_without_metadata_opens_with_the_constructor_settings() -> None:
    parser = AudioForkParser(UUID, "stereo", "16k")
    opened, chunk = parser.binary(b"\x00" * 8)
    assert opened == StreamOpened("freeswitch", UUID, {}, ("caller+callee",), 16000, 2)
    assert isinstance(chunk, AudioChunk) and chunk.pcm.shape == (2, 2)
    assert parser.text('{"type": "dtmf", "digit": "5"}') == []  # send_text frames are the application's
    assert parser.ignored_texts == 1


def test_close_reports_a_dropped_partial_sample_frame() -> None:
    parser = AudioForkParser(UUID, "stereo", "8k")
    parser.binary(b"\x01\x00\x02")
    assert parser.close() == [
        StreamClosed(
            "stop",
            "the audio fork's websocket closed; 3 trailing bytes of an incomplete sample frame were dropped",
        )
    ]
    assert parser.close() == []
    with pytest.raises(IngestError) as caught:
        parser.binary(b"\x00\x00")
    assert caught.value.code == "out_of_order"
    assert AudioForkParser(UUID).close() == []


@pytest.mark.parametrize(
    ("text", "code", "named"),
    [
        ("caller=bob", "bad_frame", "not a JSON object"),
        ("[1, 2]", "bad_frame", "not a JSON object"),
        ('{"sampleRate": 11025}', "unsupported_format", "11025"),
        ('{"sampleRate": "8kHz"}', "unsupported_format", "'8kHz'"),
        ('{"channels": 3}', "unsupported_format", "3 channels"),
        ('{"channels": true}', "unsupported_format", "True channels"),
        ('{"mixType": "quad"}', "unsupported_format", "'quad'"),
        ('{"mixType": ["stereo"]}', "unsupported_format", "['stereo']"),
    ],
)
def test_bad_metadata_is_named_and_leaves_the_parser_unopened(text: str, code: str, named: str) -> None:
    parser = AudioForkParser(UUID)
    with pytest.raises(IngestError) as caught:
        parser.text(text)
    assert (caught.value.code, named in caught.value.message) == (code, True)
    assert isinstance(parser.text("{}")[0], StreamOpened)


def test_no_call_key_anywhere_is_refused_with_the_fix() -> None:
    with pytest.raises(IngestError) as caught:
        AudioForkParser().text('{"to": "6173333456"}')
    assert caught.value.code == "no_call_key"
    assert "uuid=" in caught.value.message
    with pytest.raises(IngestError):
        AudioForkParser().binary(b"\x00\x00")


@pytest.mark.parametrize(
    ("mix", "sampling", "named"),
    [
        ("quad", "8k", "mix_type 'quad'"),
        ("bogus", "16k", "mix_type 'bogus'"),
        ("mono", "11k", "sampling '11k'"),
        ("mono", 11025, "sampling 11025"),
        ("mono", "7", "sampling '7'"),
        ("mono", 8, "sampling 8"),
        ("mono", 800000, "sampling 800000"),
    ],
)
def test_bad_constructor_arguments_are_refused_naming_the_argument(
    mix: str, sampling: str | int, named: str
) -> None:
    with pytest.raises(IngestError) as caught:
        AudioForkParser(UUID, mix, sampling)
    assert caught.value.code == "unsupported_format"
    assert named in caught.value.message
    assert "mono, mixed or stereo" in caught.value.message or "8k or 16k" in caught.value.message


@pytest.mark.parametrize(
    ("metadata", "named"), [({"sampleRate": 8}, "sampleRate 8"), ({"mixType": "x"}, "mixType")]
)
def test_a_rate_or_mix_in_the_metadata_that_cannot_be_used_is_refused(
    metadata: dict[str, object], named: str
) -> None:
    with pytest.raises(IngestError) as caught:
        AudioForkParser(UUID, "mono", "8k").text(json.dumps(metadata))
    assert caught.value.code == "unsupported_format" and named in caught.value.message


def test_the_rates_taken_are_telephony_rates() -> None:
    assert RATES[:2] == (8000, 16000) and set(RATES) <= set(ACCEPTED_RATES_HZ)
    assert all(rate % 8000 == 0 for rate in RATES)


def test_encoder_refuses_the_wrong_layout() -> None:
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        AudioForkEncoder({}, 8000, 2).audio(np.zeros((4, 1), dtype=np.int16))
