"""docs/protocol.md shows one valid example of every message type, and each decodes and round-trips."""

from __future__ import annotations

import json
import re
from pathlib import Path

from callcoach.live.codec import EVENT_TYPES, from_json, to_json

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def examples() -> list[dict[str, object]]:
    blocks = re.findall(r"```json\n(.*?)\n```", DOC.read_text(), flags=re.S)
    return [json.loads(block) for block in blocks]


def test_every_type_has_an_example() -> None:
    assert {e["type"] for e in examples()} == set(EVENT_TYPES)


def test_every_example_decodes_and_round_trips() -> None:
    for example in examples():
        event = from_json(example)
        fields = {k: v for k, v in example.items() if k not in ("v", "seq", "call")}
        assert to_json(event) == fields, example["type"]
