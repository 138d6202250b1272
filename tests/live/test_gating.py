"""SpeechGate: which frames a speaker's recognizer gets; FedAudio: fed time back to call time.

The gate is a sans-I/O core, so its tests hand it frames and voice-activity events built here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pytest

from callcoach.live.events import Frame, Speech
from callcoach.live.gating import Feed, SpeechGate
from callcoach.live.transcriber import FedAudio

RATE = 16000
FRAME = 1600  # 0.1 s


def frame(n: int, samples: int = FRAME) -> Frame:
    """The ``n``-th frame of the agent's audio (samples that differ, so that a cut shows)."""
    start = n * samples
    return Frame("agent", start / RATE, RATE, (np.arange(start, start + samples) % 20000).astype(np.int16))


def starts(feed: Feed | None) -> list[float]:
    return [round(f.start_s, 4) for f in feed.frames] if feed is not None else []


def run(gate: SpeechGate, events: Mapping[int, Sequence[Speech]], frames: int) -> list[Feed | None]:
    """Feed ``frames`` frames; ``events[n]`` are the events voice activity settles in frame n."""
    return [gate.feed(frame(n), events.get(n, ())) for n in range(frames)]


def test_silence_is_skipped_and_speech_passed_on_with_its_pre_roll_first() -> None:
    gate = SpeechGate("agent", pre_roll_s=0.3, post_roll_s=0.3, grid_samples=1)
    # Speech from 2.05 s, announced in the frame at 2.2 s (back-dated, as voice activity does).
    feeds = run(gate, {22: [Speech("agent", 2.05)]}, 30)
    assert feeds[:22] == [None] * 22  # no trip to the recognizer at all
    # Frames reaching into 0.3 s before the start (1.75 s), oldest first, then the frame itself.
    assert starts(feeds[22]) == [1.7, 1.8, 1.9, 2.0, 2.1, 2.2]
    assert all(starts(f) == [round(n / 10, 4)] for n, f in enumerate(feeds[23:], 23))
    assert not any(f.close for f in feeds[22:] if f is not None)


def test_the_utterance_is_closed_once_the_post_roll_after_the_speech_is_fed() -> None:
    gate = SpeechGate("agent", pre_roll_s=0.0, post_roll_s=0.5, grid_samples=1)
    # Last voiced at 3.0 s; voice activity says so after its hangover, in the frame at 3.3 s.
    feeds = run(gate, {10: [Speech("agent", 1.0)], 33: [Speech("agent", 1.0, 3.0)]}, 40)
    passed = [n for n, f in enumerate(feeds) if f is not None]
    assert passed == list(range(10, 35))  # until 3.5 s: the frame at 3.4 s ends there
    closing = [n for n, f in enumerate(feeds) if f is not None and f.close]
    assert closing == [34]


def test_a_post_roll_shorter_than_the_hangover_closes_at_once() -> None:
    gate = SpeechGate("agent", pre_roll_s=0.0, post_roll_s=0.2, grid_samples=1)
    feeds = run(gate, {10: [Speech("agent", 1.0)], 33: [Speech("agent", 1.0, 3.0)]}, 40)
    assert feeds[33] is not None and feeds[33].close
    assert feeds[34:] == [None] * 6


def test_speech_again_within_the_post_roll_keeps_the_utterance_open_and_feeds_nothing_twice() -> None:
    gate = SpeechGate("agent", pre_roll_s=0.5, post_roll_s=0.5, grid_samples=1)
    events = {10: [Speech("agent", 1.0)], 23: [Speech("agent", 1.0, 2.0)], 24: [Speech("agent", 2.3)]}
    feeds = run(gate, events, 30)
    fed = [s for f in feeds for s in starts(f)]
    assert fed == [round(n / 10, 4) for n in range(5, 30)]  # contiguous, each frame once
    assert not any(f.close for f in feeds if f is not None)


def test_a_speaker_who_starts_mid_silence_gets_only_the_pre_roll_kept_from_the_silence() -> None:
    # The customer is silent for the first 7 s (the agent talks); the ring keeps only the last 2 s.
    gate = SpeechGate("agent", pre_roll_s=0.6, post_roll_s=0.6, lookback_s=2.0, grid_samples=1)
    feeds = run(gate, {74: [Speech("agent", 7.3)]}, 80)
    assert feeds[:74] == [None] * 74
    assert starts(feeds[74]) == [6.7, 6.8, 6.9, 7.0, 7.1, 7.2, 7.3, 7.4]
    assert len(gate._ring) == 0  # the silence before the pre-roll is let go


def test_each_stretch_starts_on_the_recognizers_frame_grid() -> None:
    """Vosk hears 30 ms frames (480 samples) counted from the first sample it was fed: a stretch after a
    skip starts where the call's samples lie on that grid as the recognizer counts, so it hears the very
    frames it would have heard ungated."""
    gate = SpeechGate("agent", pre_roll_s=0.2, post_roll_s=0.0, grid_samples=480)
    events = {2: [Speech("agent", 0.2)], 4: [Speech("agent", 0.2, 0.35)], 40: [Speech("agent", 3.85)]}
    feeds = [f for f in run(gate, events, 45) if f is not None]
    first = feeds[0].frames
    assert first[0].start_s == 0 and sum(len(f.pcm) for feed in feeds[:3] for f in feed.frames) == 8000
    second = feeds[3].frames
    # The pre-roll would start at 3.6 s (sample 57600), but 57600 - 8000 fed is not on the grid (49600 =
    # 103 * 480 + 160): the stretch starts 320 samples later, its first frame cut short to match.
    assert second[0].start_s == 57920 / RATE and (57920 - 8000) % 480 == 0
    assert np.array_equal(second[0].pcm, frame(36).pcm[320:])
    assert [round(f.start_s, 1) for f in second[1:]] == [3.7, 3.8, 3.9, 4.0]


def test_end_of_call_mid_speech_leaves_the_flush_to_the_recognizer() -> None:
    gate = SpeechGate("agent", pre_roll_s=0.3, post_roll_s=0.3, grid_samples=1)
    feeds = run(gate, {10: [Speech("agent", 1.0)]}, 20)
    assert all(f is not None for f in feeds[10:])
    # Voice activity closes the segment at the end; everything is fed already.
    assert gate.finish([Speech("agent", 1.0, 1.95)]) is None


def test_speech_announced_only_at_the_end_of_the_call_still_gets_its_frames() -> None:
    gate = SpeechGate("agent", pre_roll_s=0.3, post_roll_s=0.3, grid_samples=1)
    assert run(gate, {}, 20) == [None] * 20
    last = gate.finish([Speech("agent", 1.85, 1.98)])
    assert last is not None and starts(last) == [1.5, 1.6, 1.7, 1.8, 1.9] and not last.close


def test_a_whole_segment_in_one_long_frame_is_passed_and_closed() -> None:
    gate = SpeechGate("agent", pre_roll_s=0.5, post_roll_s=0.2, grid_samples=1)
    long = [frame(n, samples=RATE) for n in range(4)]  # 1 s frames
    assert gate.feed(long[0], ()) is None
    feed = gate.feed(long[1], [Speech("agent", 1.2, 1.6)])
    assert feed is not None and starts(feed) == [0.0, 1.0] and feed.close
    assert gate.feed(long[2], ()) is None


def test_other_speakers_events_are_ignored_and_bad_settings_refused() -> None:
    gate = SpeechGate("agent")
    assert gate.feed(frame(0), [Speech("customer", 0.0)]) is None
    with pytest.raises(ValueError, match="lookback"):
        SpeechGate("agent", pre_roll_s=1.0, lookback_s=0.5)


def fed_audio(runs: Sequence[tuple[float, float]]) -> FedAudio:
    """FedAudio that was fed the call stretches ``runs`` (start, end in call seconds)."""
    fed = FedAudio()
    for start_s, end_s in runs:
        start, end = round(start_s * RATE), round(end_s * RATE)
        fed.add(Frame("agent", start / RATE, RATE, np.zeros(end - start, np.int16)))
    return fed


def test_fed_time_maps_back_to_call_time_through_the_runs() -> None:
    fed = fed_audio([(0.5, 2.0), (2.0, 3.0), (7.25, 9.0), (20.0, 21.5)])
    # Contiguous frames make one run: 0.5 to 3.0 s of the call is 0 to 2.5 s fed.
    assert fed.call_s(0.0) == 0.5 and fed.call_s(2.4) == pytest.approx(2.9)
    assert fed.call_s(2.5) == pytest.approx(7.25)  # a start at a join is in the later run
    assert fed.call_s(2.5, end=True) == pytest.approx(3.0)  # an end, in the earlier one
    assert fed.call_s(4.25) == pytest.approx(20.0) and fed.call_s(5.5) == pytest.approx(21.25)
    assert fed.end_s == 21.5


def test_a_word_never_stretches_across_skipped_audio() -> None:
    fed = fed_audio([(0.0, 5.0), (5.12, 6.0)])
    # Vosk started the first word of an utterance in the padding before the skip.
    assert fed.span_s(4.8, 5.3) == pytest.approx((5.12, 5.42))
    assert fed.span_s(1.0, 1.4) == pytest.approx((1.0, 1.4))
