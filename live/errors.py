"""The error a command reports to its user as one line (``callcoach: error: ...``) with exit status 2.

Modules raise their own typed errors (:class:`AudioError`, :class:`ModelError`, ...); a command that meets a
failure outside them (a refused connection, a server that says no) wraps it in :class:`UserError` with a
message naming the cause and the fix.
"""

from __future__ import annotations


class UserError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
