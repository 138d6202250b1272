"""Silencing redacted spans of a call's audio: in place in a live call's WAV, or in a copy of a recording.

A live call's recording (:mod:`live.recording`) is a 16-bit PCM WAV written as the call goes, one channel
per speaker; a :class:`Redaction` arrives after its audio was written, so :func:`silence_in_place` seeks
to the span and zeroes that speaker's samples there, through its own file handle (the writer's position
and the header it fixes on close are untouched: only sample bytes already written change). A recording
from the recordings folder is the user's own file and is never modified: :func:`silenced_copy` writes a
copy in the same format with the spans silenced, which is what the server then plays.

Silence (zeros) rather than a tone, as Contact Lens does: a coach hears a gap where the number was.
Each span is widened by :data:`PAD_S` each side, since recognised word times are only near the speech.
These functions block; callers run them in an executor.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf

from callcoach.audio.channels import channel_map
from callcoach.audio.errors import AudioError
from callcoach.live.events import Redaction, Speaker
from callcoach.live.recording import HEADER_MAX, WavLayout, wav_layout

PAD_S = 0.1
_BLOCK_FRAMES = 65536


@dataclass(frozen=True)
class Span:
    """Silence ``channel`` (0-based, in the file's channel order) from ``start_s`` to ``end_s``."""

    channel: int
    start_s: float
    end_s: float


class SilencingError(Exception):
    """The audio could not be silenced (unreadable, not the expected format, gone)."""


def silence_live(path: Path, speakers: Sequence[Speaker], redaction: Redaction) -> int:
    """Silence a redaction in a live call's recording (its channels in ``speakers`` order)."""
    try:
        span = Span(speakers.index(redaction.speaker), redaction.start_s, redaction.end_s)
        return silence_in_place(path, span)
    except (OSError, ValueError) as exc:
        raise SilencingError(f"could not silence {redaction} in {path}: {exc}") from exc


def silence_recording(
    source: Path, target: Path, redactions: Sequence[Redaction], agent: str, customer: str | None
) -> None:
    """Copy a recording to ``target`` with its redactions silenced on the channels the settings
    (``--agent-channel``, ``--customer-channel``) give the speakers."""
    try:
        cmap = channel_map(sf.info(str(source)).channels, agent, customer)
        spans = [Span(cmap.indices[cmap.speakers.index(r.speaker)], r.start_s, r.end_s) for r in redactions]
        silenced_copy(source, target, spans)
    except (OSError, ValueError, AudioError, sf.LibsndfileError) as exc:
        raise SilencingError(f"could not write the redacted copy of {source}: {exc}") from exc


def silence_in_place(path: Path, span: Span) -> int:
    """Zero the span's samples (padded) in a 16-bit PCM WAV being written; returns how many frames."""
    with path.open("r+b") as f:
        layout = _wav_layout(f, path)
        frame_bytes = layout.block_align
        available = (f.seek(0, os.SEEK_END) - layout.data_start) // frame_bytes
        first, last = _frames(span, layout.sample_rate, available)
        if last <= first:
            return 0
        f.seek(layout.data_start + first * frame_bytes)
        block = np.frombuffer(f.read((last - first) * frame_bytes), dtype="<i2").reshape(-1, layout.channels)
        block = block.copy()
        block[:, span.channel] = 0
        f.seek(layout.data_start + first * frame_bytes)
        f.write(block.astype("<i2").tobytes())
        return last - first


def silenced_copy(source: Path, target: Path, spans: Sequence[Span]) -> None:
    """Write ``source`` (any format libsndfile reads) to ``target`` in the same format, spans silenced.

    Written under a temporary name and renamed, so a reader never gets half a file."""
    info = sf.info(str(source))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.part")
    args = {"samplerate": info.samplerate, "channels": info.channels, "format": info.format}
    with sf.SoundFile(str(source)) as src, sf.SoundFile(str(tmp), "w", subtype=info.subtype, **args) as dst:
        done = 0
        # int32 carries 16- and 24-bit samples through unchanged (the copy is bit-exact outside the spans).
        for block in src.blocks(_BLOCK_FRAMES, dtype="int32", always_2d=True):
            out = block.copy()
            for span in spans:
                first, last = _frames(span, info.samplerate, done + len(block))
                first, last = max(first, done), min(last, done + len(block))
                if first < last:
                    out[first - done : last - done, span.channel] = 0
            dst.write(out)
            done += len(block)
    os.replace(tmp, target)


def _frames(span: Span, sample_rate: int, available: int) -> tuple[int, int]:
    first = max(0, math.floor((span.start_s - PAD_S) * sample_rate))
    last = min(available, math.ceil((span.end_s + PAD_S) * sample_rate))
    return first, last


def _wav_layout(f: BinaryIO, path: Path) -> WavLayout:
    """Where the samples start (the data chunk's size may not be final yet, so it is not trusted: the
    samples run to the end of the file)."""
    layout = wav_layout(f.read(HEADER_MAX))
    if layout is None:
        raise ValueError(f"{path} is not a WAV file with its format before its data")
    if layout.format_tag not in (1, 0xFFFE) or layout.bits != 16:  # PCM, plain or extensible
        raise ValueError(f"{path} is not 16-bit PCM: cannot silence it in place")
    return layout
