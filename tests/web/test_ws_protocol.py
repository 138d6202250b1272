"""The coach websocket against the real server on loopback, with the real Vosk model.

One server per module (the call is analysed once): a recordings folder holding the bereavement_cold sample.
Every frame the server sends is decoded with ``callcoach.live.codec.from_json``. The test client logs in
once (an admin in the server's temporary data folder); its cookie jar sends the session from then on.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer

from callcoach.detectors.registry import KINDS
from callcoach.live.codec import Wire, from_json
from callcoach.live.eventlog import moment_s
from callcoach.live.events import Alert, Error, Note
from callcoach.live.messages import CallList, Subscribed, Welcome
from callcoach.live.model import load_model
from callcoach.live.settings import Settings
from callcoach.web.app import STATIC, create_app
from callcoach.web.protocol import MAX_MESSAGE_BYTES
from callcoach.web.replay import LEAD_S
from tests.helpers.auth import PASSWORD, USERNAME, create_user

pytestmark = [pytest.mark.vosk, pytest.mark.asyncio(loop_scope="module")]
CALL = "bereavement_cold"
QUIET_S = 0.4  # no frame for this long: the server has sent what it is going to send


class Page:
    """A coach's socket as a test drives it: every frame it receives is decoded and checked."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send_str(json.dumps(message))

    async def receive(self, wait_s: float = 10.0) -> tuple[dict[str, Any], Wire]:
        msg = await self.ws.receive(timeout=wait_s)
        assert msg.type == aiohttp.WSMsgType.TEXT, f"expected a text frame, got {msg.type!r} {msg.data!r}"
        data = json.loads(msg.data)
        assert data["v"] == 1
        return data, from_json(data)  # every server message decodes

    async def until(self, kind: str, wait_s: float = 10.0) -> tuple[dict[str, Any], Wire]:
        """Frames up to and including the next of type ``kind`` (calls lists in between are skipped)."""
        async with asyncio.timeout(wait_s):
            while True:
                data, event = await self.receive(wait_s)
                if data["type"] == kind:
                    return data, event

    async def collect(self, for_s: float) -> list[tuple[dict[str, Any], Wire]]:
        """Every frame (but call lists and the welcome) that arrives within the next ``for_s`` s."""
        out: list[tuple[dict[str, Any], Wire]] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + for_s
        while (left := deadline - loop.time()) > 0:
            try:
                data, event = await self.receive(left)
            except TimeoutError:
                break
            if data["type"] not in ("calls", "welcome"):
                out.append((data, event))
        return out

    async def drain(self, quiet_s: float = QUIET_S) -> list[tuple[dict[str, Any], Wire]]:
        """Every frame until the socket is quiet for ``quiet_s`` (call lists and the welcome left out)."""
        out: list[tuple[dict[str, Any], Wire]] = []
        while True:
            try:
                data, event = await self.receive(quiet_s)
            except TimeoutError:
                return out
            if data["type"] not in ("calls", "welcome"):
                out.append((data, event))


@pytest.fixture(scope="module")
def model(model_dir: Path) -> Any:
    return load_model(model_dir)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def client(
    model: Any, model_dir: Path, samples: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[TestClient[Any, Any]]:
    recordings, data = tmp_path_factory.mktemp("recordings"), tmp_path_factory.mktemp("data")
    shutil.copy(samples / f"{CALL}.wav", recordings / f"{CALL}.wav")
    create_user(data)
    settings = Settings(model_dir=model_dir, recordings_dir=recordings, data_dir=data)
    async with TestClient(TestServer(create_app(settings, model), host="127.0.0.1")) as client:
        login = await client.post("/api/login", json={"username": USERNAME, "password": PASSWORD})
        assert login.status == 200, await login.text()
        yield client


@pytest_asyncio.fixture(loop_scope="module")
async def page(client: TestClient[Any, Any]) -> AsyncIterator[Page]:
    async with client.ws_connect("/ws") as ws:
        yield Page(ws)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def full_log(client: TestClient[Any, Any]) -> list[dict[str, Any]]:
    """The call's whole log once analysis is done, read by a page whose player sits past the end."""
    async with client.ws_connect("/ws") as ws:
        reader = Page(ws)
        async with asyncio.timeout(120):
            while True:  # the list changes when the analysis ends: on a busy machine, well after 10 s
                _, event = await reader.until("calls", 120)
                assert isinstance(event, CallList)
                if event.calls[0].status == "ready":
                    break
        await reader.send({"type": "subscribe", "call_id": CALL, "after_seq": 0})
        await reader.until("subscribed")
        await reader.send({"type": "playback", "call_id": CALL, "position_s": 1e6, "playing": False})
        frames = [data for data, _ in await reader.drain(1.0)]
    assert [f["seq"] for f in frames] == list(range(1, len(frames) + 1))
    assert frames[-1]["type"] == "call_ended"
    return frames


def moments(frames: list[dict[str, Any]]) -> list[float]:
    return [moment_s(from_json(f)) for f in frames]


async def test_connect_gets_the_call_list(page: Page) -> None:
    data, event = await page.receive()
    if data["type"] == "welcome":  # who is logged in comes first, and the kinds of alert there are
        assert data["user"] == USERNAME
        assert isinstance(event, Welcome) and event.kinds == tuple(KINDS.values())
        data, event = await page.receive()
    assert data["type"] == "calls" and isinstance(event, CallList)
    (info,) = event.calls
    assert info.call_id == CALL and not info.live and info.audio_url == f"/recordings/{CALL}"


async def test_subscribe_answers_subscribed_then_only_the_first_second(
    page: Page, full_log: list[dict[str, Any]]
) -> None:
    await page.send({"type": "subscribe", "call_id": CALL, "after_seq": 0})
    _, event = await page.until("subscribed")
    assert isinstance(event, Subscribed) and event.call_id == CALL and event.live is False
    assert event.duration_s == pytest.approx(34.5, abs=0.1)
    frames = [d for d, _ in await page.drain()]
    assert frames, "the player at 0 s still gets what exists by the lead"
    assert frames == full_log[: len(frames)]  # the log from its start, in order
    assert frames[0]["type"] == "call_started" and frames[0]["call"] == CALL
    assert max(moments(frames)) <= LEAD_S
    assert moments(full_log)[len(frames)] > LEAD_S


@pytest.mark.parametrize("position_s", [10.0, 22.0])
async def test_playback_releases_up_to_position_plus_lead_and_not_beyond(
    page: Page, full_log: list[dict[str, Any]], position_s: float
) -> None:
    await page.send({"type": "subscribe", "call_id": CALL, "after_seq": 0})
    await page.until("subscribed")
    await page.send({"type": "playback", "call_id": CALL, "position_s": position_s, "playing": False})
    frames = [d for d, _ in await page.drain()]
    horizon = position_s + LEAD_S
    assert frames == full_log[: len(frames)]
    assert max(moments(frames)) <= horizon
    assert moments(full_log)[len(frames)] > horizon  # the next one is held
    if position_s > 21.0:  # the silence alert (detected ~21.0 s) is out, the cold reply (~26.9 s) not yet
        kinds = {f["kind"] for f in frames if f["type"] == "alert"}
        assert kinds == {"silence"}

    # Seeking back releases nothing new; seeking forward releases the rest at once.
    await page.send({"type": "playback", "call_id": CALL, "position_s": 1.0, "playing": False})
    assert await page.drain() == []
    await page.send({"type": "playback", "call_id": CALL, "position_s": 40.0, "playing": False})
    rest = [d for d, _ in await page.drain()]
    assert frames + rest == full_log


async def test_playing_extrapolates_at_real_time(page: Page, full_log: list[dict[str, Any]]) -> None:
    await page.send({"type": "subscribe", "call_id": CALL, "after_seq": 0})
    await page.until("subscribed")
    first = len(await page.drain())
    await page.send({"type": "playback", "call_id": CALL, "position_s": 5.0, "playing": True})
    started = asyncio.get_running_loop().time()
    frames = [d for d, _ in await page.collect(2.0)]  # events keep coming as the player's time passes
    elapsed = asyncio.get_running_loop().time() - started
    released = moments(frames)
    assert max(released) > 5.0 + LEAD_S + 0.5  # more than the report alone would release
    assert max(released) <= 5.0 + LEAD_S + elapsed + 0.1  # but never ahead of the extrapolated player
    assert frames == full_log[first : first + len(frames)]


async def test_resubscribe_after_seq_resumes_after_it(page: Page, full_log: list[dict[str, Any]]) -> None:
    await page.send({"type": "subscribe", "call_id": CALL, "after_seq": 20})
    await page.until("subscribed")
    await page.send({"type": "playback", "call_id": CALL, "position_s": 40.0, "playing": False})
    frames = [d for d, _ in await page.drain()]
    assert frames == full_log[20:]


async def test_unsubscribe_stops_the_call(page: Page) -> None:
    await page.send({"type": "subscribe", "call_id": CALL, "after_seq": 0})
    await page.until("subscribed")
    await page.drain()
    await page.send({"type": "unsubscribe", "call_id": CALL})
    await page.send({"type": "playback", "call_id": CALL, "position_s": 40.0, "playing": True})
    frames = await page.drain()
    assert [(d["type"], d.get("code")) for d, _ in frames] == [("error", "not_subscribed")]


async def test_unknown_call(page: Page) -> None:
    await page.send({"type": "subscribe", "call_id": "no-such-call", "after_seq": 0})
    _, event = await page.until("error")
    assert isinstance(event, Error) and event.code == "unknown_call"
    assert "no-such-call" in event.message


NOTE = '{"type": "add_note", "call_id": "' + CALL + '", "at_s": %s, "tag": "coach", "text": "t", "quote": %s}'
QUOTE = '{"speaker": "agent", "text": "well", "start_s": %s, "end_s": %s}'
SYNC = '{"type": "session_playback", "session_id": "s1", "position_s": %s, "playing": true, "rate": %s}'
BAD_MESSAGES: list[tuple[str, str | bytes, str]] = [
    ("not json", "{", "bad_json"),
    ("not an object", "[1, 2]", "bad_message"),
    ("no type", '{"call_id": "x"}', "unknown_type"),
    ("unknown type", '{"type": "rewind", "call_id": "x"}', "unknown_type"),
    ("a server-only type", '{"type": "alert"}', "unknown_type"),
    ("missing field", '{"type": "subscribe"}', "bad_message"),
    (
        "wrong field type",
        '{"type": "playback", "call_id": "x", "position_s": "soon", "playing": 1}',
        "bad_message",
    ),
    ("wrong version", '{"v": 2, "type": "subscribe", "call_id": "x"}', "unsupported_version"),
    ("binary frame", b"\x00\x01", "bad_message"),
    # A cursor is 0 or a seq the page has: a negative one once read the log from its end (see below).
    ("negative cursor", f'{{"type": "subscribe", "call_id": "{CALL}", "after_seq": -3}}', "bad_message"),
    ("fractional cursor", f'{{"type": "subscribe", "call_id": "{CALL}", "after_seq": 1.5}}', "bad_message"),
    ("boolean cursor", f'{{"type": "subscribe", "call_id": "{CALL}", "after_seq": true}}', "bad_message"),
    # Python's json reads NaN and Infinity, and wrote them back to every page, which JSON.parse refuses.
    ("NaN in a note's quote", NOTE % ("1.0", QUOTE % ("NaN", "2.0")), "bad_message"),
    ("Infinity in a note's quote", NOTE % ("1.0", QUOTE % ("1.0", "Infinity")), "bad_message"),
    ("NaN session position", SYNC % ("NaN", "1.0"), "bad_message"),
    ("Infinity session position", SYNC % ("Infinity", "1.0"), "bad_message"),
    ("NaN session rate", SYNC % ("3.0", "NaN"), "bad_message"),
    ("-Infinity session rate", SYNC % ("3.0", "-Infinity"), "bad_message"),
    # Past Python's json parser: it raised RecursionError and ValueError, which closed the socket.
    ("30,000 deep", "[" * 30_000, "bad_json"),
    (
        "5000-digit integer",
        '{"type": "subscribe", "call_id": "x", "after_seq": ' + "9" * 5000 + "}",
        "bad_json",
    ),
    (
        "oversized",
        json.dumps({"type": "subscribe", "call_id": "x" * (MAX_MESSAGE_BYTES + 10)}),
        "too_large",
    ),
]


@pytest.mark.parametrize(
    ("raw", "code"), [(raw, code) for _, raw, code in BAD_MESSAGES], ids=[b[0] for b in BAD_MESSAGES]
)
async def test_a_bad_message_gets_an_error_and_the_socket_stays_usable(
    page: Page, raw: str | bytes, code: str
) -> None:
    if isinstance(raw, bytes):
        await page.ws.send_bytes(raw)
    else:
        await page.ws.send_str(raw)
    data, event = await page.until("error")
    assert isinstance(event, Error) and event.code == code
    assert event.message and not event.fatal
    assert "seq" not in data and "call" not in data  # an answer to the page, not an event of a call

    await page.send({"type": "subscribe", "call_id": CALL, "after_seq": 0})
    _, subscribed = await page.until("subscribed")
    assert isinstance(subscribed, Subscribed)
    data, _ = await page.until("call_started")
    assert data["seq"] == 1


async def test_a_negative_cursor_leaves_the_log_s_numbers_alone_for_every_later_reader(
    client: TestClient[Any, Any], page: Page, full_log: list[dict[str, Any]]
) -> None:
    # The report's sequence: subscribe after -3, then a playback far ahead. The log once gave this page
    # the call's last three events numbered -2, -1, 0 and kept those texts for every reader after it.
    await page.send({"type": "subscribe", "call_id": CALL, "after_seq": -3})
    await page.send({"type": "playback", "call_id": CALL, "position_s": 1e6, "playing": False})
    answers = [(d["type"], d.get("code")) for d, _ in await page.drain()]
    assert answers == [("error", "bad_message"), ("error", "not_subscribed")]

    async with client.ws_connect("/ws") as ws:
        reader = Page(ws)
        await reader.send({"type": "subscribe", "call_id": CALL, "after_seq": 0})
        await reader.until("subscribed")
        await reader.send({"type": "playback", "call_id": CALL, "position_s": 1e6, "playing": False})
        frames = [data for data, _ in await reader.drain()]
    assert [f["seq"] for f in frames] == list(range(1, len(full_log) + 1))
    assert frames == full_log


async def test_alerts_on_the_wire_carry_their_derived_length(full_log: list[dict[str, Any]]) -> None:
    alerts = [(f, from_json(f)) for f in full_log if f["type"] == "alert"]
    assert {a.kind for _, a in alerts if isinstance(a, Alert)} == {"silence", "cold_reply_to_bad_news"}
    for frame, alert in alerts:
        assert isinstance(alert, Alert)
        assert frame["duration_s"] == alert.duration_s


async def test_recording_answers_a_range_request_with_206(
    client: TestClient[Any, Any], samples: Path
) -> None:
    whole = (samples / f"{CALL}.wav").read_bytes()
    resp = await client.get(f"/recordings/{CALL}", headers={"Range": "bytes=100-199"})
    assert resp.status == 206
    assert resp.headers["Content-Range"] == f"bytes 100-199/{len(whole)}"
    assert await resp.read() == whole[100:200]

    missing = await client.get("/recordings/no-such-call")
    assert missing.status == 404


async def test_the_page_is_served_and_needs_no_other_host(client: TestClient[Any, Any]) -> None:
    index = await client.get("/")
    assert index.status == 200
    html = await index.text()
    for path in ("/static/js/main.js", "/static/app.css"):
        assert path in html
    modules = sorted(f"/static/js/{p.name}" for p in (STATIC / "js").glob("*.js"))
    for path in ("/", "/static/app.css", *modules):
        resp = await client.get(path)
        assert resp.status == 200, path
        text = await resp.text()
        external = [
            u for u in re.findall(r"https?://[^\s'\")]+", text) if not u.startswith("http://www.w3.org/")
        ]
        assert external == [], f"{path} refers to another host: the page must work offline"


async def test_a_note_holding_a_lone_surrogate_reaches_the_page_and_the_socket_goes_on(
    page: Page, full_log: list[dict[str, Any]]
) -> None:
    # Last in the module on purpose: the note joins the call's log, which the tests above compare with
    # full_log. JSON's "\ud800" decodes to a lone surrogate; the wire text carried it raw, and the UTF-8
    # send failed, ending the page's writer: it heard nothing more (found by tests/fuzz/test_codec_fuzz.py).
    await page.send({"type": "subscribe", "call_id": CALL, "after_seq": len(full_log)})
    await page.until("subscribed")
    await page.send({"type": "playback", "call_id": CALL, "position_s": 1e6, "playing": False})
    await page.send({"type": "add_note", "call_id": CALL, "at_s": 3.0, "tag": "coach", "text": "\ud800 odd"})
    notes = [event for data, event in await page.drain() if data["type"] == "note"]
    assert [note.text for note in notes if isinstance(note, Note)] == ["\ud800 odd"]
    await page.ws.send_str("{")
    _, error = await page.until("error")
    assert isinstance(error, Error) and error.code == "bad_json"
