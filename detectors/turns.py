"""Turn-taking facts the turn detectors share: who is voiced when, what each side said when, and whether
what they said was a turn of their own or only a listener's backchannel.

Owns three things. :class:`TurnLog` follows one stereo call's voice activity (``Speech`` events) and final
transcripts per speaker (``agent``, ``customer``; a mono call's ``mixed`` speaker is not followed, since
who spoke is the whole point). :func:`is_backchannel` says whether a line's words are only "mhm", "yeah
right", "i see" and the like, or the one-word guesses Vosk makes out of a breath or line noise.
:func:`voice_start` says when an event is one side beginning to speak. The interruption and monologue
detectors decide *when* something happened from the voice activity and use the words only to confirm it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from callcoach.detectors.alerts import spoken_end, spoken_start
from callcoach.detectors.text import BACKCHANNEL, compile_phrases, normalise
from callcoach.live.events import Event, Speaker, Speech, Transcript, Word

# The VAD reports a speech end ``hangover_s`` (0.35 s) after the last voiced window: a segment still
# open at ``now_s`` was voiced at least until about this long before it.
VAD_LAG_S = 0.4
# Finals and segments older than this are forgotten, unless a detector needs to look back further (a
# monologue, to its own start).
MEMORY_S = 120.0

# A word heard on both lines within this of each other is one voice and its echo on the other line.
ECHO_S = 0.25

# Listener phrases of more than one word, and ASR-slip versions of them ("uh huh" heard as "a ha").
# Written against normalised text (lowercase, no apostrophes).
_BACKCHANNEL_PHRASES = compile_phrases(
    [
        "uh huh",
        "a ha",
        "ah ha",
        "mm hmm",
        "m hm",
        "i see",
        "got it",
        "gotcha",
        "i got you",
        "thats right",
        "that is right",
        "thats true",
        "all right",
        "alright",
        "of course",
        "i know",
        "i understand",
        "makes sense",
        "that makes sense",
        "sounds good",
        "fair enough",
        "oh really",
        "oh wow",
        "oh okay",
        "oh ok",
        "oh i see",
        "go on",
        "go ahead",
        "no problem",
        "very good",
        "very well",
        "thank you",
        "thanks",
        "oh no",
        "oh dear",
        "no way",
        "for sure",
        "i hear you",
        "sure thing",
        "got you",
        # Vosk's small model on "makes sense"
        "make sense",
    ]
)
# Vosk's small model hears the hummed first half of "mm hmm" as whatever short word sounds nearest ("am
# hm", "i'm hm", "um hmm", "mm them"): a short nasal or vowel word before a hum is the listener's "mm hmm",
# whichever word it made of the first half.
_MM_HMM = re.compile(r"\b(?:a|ah|am|an|em|i|im|m|mm|uh|um|uhm|ahm)\s+(?:hm|hmm|mhm|them)\b")
# Single listener words beyond the shared table, and what Vosk's small model writes for a breath, a
# cough or a burst of line noise ("the", "huh", "a"): none of these is a turn on its own.
_LISTENER_WORDS = BACKCHANNEL | frozenset(
    (
        "oh",
        "aha",
        "ha",
        "hm",
        "mmm",
        "mhmm",
        "yup",
        "yea",
        "ya",
        "yah",
        "exactly",
        "absolutely",
        "definitely",
        "true",
        "cool",
        "great",
        "fine",
        "perfect",
        "wow",
        "really",
        "indeed",
        "alright",
        "the",
        "a",
        "and",
        "i",
        "hey",
        "oops",
    )
)
# A backchannel is short: "yeah yeah right okay" is still one, a sentence of fillers is not.
_BACKCHANNEL_MAX_WORDS = 4


def is_backchannel(text: str) -> bool:
    """Whether ``text`` is only a listener's "mhm", "yeah right", "i see" or a noise word (or nothing)."""
    rest = _BACKCHANNEL_PHRASES.sub(" mhm ", _MM_HMM.sub(" mhm ", normalise(text))).split()
    return len(rest) <= _BACKCHANNEL_MAX_WORDS and all(w in _LISTENER_WORDS for w in rest)


def voice_start(event: Event, speaker: Speaker) -> float | None:
    """When ``event`` is the VAD hearing ``speaker`` begin to speak (a segment opening), its start; else
    None. A turn starts with the voice, long before its words arrive as a final."""
    if isinstance(event, Speech) and event.speaker == speaker and event.end_s is None:
        return event.start_s
    return None


def _same_word(a: Word, b: Word) -> bool:
    return abs(a.start_s - b.start_s) <= ECHO_S and normalise(a.text) == normalise(b.text)


def words_text(words: Sequence[Word]) -> str:
    return " ".join(w.text for w in words)


@dataclass
class _Voice:
    """One speaker's voice activity: the open segment's start, and the finished segments."""

    open_start_s: float | None = None
    segments: list[tuple[float, float]] = field(default_factory=list)

    @property
    def last_end_s(self) -> float:
        return self.segments[-1][1] if self.segments else float("-inf")


class TurnLog:
    """What each side of a stereo call did, as far as the events so far tell; fed every event."""

    def __init__(self, memory_s: float = MEMORY_S) -> None:
        self._memory_s = memory_s
        self._voice: dict[Speaker, _Voice] = {"agent": _Voice(), "customer": _Voice()}
        self._finals: dict[Speaker, list[Transcript]] = {"agent": [], "customer": []}
        self._partial: dict[Speaker, Transcript | None] = {"agent": None, "customer": None}

    def feed(self, event: Event) -> None:
        if isinstance(event, Speech) and event.speaker in self._voice:
            self._speech(event)
        elif isinstance(event, Transcript) and event.speaker in self._finals:
            if not event.final:
                self._partial[event.speaker] = event
            elif event.text.strip():
                self._partial[event.speaker] = None
                kept = [
                    t for t in self._finals[event.speaker] if spoken_end(t) > event.end_s - self._memory_s
                ]
                self._finals[event.speaker] = [*kept, event]

    def _speech(self, event: Speech) -> None:
        voice = self._voice[event.speaker]
        if event.end_s is None:
            voice.open_start_s = event.start_s
            return
        voice.open_start_s = None
        kept = [s for s in voice.segments if s[1] > event.end_s - self._memory_s]
        voice.segments = [*kept, (event.start_s, event.end_s)]

    def open_start(self, speaker: Speaker) -> float | None:
        """Start of ``speaker``'s segment still going on, or None while they are silent."""
        return self._voice[speaker].open_start_s

    def last_end(self, speaker: Speaker) -> float:
        """End of ``speaker``'s last finished segment (-inf before any)."""
        return self._voice[speaker].last_end_s

    def voiced_until(self, speaker: Speaker, now_s: float) -> float:
        """How far ``speaker`` is known to have been voiced: an open segment at least to ``now_s`` less the
        VAD's lag, else the end of the last segment."""
        voice = self._voice[speaker]
        if voice.open_start_s is not None:
            return max(voice.open_start_s, now_s - VAD_LAG_S, voice.last_end_s)
        return voice.last_end_s

    def segments_since(self, speaker: Speaker, start_s: float) -> list[tuple[float, float | None]]:
        """``speaker``'s segments ending after ``start_s``, the open one last (with end None)."""
        voice = self._voice[speaker]
        out: list[tuple[float, float | None]] = [s for s in voice.segments if s[1] > start_s]
        if voice.open_start_s is not None:
            out.append((voice.open_start_s, None))
        return out

    def turn_start(self, speaker: Speaker, start_s: float, gap_s: float) -> float:
        """Where the turn holding the segment that began at ``start_s`` began: earlier segments of
        ``speaker`` count as the same turn while the pauses between them are shorter than ``gap_s``."""
        for seg_start, seg_end in reversed(self._voice[speaker].segments):
            if seg_start >= start_s:
                continue
            if start_s - seg_end >= gap_s:
                break
            start_s = seg_start
        return start_s

    def heard_until(self, speaker: Speaker) -> float:
        """End of ``speaker``'s latest final: their words are known up to here."""
        finals = self._finals[speaker]
        return spoken_end(finals[-1]) if finals else float("-inf")

    def lines(self, speaker: Speaker, start_s: float, end_s: float) -> list[Transcript]:
        """``speaker``'s finals that were spoken (at least partly) between ``start_s`` and ``end_s``."""
        return [t for t in self._finals[speaker] if spoken_end(t) > start_s and spoken_start(t) < end_s]

    def words(self, speaker: Speaker, start_s: float, end_s: float) -> list[Word]:
        """``speaker``'s final words whose middle falls between ``start_s`` and ``end_s``."""
        return [
            w
            for t in self.lines(speaker, start_s, end_s)
            for w in t.words
            if start_s <= (w.start_s + w.end_s) / 2 < end_s
        ]

    def known_until(self, speaker: Speaker) -> float:
        """How far ``speaker``'s words are known, counting the partial they are in the middle of: to the
        end of its last word, not the partial's own end (Vosk's partial words trail the audio by a second
        or more while two people talk at once)."""
        partial = self._partial[speaker]
        latest = partial.words[-1].end_s if partial is not None and partial.words else float("-inf")
        return max(self.heard_until(speaker), latest)

    def words_so_far(self, speaker: Speaker, start_s: float, end_s: float) -> list[Word]:
        """As :meth:`words`, with the words of the partial ``speaker`` is in the middle of after them:
        a verdict that needs a few words need not wait for the end of a long line."""
        partial = self._partial[speaker]
        latest = [w for w in partial.words if start_s <= (w.start_s + w.end_s) / 2 < end_s] if partial else []
        return [*self.words(speaker, start_s, end_s), *latest]

    def own_words(self, speaker: Speaker, start_s: float, end_s: float) -> list[Word]:
        """As :meth:`words_so_far`, less any word the other side said at the same moment: on a phone
        line one side's voice can leak onto the other's channel as echo, and Vosk hears it there too."""
        return self.without_echo(speaker, self.words_so_far(speaker, start_s, end_s))

    def without_echo(self, speaker: Speaker, said: Sequence[Word]) -> list[Word]:
        """``said`` (``speaker``'s words) less those the other side said at the same moment."""
        if not said:
            return []
        other: Speaker = "customer" if speaker == "agent" else "agent"
        theirs = self.words_so_far(other, said[0].start_s - ECHO_S, said[-1].end_s + ECHO_S)
        return [w for w in said if not any(_same_word(w, x) for x in theirs)]

    def partial(self, speaker: Speaker) -> Transcript | None:
        """``speaker``'s latest partial since their last final: what they are saying right now."""
        return self._partial[speaker]
