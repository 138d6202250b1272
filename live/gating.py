"""Which of one speaker's frames their recognizer gets: speech and a little padding, never long silences.

Vosk costs about as much per second of silence as per second of speech, and in a call each speaker is
silent more than half the time (the other one is talking). Voice activity already knows when a speaker
talks, so a :class:`SpeechGate` per speaker passes on only the frames around their speech:

* **Pre-roll.** Voice activity announces a start late (after ``min_speech_s`` of voiced audio) and
  back-dates it, so the frames not passed on are kept in a short ring; when speech starts, the ring's
  frames from ``pre_roll_s`` before the (back-dated) start go first. Without them the recognizer would
  hear the first word clipped.
* **Post-roll.** Every frame while the speech goes on is passed on, including voice activity's hangover;
  after the speech's end, frames go on until ``post_roll_s`` after its last voiced moment.
* **Closing the utterance.** Then the utterance is closed (the recognizer is asked for its result now).
  Vosk ends an utterance only after hearing enough trailing silence; the post-roll is long enough for
  that, so the close is a backstop (noisy lines, where Vosk hears no silence): without it, with the
  silence after no longer fed, the last words would come out only when the speaker next talks.

A frame not passed on costs the recognizer nothing at all (no trip to its thread). The gate only decides;
the transcriber maps the recognizer's times, which count only the audio it heard, back to call time.
Plain class, fed frames and the speaker's voice-activity events in order; no clock, no I/O.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from callcoach.live.events import Frame, Speaker, Speech

# Measured against ungated decoding on the samples and the real recordings (tests/bench/gating.py).
# Pre-roll: at 0.3 s the first words after a skip differed more often (the recognizer's speaker adaptation
# and the decoder start on less silence; voice activity's start on a soft onset is late); 0.6 s was as
# close as 1.5 s. Post-roll: longer than Vosk's own endpointing needs (its longest rule ends an utterance
# after 0.7 s of trailing silence, live/decoder_search.py, decoded a little behind the audio), so the gate
# never cuts an utterance Vosk would have kept going: at 0.35 s (the hangover alone) it split sentences at
# short pauses, which changed the words at the split and started the next one early in the silence before
# it; at 0.9 s a customer's "thanks" after a short "okay" started 0.27 s early. Vosk has ended the
# utterance itself by the time the gate closes it, so finals come when they did.
PRE_ROLL_S = 0.6
POST_ROLL_S = 1.0
# Vosk's acoustic model sees the audio in 30 ms frames (10 ms features, subsampled by 3) counted from the
# first sample it was fed. Each stretch passed on starts on that grid as the call's samples lie on it, so
# that the recognizer hears the very frames it would have heard ungated: shifted by a fraction of a frame,
# the same speech decodes to different words now and then ("help" as "tell").
GRID_SAMPLES = 480
# Unfed audio kept for the pre-roll: longer than voice activity ever back-dates a start (under 1 s) plus
# the pre-roll, so a start is never older than the ring.
LOOKBACK_S = 2.0


@dataclass(frozen=True)
class Feed:
    """What a speaker's recognizer gets at one step: ``frames`` to decode, in call order (the pre-roll
    first), then, with ``close``, the end of the utterance."""

    frames: tuple[Frame, ...]
    close: bool = False


class SpeechGate:
    """Feed with :meth:`feed` per frame (with the voice-activity events of that frame), :meth:`finish`
    at the end of the call. Returns None for a frame the recognizer does not need."""

    def __init__(
        self,
        speaker: Speaker,
        *,
        pre_roll_s: float = PRE_ROLL_S,
        post_roll_s: float = POST_ROLL_S,
        lookback_s: float = LOOKBACK_S,
        grid_samples: int = GRID_SAMPLES,
    ) -> None:
        if pre_roll_s < 0 or post_roll_s < 0 or lookback_s < pre_roll_s:
            raise ValueError(
                f"padding must be at least 0 and the lookback at least the pre-roll, got "
                f"pre_roll_s={pre_roll_s}, post_roll_s={post_roll_s}, lookback_s={lookback_s}"
            )
        self.speaker: Speaker = speaker
        self.pre_roll_s = pre_roll_s
        self.post_roll_s = post_roll_s
        self.lookback_s = lookback_s
        self.grid_samples = grid_samples
        self._passed = 0  # samples passed on so far (the recognizer's clock)
        self._ring: deque[Frame] = deque()  # frames not passed on, newest last
        self._talking = False  # a speech start was announced and its end not yet
        self._close_at_s: float | None = None  # speech ended: pass frames on until then, then close

    @property
    def passing(self) -> bool:
        """True while frames are passed on (speech, or the post-roll after it)."""
        return self._talking or self._close_at_s is not None

    def feed(self, frame: Frame, speech: Iterable[Speech]) -> Feed | None:
        """The next frame of this speaker, with the voice-activity events its audio settled."""
        if frame.speaker != self.speaker:
            raise ValueError(f"the gate of {self.speaker} got a frame of {frame.speaker}")
        resumed = not self.passing  # this frame starts a new stretch (whose start goes on the grid)
        start_s = self._follow(speech)
        if start_s is None and not self.passing:
            self._keep(frame)
            return None
        frames = (*self._pre_roll(start_s), frame)
        close = self._close_at_s is not None and frame.end_s >= self._close_at_s - 1e-9
        if close:
            self._close_at_s = None
        return self._pass(frames, close, on_grid=resumed)

    def finish(self, speech: Iterable[Speech]) -> Feed | None:
        """The call ended; ``speech`` is what voice activity settled at its end. A speech it announces
        only now still gets its pre-roll; the recognizer's own flush ends the last utterance."""
        resumed = not self.passing
        start_s = self._follow(speech)
        frames = self._pre_roll(start_s) if start_s is not None else ()
        self._ring.clear()
        self._talking, self._close_at_s = False, None
        return self._pass(frames, False, on_grid=resumed) if frames else None

    def _follow(self, speech: Iterable[Speech]) -> float | None:
        """Update the state from this frame's events; the start of a speech announced in them, if any."""
        start_s: float | None = None
        for event in speech:
            if event.speaker != self.speaker:
                continue
            if not self._talking:  # a start, or a whole segment announced at once (long frames)
                start_s = event.start_s if start_s is None else min(start_s, event.start_s)
            if event.end_s is None:
                self._talking, self._close_at_s = True, None
            else:
                self._talking, self._close_at_s = False, event.end_s + self.post_roll_s
        return start_s

    def _pre_roll(self, start_s: float | None) -> tuple[Frame, ...]:
        """The kept frames that reach into ``pre_roll_s`` before ``start_s``; the ring is emptied (the
        frames before the pre-roll are not needed any more)."""
        if start_s is None:
            return ()
        since_s = start_s - self.pre_roll_s
        frames = tuple(f for f in self._ring if f.end_s > since_s + 1e-9)
        self._ring.clear()
        return frames

    def _pass(self, frames: tuple[Frame, ...], close: bool, *, on_grid: bool) -> Feed | None:
        """Pass ``frames`` on; a stretch that resumes after skipped audio first loses the few samples
        (under one grid step) that put its start on the recognizer's frame grid."""
        if on_grid:
            first = round(frames[0].start_s * frames[0].sample_rate)
            frames = _drop_front(frames, (self._passed - first) % self.grid_samples)
        self._passed += sum(len(f.pcm) for f in frames)
        return Feed(frames, close) if frames or close else None

    def _keep(self, frame: Frame) -> None:
        self._ring.append(frame)
        while self._ring and self._ring[0].end_s <= frame.end_s - self.lookback_s:
            self._ring.popleft()


def _drop_front(frames: tuple[Frame, ...], samples: int) -> tuple[Frame, ...]:
    """``frames`` without their first ``samples`` samples (a frame cut short starts later)."""
    out: list[Frame] = []
    for frame in frames:
        cut = min(samples, len(frame.pcm))
        samples -= cut
        if cut < len(frame.pcm):
            start_s = frame.start_s + cut / frame.sample_rate
            out.append(
                frame if not cut else Frame(frame.speaker, start_s, frame.sample_rate, frame.pcm[cut:])
            )
    return tuple(out)
