"""Opening audio files: what one holds (:func:`probe`) and its samples as int16 blocks (:func:`read_blocks`).

Everything goes through libsndfile (``soundfile``): it reads WAV (including WAVE_FORMAT_EXTENSIBLE,
which Python's ``wave`` rejects and sox writes for more than two channels or more than 16 bits), RF64,
FLAC, OGG Vorbis/Opus, and G.711 mu-law/A-law WAV, decoding all of them to int16. Every failure a user
can fix comes out as an :class:`~callcoach.audio.errors.AudioError`.

A file cut short yields every block that decodes, then raises ``truncated_audio`` with ``at_s`` where
decoding stopped, so a caller keeps what it got. libsndfile reports the cut itself only for FLAC; for
WAV and OGG it silently stops early, so :mod:`~callcoach.audio.containers` checks the headers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile as sf

from callcoach.audio import containers
from callcoach.audio.errors import EMPTY_AUDIO, FILE_NOT_FOUND, NOT_AUDIO, TRUNCATED_AUDIO, AudioError

_CONVERT_HINT = "convert it with `sox in.ext out.wav`"
_WAV_FORMATS = frozenset({"WAV", "WAVEX", "RF64"})


@dataclass(frozen=True)
class AudioInfo:
    """What an audio file holds, as its header says.

    ``frames`` counts samples per channel; ``format``/``subtype`` are libsndfile's names
    (``"WAV"``/``"ULAW"``, ``"FLAC"``/``"PCM_16"``, ``"OGG"``/``"VORBIS"``, ...). A truncated file
    may decode fewer frames than this: :func:`read_blocks` tells where it stopped.
    """

    path: Path
    sample_rate: int
    channels: int
    frames: int
    duration_s: float
    format: str
    subtype: str


def probe(path: str | os.PathLike[str]) -> AudioInfo:
    """Open ``path`` just far enough to describe it.

    Raises AudioError: ``file_not_found``, ``not_audio``, ``empty_audio``, or ``truncated_audio`` (at
    0 s) for a file cut before its first decodable sample.
    """
    p = Path(path)
    _check_file(p)
    with _open(p) as f:
        info = _info(p, f)
        _check_not_empty(info, cut_short=_cut_short(info))
    return info


def read_blocks(path: str | os.PathLike[str], block_frames: int) -> Iterator[npt.NDArray[np.int16]]:
    """Yield the file's samples as int16 arrays of shape ``(n, channels)``, ``n <= block_frames``.

    Raises the errors of :func:`probe` before the first block, and ``truncated_audio`` after the last
    decodable block of a file cut short. For a FLAC file damaged mid-stream, the samples between the
    last whole block and the damage are lost (less than ``block_frames``).
    """
    if block_frames < 1:
        raise ValueError(f"block_frames must be at least 1, got {block_frames}")
    p = Path(path)
    _check_file(p)
    with _open(p) as f:
        info = _info(p, f)
        cut_short = _cut_short(info)
        _check_not_empty(info, cut_short=cut_short)
        done = 0
        try:
            while (block := _read(f, block_frames)) is not None:
                done += len(block)
                yield block
        except sf.SoundFileError as exc:
            raise _truncated(info, done, reason=_reason(exc)) from exc
    # FLAC cut exactly between two of its frames decodes cleanly but comes up short of STREAMINFO.
    if cut_short or done < info.frames:
        raise _truncated(info, done, reason=None)


def _read(f: Any, block_frames: int) -> npt.NDArray[np.int16] | None:
    """The next block, or None at the end (a fresh array: callers may keep it)."""
    block: npt.NDArray[np.int16] = f.read(block_frames, dtype="int16", always_2d=True)
    return block if len(block) else None


def _check_file(p: Path) -> None:
    """Fail early, with a message about the path, before libsndfile gives a vaguer one."""
    if not p.exists():
        raise AudioError(FILE_NOT_FOUND, f"no audio file at {p}: check the path and the working directory")
    if not p.is_file():
        raise AudioError(FILE_NOT_FOUND, f"{p} is not a file: give the path of a .wav, .flac or .ogg file")
    if not os.access(p, os.R_OK):
        raise AudioError(FILE_NOT_FOUND, f"{p} cannot be read (permission denied): fix its permissions")
    if p.stat().st_size == 0:
        raise AudioError(EMPTY_AUDIO, f"{p} is empty (0 bytes): export or record the call again")


def _open(p: Path) -> Any:
    """An open ``soundfile.SoundFile``, or the AudioError that best explains why it will not open."""
    try:
        return sf.SoundFile(p)
    except sf.SoundFileError as exc:
        raise _open_failure(p, _reason(exc)) from exc


def _open_failure(p: Path, reason: str) -> AudioError:
    kind = containers.sniff(p)
    if kind == "OGG" and not containers.ogg_is_complete(p):
        # libsndfile cannot open an OGG cut inside its first pages; the missing end-of-stream page
        # proves it was cut rather than never audio.
        return AudioError(
            TRUNCATED_AUDIO,
            f"{p} is cut short ({reason}): nothing could be decoded; copy or export the complete file again",
            at_s=0.0,
        )
    if kind is None:
        message = (
            f"{p} is not audio libsndfile can read (WAV, FLAC, OGG; libsndfile says: {reason}): "
            f"check the file, or {_CONVERT_HINT}"
        )
    else:
        message = (
            f"{p} starts like {kind} but cannot be decoded (damaged, cut inside its header, or an "
            f"unsupported codec; libsndfile says: {reason}): export it again, or {_CONVERT_HINT}"
        )
    return AudioError(NOT_AUDIO, message)


def _info(p: Path, f: Any) -> AudioInfo:
    rate, frames = int(f.samplerate), int(f.frames)
    return AudioInfo(
        path=p,
        sample_rate=rate,
        channels=int(f.channels),
        frames=frames,
        duration_s=frames / rate,
        format=str(f.format),
        subtype=str(f.subtype),
    )


def _cut_short(info: AudioInfo) -> bool:
    """True if the container shows the file was cut, where libsndfile would not say so."""
    if info.format in _WAV_FORMATS:
        declared = containers.wav_data_frames(info.path)
        return declared is not None and declared > info.frames
    if info.format == "OGG":
        return not containers.ogg_is_complete(info.path)
    return False


def _check_not_empty(info: AudioInfo, *, cut_short: bool) -> None:
    if info.frames > 0:
        return
    if cut_short:
        raise _truncated(info, 0, reason="cut before the first sample")
    raise AudioError(EMPTY_AUDIO, f"{info.path} holds no audio (0 samples): export or record the call again")


def _truncated(info: AudioInfo, done_frames: int, reason: str | None) -> AudioError:
    at_s = done_frames / info.sample_rate
    why = f" ({reason})" if reason else ""
    return AudioError(
        TRUNCATED_AUDIO,
        f"{info.path} is cut short{why}: only its first {at_s:.2f} s could be decoded; "
        "copy or export the complete file again",
        at_s=at_s,
    )


def _reason(exc: Exception) -> str:
    """libsndfile's own words on one line, without the path ("flac decoder lost sync")."""
    # LibsndfileError.error_string is libsndfile's message alone; str(exc) repeats the path.
    text = " ".join(str(getattr(exc, "error_string", "") or exc).split())
    return text.removeprefix("Error :").strip().rstrip(".") or type(exc).__name__
