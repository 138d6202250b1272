"""Small pieces every detector needs to word and number its alerts.

Owns the per-detector alert id counter ("silence-1", "silence-2", ...), the ``mm:ss`` clock and
duration wording used in titles, and turning a final transcript into a :class:`Quote`. Nothing here
knows about a particular kind of moment.
"""

from __future__ import annotations

from collections import Counter

from callcoach.live.events import Quote, Transcript


class AlertIds:
    """Deterministic alert ids, counted per kind within one detector instance (so per call).

    Replays of the same call give the same ids, which lets the page and the tests match revisions.
    """

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()

    def next(self, kind: str) -> str:
        self._counts[kind] += 1
        return f"{kind}-{self._counts[kind]}"


def clock(seconds: float) -> str:
    """``mm:ss`` into the call, as a coach scrubbing a recording reads it (hours fold into minutes)."""
    whole = max(0, int(seconds))
    return f"{whole // 60:02d}:{whole % 60:02d}"


def secs(seconds: float) -> str:
    """A duration in tenths of a second: "5.6 s"."""
    return f"{seconds:.1f} s"


def spoken_start(line: Transcript) -> float:
    """When the first word was said: word times beat the segment's, which may include leading silence."""
    return line.words[0].start_s if line.words else line.start_s


def spoken_end(line: Transcript) -> float:
    """When the last word ended (word time when known, else the segment's end)."""
    return line.words[-1].end_s if line.words else line.end_s


def quote_of(line: Transcript) -> Quote:
    """A final transcript line as an alert quotes it, timed by its words."""
    return Quote(speaker=line.speaker, text=line.text, start_s=spoken_start(line), end_s=spoken_end(line))


def joined(quotes: tuple[Quote, ...] | list[Quote]) -> str:
    """Several consecutive lines of one speaker as one quote, with "..." where the finals were split."""
    # A final split at a pause often ends on a comma ("but, well,"): drop it before the "...".
    return " ... ".join(text for q in quotes if (text := q.text.strip().rstrip(",;")))
