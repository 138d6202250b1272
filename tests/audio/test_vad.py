"""VoiceActivity on espeak-ng speech: segment edges within 0.15 s, clean, noisy and through a phone line."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import soxr

from callcoach.audio import g711
from callcoach.audio.framing import Framer
from callcoach.audio.vad import VoiceActivity
from callcoach.live.events import Frame, Speech

RATE = 16000
TOLERANCE_S = 0.15
RunVad = Callable[..., list[Speech]]
Noise = Callable[[np.ndarray, float], np.ndarray]
Utterance = Any  # conftest's Utterance (pcm, first, end); conftest modules are not importable


def _call(
    first: Utterance, second: Utterance, gap_s: float = 5.5, pad_s: float = 1.0
) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Two utterances with digital silence around and between them, and their true (start, end)."""
    pad, gap = np.zeros(round(pad_s * RATE), np.int16), np.zeros(round(gap_s * RATE), np.int16)
    second_at = len(pad) + len(first.pcm) + len(gap)
    truth = [
        ((len(pad) + first.first) / RATE, (len(pad) + first.end) / RATE),
        ((second_at + second.first) / RATE, (second_at + second.end) / RATE),
    ]
    return np.concatenate([pad, first.pcm, gap, second.pcm, pad]), truth


def _phone_line(pcm: np.ndarray, noise: Noise, dbfs: float) -> np.ndarray:
    """Down to 8 kHz, line noise, mu-law there and back, up to 16 kHz again."""
    narrow = noise(soxr.resample(pcm, RATE, 8000), dbfs)
    wide: np.ndarray = soxr.resample(g711.mulaw_decode(g711.mulaw_encode(narrow)), 8000, RATE)
    return wide


def _segments(events: list[Speech]) -> list[tuple[float, float]]:
    return [(e.start_s, e.end_s) for e in events if e.end_s is not None]


@pytest.mark.parametrize("pair", [("greeting", "hold"), ("short", "account"), ("hold", "short")])
@pytest.mark.parametrize("line", ["clean", "noise -45 dBFS", "phone 8 kHz mu-law, noise -45 dBFS"])
def test_segment_edges_within_tolerance(
    utterances: dict[str, Utterance], run_vad: RunVad, noise: Noise, pair: tuple[str, str], line: str
) -> None:
    pcm, truth = _call(utterances[pair[0]], utterances[pair[1]])
    if line.startswith("noise"):
        pcm = noise(pcm, -45)
    elif line.startswith("phone"):
        pcm = _phone_line(pcm, noise, -45)
    segments = _segments(run_vad(pcm))
    assert len(segments) == 2, f"expected two utterances and one 5.5 s silence, got {segments}"
    for (start, end), (true_start, true_end) in zip(segments, truth, strict=True):
        assert abs(start - true_start) <= TOLERANCE_S
        assert abs(end - true_end) <= TOLERANCE_S


def test_each_segment_is_announced_then_closed(utterances: dict[str, Utterance], run_vad: RunVad) -> None:
    pcm, _ = _call(utterances["greeting"], utterances["short"])
    events = run_vad(pcm)
    assert [e.end_s is None for e in events] == [True, False, True, False]
    assert events[0].start_s == events[1].start_s and events[2].start_s == events[3].start_s
    assert all(e.speaker == "agent" for e in events)
    assert events[1].end_s is not None and events[1].end_s <= events[2].start_s


def test_start_is_announced_soon_and_end_is_back_dated(utterances: dict[str, Utterance]) -> None:
    pcm, _ = _call(utterances["hold"], utterances["short"])
    framer, vad = Framer(("agent",), RATE, 1600), VoiceActivity("agent", RATE)
    noticed: list[tuple[Speech, float]] = []
    for (frame,) in framer.push(pcm.reshape(-1, 1)):
        noticed += [(event, frame.end_s) for event in vad.feed(frame)]
    (start, start_seen), (end, end_seen) = noticed[:2]
    assert start_seen - start.start_s <= 0.25  # min_speech_s plus at most one frame
    assert end.end_s is not None
    assert end_seen - end.end_s >= 0.3  # noticed only after the hangover...
    assert end_seen - end.end_s <= 0.5  # ...and not much later


def test_speech_running_to_the_end_is_closed_by_finish(
    utterances: dict[str, Utterance], run_vad: RunVad
) -> None:
    speech = utterances["greeting"]
    pcm = np.concatenate([np.zeros(8000, np.int16), speech.pcm[: speech.end]])
    events = run_vad(pcm)
    assert len(events) == 2
    assert events[1].end_s == pytest.approx((8000 + speech.end) / RATE, abs=TOLERANCE_S)


def test_frame_sizes_do_not_change_the_result(utterances: dict[str, Utterance], run_vad: RunVad) -> None:
    pcm, _ = _call(utterances["account"], utterances["hold"], gap_s=2.0)
    expected = run_vad(pcm, 1600)
    assert run_vad(pcm, 1234) == expected
    assert run_vad(pcm, 320) == expected


def test_silence_noise_and_clicks_are_not_speech(run_vad: RunVad, noise: Noise) -> None:
    assert run_vad(np.zeros(5 * RATE, np.int16)) == []
    assert run_vad(noise(np.zeros(10 * RATE, np.int16), -45)) == []
    clicks = np.zeros(4 * RATE, np.int16)
    clicks[RATE : RATE + 40] = 20000  # a 2.5 ms pop
    clicks[2 * RATE] = -30000  # a one-sample click
    clicks[3 * RATE : 3 * RATE + 800] = 15000  # a 50 ms thump
    assert run_vad(clicks) == []
    assert run_vad(noise(clicks, -45)) == []


def test_times_follow_the_frames_start(utterances: dict[str, Utterance]) -> None:
    # A stream that starts 100 s into the call: events are in call time, not stream time.
    pcm, truth = _call(utterances["short"], utterances["short"], gap_s=1.0)
    framer, vad = Framer(("customer",), RATE, 1600), VoiceActivity("customer", RATE)
    events: list[Speech] = []
    for (frame,) in framer.push(pcm.reshape(-1, 1)) + framer.flush():
        shifted = Frame("customer", frame.start_s + 100.0, RATE, frame.pcm)
        events += vad.feed(shifted)
    events += vad.finish(100.0 + len(pcm) / RATE)
    assert events[0].speaker == "customer"
    assert events[0].start_s == pytest.approx(100.0 + truth[0][0], abs=TOLERANCE_S)


def test_wrong_frames_are_refused() -> None:
    vad = VoiceActivity("agent", RATE)
    with pytest.raises(ValueError):
        vad.feed(Frame("customer", 0.0, RATE, np.zeros(1600, np.int16)))
    with pytest.raises(ValueError):
        vad.feed(Frame("agent", 0.0, 8000, np.zeros(800, np.int16)))


def test_fast_enough_for_every_frame_of_every_call(noise: Noise, utterances: dict[str, Utterance]) -> None:
    pcm = noise(np.tile(np.concatenate([utterances["hold"].pcm, np.zeros(RATE, np.int16)]), 60), -45)
    steps = Framer(("agent",), RATE, 1600).push(pcm.reshape(-1, 1))
    vad = VoiceActivity("agent", RATE)
    began = time.perf_counter()
    for (frame,) in steps:
        vad.feed(frame)
    elapsed = time.perf_counter() - began
    audio_s = len(pcm) / RATE
    assert elapsed < audio_s / 100, f"{elapsed:.2f} s for {audio_s:.0f} s of audio"
