"""A recording as a stream of frame steps: decode, map channels to speakers, resample to 16 kHz, frame.

:class:`FileFrames` opens and checks the file up front, so a caller learns the file's
:class:`~callcoach.audio.decode.AudioInfo` and :class:`~callcoach.audio.channels.ChannelMap` (and any
error about the file or its channels) before the first frame; iterating it then runs the pipeline as a
pure generator: no threads, no clock, one step of frames at a time.

A file cut short yields every frame that decoded (the resampler and framer tails included), then
raises the ``truncated_audio`` AudioError: the caller keeps what it got and decides how to end.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator

from callcoach.audio.channels import ChannelMap, channel_map, select
from callcoach.audio.decode import AudioInfo, probe, read_blocks
from callcoach.audio.errors import TRUNCATED_AUDIO, AudioError
from callcoach.audio.framing import PIPELINE_RATE_HZ, Framer, Step
from callcoach.audio.resample import StreamResampler


class FileFrames:
    """The frame steps of one audio file, one :class:`Frame` per speaker per step, at 16 kHz.

    Raises AudioError from the constructor for problems with the file (``file_not_found``,
    ``not_audio``, ``empty_audio``) or its channels (``too_many_channels``, ``bad_channel``), and
    from iteration, after the last good frame, for ``truncated_audio``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        agent_channel: str = "left",
        customer_channel: str | None = None,
        frame_s: float = 0.1,
    ) -> None:
        self.frame_samples = round(frame_s * PIPELINE_RATE_HZ)
        if self.frame_samples < 1:
            raise ValueError(f"frame_s must be at least one sample at {PIPELINE_RATE_HZ} Hz, got {frame_s}")
        self.info: AudioInfo = probe(path)
        self.channel_map: ChannelMap = channel_map(self.info.channels, agent_channel, customer_channel)

    @property
    def sample_rate(self) -> int:
        """The rate of every frame's samples."""
        return PIPELINE_RATE_HZ

    def __iter__(self) -> Iterator[Step]:
        speakers = self.channel_map.speakers
        resampler = StreamResampler(self.info.sample_rate, PIPELINE_RATE_HZ, len(speakers))
        framer = Framer(speakers, PIPELINE_RATE_HZ, self.frame_samples)
        # Read about one frame's worth of the file at a time, so frames come out as the file is read.
        block_frames = math.ceil(self.frame_samples * self.info.sample_rate / PIPELINE_RATE_HZ)
        truncated: AudioError | None = None
        try:
            for block in read_blocks(self.info.path, block_frames):
                yield from framer.push(resampler.process(select(block, self.channel_map)))
        except AudioError as exc:
            if exc.code != TRUNCATED_AUDIO:
                raise  # the file changed since probe(): nothing to finish
            truncated = exc
        # The tails held back by the resampler and the framer belong to the audio that did decode.
        yield from framer.push(resampler.flush())
        yield from framer.flush()
        if truncated is not None:
            raise truncated


def file_frames(
    path: str | os.PathLike[str],
    agent_channel: str = "left",
    customer_channel: str | None = None,
    frame_s: float = 0.1,
) -> Iterator[Step]:
    """The frame steps of ``path``: shorthand for ``iter(FileFrames(...))`` when the info is not needed.

    The file is checked at once, so errors about it come from this call, not from the first ``next``.
    """
    return iter(FileFrames(path, agent_channel, customer_channel, frame_s))
