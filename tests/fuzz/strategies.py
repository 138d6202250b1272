"""Generators shared by the fuzz tests: any JSON a peer could send, and valid events of every type.

Text includes lone surrogates (JSON's ``"\\ud800"`` escape decodes to one) and numbers include NaN,
Infinity and integers of hundreds of digits, since Python's ``json`` produces all of them from a peer's text.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Literal

import numpy as np
from hypothesis import strategies as st

from callcoach.live.codec import EVENT_TYPES
from callcoach.live.events import Alert, Event, Frame

# Every code point, surrogates included (Hypothesis leaves category Cs out unless told).
TEXT = st.text(st.characters(exclude_categories=()), max_size=40)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**300, max_value=10**400)
    | st.floats()
    | TEXT
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
FINITE = st.floats(allow_nan=False, allow_infinity=False)
# An alert derives duration_s = end_s - start_s: times within a century of calls keep that finite.
TIME_S = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False)
COUNT = st.integers(min_value=0, max_value=2**63)


def for_hint(hint: Any) -> st.SearchStrategy[Any]:
    """Valid values of one field's type hint, as the codec's dataclasses hold them."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        return st.sampled_from(args)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(for_hint(a) for a in args))
    if origin is tuple:
        return st.lists(for_hint(args[0]), max_size=3).map(tuple)
    if dataclasses.is_dataclass(hint):
        return for_dataclass(hint)  # type: ignore[arg-type]
    simple: dict[Any, st.SearchStrategy[Any]] = {
        type(None): st.none(),
        str: TEXT,
        bool: st.booleans(),
        int: COUNT,
        float: FINITE,
    }
    return simple[hint]


def for_dataclass(cls: type[Any]) -> st.SearchStrategy[Any]:
    hints = typing.get_type_hints(cls)
    fields = {f.name: for_hint(hints[f.name]) for f in dataclasses.fields(cls)}
    if cls is Alert:
        fields.update(start_s=TIME_S, end_s=TIME_S | st.none())
    return st.builds(cls, **fields)


FRAMES = st.builds(
    Frame,
    speaker=st.sampled_from(("agent", "customer", "mixed")),
    start_s=FINITE,
    sample_rate=st.integers(min_value=1, max_value=2**31),
    pcm=st.lists(st.integers(-(2**15), 2**15 - 1), max_size=64).map(lambda xs: np.array(xs, np.int16)),
)
BY_TYPE: dict[str, st.SearchStrategy[Event]] = {
    kind: FRAMES if cls is Frame else for_dataclass(cls) for kind, cls in EVENT_TYPES.items()
}
EVENTS: st.SearchStrategy[Event] = st.one_of(*BY_TYPE.values())
