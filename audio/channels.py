"""Which channel of a file is which speaker: the :class:`ChannelMap` and splitting blocks by it.

Contact-centre recorders put the agent on one side of a stereo file and the customer on the other;
which side varies by vendor, so the agent side is a setting (``--agent-channel``). A mono file is one
``mixed`` speaker. With more than two channels there is no convention to guess from, so both sides
must be named by number. Channel numbers given by users are 1-based; indices here are 0-based.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from callcoach.audio.errors import BAD_CHANNEL, TOO_MANY_CHANNELS, AudioError
from callcoach.live.events import Speaker

_SIDES: Final[dict[str, int]] = {"left": 0, "right": 1}
_BOTH_FLAGS: Final = "pass `--agent-channel N --customer-channel M` with channel numbers from 1"


@dataclass(frozen=True)
class ChannelMap:
    """Speakers in pipeline order and, for each, the 0-based channel of the file it comes from."""

    speakers: tuple[Speaker, ...]
    indices: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.speakers) != len(self.indices) or not self.speakers:
            raise ValueError(
                f"a channel map needs one index per speaker, got {self.speakers}, {self.indices}"
            )


def channel_map(
    channels: int, agent_channel: str = "left", customer_channel: str | None = None
) -> ChannelMap:
    """Map a file's ``channels`` to speakers.

    ``agent_channel``/``customer_channel`` are ``"left"``, ``"right"`` or a 1-based channel number as a
    string. Mono is one ``mixed`` speaker. Stereo puts the agent on ``agent_channel`` and the customer on
    the other side unless ``customer_channel`` says otherwise. More channels need both given as numbers.

    Raises AudioError ``too_many_channels`` or ``bad_channel`` (out of range, equal, or unreadable).
    """
    if channels < 1:
        raise AudioError(BAD_CHANNEL, f"the audio has {channels} channels: it needs at least one")
    agent = _parse(agent_channel, "agent")
    customer = None if customer_channel is None else _parse(customer_channel, "customer")
    if channels == 1:
        return _mono(customer_channel)
    if channels > 2 and not (_is_number(agent_channel) and customer_channel and _is_number(customer_channel)):
        raise AudioError(
            TOO_MANY_CHANNELS,
            f"the audio has {channels} channels and no standard layout: {_BOTH_FLAGS} "
            "to say which ones are the agent and the customer",
        )
    if customer is None:
        customer = 1 - agent  # stereo: the other side
    _check_range(agent, channels, "agent")
    _check_range(customer, channels, "customer")
    if agent == customer:
        raise AudioError(
            BAD_CHANNEL,
            f"the agent and the customer are both on channel {agent + 1}: give them different channels",
        )
    return ChannelMap(speakers=("agent", "customer"), indices=(agent, customer))


def _mono(customer_channel: str | None) -> ChannelMap:
    # The agent setting is harmless on mono (a deployment default); a customer channel is a mistake.
    if customer_channel is not None:
        raise AudioError(
            BAD_CHANNEL,
            f"the audio is mono, so there is no customer channel {customer_channel!r}: "
            "drop `--customer-channel` (both voices are analysed as one mixed speaker)",
        )
    return ChannelMap(speakers=("mixed",), indices=(0,))


def _parse(value: str, who: str) -> int:
    """``"left"``/``"right"``/``"N"`` (1-based) to a 0-based index."""
    text = value.strip().lower()
    if text in _SIDES:
        return _SIDES[text]
    if _is_number(text) and int(text) >= 1:
        return int(text) - 1
    raise AudioError(
        BAD_CHANNEL,
        f"{who} channel {value!r} is not left, right or a channel number from 1: "
        f"pass e.g. `--{who}-channel left` or `--{who}-channel 2`",
    )


def _is_number(value: str) -> bool:
    return value.strip().isdecimal()


def _check_range(index: int, channels: int, who: str) -> None:
    if not 0 <= index < channels:
        raise AudioError(
            BAD_CHANNEL,
            f"{who} channel {index + 1} does not exist: the audio has {channels} channels, "
            f"so pick one from 1 to {channels}",
        )


def select(block: npt.NDArray[np.int16], cmap: ChannelMap) -> npt.NDArray[np.int16]:
    """The mapped channels of a ``(n, channels)`` block, as ``(n, len(speakers))`` in speaker order."""
    _check_block(block, cmap)
    return block[:, list(cmap.indices)]


def split(block: npt.NDArray[np.int16], cmap: ChannelMap) -> dict[Speaker, npt.NDArray[np.int16]]:
    """Each speaker's mono samples from a ``(n, channels)`` block (contiguous copies)."""
    _check_block(block, cmap)
    return {
        speaker: np.ascontiguousarray(block[:, i])
        for speaker, i in zip(cmap.speakers, cmap.indices, strict=True)
    }


def _check_block(block: npt.NDArray[np.int16], cmap: ChannelMap) -> None:
    if block.ndim != 2 or block.shape[1] <= max(cmap.indices):
        raise ValueError(f"block of shape {block.shape} has no channel {max(cmap.indices) + 1}")
