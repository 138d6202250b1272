"""A sound card as a live call source, through ``sounddevice`` (PortAudio).

PortAudio calls :meth:`SoundCardCapture.callback` on its own real-time thread; the callback copies the
block and hands it to the event loop with ``call_soon_threadsafe``: it never blocks and never touches the
pipeline's state. On the loop the block goes to the live call without waiting (``push_nowait``): if the
pipeline falls behind, the oldest audio is dropped and counted rather than the capture stalling. A stereo
input is agent on one channel and customer on the other (the ``agent_channel`` setting); a mono input is
one mixed speaker.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

import numpy as np
import numpy.typing as npt

from callcoach.audio.channels import channel_map
from callcoach.live.errors import UserError
from callcoach.live.events import CallStarted
from callcoach.live.live_call import LiveCall
from callcoach.live.settings import Settings

log = logging.getLogger(__name__)
BLOCK_S = 0.02


def capture_started(channels: int, settings: Settings, device: str | int | None) -> CallStarted:
    cmap = channel_map(channels, settings.agent_channel, settings.customer_channel)
    return CallStarted(
        call_id=f"soundcard-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}",
        source="soundcard",
        started_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        speakers=cmap.speakers,
        title=f"Sound card {device}" if device is not None else "Sound card",
    )


class SoundCardCapture:
    def __init__(
        self,
        live: LiveCall,
        loop: asyncio.AbstractEventLoop,
        channels: int,
        sample_rate: int,
        settings: Settings,
    ) -> None:
        self._live = live
        self._loop = loop
        self._rate = sample_rate
        self._map = channel_map(channels, settings.agent_channel, settings.customer_channel)
        self.overflows = 0

    def callback(self, indata: npt.NDArray[np.int16], frames: int, _time: Any, status: Any) -> None:
        """PortAudio's thread: copy (PortAudio reuses its buffer) and hand over; nothing else."""
        if status:
            self.overflows += 1
        block = np.array(indata[:frames], dtype=np.int16, copy=True)
        self._loop.call_soon_threadsafe(self._deliver, block)

    def _deliver(self, block: npt.NDArray[np.int16]) -> None:
        for speaker, index in zip(self._map.speakers, self._map.indices, strict=True):
            self._live.push_nowait(speaker, np.ascontiguousarray(block[:, index]), self._rate)

    def open_stream(self, device: str | int | None) -> Any:
        """The PortAudio input stream feeding :meth:`callback` (the caller starts and closes it)."""
        import sounddevice as sd

        return sd.InputStream(
            device=device,
            channels=max(self._map.indices) + 1,
            samplerate=self._rate,
            dtype="int16",
            blocksize=round(self._rate * BLOCK_S),
            callback=self.callback,
        )


def input_format(device: str | int | None) -> tuple[int, int]:
    """The device's (channels, sample rate) to capture with: at most two channels, its default rate.

    A device that cannot be used is a :class:`UserError` (one line, exit status 2), not a traceback.
    """
    try:
        import sounddevice as sd
    except OSError as exc:  # sounddevice raises OSError when the PortAudio library is missing
        raise UserError(f"{exc}: install it (Debian: sudo apt-get install libportaudio2)") from exc
    try:
        info = sd.query_devices(device, "input")
    except (sd.PortAudioError, ValueError) as exc:
        which = "no default input device" if device is None else f"no input device {device!r}"
        raise UserError(f"{which} ({exc}): connect or enable a sound card, or {_PICK}") from exc
    channels = min(2, int(info["max_input_channels"]))
    if channels < 1:
        raise UserError(f"{info['name']} has no input channels: {_PICK}")
    return channels, int(info["default_samplerate"])


_PICK = "pick one with --device N (python -m sounddevice lists them)"
