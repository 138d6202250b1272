"""probe() and read_blocks() on real files: formats, G.711, and every error, truncation included."""

from __future__ import annotations

import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from callcoach.audio.decode import AudioInfo, probe, read_blocks
from callcoach.audio.errors import AudioError


def _read_all(path: Path, block_frames: int = 1000) -> np.ndarray:
    return np.concatenate(list(read_blocks(path, block_frames)))


def _read_until_error(path: Path, block_frames: int = 1000) -> tuple[np.ndarray, AudioError]:
    blocks: list[np.ndarray] = []
    with pytest.raises(AudioError) as caught:
        for block in read_blocks(path, block_frames):
            blocks.append(block)
    got = np.concatenate(blocks) if blocks else np.zeros((0, 1), np.int16)
    return got, caught.value


def test_probe_describes_a_wav(write_audio: Callable[..., Path], tone: Callable[..., np.ndarray]) -> None:
    path = write_audio("a.wav", tone(440, 1.5), subtype="PCM_16")
    assert probe(path) == AudioInfo(
        path=path, sample_rate=16000, channels=1, frames=24000, duration_s=1.5, format="WAV", subtype="PCM_16"
    )


def test_probe_accepts_str_paths(write_audio: Callable[..., Path], tone: Callable[..., np.ndarray]) -> None:
    path = write_audio("a.wav", tone(440, 0.1))
    assert probe(str(path)).path == path


def test_read_blocks_yields_int16_blocks_that_add_up(
    write_audio: Callable[..., Path], tone: Callable[..., np.ndarray]
) -> None:
    samples = tone(440, 1.0)
    blocks = list(read_blocks(write_audio("a.wav", samples), 333))
    assert all(b.dtype == np.int16 and b.ndim == 2 and b.shape[1] == 1 for b in blocks)
    assert [len(b) for b in blocks[:-1]] == [333] * (len(blocks) - 1)
    np.testing.assert_array_equal(np.concatenate(blocks)[:, 0], samples)


def test_sox_extensible_stereo_is_read(tmp_path: Path, sox: Callable[..., None]) -> None:
    # sox writes WAVE_FORMAT_EXTENSIBLE for more than 16 bits or more than 2 channels (plain PCM for
    # 16-bit stereo); Python's wave module cannot open it, which is why decode uses libsndfile.
    path = tmp_path / "ext.wav"
    sox("-n", "-r", 16000, "-c", 2, "-b", 24, path, "synth", 1, "sine", 440)
    assert path.read_bytes()[20:22] == b"\xfe\xff"  # wFormatTag = WAVE_FORMAT_EXTENSIBLE
    with pytest.raises(wave.Error):
        wave.open(str(path)).close()
    info = probe(path)
    assert (info.format, info.subtype, info.channels, info.frames) == ("WAVEX", "PCM_24", 2, 16000)
    samples = _read_all(path)
    assert samples.shape == (16000, 2) and samples.dtype == np.int16
    np.testing.assert_array_equal(samples[:, 0], samples[:, 1])
    assert 20000 < np.abs(samples.astype(np.int32)).max() < 32767  # sox synth peaks at about -3 dBFS


@pytest.mark.parametrize(("encoding", "subtype"), [("mu-law", "ULAW"), ("a-law", "ALAW")])
def test_g711_wav_from_sox(
    tmp_path: Path,
    sox: Callable[..., None],
    write_audio: Callable[..., Path],
    tone: Callable[..., np.ndarray],
    encoding: str,
    subtype: str,
) -> None:
    source = write_audio("in.wav", tone(440, 1.0))
    path = tmp_path / "phone.wav"
    sox(source, "-r", 8000, "-e", encoding, path)
    info = probe(path)
    assert (info.sample_rate, info.channels, info.frames, info.subtype) == (8000, 1, 8000, subtype)
    samples = _read_all(path)
    assert samples.shape == (8000, 1)
    assert 14000 < samples.max() < 17500  # the 0.5 full-scale sine survives companding


@pytest.mark.parametrize(
    ("name", "fmt", "subtype"), [("a.flac", "FLAC", "PCM_16"), ("a.ogg", "OGG", "VORBIS")]
)
def test_flac_and_ogg(
    write_audio: Callable[..., Path], tone: Callable[..., np.ndarray], name: str, fmt: str, subtype: str
) -> None:
    samples = np.stack([tone(440, 2.0), tone(880, 2.0)], axis=1)
    path = write_audio(name, samples, format=fmt, subtype=subtype)
    info = probe(path)
    assert (info.format, info.subtype, info.channels, info.frames) == (fmt, subtype, 2, 32000)
    got = _read_all(path)
    assert got.shape == (32000, 2)
    if fmt == "FLAC":  # lossless
        np.testing.assert_array_equal(got, samples)


def test_rf64(write_audio: Callable[..., Path], tone: Callable[..., np.ndarray]) -> None:
    path = write_audio("a.wav", tone(440, 1.0), format="RF64", subtype="PCM_16")
    assert probe(path).format == "RF64"
    assert len(_read_all(path)) == 16000


# --- errors -------------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    for call in (lambda p: probe(p), lambda p: next(read_blocks(p, 100))):
        with pytest.raises(AudioError) as caught:
            call(tmp_path / "nope.wav")
        assert caught.value.code == "file_not_found"
        assert "nope.wav" in caught.value.message and "check the path" in caught.value.message


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(AudioError) as caught:
        probe(tmp_path)
    assert caught.value.code == "file_not_found"


def test_text_file_is_not_audio(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("this is a text file pretending to be audio\n" * 20)
    for call in (lambda: probe(path), lambda: next(read_blocks(path, 100))):
        with pytest.raises(AudioError) as caught:
            call()
        assert caught.value.code == "not_audio"
        assert "notes.wav" in caught.value.message and "sox" in caught.value.message
        assert "\n" not in caught.value.message


def test_zero_byte_file_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.touch()
    with pytest.raises(AudioError) as caught:
        probe(path)
    assert caught.value.code == "empty_audio"


def test_header_only_wav_is_empty(write_audio: Callable[..., Path]) -> None:
    path = write_audio("none.wav", np.zeros(0, np.int16))
    for call in (lambda: probe(path), lambda: next(read_blocks(path, 100))):
        with pytest.raises(AudioError) as caught:
            call()
        assert caught.value.code == "empty_audio"


def test_block_frames_must_be_positive(
    write_audio: Callable[..., Path], tone: Callable[..., np.ndarray]
) -> None:
    with pytest.raises(ValueError):
        next(read_blocks(write_audio("a.wav", tone(440, 0.1)), 0))


# --- truncation -----------------------------------------------------------------------------------------


def test_wav_cut_mid_data(
    write_audio: Callable[..., Path], tone: Callable[..., np.ndarray], cut: Callable[..., Path]
) -> None:
    samples = np.stack([tone(440, 2.0), tone(660, 2.0)], axis=1)
    whole = write_audio("whole.wav", samples, subtype="PCM_16")
    # libsndfile clamps silently: it reports (and reads) only what is there, without an error.
    cut_path = cut(whole, 44 + 4 * 12345 + 3, "cut.wav")
    assert sf.info(cut_path).frames == 12345
    got, err = _read_until_error(cut_path)
    np.testing.assert_array_equal(got, samples[:12345])
    assert err.code == "truncated_audio"
    assert err.at_s == pytest.approx(12345 / 16000)
    assert "cut.wav" in err.message and "cut short" in err.message


def test_probe_does_not_raise_for_a_cut_wav(
    write_audio: Callable[..., Path], tone: Callable[..., np.ndarray], cut: Callable[..., Path]
) -> None:
    # probe() describes the file; the truncation is reported by read_blocks after the good audio.
    info = probe(cut(write_audio("w.wav", tone(440, 1.0)), 0.5, "c.wav"))
    assert 0 < info.frames < 16000


def test_mulaw_wav_cut_mid_data(
    tmp_path: Path,
    sox: Callable[..., None],
    write_audio: Callable[..., Path],
    tone: Callable[..., np.ndarray],
    cut: Callable[..., Path],
) -> None:
    phone = tmp_path / "phone.wav"
    sox(write_audio("in.wav", tone(440, 2.0)), "-r", 8000, "-e", "mu-law", phone)
    full = _read_all(phone)
    got, err = _read_until_error(cut(phone, 0.5, "cut.wav"))
    assert err.code == "truncated_audio"
    assert 7000 < len(got) < 9000
    np.testing.assert_array_equal(got, full[: len(got)])
    assert err.at_s == pytest.approx(len(got) / 8000)


def test_rf64_cut_mid_data(
    write_audio: Callable[..., Path], tone: Callable[..., np.ndarray], cut: Callable[..., Path]
) -> None:
    got, err = _read_until_error(cut(write_audio("a.wav", tone(440, 1.0), format="RF64"), 0.5, "c.wav"))
    assert err.code == "truncated_audio" and 0 < len(got) < 16000


def test_wav_cut_right_after_its_header(
    write_audio: Callable[..., Path], tone: Callable[..., np.ndarray], cut: Callable[..., Path]
) -> None:
    # Zero decodable frames, but the header declares data: cut short, not an empty recording.
    for call in (probe, lambda p: next(read_blocks(p, 100))):
        with pytest.raises(AudioError) as caught:
            call(cut(write_audio("a.wav", tone(440, 1.0)), 44, "c.wav"))
        assert (caught.value.code, caught.value.at_s) == ("truncated_audio", 0.0)


def test_flac_cut_mid_stream(
    write_audio: Callable[..., Path], tone: Callable[..., np.ndarray], cut: Callable[..., Path]
) -> None:
    rng = np.random.default_rng(0)  # noise compresses badly, so the cut lands well inside the audio
    samples = (tone(440, 5.0) // 2 + rng.integers(-8000, 8000, 80000)).astype(np.int16)
    whole = write_audio("a.flac", samples)
    cut_path = cut(whole, 0.6, "c.flac")
    assert sf.info(cut_path).frames == 80000  # STREAMINFO still promises everything
    got, err = _read_until_error(cut_path, 1000)
    assert err.code == "truncated_audio"
    assert 0.45 * 80000 < len(got) < 0.6 * 80000
    np.testing.assert_array_equal(got[:, 0], samples[: len(got)])
    assert err.at_s == pytest.approx(len(got) / 16000)
    assert "flac" in err.message.lower()


def test_ogg_cut_mid_stream(
    write_audio: Callable[..., Path], tone: Callable[..., np.ndarray], cut: Callable[..., Path]
) -> None:
    rng = np.random.default_rng(0)
    samples = (tone(440, 8.0) // 2 + rng.integers(-8000, 8000, 128000)).astype(np.int16)
    whole = write_audio("a.ogg", samples, format="OGG", subtype="VORBIS")
    cut_path = cut(whole, 0.7, "c.ogg")
    # libsndfile reads a cut OGG to its last whole page and says nothing.
    assert 0 < sf.info(cut_path).frames < 128000
    got, err = _read_until_error(cut_path)
    assert err.code == "truncated_audio"
    assert len(got) == sf.info(cut_path).frames
    assert err.at_s == pytest.approx(len(got) / 16000)


def test_ogg_cut_inside_its_headers(
    write_audio: Callable[..., Path], tone: Callable[..., np.ndarray], cut: Callable[..., Path]
) -> None:
    whole = write_audio("a.ogg", tone(440, 2.0), format="OGG", subtype="VORBIS")
    cut_path = cut(whole, 300, "c.ogg")
    with pytest.raises(sf.LibsndfileError):
        sf.info(cut_path)  # libsndfile cannot even open it
    with pytest.raises(AudioError) as caught:
        probe(cut_path)
    assert (caught.value.code, caught.value.at_s) == ("truncated_audio", 0.0)


def test_damaged_wav_header_is_not_audio(tmp_path: Path) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(b"RIFF\x24\x00\x00\x00WAVEjunk" + bytes(40))
    with pytest.raises(AudioError) as caught:
        probe(path)
    assert caught.value.code == "not_audio"
    assert "starts like WAV" in caught.value.message
