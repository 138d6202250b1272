"""A live call ends itself at ``max_call_s``, whichever way its audio comes: awaited from a network
adapter or handed over without waiting from a sound card (``push_nowait``, as ``callcoach listen`` does).
Real :class:`CallSession`, real Vosk, a real recording of the call."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import soundfile as sf

from callcoach.live.eventlog import EventLog
from callcoach.live.events import CallEnded, Error, Speaker
from callcoach.live.live_call import LiveCall
from callcoach.live.model import load_model
from callcoach.live.session import CallSession
from callcoach.live.settings import Settings
from callcoach.live.soundcard import capture_started

pytestmark = pytest.mark.vosk
MAX_CALL_S = 1.0
BLOCK = 320  # 20 ms at 16 kHz
SPEAKERS: tuple[Speaker, ...] = ("agent", "customer")  # the sample's left and right channels


@pytest.mark.parametrize("nowait", [True, False], ids=["push_nowait", "push"])
async def test_a_live_call_past_max_call_s_ends_itself_with_call_too_long(
    samples: Path, model_dir: Path, tmp_path: Path, nowait: bool
) -> None:
    audio, rate = sf.read(str(samples / "bereavement_cold.wav"), dtype="int16", always_2d=True)
    settings = Settings(model_dir=model_dir, max_call_s=MAX_CALL_S)
    live = LiveCall(capture_started(2, settings, None), settings, tmp_path / "call.wav")
    with ThreadPoolExecutor(2, thread_name_prefix="vosk") as executor:
        session = CallSession(
            live.started, model=load_model(model_dir), settings=settings, executor=executor, log=EventLog("c")
        )
        running = asyncio.create_task(session.run(live.frames()))
        for at in range(0, 3 * rate, BLOCK):  # 3 s offered; nobody calls live.end()
            for column, speaker in enumerate(SPEAKERS):
                block = audio[at : at + BLOCK, column].copy()
                if nowait:
                    live.push_nowait(speaker, block, rate)
                else:
                    await live.push(speaker, block, rate)
            await asyncio.sleep(0)
        ended = await asyncio.wait_for(running, 60)  # a bound for a hang, not a timing
    assert ended == CallEnded(end_s=MAX_CALL_S, reason="dropped")
    (error,) = [e for e in session.log.events if isinstance(e, Error)]
    assert (error.code, error.fatal, error.at_s) == ("call_too_long", True, MAX_CALL_S)
    assert "--max-call-s" in error.message
    assert sf.info(str(tmp_path / "call.wav")).duration == pytest.approx(MAX_CALL_S, abs=0.001)
