"""Coach-defined rules applied to one call: a phrase said, or a phrase missing from a window of the call.

Owns when a rule fires. A "said" rule fires once per occurrence (each time a phrase is said is a moment
of its own a coach may want to hear; several of the rule's phrases in one line are one occurrence), as
soon as the final line holding it arrives. A "missing" rule is judged when its window closes, by the
tick: a phrase said (started) inside the window satisfies it. If the speaker is still mid-sentence when
the window closes, the verdict waits for that sentence's final (Vosk reports it after the audio), up to
``_MAX_WAIT_S``. A rule with no window, or a call that ends before its window closes, is judged at the
end of the call; a call that ends before the window even opens is not judged. Phrases are matched
across a final split at a pause: a speaker's line is searched together with their line before it.
Mono calls (one "mixed" speaker) apply only ``speaker = "any"`` rules: who said it is not known.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from typing import ClassVar

from callcoach.detectors.alerts import AlertIds, joined, quote_of, spoken_end, spoken_start
from callcoach.detectors.rules import NO_RULES, Rule, RuleSet
from callcoach.detectors.text import normalise
from callcoach.live.events import Alert, AlertKind, CallStarted, Event, Quote, Speaker, Speech, Transcript

KIND = "rule"
# A speaker's line is searched with their previous one when it began at most this soon after it ended:
# Vosk ends a final at a short pause, often in the middle of a phrase ("this call may be" / "recorded").
_JOIN_GAP_S = 3.0
# How long after its window closes a "missing" verdict may wait for the final of a sentence that was
# going on at the close (noise the recogniser makes no words of would otherwise hold it forever).
_MAX_WAIT_S = 10.0
# Lines of the speaker quoted with a "missing" alert: what was said in the window instead.
_QUOTED_LINES = 3
_EPSILON_S = 1e-6


@dataclass
class _Token:
    text: str
    start_s: float
    end_s: float
    line: int  # index into the lines searched together


@dataclass
class _Window:
    """A "missing" rule's state for this call."""

    rule: Rule
    said: bool = False
    judged: bool = False
    lines: list[Transcript] = field(default_factory=list)

    @property
    def start_s(self) -> float:
        return self.rule.within_s[0] if self.rule.within_s else 0.0

    @property
    def end_s(self) -> float | None:
        return self.rule.within_s[1] if self.rule.within_s else None

    def covers(self, t_s: float) -> bool:
        end = self.end_s
        return self.start_s - _EPSILON_S <= t_s and (end is None or t_s <= end + _EPSILON_S)


class RuleDetector:
    """Applies one call's rules (fixed for the call: a rules file edited mid-call applies to later calls)."""

    name = "rules"
    # Alerts carry their rule's own polarity; the kind's is only what the page shows for the kind itself.
    KINDS: ClassVar[dict[str, AlertKind]] = {KIND: AlertKind(KIND, "Team rule", "coach", "flag")}

    def __init__(self, rules: RuleSet = NO_RULES) -> None:
        self._said = [r for r in rules.rules if r.when == "said"]
        self._windows = [_Window(r) for r in rules.rules if r.when == "missing"]
        self._ids = AlertIds()
        self._mono = False
        self._previous: dict[Speaker, Transcript] = {}
        self._speaking: set[Speaker] = set()
        # Start of each speaker's speech that no final has covered yet: a verdict must wait for its words.
        self._unheard_from: dict[Speaker, float] = {}
        self._finished = False

    def feed(self, event: Event) -> list[Alert]:
        if self._finished:
            return []
        if isinstance(event, CallStarted):
            self._mono = self._mono or "mixed" in event.speakers
        elif isinstance(event, Speech):
            self._on_speech(event)
        elif isinstance(event, Transcript) and event.final:
            return self._on_final(event)
        return []

    def tick(self, now_s: float) -> list[Alert]:
        out: list[Alert] = []
        for window in self._windows:
            end = window.end_s
            if window.judged or end is None or now_s + _EPSILON_S < end or not self._applies(window.rule):
                continue
            if not window.said and self._unheard(window.rule, end) and now_s < end + _MAX_WAIT_S:
                continue  # the speaker was mid-sentence at the close: wait for what they said
            window.judged = True
            if not window.said:
                out.append(self._missing(window, end, now_s))
        return out

    def finish(self, end_s: float) -> list[Alert]:
        if self._finished:
            return []
        self._finished = True
        out: list[Alert] = []
        for window in self._windows:
            if window.judged or window.said or not self._applies(window.rule):
                continue
            if end_s + _EPSILON_S < window.start_s:
                continue  # the call ended before the window opened: nothing was asked of it
            closes = window.end_s
            out.append(self._missing(window, end_s if closes is None else min(closes, end_s), end_s))
        return out

    def _applies(self, rule: Rule, speaker: Speaker | None = None) -> bool:
        if rule.speaker != "any" and (self._mono or speaker == "mixed"):
            return False
        return speaker is None or rule.speaker in ("any", speaker)

    def _on_speech(self, event: Speech) -> None:
        if event.end_s is None:
            self._speaking.add(event.speaker)
        else:
            self._speaking.discard(event.speaker)
        self._unheard_from.setdefault(event.speaker, event.start_s)

    def _unheard(self, rule: Rule, end_s: float) -> bool:
        """Whether the rule's speaker began speech before ``end_s`` whose final has not come yet."""
        return any(
            start < end_s and self._applies(rule, speaker) for speaker, start in self._unheard_from.items()
        )

    def _on_final(self, line: Transcript) -> list[Alert]:
        speaker = line.speaker
        self._mono = self._mono or speaker == "mixed"
        if speaker not in self._speaking:
            self._unheard_from.pop(speaker, None)
        previous = self._previous.get(speaker)
        self._previous[speaker] = line
        if previous is not None and spoken_start(line) - spoken_end(previous) > _JOIN_GAP_S:
            previous = None
        lines = [previous, line] if previous is not None else [line]
        tokens = _tokens(lines)
        text = " ".join(t.text for t in tokens)
        out = [a for rule in self._said if (a := self._said_in(rule, lines, tokens, text)) is not None]
        for window in self._windows:
            if window.judged or not self._applies(window.rule, speaker):
                continue
            if window.covers(spoken_start(line)) and len(window.lines) < _QUOTED_LINES:
                window.lines.append(line)
            window.said = window.said or any(
                window.covers(m.start_s) for m in _matches(window.rule, tokens, text)
            )
        return out

    def _said_in(self, rule: Rule, lines: list[Transcript], tokens: list[_Token], text: str) -> Alert | None:
        """The rule's alert for its first occurrence ending in the newest line (earlier ones were reported
        with the line before), or None."""
        if not self._applies(rule, lines[-1].speaker):
            return None
        window = _Window(rule)
        for match in _matches(rule, tokens, text):
            if window.covers(match.start_s):
                quotes = tuple(quote_of(x) for x in lines[match.first_line :])
                speaker = lines[-1].speaker
                return self._alert(rule, speaker, match.start_s, match.end_s, spoken_end(lines[-1]), quotes)
        return None

    def _missing(self, window: _Window, end_s: float, detected_s: float) -> Alert:
        rule = window.rule
        speaker: Speaker | None = rule.speaker if rule.speaker != "any" else None
        quotes = tuple(quote_of(x) for x in window.lines)
        return self._alert(rule, speaker, window.start_s, end_s, max(detected_s, end_s), quotes)

    def _alert(
        self,
        rule: Rule,
        speaker: Speaker | None,
        start_s: float,
        end_s: float,
        detected_s: float,
        quotes: tuple[Quote, ...],
    ) -> Alert:
        return Alert(
            id=self._ids.next(f"{KIND}-{rule.name}"),
            revision=0,
            kind=KIND,
            polarity=rule.polarity,
            speaker=speaker,
            start_s=round(start_s, 3),
            end_s=round(end_s, 3),
            detected_s=round(detected_s, 3),
            title=rule.title,
            quote=joined(quotes),
            why=rule.why,
            suggestion=rule.suggestion,
            quotes=quotes,
            rule=rule.name,
        )


def _tokens(lines: list[Transcript]) -> list[_Token]:
    """The lines' words in matching form, each with its time (a line without word times: the line's)."""
    out: list[_Token] = []
    for index, line in enumerate(lines):
        timed = [(w.text, w.start_s, w.end_s) for w in line.words] or [(line.text, line.start_s, line.end_s)]
        for text, start_s, end_s in timed:
            out += [_Token(piece, start_s, end_s, index) for piece in normalise(text).split()]
    return out


@dataclass(frozen=True)
class _Match:
    start_s: float
    end_s: float
    first_line: int  # the line (of those searched together) it starts in


def _matches(rule: Rule, tokens: list[_Token], text: str) -> list[_Match]:
    """Each occurrence of the rule's phrases that ends in the newest line (one ending in the line before
    was found when that line came)."""
    newest = tokens[-1].line if tokens else 0
    starts, offset = [], 0
    for token in tokens:  # where each token begins in ``text`` (tokens are joined by single spaces)
        starts.append(offset)
        offset += len(token.text) + 1
    found: list[_Match] = []
    for match in rule.pattern.finditer(text):
        first = tokens[bisect_right(starts, match.start()) - 1]
        last = tokens[bisect_right(starts, match.end() - 1) - 1]
        if last.line == newest:
            found.append(_Match(first.start_s, last.end_s, first.line))
    return found
