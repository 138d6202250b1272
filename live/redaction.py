"""PII redaction of a call's transcript, before anything downstream sees it: the sans-I/O :class:`Redactor`.

The call session feeds it every event in call order (and the audio clock with :meth:`Redactor.tick`);
it gives back the events to log, with card numbers, their CVV and expiry, SSNs and long account numbers
replaced in transcripts by ``[card]``, ``[cvv]``, ``[expiry]``, ``[ssn]``, ``[number]`` (in the text and
as one :class:`Word` spanning the times), plus a :class:`Redaction` event for each (speaker, kind,
times), from which the stored recording is silenced. What counts as such a number is
:mod:`live.number_spans`. No clock, no I/O: tests feed it hand-built lines.

**Numbers read across pauses.** A customer reads a card in groups, and Vosk ends an utterance at each
pause, so one card arrives as several finals. Two ways were open: let each final through and redact
earlier lines afterwards, or hold a final back until it is known whether the number goes on. Redacting
afterwards would let the first groups reach the log, the pages and storage before the rest came, which
is exactly what must not happen, so a final that **ends in a number is held** (in audio time) until:

* the speaker's next final arrives: if it starts with a number within :data:`HOLD_GAP_S` of the held
  one's end, it joins the held lines and the lot is judged together (and still held if it too ends in
  a number), else the held lines are released first;
* or :data:`HOLD_GAP_S` of audio passed with nothing more heard from the speaker; if they spoke again
  (their voice activity started, or a partial came), the hold lasts until their final, at most
  :data:`MAX_HOLD_S`.

A held line reaches the log a few seconds late (its times are unchanged, so replays show it in place);
lines that end in words are never held. A number spread over pauses longer than the gap is judged in
parts, so a card read with such pauses is redacted only where a part is itself long enough.

**Partials** go to the pages as the speaker talks, and are never held: in them any run of four or more
digits becomes ``[number]``, and so does a number the partial ends in (it may be the start of a card:
"my card number is five" shows as "... [number]" until the speaker goes on past an ordinary number),
and every number at all while the speaker's earlier line is held or just after a card (so the later
groups of a card never show).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from callcoach.live.events import Event, Redaction, RedactionKind, Speaker, Speech, Transcript, Word
from callcoach.live.number_spans import (
    AFTER_CARD_GROUPS,
    CARD_CONTEXT_S,
    Span,
    Token,
    after_card_kind,
    digit_runs,
    is_numberish,
    judge_run,
    number_groups,
    weight,
)

HOLD_GAP_S = 3.0  # the longest pause between two groups of one number that still joins them
MAX_HOLD_S = 15.0  # a held line is released this long after its end, whatever comes
MAX_HELD_LINES = 8  # a longer chain is judged as it stands (no number is that many groups)
PARTIAL_DIGITS = 4  # a digit run this long is masked in a partial


@dataclass
class _Speaker:
    held: list[Transcript] = field(default_factory=list)
    heard: Transcript | None = None  # the last (masked) partial sent while a line was held
    speech_s: float | None = None  # when the speaker's latest speech began (voice activity)
    card_end_s: float | None = None  # when the speaker's last card number ended
    after_card: int = 0  # groups redacted as that card's CVV or expiry so far

    def near_card(self, at_s: float) -> bool:
        # No lower bound: a line without word times gives its every word the line's start.
        return self.card_end_s is not None and at_s - self.card_end_s <= CARD_CONTEXT_S

    def due(self, now_s: float) -> bool:
        """Is the held line to go? Once the speaker speaks again (their voice is heard, or a partial
        comes: Vosk's first partial may lag the voice by seconds on phone audio) it waits for their
        next final, up to MAX_HOLD_S."""
        end_s = self.held[-1].end_s
        waited = now_s - end_s
        speaking = self.heard is not None or (self.speech_s is not None and self.speech_s > end_s)
        return waited >= MAX_HOLD_S or (not speaking and waited >= HOLD_GAP_S)


class Redactor:
    """Feed every event with :meth:`feed`, the audio clock with :meth:`tick`, and :meth:`finish` at the
    end; each returns the events to log, in order."""

    def __init__(self) -> None:
        self._speakers: dict[Speaker, _Speaker] = {}

    def feed(self, event: Event) -> list[Event]:
        if isinstance(event, Speech) and event.end_s is None:
            self._speakers.setdefault(event.speaker, _Speaker()).speech_s = event.start_s
        if not isinstance(event, Transcript):
            return [event]
        state = self._speakers.setdefault(event.speaker, _Speaker())
        return self._final(event, state) if event.final else [self._partial(event, state)]

    def tick(self, now_s: float) -> list[Event]:
        """Release the lines held long enough; a partial sent meanwhile is sent again after them (a
        final replaces a speaker's partial on the page)."""
        out: list[Event] = []
        for speaker, state in self._speakers.items():
            if state.held and state.due(now_s):
                heard = state.heard
                out += self._release(speaker, state)
                out += [heard] if heard is not None else []
        return out

    def finish(self) -> list[Event]:
        """The call ended: release whatever is held."""
        out: list[Event] = []
        for speaker, state in self._speakers.items():
            out += self._release(speaker, state)
        return out

    def _final(self, line: Transcript, state: _Speaker) -> list[Event]:
        out: list[Event] = []
        if state.held and _continues(state.held[-1], line):
            state.held.append(line)
            state.heard = None
            if _ends_in_number(line, state, min_worth=1) and len(state.held) < MAX_HELD_LINES:
                return out
            return self._release(line.speaker, state)
        out += self._release(line.speaker, state)
        if _ends_in_number(line, state, min_worth=2):
            state.held = [line]
            return out
        return out + self._judge(line.speaker, [line], state)

    def _release(self, speaker: Speaker, state: _Speaker) -> list[Event]:
        lines, state.held, state.heard = state.held, [], None
        return self._judge(speaker, lines, state) if lines else []

    def _judge(self, speaker: Speaker, lines: Sequence[Transcript], state: _Speaker) -> list[Event]:
        """Lines said in one go (a number may run from one into the next): redacted, then a
        :class:`Redaction` for each number found."""
        tokens = [t for line in lines for t in _tokens(line)]
        spans = _find(tokens, state)
        out: list[Event] = []
        offset = 0
        for line in lines:
            count = len(_tokens(line))
            out.append(_apply(line, spans, offset, count))
            offset += count
        for span in spans:
            start_s, end_s = tokens[span.first].start_s, tokens[span.last].end_s
            out.append(Redaction(speaker, span.kind, start_s, end_s))
        return out

    def _partial(self, line: Transcript, state: _Speaker) -> Transcript:
        tokens = _tokens(line)
        runs = [r for r in digit_runs(tokens) if len(r.digits) >= PARTIAL_DIGITS]
        spans = [Span("number", r.pieces[0][0], r.pieces[-1][0]) for r in runs]
        taken = {i for s in spans for i in range(s.first, s.last + 1)}
        groups = [(a, b) for a, b in number_groups(tokens, taken) if weight(tokens[a : b + 1])[1] >= 1]
        everything = state.held or state.near_card(line.start_s)
        spans += [Span("number", a, b) for a, b in groups if everything or _may_go_on(tokens, a, b)]
        masked = _apply(line, sorted(spans, key=lambda s: s.first), 0, len(tokens))
        if state.held:
            state.heard = masked
        return masked


def _find(tokens: Sequence[Token], state: _Speaker) -> list[Span]:
    """The personal numbers in ``tokens``, in order; updates the speaker's card context."""
    spans: list[Span] = []
    for run in digit_runs(tokens):
        spans += [Span(kind, idx[0], idx[-1]) for kind, idx in judge_run(run)]
    taken = {i for s in spans for i in range(s.first, s.last + 1)}
    cards = [(s.first, s) for s in spans if s.kind == "card"]
    groups = [(a, Span("number", a, b)) for a, b in number_groups(tokens, taken)]
    for _pos, item in sorted(cards + groups, key=lambda pair: pair[0]):
        if item.kind == "card":
            state.card_end_s, state.after_card = tokens[item.last].end_s, 0
            continue
        group = tokens[item.first : item.last + 1]
        if state.after_card >= AFTER_CARD_GROUPS or not state.near_card(group[0].start_s):
            continue
        kind: RedactionKind | None = after_card_kind(group, tokens[: item.first])
        if kind is not None:
            spans.append(Span(kind, item.first, item.last))
            state.after_card += 1
    return sorted(spans, key=lambda s: s.first)


def _aligned(line: Transcript) -> bool:
    """Are the line's words its text, word for word (as Vosk gives them)?"""
    return [w.text for w in line.words] == line.text.split()


def _tokens(line: Transcript) -> list[Token]:
    """The line's words with their times; text without (matching) words gets the line's times."""
    if line.words and _aligned(line):
        return [Token(w.text, w.start_s, w.end_s) for w in line.words]
    return [Token(text, line.start_s, line.end_s) for text in line.text.split()]


def _apply(line: Transcript, spans: Sequence[Span], offset: int, count: int) -> Transcript:
    """The line with each span's tokens (``offset`` is the line's first token in the spans' list)
    replaced by one ``[kind]`` word spanning their times."""
    local = [s for s in spans if s.last >= offset and s.first < offset + count]
    aligned = _aligned(line)
    if not local and (aligned or not line.words):
        return line
    tokens = _tokens(line)
    confidence = [w.confidence for w in line.words] if aligned else [1.0] * count
    words: list[Word] = []
    i = 0
    while i < count:
        span = next((s for s in local if s.first <= offset + i <= s.last), None)
        if span is None:
            words.append(Word(tokens[i].text, tokens[i].start_s, tokens[i].end_s, confidence[i]))
            i += 1
            continue
        j = min(span.last - offset, count - 1)
        words.append(Word(f"[{span.kind}]", tokens[i].start_s, tokens[j].end_s, min(confidence[i : j + 1])))
        i = j + 1
    text = " ".join(w.text for w in words)
    if aligned:
        return replace(line, text=text, words=tuple(words) if line.words else ())
    # Words that are not the text (never seen from Vosk): no number among them survives either.
    masked = tuple(replace(w, text="[number]") if is_numberish(w.text) else w for w in line.words)
    return replace(line, text=text, words=masked)


def _may_go_on(tokens: Sequence[Token], first: int, last: int) -> bool:
    """Does a partial end in this number, which may be the start of a longer one? (A lone "oh" there
    is far more often "oh no" than a zero.)"""
    return last == len(tokens) - 1 and not (first == last and tokens[first].text in ("oh", "o"))


def _continues(held: Transcript, line: Transcript) -> bool:
    """Does ``line`` go on with the number the held line ended in?"""
    tokens = _tokens(line)
    return bool(tokens) and is_numberish(tokens[0].text) and line.start_s - held.end_s <= HOLD_GAP_S


def _ends_in_number(line: Transcript, state: _Speaker, *, min_worth: int) -> bool:
    """Does the line end in a number worth ``min_worth`` digits (any number, close after a card)?"""
    tokens = _tokens(line)
    groups = number_groups(tokens, set())
    if not groups or groups[-1][1] != len(tokens) - 1:
        return False
    worth = weight(tokens[groups[-1][0] :])[0]
    return worth >= min_worth or (worth >= 1 and state.near_card(line.end_s))
