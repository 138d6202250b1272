"""What a file's container promises, read from its bytes: the facts libsndfile does not tell us.

libsndfile hides truncation for two of the formats we take (checked against libsndfile 1.2.2):

* WAV / WAVEX / RF64 cut mid-data: the ``data`` chunk header still declares the full size, but
  libsndfile silently clamps ``frames`` to what the file holds and reads to there without an error.
  (Its ``extra_info`` log does say ``data : 128000 (should be 63981)``, but that is free text.) So we
  read the declared size ourselves with :func:`wav_data_frames` and compare.
* OGG (Vorbis, Opus) cut anywhere: ``frames`` comes from the last complete page and reading stops there
  without an error; cut inside the first pages, ``frames`` is 0. A complete stream ends with a whole
  page flagged end-of-stream, which :func:`ogg_is_complete` checks.

FLAC needs nothing from here: its STREAMINFO keeps the full length and decoding a cut file fails
mid-read ("flac decoder lost sync"), which the decoder sees for itself.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import BinaryIO, Final

# Streaming writers that never go back to patch the header leave one of these as the data size; it
# means "unknown", not "empty", so such a file cannot be judged truncated from its header.
_UNKNOWN_SIZES: Final = frozenset({0, 0xFFFFFFFF})
# RF64 puts the real 64-bit sizes in a ds64 chunk and writes this marker in the 32-bit fields.
_RF64_MARKER: Final = 0xFFFFFFFF
# A WAV header is a handful of chunks before "data"; a bound keeps a corrupt file from looping long.
_MAX_CHUNKS: Final = 64

_OGG_CAPTURE: Final = b"OggS"
_OGG_HEADER_LEN: Final = 27
_OGG_EOS_FLAG: Final = 0x04
# The largest possible page: 27-byte header, 255 lacing values, 255 segments of 255 bytes.
_OGG_MAX_PAGE: Final = _OGG_HEADER_LEN + 255 + 255 * 255


def wav_data_frames(path: Path) -> int | None:
    """Frames the ``data`` chunk of a RIFF/RF64 WAVE file declares, or None if it does not say.

    None for anything that is not RIFF/RF64 WAVE, for headers too damaged to walk, and for the
    "unknown length" sizes streaming writers leave behind.
    """
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12:
            return None
        riff, _, wave = struct.unpack("<4sI4s", head)
        if riff not in (b"RIFF", b"RF64") or wave != b"WAVE":
            return None
        return _walk_wav_chunks(f, rf64=riff == b"RF64")


def _walk_wav_chunks(f: BinaryIO, *, rf64: bool) -> int | None:
    """Walk the chunks after the RIFF header up to ``data``, noting block align and RF64 sizes."""
    block_align: int | None = None
    ds64_data_size: int | None = None
    offset = 12
    for _ in range(_MAX_CHUNKS):
        f.seek(offset)
        header = f.read(8)
        if len(header) < 8:
            return None
        chunk_id, size = struct.unpack("<4sI", header)
        if chunk_id == b"fmt ":
            block_align = _fmt_block_align(f.read(min(size, 16)))
        elif chunk_id == b"ds64":
            ds64_data_size = _ds64_data_size(f.read(min(size, 16)))
        elif chunk_id == b"data":
            if rf64 and size == _RF64_MARKER:
                size = ds64_data_size if ds64_data_size is not None else _RF64_MARKER
            if not block_align or size in _UNKNOWN_SIZES:
                return None
            return int(size) // block_align
        # Chunks are word-aligned: an odd-sized chunk is followed by one pad byte.
        offset += 8 + size + (size & 1)
    return None


def _fmt_block_align(body: bytes) -> int | None:
    """``nBlockAlign`` (bytes per frame) from a ``fmt `` chunk body."""
    if len(body) < 14:
        return None
    (align,) = struct.unpack_from("<H", body, 12)
    return int(align)


def _ds64_data_size(body: bytes) -> int | None:
    """The 64-bit data size from an RF64 ``ds64`` chunk body (after the 64-bit RIFF size)."""
    if len(body) < 16:
        return None
    (size,) = struct.unpack_from("<Q", body, 8)
    return int(size)


def ogg_is_complete(path: Path) -> bool:
    """True if the file ends with a whole OGG page flagged end-of-stream (so nothing was cut off)."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        f.seek(max(0, size - _OGG_MAX_PAGE))
        tail = f.read()
    # Search backwards: "OggS" can also occur by chance inside packet data, so only a page whose
    # header parses and whose body ends exactly at the end of the file counts as the last page.
    at = tail.rfind(_OGG_CAPTURE)
    while at >= 0:
        end = _ogg_page_end(tail, at)
        if end == len(tail):
            return bool(tail[at + 5] & _OGG_EOS_FLAG)
        at = tail.rfind(_OGG_CAPTURE, 0, at)
    return False


def _ogg_page_end(data: bytes, at: int) -> int | None:
    """Offset just past the OGG page starting at ``at``, or None if its header does not fit."""
    segments_at = at + _OGG_HEADER_LEN
    if segments_at > len(data) or data[at + 4] != 0:  # stream structure version is always 0
        return None
    count = data[segments_at - 1]
    lacing = data[segments_at : segments_at + count]
    if len(lacing) < count:
        return None
    return segments_at + count + sum(lacing)


def sniff(path: Path) -> str | None:
    """The container a file's first bytes announce (``"WAV"``, ``"FLAC"``, ``"OGG"``), or None.

    Used only to word an error: a file that starts like audio but will not open is damaged, not text.
    """
    with open(path, "rb") as f:
        head = f.read(12)
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return "WAV"
    if head[:4] == b"fLaC":
        return "FLAC"
    if head[:4] == _OGG_CAPTURE:
        return "OGG"
    return None
