"""A call's words and moments in the formats other tools read: WebVTT, SRT, plain text and CSV.

Pure formatting of a call's events into text; the CLI (:mod:`live.export_cli`) and the server
(:mod:`web.export_routes`) decide where it goes. Only final transcripts are exported (a partial is a guess
the recogniser revised), and only as they were kept: a call recorded with redaction on has ``[card]`` in
its stored lines, so that is what every export says; nothing here ever sees the original words.

**Cues.** A subtitle player shows a cue as a block of at most two short lines, so one long utterance is
split into cues of at most :data:`MAX_CUE_CHARS` characters and :data:`MAX_CUE_S` seconds, at word
boundaries, each cue timed by its own words (Vosk's word times). A line whose words do not match its text
word for word (none were kept) is split the same way and its time shared out by the characters of each
part. A single word longer than the limit is a cue of its own.

**Moments CSV.** One row per moment (each alert in its latest revision), in call order, with the coaches'
notes made during it (``at_s`` within its span: "Author: text", several joined by `` | ``); a note made
where no moment was is a row of its own, kind ``note``, so nothing a coach wrote is left out. Cells a
spreadsheet would run as a formula (starting ``=``, ``+``, ``-``, ``@``) are prefixed with ``'``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

from callcoach.live.eventlog import final_transcripts, latest_alerts
from callcoach.live.events import Alert, CallInfo, Event, Note, Speaker, Transcript

Format: TypeAlias = Literal["vtt", "srt", "txt", "csv"]
FORMATS: tuple[Format, ...] = ("vtt", "srt", "txt", "csv")
MEDIA_TYPES: dict[Format, str] = {
    "vtt": "text/vtt",
    "srt": "application/x-subrip",
    "txt": "text/plain",
    "csv": "text/csv",
}
# Two subtitle lines of 42 characters and at most 7 s on screen: the usual broadcast guidelines.
MAX_CUE_CHARS = 84
MAX_CUE_S = 7.0
SPEAKER_NAMES: dict[Speaker, str] = {"agent": "Agent", "customer": "Customer", "mixed": "Speaker"}
MOMENT_COLUMNS = ("kind", "polarity", "start_s", "end_s", "speaker", "quote", "why", "suggestion", "notes")
TEAM_COLUMNS = ("call_id", "date", "title", "agent", *MOMENT_COLUMNS)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Cue:
    """One subtitle: a speaker's words between two times of the call."""

    speaker: Speaker
    text: str
    start_s: float
    end_s: float


def export(events: Sequence[Event], fmt: Format) -> str:
    """The call in ``fmt``: ``vtt``, ``srt``, ``txt`` (the transcript) or ``csv`` (its moments)."""
    if fmt == "vtt":
        return webvtt(events)
    if fmt == "srt":
        return srt(events)
    if fmt == "txt":
        return plain_text(events)
    return moments_csv(events)


def cues(events: Sequence[Event]) -> list[Cue]:
    """The call's final lines as cues of readable length, in the order they were spoken."""
    found = [cue for line in final_transcripts(events) if line.text.strip() for cue in _split(line)]
    # By start, as WebVTT requires: a long line's later cues come after what the other speaker said meanwhile.
    return sorted(found, key=lambda cue: cue.start_s)


def webvtt(events: Sequence[Event]) -> str:
    """A WebVTT file: each cue with its speaker as a voice tag (``<v Agent>``)."""
    blocks = ["WEBVTT"]
    for n, cue in enumerate(cues(events), start=1):
        span = f"{_stamp(cue.start_s, '.')} --> {_stamp(cue.end_s, '.')}"
        blocks.append(f"{n}\n{span}\n<v {SPEAKER_NAMES[cue.speaker]}>{_vtt_text(cue.text)}")
    return "\n\n".join(blocks) + "\n"


def srt(events: Sequence[Event]) -> str:
    """A SubRip file: numbered cues, the speaker's name before their words (SRT has no voice tags)."""
    blocks = []
    for n, cue in enumerate(cues(events), start=1):
        span = f"{_stamp(cue.start_s, ',')} --> {_stamp(cue.end_s, ',')}"
        blocks.append(f"{n}\n{span}\n{SPEAKER_NAMES[cue.speaker]}: {_one_line(cue.text)}")
    return "\n\n".join(blocks) + "\n" if blocks else ""


def plain_text(events: Sequence[Event]) -> str:
    """The transcript to read: ``[00:01:02] Agent: ...``, one line per utterance."""
    lines = [
        f"[{_stamp(t.start_s, None)}] {SPEAKER_NAMES[t.speaker]}: {_one_line(t.text)}"
        for t in final_transcripts(events)
        if t.text.strip()
    ]
    return "".join(f"{line}\n" for line in lines)


def moments_csv(events: Sequence[Event]) -> str:
    """The call's moments, one row each (:data:`MOMENT_COLUMNS`), with the coaches' notes."""
    return _csv(MOMENT_COLUMNS, moment_rows(events))


def team_csv(calls: Iterable[tuple[CallInfo, Sequence[Event]]]) -> str:
    """Every moment of every call given, one row each, after the call's id, date, title and agent."""
    rows = (
        [info.call_id, info.started_at[:10], info.title, info.agent, *row]
        for info, events in calls
        for row in moment_rows(events)
    )
    return _csv(TEAM_COLUMNS, rows)


def in_period(started_at: str, first: dt.date | None, last: dt.date | None) -> bool:
    """Whether a call that started at ``started_at`` (ISO 8601, UTC) is on a day from ``first`` to
    ``last``, both included; either end None is open. A call with no start time is in an open period only."""
    day = started_at[:10]
    if not day:
        return first is None and last is None
    return (first is None or day >= first.isoformat()) and (last is None or day <= last.isoformat())


def parse_day(text: str) -> dt.date:
    """``2026-11-30`` as a day; a ValueError naming the form otherwise."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a day: write it as YYYY-MM-DD, e.g. 2026-11-30") from None


def moment_rows(events: Sequence[Event]) -> list[list[str]]:
    """The rows of :func:`moments_csv` without its header."""
    alerts = sorted(latest_alerts(events), key=lambda a: (a.start_s, a.detected_s))
    notes = [e for e in events if isinstance(e, Note)]
    placed: set[str] = set()
    rows: list[tuple[float, list[str]]] = []
    for alert in alerts:
        during = [n for n in notes if _within(n.at_s, alert)]
        placed.update(n.id for n in during)
        rows.append((alert.start_s, _alert_row(alert, during)))
    for note in notes:
        if note.id not in placed:
            quote = f"{SPEAKER_NAMES[note.quote.speaker]}: {note.quote.text}" if note.quote else ""
            row = ["note", note.tag, _seconds(note.at_s), "", "", quote, "", "", _note_text(note)]
            rows.append((note.at_s, row))
    return [row for _, row in sorted(rows, key=lambda r: r[0])]


def _alert_row(alert: Alert, notes: Sequence[Note]) -> list[str]:
    if alert.quotes:
        quote = " / ".join(f"{SPEAKER_NAMES[q.speaker]}: {q.text}" for q in alert.quotes)
    else:
        quote = alert.quote
    end = "" if alert.end_s is None else _seconds(alert.end_s)
    speaker = SPEAKER_NAMES[alert.speaker] if alert.speaker else ""
    kind = f"rule:{alert.rule}" if alert.rule else alert.kind
    notes_text = " | ".join(_note_text(n) for n in notes)
    return [kind, alert.polarity, _seconds(alert.start_s), end, speaker, quote, alert.why, alert.suggestion,
            notes_text]  # fmt: skip


def _within(at_s: float, alert: Alert) -> bool:
    end_s = alert.start_s if alert.end_s is None else alert.end_s
    return alert.start_s <= at_s <= end_s


def _note_text(note: Note) -> str:
    return f"{note.author_name or note.author}: {note.text}"


def _csv(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180's line ends, which every spreadsheet reads
    writer.writerow(header)
    writer.writerows([_safe_cell(cell) for cell in row] for row in rows)
    return out.getvalue()


def _safe_cell(cell: str) -> str:
    # A quote or a note is words someone said or typed: never let a spreadsheet run it as a formula.
    return f"'{cell}" if cell.startswith(_FORMULA_STARTS) else cell


def _seconds(value: float) -> str:
    return f"{value:.3f}"


def _split(line: Transcript) -> list[Cue]:
    """One final line as cues of at most :data:`MAX_CUE_CHARS` and :data:`MAX_CUE_S`."""
    words = line.text.split()
    aligned = [w.text for w in line.words] == words
    if aligned:
        times = [(w.start_s, w.end_s) for w in line.words]
    else:  # no word times: share the line's time out by characters
        times = _shared_times(words, line.start_s, line.end_s)
    groups: list[list[int]] = [[]]
    for i in range(len(words)):
        group = groups[-1]
        text = " ".join(words[j] for j in [*group, i])
        if group and (len(text) > MAX_CUE_CHARS or times[i][1] - times[group[0]][0] > MAX_CUE_S):
            groups.append([i])
        else:
            group.append(i)
    out = []
    for group in groups:
        start_s, end_s = times[group[0]][0], times[group[-1]][1]
        if len(groups) == 1:  # the whole line: its own times, which cover every word
            start_s, end_s = line.start_s, line.end_s
        out.append(Cue(line.speaker, " ".join(words[j] for j in group), start_s, max(end_s, start_s + 0.001)))
    return out


def _shared_times(words: Sequence[str], start_s: float, end_s: float) -> list[tuple[float, float]]:
    total = sum(len(w) + 1 for w in words)
    times, at = [], 0
    for word in words:
        span = end_s - start_s
        times.append((start_s + span * at / total, start_s + span * (at + len(word) + 1) / total))
        at += len(word) + 1
    return times


def _stamp(seconds: float, sep: str | None) -> str:
    """``62.5`` → ``00:01:02.500`` (``sep`` ``.``: WebVTT), ``00:01:02,500`` (SRT), ``00:01:02`` (None)."""
    ms = round(max(seconds, 0.0) * 1000)
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    whole = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return whole if sep is None else f"{whole}{sep}{ms:03d}"


def _one_line(text: str) -> str:
    # A line break in a cue's text would end the cue (a blank line) or start a new one: keep it one line.
    return " ".join(text.split())


def _vtt_text(text: str) -> str:
    """Cue text as WebVTT wants it: ``&``, ``<`` and ``>`` escaped, and never the ``-->`` of a timing."""
    return _one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
