"""How ``callcoach analyze`` shows a call to a person: the transcript per speaker, then the alerts.

Pure formatting of events into text lines; the CLI decides where they go.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from callcoach.live.codec import wire_text
from callcoach.live.eventlog import final_transcripts, latest_alerts
from callcoach.live.events import Alert, CallEnded, CallStarted, Error, Event, Redaction

_WIDTH = 100
_LABEL = {"coach": "COACH ", "praise": "PRAISE"}


def clock(seconds: float) -> str:
    """``83.29`` → ``01:23.2``: minutes and seconds to a tenth, cut (not rounded) as a player's clock is."""
    tenths = int(max(seconds, 0.0) * 10 + 1e-6)
    minutes, tenths = divmod(tenths, 600)
    return f"{minutes:02d}:{tenths // 10:02d}.{tenths % 10}"


def json_line(event: Event, *, seq: int, call_id: str) -> str:
    """One ``--json`` line: the same text a page gets for the event (a lone surrogate escaped)."""
    return wire_text(event, seq=seq, call_id=call_id)


def timeline(events: Sequence[Event]) -> list[str]:
    """The whole report of a finished (or interrupted) call."""
    lines = _header(events)
    lines += ["", "Transcript"]
    finals = final_transcripts(events)
    lines += [f"  {clock(t.start_s)}–{clock(t.end_s)}  {t.speaker:<8}  {t.text}" for t in finals]
    if not finals:
        lines.append("  (no speech recognised)")
    hidden = [e for e in events if isinstance(e, Redaction)]
    if hidden:
        spans = ", ".join(f"{r.kind} {clock(r.start_s)}–{clock(r.end_s)} ({r.speaker})" for r in hidden)
        lines += _wrapped(spans, "hidden")
    alerts = sorted(latest_alerts(events), key=lambda a: (a.start_s, a.detected_s))
    counts = {p: sum(a.polarity == p for a in alerts) for p in ("coach", "praise")}
    lines += ["", f"Alerts: {counts['coach']} to coach, {counts['praise']} to praise"]
    for alert in alerts:
        lines += ["", *_alert(alert)]
    if not alerts:
        lines.append("  (nothing flagged)")
    return lines


def _header(events: Sequence[Event]) -> list[str]:
    started = next((e for e in events if isinstance(e, CallStarted)), None)
    ended = next((e for e in events if isinstance(e, CallEnded)), None)
    name = started.title or started.call_id if started else "call"
    speakers = ", ".join(started.speakers) if started else "?"
    length = f"{clock(ended.end_s)}" if ended else "unfinished"
    head = f"{name} · {length} · speakers: {speakers}"
    if ended and ended.reason != "completed":
        head += f" · ended: {ended.reason}"
    errors = [f"  ! {e.message}" for e in events if isinstance(e, Error)]
    return [head, *errors]


def _alert(alert: Alert) -> list[str]:
    span = clock(alert.start_s) + (f"–{clock(alert.end_s)}" if alert.end_s is not None else "–…")
    rule = f"  (rule {alert.rule})" if alert.rule else ""  # a coach-defined rule: which one, for its lead
    out = [f"  [{_LABEL[alert.polarity]}] {span}  {alert.title}{rule}"]
    if alert.quotes:
        for q in alert.quotes:
            out += _wrapped(f'{q.speaker} at {clock(q.start_s)}: "{q.text}"', "said")
    elif alert.quote:
        out += _wrapped(f'"{alert.quote}"', "said")
    if alert.pause_s is not None:
        out += _wrapped(f"{alert.pause_s:.1f} s before the reply", "pause")
    out += _wrapped(alert.why, "why")
    out += _wrapped(alert.suggestion, "try" if alert.polarity == "coach" else "keep")
    return out


def _wrapped(text: str, label: str) -> list[str]:
    if not text:
        return []
    indent = " " * 11
    first = f"{indent}{label + ':':<6} "
    return textwrap.wrap(text, _WIDTH, initial_indent=first, subsequent_indent=" " * len(first))
