"""The errors a user acts on: a request refused with a stable code, and a command's one-line failure.

:class:`CallcoachError` is a request refused (a page's malformed message, a listening-session request the
user may not make): ``code`` never changes meaning and ``message`` names the cause and the fix; the page
gets it as an ``error`` event. :class:`UserError` is what a command reports to its user as one line
(``callcoach: error: ...``) with exit status 2: modules raise their own typed errors (:class:`AudioError`,
:class:`ModelError`, ...); a command that meets a failure outside them (a refused connection, a server that
says no) wraps it in :class:`UserError` with a message naming the cause and the fix.
"""

from __future__ import annotations

from callcoach.live.events import Error


class CallcoachError(ValueError):
    """A request refused: ``code`` is stable, ``message`` says why and what to send or do instead."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def as_event(self) -> Error:
        return Error(self.code, self.message)


class UserError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
