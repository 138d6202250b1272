"""FileFrames: a file through decode, channel map, resampling and framing, errors and truncation included."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from callcoach.audio.channels import ChannelMap
from callcoach.audio.errors import AudioError
from callcoach.audio.framing import Step
from callcoach.audio.source import FileFrames, file_frames

Tone = Callable[..., np.ndarray]


def _peak_hz(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / 16000)[np.argmax(spectrum)])


def _joined(steps: list[Step], index: int) -> np.ndarray:
    return np.concatenate([step[index].pcm for step in steps])


def test_stereo_8k_file_becomes_agent_and_customer_frames_at_16k(
    write_audio: Callable[..., Path], tone: Callable[..., np.ndarray]
) -> None:
    stereo = np.stack([tone(440, 2.05, rate=8000), tone(1200, 2.05, rate=8000)], axis=1)
    source = FileFrames(write_audio("call.wav", stereo, 8000), agent_channel="right")
    assert (source.info.sample_rate, source.info.channels) == (8000, 2)
    assert source.channel_map == ChannelMap(("agent", "customer"), (1, 0))
    steps = list(source)
    assert all(len(step) == 2 for step in steps)
    assert [len(step[0].pcm) for step in steps] == [1600] * 20 + [800]
    assert [step[0].start_s for step in steps] == [k / 10 for k in range(21)]
    agent, customer = _joined(steps, 0), _joined(steps, 1)
    assert len(agent) == 2.05 * 16000
    assert _peak_hz(agent) == pytest.approx(1200, abs=2)  # right channel
    assert _peak_hz(customer) == pytest.approx(440, abs=2)
    assert {step[0].speaker for step in steps} == {"agent"} and steps[0][0].sample_rate == 16000


def test_mono_441k_file_is_one_mixed_speaker(
    write_audio: Callable[..., Path], tone: Callable[..., np.ndarray]
) -> None:
    steps = list(file_frames(write_audio("m.flac", tone(300, 1.0, rate=44100), 44100), frame_s=0.02))
    assert all(len(step) == 1 and step[0].speaker == "mixed" for step in steps)
    assert len(steps) == 50 and all(len(step[0].pcm) == 320 for step in steps)
    assert _peak_hz(_joined(steps, 0)) == pytest.approx(300, abs=2)


def test_16k_file_passes_through_unchanged(
    write_audio: Callable[..., Path], tone: Callable[..., np.ndarray]
) -> None:
    samples = tone(440, 0.5)
    np.testing.assert_array_equal(_joined(list(file_frames(write_audio("a.wav", samples))), 0), samples)


def test_mulaw_phone_file(
    tmp_path: Path, sox: Callable[..., None], write_audio: Callable[..., Path], tone: Tone
) -> None:
    phone = tmp_path / "phone.wav"
    sox(write_audio("in.wav", tone(500, 3.0)), "-r", 8000, "-e", "mu-law", phone)
    source = FileFrames(phone)
    assert source.info.subtype == "ULAW"
    pcm = _joined(list(source), 0)
    assert len(pcm) == 48000
    assert _peak_hz(pcm) == pytest.approx(500, abs=2)


def test_truncated_file_yields_its_frames_then_raises(
    write_audio: Callable[..., Path], tone: Callable[..., np.ndarray], cut: Callable[..., Path]
) -> None:
    stereo = np.stack([tone(440, 3.0, rate=8000), tone(660, 3.0, rate=8000)], axis=1)
    cut_path = cut(write_audio("call.wav", stereo, 8000), 44 + 4 * 10_000, "cut.wav")  # 1.25 s kept
    steps: list[Step] = []
    with pytest.raises(AudioError) as caught:
        for step in FileFrames(cut_path):
            steps.append(step)
    assert caught.value.code == "truncated_audio"
    assert caught.value.at_s == pytest.approx(1.25)
    # Every decoded sample came through, resampler and framer tails included.
    assert steps[-1][0].end_s == pytest.approx(1.25, abs=1 / 16000)
    assert len(_joined(steps, 0)) == 20_000


def test_file_errors_come_from_the_constructor(tmp_path: Path, write_audio: Callable[..., Path]) -> None:
    with pytest.raises(AudioError) as caught:
        file_frames(tmp_path / "missing.wav")
    assert caught.value.code == "file_not_found"
    six = write_audio("six.wav", np.zeros((100, 6), np.int16))
    with pytest.raises(AudioError) as caught:
        FileFrames(six)
    assert caught.value.code == "too_many_channels"
    with pytest.raises(AudioError) as caught:
        FileFrames(six, agent_channel="2", customer_channel="7")
    assert caught.value.code == "bad_channel"
    stereo = write_audio("two.wav", np.zeros((100, 2), np.int16))
    with pytest.raises(AudioError) as caught:
        FileFrames(stereo, agent_channel="left", customer_channel="1")
    assert caught.value.code == "bad_channel"


def test_numbered_channels_of_a_multichannel_file(write_audio: Callable[..., Path], tone: Tone) -> None:
    channels = np.stack([tone(300 + 200 * k, 1.0) for k in range(4)], axis=1)
    steps = list(FileFrames(write_audio("four.wav", channels), agent_channel="4", customer_channel="2"))
    assert _peak_hz(_joined(steps, 0)) == pytest.approx(900, abs=2)
    assert _peak_hz(_joined(steps, 1)) == pytest.approx(500, abs=2)


def test_frame_s_must_hold_a_sample(
    write_audio: Callable[..., Path], tone: Callable[..., np.ndarray]
) -> None:
    with pytest.raises(ValueError):
        FileFrames(write_audio("a.wav", tone(440, 0.1)), frame_s=0.00001)
