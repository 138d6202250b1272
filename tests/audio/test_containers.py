"""The container facts libsndfile hides: WAV data-chunk sizes and whether an OGG stream ended."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np

from callcoach.audio.containers import ogg_is_complete, sniff, wav_data_frames


def test_wav_data_frames_from_soundfile_and_sox(
    tmp_path: Path, write_audio: Callable[..., Path], sox: Callable[..., None]
) -> None:
    assert wav_data_frames(write_audio("m.wav", np.zeros(1234, np.int16))) == 1234
    assert wav_data_frames(write_audio("s.wav", np.zeros((1000, 2), np.int16), subtype="PCM_24")) == 1000
    assert wav_data_frames(write_audio("r.wav", np.zeros(777, np.int16), format="RF64")) == 777
    ext = tmp_path / "ext.wav"  # WAVE_FORMAT_EXTENSIBLE with a fact chunk
    sox("-n", "-r", 8000, "-c", 3, "-b", 16, ext, "synth", 0.5, "sine", 440)
    assert wav_data_frames(ext) == 4000


def test_wav_data_frames_skips_odd_sized_chunks(tmp_path: Path) -> None:
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"LIST" + struct.pack("<I", 3) + b"abc\x00"
    body += b"data" + struct.pack("<I", 20) + bytes(20)
    path = tmp_path / "odd.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    assert wav_data_frames(path) == 10


def test_wav_data_frames_unknown_when_the_header_does_not_say(tmp_path: Path) -> None:
    fmt = b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16)
    for size in (0, 0xFFFFFFFF):  # what streaming writers leave when they never patch the header
        path = tmp_path / f"stream{size}.wav"
        path.write_bytes(b"RIFF\xff\xff\xff\xffWAVE" + fmt + b"data" + struct.pack("<I", size) + bytes(100))
        assert wav_data_frames(path) is None
    other = tmp_path / "a.flac"
    other.write_bytes(b"fLaC" + bytes(40))
    assert wav_data_frames(other) is None
    short = tmp_path / "short.wav"
    short.write_bytes(b"RIFF")
    assert wav_data_frames(short) is None


def test_ogg_is_complete(write_audio: Callable[..., Path], cut: Callable[..., Path]) -> None:
    rng = np.random.default_rng(0)
    whole = write_audio("a.ogg", rng.integers(-9000, 9000, 64000).astype(np.int16), format="OGG")
    assert ogg_is_complete(whole)
    for keep in (0.3, 0.6, 0.999):
        assert not ogg_is_complete(cut(whole, keep, "c.ogg"))


def test_ogg_cut_exactly_at_a_page_boundary_is_incomplete(
    write_audio: Callable[..., Path], cut: Callable[..., Path]
) -> None:
    rng = np.random.default_rng(0)
    whole = write_audio("a.ogg", rng.integers(-9000, 9000, 64000).astype(np.int16), format="OGG")
    last_page = whole.read_bytes().rfind(b"OggS")
    assert not ogg_is_complete(cut(whole, last_page, "c.ogg"))  # whole pages, but no end-of-stream


def test_sniff(tmp_path: Path, write_audio: Callable[..., Path]) -> None:
    pcm = np.zeros(100, np.int16)
    assert sniff(write_audio("a.wav", pcm)) == "WAV"
    assert sniff(write_audio("a.flac", pcm)) == "FLAC"
    assert sniff(write_audio("a.ogg", pcm)) == "OGG"
    text = tmp_path / "t.txt"
    text.write_text("hello")
    assert sniff(text) is None
