"""The login throttle, sans I/O: how many logins failed lately for a username from an address, and how long
that pair must wait. No asyncio, no sockets, no clock: the caller passes the time. Its memory is bounded
whatever a client sends, since anyone may post logins before logging in.
"""

from __future__ import annotations

import hashlib
import sys

MAX_THROTTLE_ENTRIES = 10_000
MAX_THROTTLE_BYTES = 4 * 1024 * 1024
_FLOAT_BYTES = sys.getsizeof(0.0)


class LoginThrottle:
    """At most ``limit`` failed logins per (username, address) within ``window_s``; after that, every try
    is refused until the oldest of the last ``limit`` failures is ``window_s`` old. Sans I/O: the caller
    passes the time (``now_s``, monotonic seconds).

    The table stays bounded whatever is sent: a key is a 16-byte digest of the username and address (never
    the name itself), an entry keeps only its last ``limit`` failure times, and the table holds at most
    ``max_entries`` entries and ``max_bytes`` bytes (as ``sys.getsizeof`` counts them). When it is full
    the entry that failed least recently goes: those whose window has passed are the first to go, and a
    spray of made-up usernames can push out an old entry but never grow the server.
    """

    def __init__(
        self,
        limit: int = 5,
        window_s: float = 300.0,
        *,
        max_entries: int = MAX_THROTTLE_ENTRIES,
        max_bytes: int = MAX_THROTTLE_BYTES,
    ) -> None:
        self._limit, self._window_s = limit, window_s
        self._max_entries, self._max_bytes = max_entries, max_bytes
        # least recently failed first: a failure moves its key to the end
        self._failures: dict[bytes, tuple[float, ...]] = {}
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._failures)

    def wait_s(self, username: str, address: str, now_s: float) -> float:
        """Seconds until ``username`` may try again from ``address``; 0 when it may now."""
        key = _throttle_key(username, address)
        recent = [t for t in self._failures.get(key, ()) if t > now_s - self._window_s]
        if not recent:
            self._forget(key)
            return 0.0
        return recent[0] + self._window_s - now_s if len(recent) >= self._limit else 0.0

    def failed(self, username: str, address: str, now_s: float) -> None:
        key = _throttle_key(username, address)
        times = (*self._forget(key), now_s)[-self._limit :]
        needed = _entry_bytes(key, times)
        while self._failures and (
            len(self._failures) >= self._max_entries or self.bytes + needed > self._max_bytes
        ):
            self._forget(next(iter(self._failures)))
        self._failures[key] = times
        self.bytes += needed

    def succeeded(self, username: str, address: str) -> None:
        self._forget(_throttle_key(username, address))

    def _forget(self, key: bytes) -> tuple[float, ...]:
        times = self._failures.pop(key, ())
        if times:
            self.bytes -= _entry_bytes(key, times)
        return times


def _throttle_key(username: str, address: str) -> bytes:
    # surrogatepass: the throttle takes any str, even one with a lone surrogate, without an error
    raw = f"{username.casefold()}\0{address}".encode(errors="surrogatepass")
    return hashlib.blake2b(raw, digest_size=16).digest()


def _entry_bytes(key: bytes, times: tuple[float, ...]) -> int:
    """What an entry costs: its key, its tuple, the floats in it and its slot in the dict (about three
    pointers)."""
    return sys.getsizeof(key) + sys.getsizeof(times) + len(times) * _FLOAT_BYTES + 3 * 8
