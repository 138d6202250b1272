"""A call's audio as a standard WAV file, one channel per speaker, 16 kHz: written as the call happens, and
mended at start-up when the server died before the file was closed.

soundfile (libsndfile) keeps the header right on close; each write goes straight to the file, so a call
that breaks off still leaves every sample before the break on disk. What a crash (kill -9, power cut)
leaves wrong is the header: written at open, it still says the data is empty, so players refuse it or play
nothing. :func:`repair` rewrites its sizes from the file's length. The calls block, so the asyncio layer
runs them in an executor.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from callcoach.audio.framing import PIPELINE_RATE_HZ, Step

HEADER_MAX = 4096  # where the data chunk must have begun: libsndfile's PCM header is 44 bytes


class RecordingWriter:
    def __init__(self, path: Path, channels: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = sf.SoundFile(path, "w", samplerate=PIPELINE_RATE_HZ, channels=channels, subtype="PCM_16")

    def write(self, step: Step) -> None:
        """One step: the speakers' frames side by side, in the call's speaker order."""
        self._file.write(np.column_stack([frame.pcm for frame in step]))

    def close(self) -> None:
        self._file.close()


def repair(path: Path) -> bool:
    """Make the header of a WAV its writer never closed tell the truth: the RIFF and data chunk sizes from
    the file's length, in whole sample frames (a frame cut mid-sample by the crash is dropped). A file
    whose header already agrees with its length, or that is not a PCM WAV, is left as it is. True if the
    file was changed."""
    with path.open("r+b") as file:
        wav = wav_layout(file.read(HEADER_MAX))
        if wav is None:
            return False
        size = file.seek(0, 2)
        if wav.riff_size == size - 8 and wav.data_start + wav.data_size <= size:
            return False  # closed properly (anything after the data is chunks of its own)
        data_size = (size - wav.data_start) // wav.block_align * wav.block_align
        file.truncate(wav.data_start + data_size)
        file.seek(4)
        file.write(struct.pack("<I", wav.data_start + data_size - 8))
        file.seek(wav.data_start - 4)
        file.write(struct.pack("<I", data_size))
        return True


@dataclass(frozen=True)
class WavLayout:
    """A WAV header as written, read without trusting its sizes (a crash leaves them stale)."""

    format_tag: int  # 1: PCM, 0xFFFE: extensible
    channels: int
    sample_rate: int
    bits: int  # per sample
    block_align: int  # bytes per sample frame (every channel's sample)
    riff_size: int  # what the header says follows its first 8 bytes
    data_start: int  # where the samples begin
    data_size: int  # what the header says the samples take


def wav_layout(head: bytes) -> WavLayout | None:
    """The header at the start of a file (its first :data:`HEADER_MAX` bytes); None unless it begins a
    WAV with a format chunk before its data chunk."""
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    fmt, pos = None, 12
    while pos + 8 <= len(head):
        chunk, size = head[pos : pos + 4], struct.unpack_from("<I", head, pos + 4)[0]
        if chunk == b"fmt " and pos + 24 <= len(head):
            fmt = struct.unpack_from("<HHI4xHH", head, pos + 8)  # tag, channels, rate, align, bits
        elif chunk == b"data":
            if fmt is None or not fmt[3]:
                return None
            tag, channels, rate, align, bits = fmt
            riff_size = struct.unpack_from("<I", head, 4)[0]
            return WavLayout(tag, channels, rate, bits, align, riff_size, pos + 8, size)
        pos += 8 + size + (size & 1)  # chunks are padded to an even length
    return None
