"""What a server killed mid-call leaves behind can be used: the recording's header is mended from the file,
and a live call's events reach storage while the call goes on.

The recordings here are cut off for real: a child process writes one with :class:`RecordingWriter`, as a
live call does, and dies without closing it (``os._exit``, which skips every clean-up as kill -9 does).
"""

from __future__ import annotations

import asyncio
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callcoach.audio.framing import PIPELINE_RATE_HZ
from callcoach.live.call_writer import CallWriter
from callcoach.live.eventlog import EventLog
from callcoach.live.events import CallEnded, CallInfo, CallStarted, Note, Redaction, Transcript
from callcoach.live.recording import repair
from callcoach.live.recovery import silence_redactions
from callcoach.live.storage import Storage, StoredCall

_CRASH = """
import os, sys
from pathlib import Path
import numpy as np
from callcoach.live.events import Frame
from callcoach.live.recording import RecordingWriter

path, steps = Path(sys.argv[1]), int(sys.argv[2])
writer = RecordingWriter(path, 2)
for n in range(steps):
    # Each speaker's samples count up, so that what comes back can be checked sample by sample.
    pcm = (np.arange(1600) + n * 1600).astype(np.int16)
    writer.write([Frame("agent", n / 10, 16000, pcm), Frame("customer", n / 10, 16000, -pcm)])
os._exit(0)
"""


def crashed_recording(path: Path, steps: int) -> Path:
    """A two-speaker recording of ``steps`` 0.1 s steps whose writer died before closing it."""
    subprocess.run([sys.executable, "-c", _CRASH, str(path), str(steps)], check=True)
    return path


def header_sizes(path: Path) -> tuple[int, int]:
    """(RIFF size, data size) as the header of a 44-byte-header WAV declares them."""
    head = path.read_bytes()[:44]
    assert head[36:40] == b"data"
    return struct.unpack_from("<I", head, 4)[0], struct.unpack_from("<I", head, 40)[0]


def expected_audio(steps: int) -> np.ndarray:
    agent = np.concatenate([(np.arange(1600) + n * 1600).astype(np.int16) for n in range(steps)])
    return np.column_stack([agent, -agent])


# --- the WAV header --------------------------------------------------------------------------------------


def test_a_recording_cut_off_by_a_crash_says_its_data_is_empty(tmp_path: Path) -> None:
    wav = crashed_recording(tmp_path / "call.wav", 30)
    assert wav.stat().st_size == 44 + 30 * 1600 * 4
    assert header_sizes(wav)[1] == 0  # what the server found after kill -9: players play nothing


def test_repair_gives_the_header_the_sizes_of_the_data_after_it(tmp_path: Path) -> None:
    wav = crashed_recording(tmp_path / "call.wav", 30)
    assert repair(wav) is True
    size = wav.stat().st_size
    assert header_sizes(wav) == (size - 8, size - 44)
    audio, rate = sf.read(str(wav), dtype="int16")
    assert rate == PIPELINE_RATE_HZ
    np.testing.assert_array_equal(audio, expected_audio(30))
    assert repair(wav) is False  # mended once: left alone after


def test_a_frame_cut_mid_sample_is_dropped(tmp_path: Path) -> None:
    wav = crashed_recording(tmp_path / "call.wav", 30)
    with wav.open("ab") as file:  # the process died in the middle of writing a frame
        file.write(b"\x01\x02\x03")
    assert repair(wav) is True
    assert wav.stat().st_size == 44 + 30 * 1600 * 4  # whole frames only: 4 bytes each, both speakers
    assert header_sizes(wav) == (36 + 30 * 1600 * 4, 30 * 1600 * 4)
    audio, _ = sf.read(str(wav), dtype="int16")
    np.testing.assert_array_equal(audio, expected_audio(30))


def test_a_closed_recording_cut_short_is_mended_too(tmp_path: Path) -> None:
    wav = tmp_path / "call.wav"
    sf.write(str(wav), expected_audio(10), PIPELINE_RATE_HZ, subtype="PCM_16")
    with wav.open("r+b") as file:  # a copy that stopped part way, one byte into a frame
        file.truncate(44 + 5 * 1600 * 4 + 1)
    assert repair(wav) is True
    assert header_sizes(wav) == (36 + 5 * 1600 * 4, 5 * 1600 * 4)
    assert sf.info(str(wav)).frames == 5 * 1600


def test_sound_files_are_left_as_they_are(tmp_path: Path) -> None:
    whole = tmp_path / "whole.wav"
    sf.write(str(whole), expected_audio(3), PIPELINE_RATE_HZ, subtype="PCM_16")
    with_list = tmp_path / "tagged.wav"  # libsndfile puts the title in a LIST chunk before the data
    with sf.SoundFile(str(with_list), "w", PIPELINE_RATE_HZ, 2, "PCM_16") as file:
        file.title = "a call"
        file.write(expected_audio(3))
    flac = tmp_path / "call.flac"
    sf.write(str(flac), expected_audio(3), PIPELINE_RATE_HZ)
    not_audio = tmp_path / "notes.wav"
    not_audio.write_text("not a wav at all")
    for path in (whole, with_list, flac, not_audio):
        before = path.read_bytes()
        assert repair(path) is False, path.name
        assert path.read_bytes() == before, path.name


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    channels=st.integers(1, 4),
    frames=st.integers(0, 5000),
    cut=st.integers(0, 7),  # bytes of a partial frame after the last whole one
    header=st.sampled_from([(0, 0), (36, 0), (0xFFFFFFFF, 0xFFFFFFFF)]),  # what writers leave mid-file
)
def test_any_cut_off_wav_comes_back_whole_frames_only(
    tmp_path: Path, channels: int, frames: int, cut: int, header: tuple[int, int]
) -> None:
    wav = tmp_path / "any.wav"
    audio = (np.arange(frames * channels) % 30000).astype(np.int16).reshape(frames, channels)
    sf.write(str(wav), audio, PIPELINE_RATE_HZ, subtype="PCM_16")
    body = bytearray(wav.read_bytes())
    data = body.index(b"data")
    struct.pack_into("<I", body, 4, header[0])
    struct.pack_into("<I", body, data + 4, header[1])
    junk = bytes(range(1, 1 + min(cut, 2 * channels - 1)))  # never a whole frame
    wav.write_bytes(bytes(body) + junk)
    assert repair(wav) is (bool(junk) or header != (len(body) - 8, frames * channels * 2))
    fixed = wav.read_bytes()
    assert len(fixed) == len(body)
    assert struct.unpack_from("<I", fixed, 4)[0] == len(fixed) - 8
    assert struct.unpack_from("<I", fixed, data + 4)[0] == frames * channels * 2
    if frames:
        back, _ = sf.read(str(wav), dtype="int16", always_2d=True)
        np.testing.assert_array_equal(back, audio)


# --- the events, as the call goes ------------------------------------------------------------------------

INFO = CallInfo("c1", "Line 4", "twilio", "2026-11-25T10:00:00+00:00", None, True, "live")
STARTED = CallStarted("c1", "twilio", "2026-11-25T10:00:00+00:00", ("agent", "customer"))


async def stored_events(storage: Storage, n: int, timeout_s: float = 10) -> list[object]:
    """The call's stored events once there are ``n`` of them (the writer's batches are not awaited)."""
    async with asyncio.timeout(timeout_s):
        while True:
            calls = await asyncio.to_thread(storage.load_all)
            if calls and len(calls[0].events) >= n:
                return list(calls[0].events)
            await asyncio.sleep(0.02)


async def test_a_live_calls_events_are_stored_while_it_goes_on(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "calls.sqlite3", tmp_path / "rec")
    log = EventLog("c1")
    writer = asyncio.create_task(CallWriter(storage, log, flush_s=0.05).run(INFO, None))
    line = Transcript("customer", "my uncle passed away", 1.0, 2.5, True)
    note = Note("note-1-bo", 1.5, "coach", "listen", "bo", "Bo")
    log.append(STARTED)
    log.append(line)
    assert await stored_events(storage, 2) == [STARTED, line]
    log.annotate(note)  # the catalog stores notes as they are made; the writer leaves them out
    log.append(line)
    assert await stored_events(storage, 3) == [STARTED, line, line]
    assert not writer.done()  # the call is still going on
    [stored] = storage.load_all()
    assert stored.info == INFO
    log.append(CallEnded(3.0, "completed"))
    log.close()
    await asyncio.wait_for(writer, 10)  # it ends with the log, everything written
    [stored] = storage.load_all()
    assert list(stored.events) == [STARTED, line, line, CallEnded(3.0, "completed")]


def test_an_interrupted_calls_redactions_are_silenced_again(tmp_path: Path) -> None:
    """The server may die between logging a redaction and silencing it: recovery silences every one."""
    path = repair_and_return(crashed_recording(tmp_path / "c.wav", 30))  # 3 s, both speakers loud
    started = CallStarted("c", "twilio", "2026-11-30T10:00:00+00:00", ("agent", "customer"))
    info = CallInfo("c", "Call", "twilio", started.started_at, None, live=True, status="live")
    stored = StoredCall(info, (started, Redaction("customer", "card", 1.0, 2.0)), path)
    silence_redactions(stored)
    audio, rate = sf.read(str(path), dtype="int16")
    inside = audio[int(1.1 * rate) : int(1.9 * rate)]
    assert not inside[:, 1].any()  # the customer's channel is silent in the span
    assert inside[:, 0].any() and audio[int(2.5 * rate) :, 1].any()  # the agent's and the rest are not


def repair_and_return(path: Path) -> Path:
    repair(path)
    return path
