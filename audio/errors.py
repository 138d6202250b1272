"""The one exception the audio package raises, with a stable code a caller can act on.

Every failure a user can fix (a missing file, a file that is not audio, a recording cut short, a channel
layout we cannot guess) is an :class:`AudioError`. ``code`` is one of :data:`CODES` and never changes
meaning; ``message`` is one line naming both the cause and the fix, ready to show as it is (the live
pipeline copies ``code``, ``message`` and ``at_s`` into an ``Error`` event).
"""

from __future__ import annotations

from typing import Final

FILE_NOT_FOUND: Final = "file_not_found"
NOT_AUDIO: Final = "not_audio"
EMPTY_AUDIO: Final = "empty_audio"
TRUNCATED_AUDIO: Final = "truncated_audio"
TOO_MANY_CHANNELS: Final = "too_many_channels"
BAD_CHANNEL: Final = "bad_channel"
CALL_TOO_LONG: Final = "call_too_long"

CODES: Final[frozenset[str]] = frozenset(
    {FILE_NOT_FOUND, NOT_AUDIO, EMPTY_AUDIO, TRUNCATED_AUDIO, TOO_MANY_CHANNELS, BAD_CHANNEL, CALL_TOO_LONG}
)


class AudioError(Exception):
    """An audio problem the user can fix: ``code`` is stable, ``message`` names cause and fix.

    ``at_s`` is where in the audio it happened (for ``truncated_audio``: where decoding stopped, and
    everything before it was delivered), or None when it is about the file as a whole.
    """

    def __init__(self, code: str, message: str, at_s: float | None = None) -> None:
        if code not in CODES:
            # A typo in a code would silently break whatever switches on it downstream.
            raise ValueError(f"unknown audio error code {code!r}; expected one of {sorted(CODES)}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.at_s = at_s

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"AudioError({self.code!r}, {self.message!r}, at_s={self.at_s!r})"

    def __reduce__(self) -> tuple[type[AudioError], tuple[str, str, float | None]]:
        # Exceptions whose __init__ takes extra arguments do not pickle by default (multiprocessing does).
        return (AudioError, (self.code, self.message, self.at_s))
