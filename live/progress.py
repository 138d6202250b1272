"""How far ``callcoach analyze`` has got, on stderr: a one-line bar redrawn in place on a terminal, plain
lines otherwise (a log file or a CI job wants lines, not carriage returns).

The figures are pure functions of what is done and of the wall seconds since the start, which the caller
passes in (no clock here): ×RT is audio seconds analysed per wall second; the time left is the audio still
to analyse at that rate. Wall time is right here and only here: this is about the machine's throughput,
not about anything in a call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

BAR_CELLS = 20
REDRAW_S = 0.25  # a terminal bar redrawn more often than this only costs the analysis CPU


def file_line(done_s: float, total_s: float, elapsed_s: float) -> str:
    """One recording's progress: ``[#####     ] 42% · 31.2×RT · 0:01:05 left``."""
    fraction = min(done_s / total_s, 1.0) if total_s > 0 else 0.0
    left = _left(total_s - done_s, done_s, elapsed_s)
    return f"{_bar(fraction)} {fraction:4.0%} · {_rate(done_s, elapsed_s)}{left}"


def batch_line(calls_done: int, calls_total: int, audio_done_s: float, audio_total_s: float,
               elapsed_s: float, failed: int, *, bar: bool = True) -> str:  # fmt: skip
    """Many recordings' progress: calls done, audio hours done, the rate and the time left."""
    fraction = min(audio_done_s / audio_total_s, 1.0) if audio_total_s > 0 else 0.0
    hours = f"{audio_done_s / 3600:.2f} of {audio_total_s / 3600:.2f} audio h"
    failures = f" · {failed} failed" if failed else ""
    left = _left(audio_total_s - audio_done_s, audio_done_s, elapsed_s) if calls_done < calls_total else ""
    rate = _rate(audio_done_s, elapsed_s)
    figures = f"{calls_done}/{calls_total} calls · {hours} · {rate}{left}{failures}"
    return f"{_bar(fraction)} {figures}" if bar else figures


def clock_text(seconds: float) -> str:
    """``3725`` → ``1:02:05``."""
    whole = max(int(seconds + 0.5), 0)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _bar(fraction: float) -> str:
    filled = int(fraction * BAR_CELLS)
    return f"[{'#' * filled}{' ' * (BAR_CELLS - filled)}]"


def _rate(done_s: float, elapsed_s: float) -> str:
    return f"{done_s / elapsed_s:.1f}×RT" if elapsed_s > 0 and done_s > 0 else "…×RT"


def _left(remaining_s: float, done_s: float, elapsed_s: float) -> str:
    if done_s <= 0 or elapsed_s <= 0:
        return ""
    return f" · {clock_text(max(remaining_s, 0.0) * elapsed_s / done_s)} left"


class StatusLine:
    """Where the lines go: on a terminal, the bar is one line redrawn in place and other lines are
    printed above it; elsewhere :meth:`show` prints nothing and :meth:`say` prints plain lines."""

    def __init__(self, stream: TextIO, *, tty: bool) -> None:
        self._stream = stream
        self._tty = tty
        self._bar = ""
        self._drawn_at: float | None = None

    def show(self, text: str, now_s: float, *, force: bool = False) -> None:
        """The bar as it is at ``now_s`` (redrawn at most every :data:`REDRAW_S`, unless ``force``)."""
        if not self._tty:
            return
        if not force and self._drawn_at is not None and now_s - self._drawn_at < REDRAW_S:
            return
        self._bar, self._drawn_at = text, now_s
        self._stream.write(f"\r\x1b[2K{text}")  # back to the line's start and clear it: the bar in place
        self._stream.flush()

    def say(self, text: str) -> None:
        """A line of its own (a finished call, a failure), kept above the bar on a terminal."""
        if self._tty and self._bar:
            self._stream.write(f"\r\x1b[2K{text}\n{self._bar}")
        else:
            self._stream.write(f"{text}\n")
        self._stream.flush()

    def done(self) -> None:
        """Leave the last bar on the terminal, ending its line, so the shell's prompt starts clean."""
        if self._tty and self._bar:
            self._stream.write("\n")
            self._stream.flush()
            self._bar = ""


class FileProgress:
    """The bar of one recording being analysed, fed the audio position as the analysis reaches it;
    ``clock_s`` is the wall clock (monotonic seconds), passed in by the command."""

    def __init__(self, status: StatusLine, total_s: float, clock_s: Callable[[], float]) -> None:
        self._status = status
        self._total_s = total_s
        self._clock_s = clock_s
        self._started_s = clock_s()

    def __call__(self, done_s: float, *, force: bool = False) -> None:
        now_s = self._clock_s()
        self._status.show(file_line(done_s, self._total_s, now_s - self._started_s), now_s, force=force)

    def finish(self) -> None:
        self(self._total_s, force=True)
        self._status.done()
