"""The JSON form of every event and message, and the envelope they travel in.

:func:`to_json` writes every field; :func:`from_json` reads it back, checking each field against its type
hint and naming the field and what was expected when it does not fit (:class:`EventDecodeError`). On the
wire each is wrapped in an envelope ``{"v": 1, "type": ..., "seq": n, "call": id, ...}`` (see
:func:`envelope` and :func:`wire_text`); ``docs/protocol.md`` shows an example of each type.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import reprlib
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, TypeAlias

import numpy as np

from callcoach.live.events import Alert, Event, Frame
from callcoach.live.messages import Message

PROTOCOL_VERSION = 1
T = typing.TypeVar("T")

# Anything that travels in the envelope: a call's event or a message.
Wire: TypeAlias = Event | Message
# Every type by its wire name: what from_json can rebuild.
EVENT_TYPES: dict[str, type[Wire]] = {cls.TYPE: cls for cls in typing.get_args(Wire)}


class EventDecodeError(ValueError):
    """A JSON object that is not a valid event; the message names the field and what was expected."""


# How a refused value is quoted in an error: a page may send 64 KiB of it, or a list nested hundreds deep.
_SHOWN = reprlib.Repr()
_SHOWN.maxstring = _SHOWN.maxother = 60
_SHOWN.maxlevel = 3


def to_json(event: Wire) -> dict[str, Any]:
    """A JSON-ready dict of every field, plus ``type`` (and derived ``duration_s`` for alerts)."""
    if isinstance(event, Frame):
        return {
            "type": Frame.TYPE,
            "speaker": event.speaker,
            "start_s": event.start_s,
            "sample_rate": event.sample_rate,
            "pcm_b64": base64.b64encode(event.pcm.astype("<i2").tobytes()).decode("ascii"),
        }
    out: dict[str, Any] = {"type": event.TYPE}
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if dataclasses.is_dataclass(value):
            value = dataclasses.asdict(value)  # type: ignore[arg-type]
        elif isinstance(value, tuple):  # JSON has lists; nested dataclasses become objects
            value = [dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v for v in value]  # type: ignore[arg-type]
        out[f.name] = value
    if isinstance(event, Alert):
        out["duration_s"] = event.duration_s
    return out


def from_json(data: Mapping[str, Any]) -> Wire:
    """Rebuild an event or message from :func:`to_json`'s output (envelope keys are ignored).

    Raises :class:`EventDecodeError` naming the problem for anything that is not a valid event.
    """
    if not isinstance(data, Mapping):
        raise EventDecodeError(f"an event must be a JSON object, got {type(data).__name__}")
    kind = data.get("type")
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None or not isinstance(kind, str):
        known = ", ".join(sorted(EVENT_TYPES))
        raise EventDecodeError(f"unknown event type {kind!r}; expected one of: {known}")
    if cls is Frame:
        return _frame_from_json(data)
    return from_fields(cls, data, kind)


def from_fields(cls: type[T], data: Mapping[str, Any], where: str) -> T:
    """Construct the dataclass ``cls`` from JSON data, checking every field against its type hint."""
    if not isinstance(data, Mapping):
        raise EventDecodeError(f"{where} must be a JSON object")
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]  # every caller passes a dataclass
        if f.name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise EventDecodeError(f"{where} is missing the field {f.name!r}")
            continue
        kwargs[f.name] = _field_from_json(f"{where}.{f.name}", data[f.name], hints[f.name])
    return cls(**kwargs)


def _field_from_json(where: str, value: Any, hint: Any) -> Any:
    """The field's value as the dataclass holds it, or :class:`EventDecodeError` saying what was expected."""
    if typing.get_origin(hint) is tuple:
        item_hint = typing.get_args(hint)[0]
        if not isinstance(value, list):
            raise EventDecodeError(f"{where} must be a list")
        if dataclasses.is_dataclass(item_hint):
            return tuple(from_fields(item_hint, item, f"{where}[{i}]") for i, item in enumerate(value))  # type: ignore[arg-type]
        value = tuple(value)
    nested = [a for a in typing.get_args(hint) if dataclasses.is_dataclass(a)]
    if nested and isinstance(value, Mapping):  # an optional nested object, e.g. a note's quote
        return from_fields(nested[0], value, where)  # type: ignore[arg-type]
    if where.endswith(".confidence") and _finite(value) and not 0.0 <= value <= 1.0:
        # A recogniser's confidence is a probability: the page shades words and explains alerts by it.
        raise EventDecodeError(f"{where} must be from 0 to 1, got {_SHOWN.repr(value)}")
    if not _conforms(value, hint):
        if isinstance(value, int | float) and not isinstance(value, bool) and _conforms(0.0, hint):
            # Python's json reads NaN, Infinity and 400-digit numbers; a page's JSON.parse reads none back.
            raise EventDecodeError(
                f"{where} must be a finite number (no NaN or Infinity), got {_SHOWN.repr(value)}"
            )
        raise EventDecodeError(f"{where} must be {_describe(hint)}, got {_SHOWN.repr(value)}")
    return float(value) if hint is float and isinstance(value, int) else value


def _conforms(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin is Literal:
        return value in typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_conforms(value, arg) for arg in typing.get_args(hint))
    if origin is tuple:
        return isinstance(value, tuple) and all(_conforms(v, typing.get_args(hint)[0]) for v in value)
    if hint is type(None):
        return value is None
    if hint is float:
        return _finite(value)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint) if isinstance(hint, type) else True


def _finite(value: Any) -> bool:
    """A number a float field can hold and a page can parse back: not NaN or Infinity (not JSON, though
    Python's json reads and writes them), nor a whole number too long for a float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond the largest float
        return False


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(hint))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(hint))
    if origin is tuple:
        return f"a list of {_describe(typing.get_args(hint)[0])}"
    return {
        type(None): "null",
        float: "a number",
        int: "a whole number",
        str: "a string",
        bool: "true or false",
    }.get(hint, str(hint))


def _frame_from_json(data: Mapping[str, Any]) -> Frame:
    # The same field checks as every other event: a frame is decoded from pages' and storage's JSON too.
    hints = typing.get_type_hints(Frame)
    fields: dict[str, Any] = {}
    for name in ("speaker", "start_s", "sample_rate", "pcm_b64"):
        if name not in data:
            raise EventDecodeError(f"frame event is malformed: it is missing the field {name!r}")
        fields[name] = _field_from_json(f"frame.{name}", data[name], hints.get(name, str))
    if fields["sample_rate"] <= 0:
        raise EventDecodeError(
            f"frame.sample_rate must be a positive whole number, got {fields['sample_rate']}"
        )
    try:
        pcm = np.frombuffer(base64.b64decode(fields["pcm_b64"], validate=True), dtype="<i2").astype(np.int16)
    except ValueError as exc:  # not base64, or an odd number of bytes
        raise EventDecodeError(
            f"frame event is malformed: pcm_b64 is not 16-bit PCM in base64 ({exc})"
        ) from exc
    return Frame(fields["speaker"], fields["start_s"], fields["sample_rate"], pcm)


def envelope(event: Wire, *, seq: int, call_id: str) -> dict[str, Any]:
    """The wire form: protocol version, sequence number in the call's log and the call id, then the event."""
    return {"v": PROTOCOL_VERSION, "seq": seq, "call": call_id, **to_json(event)}


def wire_text(event: Wire, *, seq: int | None = None, call_id: str | None = None) -> str:
    """The text frame for a server → page message: the envelope's keys that apply, then the event."""
    head: dict[str, Any] = {"v": PROTOCOL_VERSION}
    if seq is not None:
        head["seq"] = seq
    if call_id is not None:
        head["call"] = call_id
    message = {**head, **to_json(event)}
    text = json.dumps(message, ensure_ascii=False)
    if not text.isascii() and not _utf8(text):
        # A lone surrogate (JSON's "\ud800" from a page or a platform decodes to one) cannot go out as
        # UTF-8, and the socket's send would fail: escaped, it is JSON every page reads.
        text = json.dumps(message)
    return text


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
