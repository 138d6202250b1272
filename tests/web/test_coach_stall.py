"""When a coach socket counts as stalled: :class:`~callcoach.web.coach.StallWatch`, sans I/O, fed by hand.
The real server dropping a stalled page is tested in ``tests/web/test_hardening.py``."""

from __future__ import annotations

from callcoach.web.coach import StallWatch


def test_the_stall_watch_needs_a_full_queue_with_nothing_sent_for_the_whole_bound() -> None:
    watch = StallWatch(10.0)
    assert not watch.stalled(True, 5, 0.0)
    assert not watch.stalled(True, 5, 9.9)
    assert not watch.stalled(True, 6, 12.0)  # something went out: the page still reads
    assert not watch.stalled(False, 6, 20.0)  # room in the queue
    assert not watch.stalled(True, 6, 21.0)
    assert not watch.stalled(True, 6, 30.9)
    assert watch.stalled(True, 6, 31.0)
