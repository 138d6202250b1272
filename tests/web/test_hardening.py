"""The server against a hostile or broken client: the real ``callcoach serve`` on loopback (a subprocess, as
a user runs it), probed with the inputs a security probe used.

- Logins with 1 MB usernames do not grow the server's memory (its RSS, read from /proc).
- Every response says what the browser may load and where it may be framed, and names no versions.
- ``Range: bytes=-0`` is unsatisfiable: 416, not the whole file.
- A cross-site form cannot log anyone out (nor post anything else).
- A coach socket that subscribes and never reads is dropped once its queue has been full for
  :data:`~callcoach.web.coach.STALL_DROP_S`, and the server goes on serving everyone else.

The unit tests of the login throttle's caps are in ``tests/web/test_auth.py`` (with the username and body
bounds, ``next`` on the server, Origin on every POST and pins on another team's call), the stall watch's in
``tests/web/test_coach_stall.py``, and the login page's ``next`` in the browser in
``tests/e2e/test_login_page.py``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import numpy as np
import pytest
import pytest_asyncio
import soundfile as sf

from callcoach.web.coach import SEND_QUEUE, STALL_DROP_S
from tests.helpers.auth import cookie_header
from tests.helpers.server import Server, get_calls, start_server, stop_server

pytestmark = [pytest.mark.vosk, pytest.mark.asyncio(loop_scope="module")]
CALL = "short_call"
EVIL = "http://evil.example"
MB = 1024 * 1024
TCP_ESTABLISHED = 1  # tcp_info.tcpi_state (linux/tcp_states.h)
USERNAME_1MB = 1_000_000  # characters: the probe's 1 MB, under aiohttp's own 1 MiB body limit


def rss_bytes(pid: int) -> int:
    """The resident memory of process ``pid`` now (VmRSS in /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def server(
    callcoach: Path, model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Server]:
    """One server for the module, with one short recording (2 s, a tone on each side: quick to analyse)
    that is analysed before the tests start."""
    root = tmp_path_factory.mktemp("hardening")
    recordings = root / "recordings"
    recordings.mkdir()
    t = np.arange(2 * 16000) / 16000
    tone = (3000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    sf.write(str(recordings / f"{CALL}.wav"), np.stack([tone, tone], axis=1), 16000, subtype="PCM_16")
    server = await start_server(callcoach, model_dir, root / "data", recordings=recordings)
    try:
        async with server.client() as http:
            deadline = time.monotonic() + 120
            while [c["status"] for c in await get_calls(http, server)] != ["ready"]:
                assert time.monotonic() < deadline, await get_calls(http, server)
                await asyncio.sleep(0.2)
        yield server
    finally:
        await stop_server(server)


# --- finding 1: memory growth without logging in ---------------------------------------------------------


async def post_login(http: aiohttp.ClientSession, server: Server, username: str) -> int:
    body = json.dumps({"username": username, "password": "whatever1"})
    async with http.post(
        f"{server.base}/api/login", data=body, headers={"Content-Type": "application/json"}
    ) as resp:
        await resp.read()
        return resp.status


async def test_logins_with_1mb_usernames_do_not_grow_the_server(
    callcoach: Path, model_dir: Path, tmp_path: Path
) -> None:
    """200 distinct 1 MB usernames grew the server by ~180 MB: each was kept whole as a throttle key. Now
    a body that large is refused unread (413), and whatever is kept is bounded anyway."""
    server = await start_server(callcoach, model_dir, tmp_path / "data")
    try:
        async with aiohttp.ClientSession() as http:
            for i in range(20):  # warm up: the allocator's pools and aiohttp's buffers settle first
                assert await post_login(http, server, f"warm{i}-" + "x" * USERNAME_1MB) == 413
            before = rss_bytes(server.proc.pid)
            statuses = {await post_login(http, server, f"u{i}-" + "x" * USERNAME_1MB) for i in range(200)}
            grown = rss_bytes(server.proc.pid) - before
            assert grown < 30 * MB, f"the server grew by {grown / MB:.1f} MB"
            assert statuses == {413}
            # and it still answers a real login
            async with http.post(
                f"{server.base}/api/login", json={"username": "coach", "password": "coach-test-password"}
            ) as resp:
                assert resp.status == 200
    finally:
        await stop_server(server)


# --- finding 7: security headers -------------------------------------------------------------------------

HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Server": "callcoach",
}


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/", 200),
        ("/login", 200),
        ("/static/js/login.js", 200),
        ("/static/app.css", 200),
        ("/api/calls", 200),
        (f"/recordings/{CALL}", 200),
        ("/api/nothing-here", 404),
    ],
)
async def test_every_response_carries_the_security_headers(server: Server, path: str, status: int) -> None:
    async with server.client() as http, http.get(server.base + path, allow_redirects=False) as resp:
        assert resp.status == status
        for name, value in HEADERS.items():
            assert resp.headers.get(name) == value, name
        csp = {d.split()[0]: d.split()[1:] for d in resp.headers["Content-Security-Policy"].split("; ")}
        assert csp["frame-ancestors"] == ["'none'"] and csp["default-src"] == ["'self'"]
        assert csp["script-src"] == ["'self'"] and csp["object-src"] == ["'none'"]


async def test_a_refusal_without_a_session_carries_them_too(server: Server) -> None:
    async with aiohttp.ClientSession() as http, http.get(server.base + "/api/calls") as resp:
        assert resp.status == 401
        assert resp.headers["Server"] == "callcoach" and "Content-Security-Policy" in resp.headers


# --- finding 6: Range bytes=-0 ---------------------------------------------------------------------------


async def test_a_range_of_the_last_zero_bytes_is_unsatisfiable(server: Server) -> None:
    url = f"{server.base}/recordings/{CALL}"
    async with server.client() as http:
        async with http.get(url) as whole:
            size = len(await whole.read())
        async with http.get(url, headers={"Range": "bytes=-0"}) as resp:
            assert resp.status == 416
            assert resp.headers["Content-Range"] == f"bytes */{size}"
        async with http.get(url, headers={"Range": f"bytes={size}-"}) as past:  # as aiohttp answered
            assert past.status == 416 and past.headers["Content-Range"] == f"bytes */{size}"
        async with http.get(url, headers={"Range": "bytes=-10"}) as tail:  # a real suffix still works
            assert tail.status == 206 and len(await tail.read()) == 10


# --- finding 6: logout by a cross-site form --------------------------------------------------------------


async def test_a_cross_site_form_cannot_log_anyone_out(server: Server) -> None:
    async with aiohttp.ClientSession() as http:
        body = {"username": "coach", "password": "coach-test-password"}
        async with http.post(f"{server.base}/api/login", json=body) as resp:
            token = resp.cookies["callcoach_session"].value
        form = {**cookie_header(token), "Origin": EVIL, "Content-Type": "application/x-www-form-urlencoded"}
        async with http.post(f"{server.base}/api/logout", data="x=1", headers=form) as resp:
            assert resp.status == 403
            assert (await resp.json())["code"] == "forbidden_origin"
            assert "Set-Cookie" not in resp.headers
        async with http.get(f"{server.base}/api/me", headers=cookie_header(token)) as me:
            assert me.status == 200  # still logged in
        same = {**cookie_header(token), "Origin": server.base}
        async with http.post(f"{server.base}/api/logout", headers=same) as resp:
            assert resp.status == 204  # the page's own logout
        async with http.get(f"{server.base}/api/me", headers=cookie_header(token)) as me:
            assert me.status == 401


# --- finding 6: a coach socket that never reads ----------------------------------------------------------


def ws_frame(text: str) -> bytes:
    """One masked text frame, as a client sends it (RFC 6455 5.2)."""
    payload, mask = text.encode(), os.urandom(4)
    size = len(payload)
    length = bytes([0x80 | size]) if size < 126 else bytes([0x80 | 126]) + size.to_bytes(2, "big")
    return bytes([0x81]) + length + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def open_stalled_page(server: Server) -> socket.socket:
    """A coach socket on a raw TCP connection with a 4 KiB receive buffer, of which nothing past the
    handshake's answer is ever read."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: the window is set then
    sock.settimeout(10)
    sock.connect(("127.0.0.1", server.port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Cookie: {cookie_header(server.session)['Cookie']}\r\n\r\n"
        ).encode()
    )
    answer = b""
    while not answer.endswith(b"\r\n\r\n"):  # a byte at a time: nothing after the handshake is read
        answer += sock.recv(1)
    assert answer.startswith(b"HTTP/1.1 101"), answer
    return sock


def subscribe_until_refused(sock: socket.socket, max_rounds: int = 200_000) -> int:
    """Subscribe to the call and report the player past its end, again and again (each round makes the
    server send the call's events), until the server stops reading; how many rounds went."""
    subscribe = json.dumps({"v": 1, "type": "subscribe", "call_id": CALL, "after_seq": 0})
    playback = json.dumps({"v": 1, "type": "playback", "call_id": CALL, "position_s": 1e6, "playing": False})
    round_ = ws_frame(subscribe) + ws_frame(playback)
    sock.settimeout(3)  # a send that waits this long: the server reads no more
    for rounds in range(max_rounds):
        try:
            sock.sendall(round_)
        except TimeoutError:
            return rounds
    raise AssertionError(f"the server still read after {max_rounds} rounds")


async def coach_is_served(server: Server) -> None:
    """Another coach gets the call list and a socket that answers."""
    async with server.client() as http:
        assert [c["call_id"] for c in await get_calls(http, server)] == [CALL]
        async with http.ws_connect(server.ws_url("/ws")) as ws:
            first = await ws.receive_json(timeout=10)
            assert first["type"] == "welcome"


def still_open(sock: socket.socket) -> bool:
    """Whether the connection is still established, asked of the kernel (TCP_INFO's state; Linux), so that
    nothing is read from it."""
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0] == TCP_ESTABLISHED


async def test_a_coach_socket_that_never_reads_is_dropped_and_others_are_served(server: Server) -> None:
    sock = await asyncio.to_thread(open_stalled_page, server)
    try:
        started = time.monotonic()
        rounds = await asyncio.to_thread(subscribe_until_refused, sock)
        refused = time.monotonic()  # the server reads no more: its queue for this page is full
        assert rounds > SEND_QUEUE
        await coach_is_served(server)  # while that one is stalled
        # Counted from there, not from the start: filling the queue and the kernel's buffers takes as long
        # as the machine's load makes it. Generous: a loaded machine is slow, never wrong.
        deadline = refused + STALL_DROP_S + 120
        while still_open(sock):
            assert time.monotonic() < deadline, f"never dropped:\n{server.output()[-2000:]}"
            await asyncio.sleep(0.2)
        assert time.monotonic() - started >= STALL_DROP_S  # not before its queue can have been full that long
        assert "dropped the coach socket of coach: its page read nothing for 10 s" in server.output()
        assert "Traceback" not in server.output()
        await coach_is_served(server)  # and after
    finally:
        sock.close()
