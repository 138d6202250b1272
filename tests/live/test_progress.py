"""The progress figures of ``callcoach analyze`` (live/progress.py): pure functions of what is done and the
wall seconds since the start, and where the lines go on a terminal and elsewhere."""

from __future__ import annotations

import io

from callcoach.live.progress import StatusLine, batch_line, clock_text, file_line


def test_a_file_s_bar_says_percent_rate_and_time_left() -> None:
    assert file_line(0.0, 3600.0, 0.0) == f"[{' ' * 20}]   0% · …×RT"
    # a quarter of an hour's call in 30 s: 30×RT, three quarters left at that rate
    assert file_line(900.0, 3600.0, 30.0) == f"[{'#' * 5}{' ' * 15}]  25% · 30.0×RT · 0:01:30 left"
    assert file_line(3600.0, 3600.0, 120.0).endswith(" 100% · 30.0×RT · 0:00:00 left")


def test_a_batch_line_says_calls_hours_rate_left_and_failures() -> None:
    line = batch_line(3, 10, 1800.0, 7200.0, 60.0, 1)
    assert (
        line == f"[{'#' * 5}{' ' * 15}] 3/10 calls · 0.50 of 2.00 audio h · 30.0×RT · 0:03:00 left · 1 failed"
    )
    assert batch_line(10, 10, 7200.0, 7200.0, 240.0, 0, bar=False) == (
        "10/10 calls · 2.00 of 2.00 audio h · 30.0×RT"
    )  # done: no time left to say


def test_clock_text() -> None:
    assert [clock_text(s) for s in (0, 59.6, 3725)] == ["0:00:00", "0:01:00", "1:02:05"]


def test_on_a_terminal_the_bar_is_redrawn_in_place_and_lines_go_above_it() -> None:
    out = io.StringIO()
    status = StatusLine(out, tty=True)
    status.show("bar 1", 0.0)
    status.show("bar 2", 0.1)  # too soon: not redrawn
    status.say("done: a.wav")
    status.show("bar 3", 0.1, force=True)
    status.done()
    assert out.getvalue() == "\r\x1b[2Kbar 1\r\x1b[2Kdone: a.wav\nbar 1\r\x1b[2Kbar 3\n"


def test_elsewhere_only_the_lines() -> None:
    out = io.StringIO()
    status = StatusLine(out, tty=False)
    status.show("bar", 0.0, force=True)
    status.say("done: a.wav")
    status.done()
    assert out.getvalue() == "done: a.wav\n"
