"""Silencing redacted spans: in place in a live call's WAV while it is still being written, and in a copy
of a user's recording (which stays byte for byte as it was); and the catalog never serving a recording
whose redactions are not silenced."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf

from callcoach.live.catalog import CallCatalog
from callcoach.live.events import Frame, Redaction
from callcoach.live.recording import RecordingWriter
from callcoach.live.settings import Settings
from callcoach.live.silencing import PAD_S, SilencingError, silence_live, silence_recording

RATE = 16000


def tone(seconds: float, level: int, rate: int = RATE) -> npt.NDArray[np.int16]:
    t = np.arange(round(seconds * rate)) / rate
    return (level * np.sin(2 * np.pi * 440 * t)).astype(np.int16) + np.int16(1)  # never exactly zero


def test_a_live_recording_is_silenced_in_place_while_it_is_written(tmp_path: Path) -> None:
    path = tmp_path / "call.wav"
    writer = RecordingWriter(path, channels=2)
    agent, customer = tone(4.0, 3000), tone(4.0, 5000)
    for i in range(0, len(agent), 1600):  # 0.1 s steps, as a live call writes them
        at_s = i / RATE
        writer.write(
            (
                Frame("agent", at_s, RATE, agent[i : i + 1600]),
                Frame("customer", at_s, RATE, customer[i : i + 1600]),
            )
        )
        if i == 3 * RATE:  # three seconds in, the customer's 1.0–2.0 s turns out to be a card number
            silence_live(path, ("agent", "customer"), Redaction("customer", "card", 1.0, 2.0))
    writer.close()
    data, rate = sf.read(path, dtype="int16")
    assert rate == RATE and data.shape == (4 * RATE, 2)  # the writer's header is intact
    first, last = round((1.0 - PAD_S) * RATE), round((2.0 + PAD_S) * RATE)
    assert not data[first:last, 1].any()
    assert np.array_equal(data[:first, 1], customer[:first]) and np.array_equal(
        data[last:, 1], customer[last:]
    )
    assert np.array_equal(data[:, 0], agent)  # the other speaker's channel is untouched


def test_a_span_past_what_is_written_silences_only_what_is_there(tmp_path: Path) -> None:
    path = tmp_path / "call.wav"
    writer = RecordingWriter(path, channels=1)
    writer.write((Frame("mixed", 0.0, RATE, tone(1.0, 3000)),))
    silence_live(path, ("mixed",), Redaction("mixed", "ssn", 0.5, 9.0))
    writer.close()
    data, _ = sf.read(path, dtype="int16")
    assert len(data) == RATE and not data[round(0.4 * RATE) :].any() and data[: round(0.39 * RATE)].any()


def test_what_cannot_be_silenced_is_an_error_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(SilencingError, match=r"gone\.wav"):
        silence_live(tmp_path / "gone.wav", ("agent",), Redaction("agent", "card", 0.0, 1.0))


@pytest.mark.parametrize(
    ("suffix", "subtype", "rate"), [(".wav", "PCM_16", 8000), (".flac", "PCM_24", 44100)]
)
def test_a_recording_gets_a_silenced_copy_in_its_own_format(
    tmp_path: Path, suffix: str, subtype: str, rate: int
) -> None:
    source = tmp_path / f"mine{suffix}"
    stereo = np.column_stack([tone(3.0, 4000, rate), tone(3.0, 6000, rate)])
    sf.write(source, stereo, rate, subtype=subtype)
    before = hashlib.sha256(source.read_bytes()).hexdigest()
    target = tmp_path / "data" / "redacted" / f"mine{suffix}"
    # --agent-channel right: the customer is the left channel
    silence_recording(source, target, [Redaction("customer", "cvv", 1.0, 1.5)], "right", None)
    assert hashlib.sha256(source.read_bytes()).hexdigest() == before
    info = sf.info(str(target))
    assert (info.samplerate, info.channels, info.subtype, info.format) == (
        rate,
        2,
        subtype,
        sf.info(str(source)).format,
    )
    copy, _ = sf.read(target, dtype="int16")
    first, last = round((1.0 - PAD_S) * rate), round((1.5 + PAD_S) * rate)
    assert not copy[first:last, 0].any()
    assert np.array_equal(copy[:first, 0], stereo[:first, 0]) and np.array_equal(copy[last:], stereo[last:])
    assert np.array_equal(copy[:, 1], stereo[:, 1])


# --- what the server plays (the catalog's choice; registered recordings, nothing decoded) ------------------


async def test_a_recording_with_redactions_and_no_silenced_copy_is_not_served(tmp_path: Path) -> None:
    """Should the copy fail (a full disk), the user's file must not go out with the numbers in it."""
    (tmp_path / "rec").mkdir()
    sf.write(tmp_path / "rec" / "card.wav", tone(1.0, 3000), RATE)
    settings = Settings(recordings_dir=tmp_path / "rec", data_dir=tmp_path / "data")
    with ThreadPoolExecutor(1) as pool:
        catalog = CallCatalog(settings, None, pool)
        catalog.scan()
        record = catalog.get("card")
        assert record is not None
        record.log.append(Redaction("mixed", "card", 0.2, 0.6))  # as if analysed: the copy never made
        record.log.close()
        assert await catalog.playable(record) is None
        unredacted = CallCatalog(replace(settings, redact=False), None, pool)
        unredacted.scan()
        plain = unredacted.get("card")
        assert plain is not None and await unredacted.playable(plain) == tmp_path / "rec" / "card.wav"
