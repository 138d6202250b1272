"""The coach websocket's wire rules, sans I/O: text in, a typed message or a typed refusal out.

What a page may send is :data:`callcoach.live.messages.CLIENT_MESSAGES`; everything the server sends is a
call's event (:mod:`callcoach.live.events`) or a message inside the envelope (:mod:`callcoach.live.codec`).
Limits are explicit here so that the server and its tests agree on them.
"""

from __future__ import annotations

import json
import reprlib

from callcoach.live.codec import PROTOCOL_VERSION, EventDecodeError, from_json
from callcoach.live.errors import CallcoachError
from callcoach.live.messages import CLIENT_MESSAGES, ClientMessage, Subscribe

# Nothing a page sends is more than a few hundred bytes; 64 KiB refuses abuse without refusing anyone.
# A message over it gets a `too_large` error and the socket stays usable.
MAX_MESSAGE_BYTES = 64 * 1024
# The websocket's own frame limit: aiohttp closes the socket (1009) on a frame above it, with no `error`.
# It sits well above MAX_MESSAGE_BYTES so that an oversized message is refused politely first.
MAX_FRAME_BYTES = 1024 * 1024
# Ping every 20 s; a page that does not answer within the next interval is closed (aiohttp's heartbeat).
HEARTBEAT_S = 20.0


def parse_client_message(text: str) -> ClientMessage:
    """Decode one text frame from a page, or raise :class:`CallcoachError` naming the problem."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_MESSAGE_BYTES:
        raise CallcoachError(
            "too_large",
            f"the message is {size} bytes; a page's messages must be at most {MAX_MESSAGE_BYTES} bytes",
        )
    data = _load(text)
    if not isinstance(data, dict):
        raise CallcoachError("bad_message", 'a message must be a JSON object with a "type"')
    version = data.get("v", PROTOCOL_VERSION)
    if version != PROTOCOL_VERSION:
        raise CallcoachError(
            "unsupported_version",
            f'protocol version {reprlib.repr(version)} is not spoken here; send "v": {PROTOCOL_VERSION}',
        )
    kind = data.get("type")
    allowed = {cls.TYPE: cls for cls in CLIENT_MESSAGES}
    if not isinstance(kind, str) or kind not in allowed:  # a list or object is no type (nor hashable)
        names = ", ".join(sorted(allowed))
        raise CallcoachError(
            "unknown_type", f"unknown message type {reprlib.repr(kind)}; a page may send: {names}"
        )
    try:
        message = from_json(data)
    except EventDecodeError as exc:
        raise CallcoachError("bad_message", str(exc)) from exc
    assert isinstance(message, ClientMessage)
    if isinstance(message, Subscribe) and message.after_seq < 0:
        # Sequence numbers start at 1: a negative cursor would index the call's log from its end.
        raise CallcoachError(
            "bad_message",
            f"subscribe.after_seq must be 0 (from the start) or the last seq the page has, "
            f"got {message.after_seq}",
        )
    return message


def _load(text: str) -> object:
    """The message's JSON, or ``bad_json``: also for what Python's parser refuses past the grammar."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CallcoachError(
            "bad_json", f"the message is not JSON ({exc.msg} at character {exc.pos})"
        ) from exc
    except RecursionError as exc:  # a 64 KiB message can nest 30,000 deep; no message nests past 4
        raise CallcoachError(
            "bad_json", "the message nests lists or objects too deeply; a page's messages are flat"
        ) from exc
    except ValueError as exc:  # a whole number of more than 4300 digits (Python's conversion limit)
        raise CallcoachError(
            "bad_json", "the message has a number thousands of digits long; no field takes one"
        ) from exc
