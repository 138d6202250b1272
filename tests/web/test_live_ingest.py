"""Live calls end to end: the real ``callcoach serve`` on loopback, the real Vosk model, real platform wire
formats, and a coach's websocket following each call.

One server (a subprocess, as a user runs it, on free ports with a temporary ``--data`` and a token) takes
the cold bereavement sample through each ingest protocol at once, at twice real time: Twilio Media Streams,
the FreeSWITCH audio fork and AudioSocket's two TCP legs, each streamed by :mod:`callcoach.web.simulate`,
which reports how far it has streamed. A coach subscribes to each call as soon as it is listed and checks
what a coach sees: the transcript, the silence alert (at most 1 s of call audio after it could be known)
and the cold reply, and the call's audio. Then the same three protocols drop mid-call through the real
``callcoach simulate-call --drop-after 24``. Every call must be listed as a replay, replay to exactly the
events the coach saw live, have its WAV in the data folder, and come back after a restart on the same data
folder. Also: AudioSocket sent far faster than the server decodes keeps both legs whole; the refusals
(token, AudioSocket peer); a restarted server still analyses its recordings and stops cleanly.

The server and the callers are helpers (``tests/helpers/server.py``, ``tests/helpers/calls.py``), so that
``tests/bench/live_calls.py`` and the other live-call tests place calls exactly as these tests do.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
import pytest_asyncio
import soundfile as sf

from callcoach.web.ingest.audiosocket import AudioSocketEncoder
from tests.helpers.calls import (
    PROTOCOLS,
    SOURCES,
    SPEED,
    Plan,
    Protocol,
    Trace,
    place_calls,
    replay,
    simulate_call_argv,
    wait_stored,
)
from tests.helpers.server import Server, clean_env, get_calls, start_server, stop_server

pytestmark = [pytest.mark.vosk, pytest.mark.asyncio(loop_scope="module")]

CALL = "bereavement_cold"
DROP_SPEED = 2.0
DROP_AFTER_S = 24.0  # after the silence alert (detected at ~21 s), before the cold reply is known
SILENCE_LATENCY_S = 1.0  # audio seconds from when a silence could be known to when the coach has it


def alert_facts(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Every alert revision as (id, revision, kind, start_s, end_s, detected_s)."""
    return [
        (e["id"], e["revision"], e["kind"], e["start_s"], e["end_s"], e["detected_s"])
        for e in events
        if e["type"] == "alert"
    ]


# --- fixtures --------------------------------------------------------------------------------------------


@dataclass
class Run:
    server: Server
    calls: dict[Protocol, Trace]  # completed calls, streamed in-process with progress reports
    dropped: dict[Protocol, Trace]  # calls dropped mid-way by `callcoach simulate-call --drop-after`
    listed: list[dict[str, Any]]  # the call list once all of them were stored
    load: str  # how busy the machine was while the completed calls streamed, for failure messages


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def run(
    callcoach: Path, model_dir: Path, samples: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Run]:
    server = await start_server(callcoach, model_dir, tmp_path_factory.mktemp("live") / "data")
    try:
        path = samples / f"{CALL}.wav"
        cpu0, wall0 = server.cpu_s(), time.monotonic()
        traces = await place_calls(server, [Plan(p, path) for p in PROTOCOLS])
        cpu, wall = server.cpu_s() - cpu0, time.monotonic() - wall0
        load = (
            f"the server used {cpu / wall:.0%} of a core for the {len(PROTOCOLS)} calls at {SPEED:g}x; "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )
        dropped = await place_calls(
            server,
            [Plan(p, path, speed=DROP_SPEED, drop_after_s=DROP_AFTER_S, cli=callcoach) for p in PROTOCOLS],
        )
        ids = {t.call_id for t in [*traces, *dropped]}
        async with server.client() as http:
            listed = await wait_stored(http, server, ids)
        calls = dict(zip(PROTOCOLS, traces, strict=True))
        yield Run(server, calls, dict(zip(PROTOCOLS, dropped, strict=True)), listed, load)
    finally:
        await stop_server(server)


@dataclass
class Restart:
    first_exit: int  # the first server's exit status on Ctrl-C
    server: Server  # the second, on the same data folder


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def restarted(run: Run, callcoach: Path, model_dir: Path, samples: Path) -> AsyncIterator[Restart]:
    """The server stopped and started again on the same data folder, with a recording to analyse in the
    background, and allowing AudioSocket only from an address this machine is not (TEST-NET-1)."""
    first_exit = await stop_server(run.server)
    recordings = run.server.data.parent / "restart-recordings"
    recordings.mkdir()
    shutil.copy(samples / "plain.wav", recordings / "plain.wav")
    server = await start_server(
        callcoach,
        model_dir,
        run.server.data,
        recordings=recordings,
        env={"CALLCOACH_AUDIOSOCKET_ALLOW": "192.0.2.10"},
    )
    try:
        yield Restart(first_exit, server)
    finally:
        await stop_server(server)


@pytest.fixture(params=PROTOCOLS)
def protocol(request: pytest.FixtureRequest) -> Protocol:
    value: Protocol = request.param
    return value


# --- a live call, as the coach sees it -------------------------------------------------------------------


async def test_the_coach_sees_the_transcript_as_it_happens(run: Run, protocol: Protocol) -> None:
    trace = run.calls[protocol]
    assert trace.events[0]["type"] == "call_started"
    assert trace.events[0]["source"] == SOURCES[protocol]
    assert tuple(trace.events[0]["speakers"]) == ("agent", "customer")
    customer = trace.said("customer")
    assert "uncle" in customer and "passed away" in customer, customer
    assert "move forward" in trace.said("agent"), trace.said("agent")
    assert trace.ended()["reason"] == "completed"
    assert trace.ended()["end_s"] == pytest.approx(34.5, abs=0.2)


async def test_the_coach_gets_the_silence_alert_within_a_second_of_audio(
    run: Run, protocol: Protocol
) -> None:
    trace = run.calls[protocol]
    silence = trace.first("silence")
    assert silence["revision"] == 0 and silence["end_s"] is None  # fired at its threshold, still going on
    assert silence["start_s"] == pytest.approx(16.0, abs=0.5)
    assert silence["detected_s"] == pytest.approx(silence["start_s"] + 5.0, abs=0.11)
    latency = trace.latency_s(silence)
    assert 0.0 <= latency <= SILENCE_LATENCY_S, (
        f"{protocol}: the silence alert (detectable at {silence['detected_s']} s) reached the coach when "
        f"{trace.arrived_at_s[(silence['id'], 0)]:.2f} s of the call had been streamed ({run.load})"
    )
    final = trace.alerts("silence")[-1]
    assert final["end_s"] == pytest.approx(21.5, abs=0.5)  # revised with its length once the agent spoke


async def test_the_coach_gets_the_cold_reply_alert(run: Run, protocol: Protocol) -> None:
    trace = run.calls[protocol]
    cold = trace.first("cold_reply_to_bad_news")
    assert cold["speaker"] == "agent" and cold["polarity"] == "coach"
    assert cold["start_s"] == pytest.approx(21.5, abs=0.5)
    assert "uncle" in cold["quotes"][0]["text"]
    assert cold["pause_s"] == pytest.approx(5.5, abs=0.5)
    assert {a["kind"] for a in trace.alerts()} == {"silence", "cold_reply_to_bad_news"}


async def test_the_coach_hears_both_speakers(run: Run, protocol: Protocol) -> None:
    trace = run.calls[protocol]
    steps = 34.5 / 0.1
    for speaker in ("agent", "customer"):  # a page that keeps up gets (nearly) every step's audio
        assert trace.frames[speaker] >= 0.9 * steps, trace.frames


# --- after the call --------------------------------------------------------------------------------------


async def test_an_ended_call_is_listed_as_a_replay(run: Run, protocol: Protocol) -> None:
    trace = run.calls[protocol]
    (info,) = [c for c in run.listed if c["call_id"] == trace.call_id]
    assert info["live"] is False and info["status"] == "ready" and info["error"] is None
    assert info["duration_s"] == trace.ended()["end_s"]
    assert info["coach_alerts"] == 2 and info["praise_alerts"] == 0
    if protocol != "audiosocket":  # AudioSocket carries no call metadata
        assert info["agent"] == "Sam Patel" and info["customer"] == "•••• 0123"  # masked
    assert info["audio_url"] == f"/recordings/{trace.call_id}"


async def test_a_replay_gives_the_events_the_coach_saw_live(run: Run, protocol: Protocol) -> None:
    trace = run.calls[protocol]
    replayed = await replay(run.server, trace.call_id)
    assert alert_facts(replayed) == alert_facts(trace.events)
    assert replayed == trace.events  # everything else too: the log is stored as it was sent


async def test_the_recording_is_a_wav_of_the_call(run: Run, protocol: Protocol) -> None:
    trace = run.calls[protocol]
    wav = run.server.data / "recordings" / f"{trace.call_id}.wav"
    info = sf.info(str(wav))
    assert (info.format, info.subtype, info.samplerate, info.channels) == ("WAV", "PCM_16", 16000, 2)
    assert info.duration == pytest.approx(trace.ended()["end_s"], abs=0.001)
    async with (
        run.server.client() as http,
        http.get(f"{run.server.base}/recordings/{trace.call_id}") as resp,
    ):
        assert resp.status == 200
        assert await resp.read() == wav.read_bytes()


# --- a call that drops -----------------------------------------------------------------------------------


async def test_a_dropped_call_keeps_everything_up_to_the_drop(run: Run, protocol: Protocol) -> None:
    trace = run.dropped[protocol]
    customer = trace.said("customer")
    assert "uncle" in customer and "passed away" in customer, customer
    assert trace.first("silence")["detected_s"] < DROP_AFTER_S
    assert trace.ended()["reason"] == "dropped"
    assert trace.ended()["end_s"] == pytest.approx(DROP_AFTER_S, abs=0.2)
    errors = trace.of_type("error")
    assert [(e["code"], e["fatal"]) for e in errors] == [("call_dropped", True)], errors
    assert "dropped" in errors[0]["message"]


async def test_a_dropped_call_is_stored_and_replayable(run: Run, protocol: Protocol) -> None:
    trace = run.dropped[protocol]
    (info,) = [c for c in run.listed if c["call_id"] == trace.call_id]
    assert info["live"] is False and info["status"] == "ready"
    assert info["error"] and "dropped" in info["error"]
    assert await replay(run.server, trace.call_id) == trace.events
    wav = sf.info(str(run.server.data / "recordings" / f"{trace.call_id}.wav"))
    assert wav.duration == pytest.approx(trace.ended()["end_s"], abs=0.001)


# --- a caller faster than the server ---------------------------------------------------------------------


def envelope(audio: Any, rate: int, window_s: float = 0.5) -> Any:
    """Mean absolute level per window: the shape of a speaker's talk, whatever the resampling did."""
    n = round(rate * window_s)
    usable = len(audio) // n * n
    return np.abs(audio[:usable].astype(np.float64)).reshape(-1, n).mean(axis=1)


async def test_audiosocket_faster_than_the_server_keeps_both_legs_whole(run: Run, samples: Path) -> None:
    """Two legs on two sockets, sent far faster than the pipeline decodes: the server must read them in step
    (back-pressure on both), not let one leg run ahead until the other is taken for dead and lost."""
    path = samples / f"{CALL}.wav"
    (trace,) = await place_calls(run.server, [Plan("audiosocket", path, speed=20.0)])
    assert "uncle" in trace.said("customer"), trace.said("customer")
    assert [a["kind"] for a in trace.alerts() if a["revision"] == 0] == ["silence", "cold_reply_to_bad_news"]
    async with run.server.client() as http:
        await wait_stored(http, run.server, {trace.call_id})
    recorded, rate = sf.read(str(run.server.data / "recordings" / f"{trace.call_id}.wav"), dtype="int16")
    original, original_rate = sf.read(str(path), dtype="int16")
    for channel, speaker in enumerate(("agent", "customer")):
        got, want = envelope(recorded[:, channel], rate), envelope(original[:, channel], original_rate)
        n = min(len(got), len(want))
        assert abs(len(got) - len(want)) <= 1
        similarity = float(np.corrcoef(got[:n], want[:n])[0, 1])
        assert similarity > 0.95, f"the {speaker}'s leg was not recorded as sent ({similarity:.2f})"


# --- refusals --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["/ingest/twilio", "/ingest/audiofork"])
@pytest.mark.parametrize(
    ("auth", "reason"),
    [({}, "needs the shared token"), ({"token": "wrong"}, "refused the token")],
    ids=["no token", "wrong token"],
)
async def test_ingest_without_the_token_is_refused_with_401(
    run: Run, endpoint: str, auth: dict[str, str], reason: str
) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{run.server.base}{endpoint}", params=auth) as resp:
            assert resp.status == 401
            assert reason in await resp.text()
        headers = {"Authorization": f"Bearer {auth['token']}"} if auth else {}
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(run.server.ws_url(endpoint), headers=headers)
        assert refused.value.status == 401


async def test_simulate_call_with_a_wrong_token_says_so(run: Run, callcoach: Path, samples: Path) -> None:
    plan = Plan("twilio", samples / f"{CALL}.wav")
    argv = simulate_call_argv(callcoach, run.server, plan, token="wrong")
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=clean_env()
    )
    _, err = await proc.communicate()
    assert proc.returncode == 2
    assert "401" in err.decode() and "token was refused" in err.decode()


# --- after a restart (these come last: the fixture stops the first server) -------------------------------


async def test_after_a_restart_stored_calls_are_listed_with_their_events(
    run: Run, restarted: Restart
) -> None:
    assert restarted.first_exit == 0, run.server.output()
    async with restarted.server.client() as http:
        calls = {c["call_id"]: c for c in await get_calls(http, restarted.server)}
    for trace in [*run.calls.values(), *run.dropped.values()]:
        before = next(c for c in run.listed if c["call_id"] == trace.call_id)
        assert calls[trace.call_id] == before
        replayed = await replay(restarted.server, trace.call_id)
        assert alert_facts(replayed) == alert_facts(trace.events)
        assert replayed == trace.events


async def test_after_a_restart_recordings_are_still_analysed(restarted: Restart) -> None:
    async with restarted.server.client() as http, asyncio.timeout(90):
        while True:
            (plain,) = [c for c in await get_calls(http, restarted.server) if c["call_id"] == "plain"]
            if plain["status"] != "analysing":
                break
            await asyncio.sleep(0.2)
    assert plain["status"] == "ready" and plain["coach_alerts"] == 0, plain


async def test_audiosocket_from_a_peer_not_allowed_is_closed(restarted: Restart) -> None:
    server = restarted.server
    reader, writer = await asyncio.open_connection("127.0.0.1", server.audiosocket_port)
    try:
        writer.write(AudioSocketEncoder().uuid("40325ec2-5efd-4bd3-805f-53576e581d13"))
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        # Closed by the server with nothing said (a reset when it closes with our bytes unread).
        async with asyncio.timeout(5):
            with contextlib.suppress(ConnectionResetError):
                assert await reader.read() == b""
    finally:
        writer.close()
    async with server.client() as http:
        assert not [c for c in await get_calls(http, server) if c["live"]]
    assert "AudioSocket connection from 127.0.0.1 refused" in server.output()


async def test_the_restarted_server_stops_cleanly(restarted: Restart) -> None:
    assert await stop_server(restarted.server) == 0
    assert "Traceback" not in restarted.server.output(), restarted.server.output()
