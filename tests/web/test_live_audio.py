"""A live call's audio on the coach websocket: a real ``callcoach serve``, a real Twilio call (streamed by
:mod:`callcoach.web.simulate`, 20 ms of mu-law per leg per message) and three real page sockets on loopback.

- ``hearer`` listens to the whole call: it gets one binary message per 0.1 s step, both speakers in it at
  8000 Hz, each stamped on the call's clock, carrying exactly the samples the platform sent (mu-law decoded);
- ``deaf`` subscribes with ``"audio": false``: it gets the call's events and never a byte of audio;
- ``quitter`` listens, then stops (unsubscribes, and subscribes again without audio): once the server has
  answered that, no audio comes to it any more.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import numpy.typing as npt
import pytest
import pytest_asyncio

from callcoach.audio.g711 import mulaw_decode, mulaw_encode
from callcoach.live.audio_wire import AudioMessage, decode_audio
from callcoach.live.settings import Settings
from callcoach.web.simulate import load_legs
from tests.helpers.calls import Plan, simulator
from tests.helpers.server import Server, start_server, stop_server

pytestmark = [pytest.mark.vosk, pytest.mark.asyncio(loop_scope="module")]

CALL = "plain"
SPEED = 2.0
STEP = 800  # samples per 0.1 s step at 8000 Hz
QUIT_AFTER = 20  # steps the quitter hears before it stops listening


@dataclass
class Page:
    """One page's socket and everything it got, in order: ('audio', message) or ('event', JSON)."""

    ws: aiohttp.ClientWebSocketResponse
    got: list[tuple[str, Any]] = field(default_factory=list)

    def audio(self) -> list[AudioMessage]:
        return [m for kind, m in self.got if kind == "audio"]

    def index(self, kind: str, **match: Any) -> int:
        """Where the first event of ``kind`` (with fields ``match``) came."""
        return next(
            i
            for i, (what, m) in enumerate(self.got)
            if what == "event" and m["type"] == kind and all(m.get(k) == v for k, v in match.items())
        )

    async def subscribe(self, call_id: str, *, audio: bool) -> None:
        await self.ws.send_str(json.dumps({"v": 1, "type": "subscribe", "call_id": call_id, "audio": audio}))

    async def read_until_ended(self, on_audio: Any = None) -> None:
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.BINARY:
                self.got.append(("audio", decode_audio(msg.data)))
                if on_audio is not None:
                    await on_audio(self)
                continue
            data = json.loads(msg.data)
            self.got.append(("event", data))
            if data["type"] == "call_ended":
                return
        raise AssertionError("the socket closed before the call ended")


async def live_call_id(ws: aiohttp.ClientWebSocketResponse) -> str:
    async for msg in ws:
        data = json.loads(msg.data)
        live = [c["call_id"] for c in data.get("calls", []) if c["live"]] if data["type"] == "calls" else []
        if live:
            return str(live[0])
    raise AssertionError("the socket closed before the live call was listed")


@dataclass
class Run:
    sent: dict[str, npt.NDArray[np.int16]]  # what the platform sent per speaker, mu-law decoded
    call_id: str
    pages: dict[str, Page]


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def run(
    callcoach: Path, model_dir: Path, samples: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Run]:
    path = samples / f"{CALL}.wav"
    agent, customer = load_legs(path, Settings(), 8000)  # what simulate.twilio sends, before mu-law
    sent = {"agent": mulaw_decode(mulaw_encode(agent)), "customer": mulaw_decode(mulaw_encode(customer))}
    server: Server = await start_server(callcoach, model_dir, tmp_path_factory.mktemp("audio") / "data")
    try:
        async with server.client() as http:
            sockets = [await http.ws_connect(server.ws_url("/ws")) for _ in range(3)]
            pages = dict(zip(("hearer", "deaf", "quitter"), (Page(ws) for ws in sockets), strict=True))
            caller = asyncio.create_task(
                simulator(server, Plan("twilio", path, speed=SPEED), lambda _s: None)
            )
            async with asyncio.timeout(30):
                call_id = await live_call_id(sockets[0])
            await pages["hearer"].subscribe(call_id, audio=True)
            await pages["deaf"].subscribe(call_id, audio=False)
            await pages["quitter"].subscribe(call_id, audio=True)

            async def quit_listening(page: Page) -> None:
                if len(page.audio()) == QUIT_AFTER:
                    await page.ws.send_str(json.dumps({"v": 1, "type": "unsubscribe", "call_id": call_id}))
                    await page.subscribe(call_id, audio=False)

            async with asyncio.timeout(29.5 / SPEED + 60):
                await asyncio.gather(
                    pages["hearer"].read_until_ended(),
                    pages["deaf"].read_until_ended(),
                    pages["quitter"].read_until_ended(quit_listening),
                    caller,
                )
            for ws in sockets:
                await ws.close()
        yield Run(sent, call_id, pages)
    finally:
        await stop_server(server)


async def test_one_binary_message_per_step_carries_both_speakers_at_8000_hz(run: Run) -> None:
    heard = run.pages["hearer"].audio()
    assert len(heard) >= 0.9 * 29.45 / 0.1  # a page that keeps up gets (nearly) every step
    for message in heard:
        assert message.call_id == run.call_id
        assert message.speakers == ("agent", "customer")
        assert message.sample_rate_hz == 8000
        assert message.pcm.shape == (2, STEP)


async def test_each_step_is_stamped_on_the_calls_clock(run: Run) -> None:
    starts = [m.start_s for m in run.pages["hearer"].audio()]
    steps = [round(s * 8000 / STEP) for s in starts]
    # Exactly the floats of the pipeline's steps (first sample over the rate), in order, none twice.
    assert starts == [k * STEP / 8000 for k in steps]
    assert steps == sorted(set(steps))
    # Subscribed as the call was listed: it hears the call from its first seconds.
    assert steps[0] <= 30


async def test_the_samples_are_the_ones_the_platform_sent(run: Run) -> None:
    for message in run.pages["hearer"].audio():
        at = round(message.start_s * 8000)
        for row, speaker in enumerate(message.speakers):
            expected = run.sent[speaker][at : at + STEP]
            expected = np.pad(expected, (0, STEP - len(expected)))  # the last step: padded with silence
            np.testing.assert_array_equal(message.pcm[row], expected, err_msg=f"{speaker} at {at}")


async def test_a_page_that_did_not_ask_for_audio_gets_the_events_and_no_audio(run: Run) -> None:
    deaf = run.pages["deaf"]
    assert deaf.audio() == []
    assert any(m["type"] == "transcript" for kind, m in deaf.got if kind == "event")


async def test_audio_stops_when_the_page_stops_listening(run: Run) -> None:
    quitter = run.pages["quitter"]
    # The answer to its second subscribe comes after everything queued before the unsubscribe.
    resubscribed = [
        i for i, (kind, m) in enumerate(quitter.got) if kind == "event" and m["type"] == "subscribed"
    ][1]
    before = [kind for kind, _ in quitter.got[:resubscribed]]
    after = [kind for kind, _ in quitter.got[resubscribed:]]
    assert before.count("audio") >= QUIT_AFTER
    assert "audio" not in after
    assert quitter.index("call_ended") > resubscribed  # it went on following the call, without audio
