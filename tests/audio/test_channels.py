"""channel_map rules (mono, stereo sides, numbered channels, errors) and splitting blocks by speaker."""

from __future__ import annotations

import numpy as np
import pytest

from callcoach.audio.channels import ChannelMap, channel_map, select, split
from callcoach.audio.errors import AudioError


def test_mono_is_one_mixed_speaker() -> None:
    assert channel_map(1) == ChannelMap(speakers=("mixed",), indices=(0,))
    assert channel_map(1, "right") == ChannelMap(("mixed",), (0,))  # a deployment default is harmless


@pytest.mark.parametrize(
    ("agent", "customer", "indices"),
    [
        ("left", None, (0, 1)),
        ("right", None, (1, 0)),
        (" Right ", None, (1, 0)),
        ("1", None, (0, 1)),
        ("2", None, (1, 0)),
        ("left", "2", (0, 1)),
        ("2", "left", (1, 0)),
    ],
)
def test_stereo(agent: str, customer: str | None, indices: tuple[int, int]) -> None:
    assert channel_map(2, agent, customer) == ChannelMap(("agent", "customer"), indices)


def test_more_channels_need_both_numbers() -> None:
    assert channel_map(4, "3", "1") == ChannelMap(("agent", "customer"), (2, 0))
    for agent, customer in [("left", None), ("1", None), ("left", "2"), ("1", "right")]:
        with pytest.raises(AudioError) as caught:
            channel_map(6, agent, customer)
        assert caught.value.code == "too_many_channels"
        assert "6 channels" in caught.value.message
        assert "--agent-channel N --customer-channel M" in caught.value.message


@pytest.mark.parametrize(
    ("channels", "agent", "customer", "words"),
    [
        (2, "3", None, "agent channel 3 does not exist"),
        (2, "left", "3", "customer channel 3 does not exist"),
        (4, "5", "1", "agent channel 5 does not exist"),
        (2, "left", "left", "both on channel 1"),
        (4, "2", "2", "both on channel 2"),
        (2, "0", None, "not left, right or a channel number"),
        (2, "centre", None, "not left, right or a channel number"),
        (2, "-1", None, "not left, right or a channel number"),
        (2, "left", "", "not left, right or a channel number"),
        (1, "left", "2", "mono"),
        (1, "middle", None, "not left, right or a channel number"),
        (0, "left", None, "at least one"),
    ],
)
def test_bad_channels(channels: int, agent: str, customer: str | None, words: str) -> None:
    with pytest.raises(AudioError) as caught:
        channel_map(channels, agent, customer)
    assert caught.value.code == "bad_channel"
    assert words in caught.value.message
    assert "\n" not in caught.value.message


def test_split_and_select() -> None:
    block = np.arange(12, dtype=np.int16).reshape(4, 3)  # columns 0, 1, 2
    cmap = channel_map(3, "3", "1")
    parts = split(block, cmap)
    assert list(parts) == ["agent", "customer"]
    np.testing.assert_array_equal(parts["agent"], [2, 5, 8, 11])
    np.testing.assert_array_equal(parts["customer"], [0, 3, 6, 9])
    assert all(p.flags.c_contiguous and p.dtype == np.int16 for p in parts.values())
    np.testing.assert_array_equal(select(block, cmap), [[2, 0], [5, 3], [8, 6], [11, 9]])
    mono = np.arange(5, dtype=np.int16).reshape(5, 1)
    np.testing.assert_array_equal(split(mono, channel_map(1))["mixed"], np.arange(5))


def test_split_refuses_a_block_without_the_channel() -> None:
    with pytest.raises(ValueError):
        split(np.zeros((4, 2), np.int16), channel_map(3, "3", "1"))


def test_channel_map_needs_one_index_per_speaker() -> None:
    with pytest.raises(ValueError):
        ChannelMap(("agent", "customer"), (0,))
