"""Agents' calls kept in a data folder as a live call leaves them (a row with its agent and team, its
events with the moments a test needs, a WAV), and the coaching endpoints as a page calls them."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from callcoach.live.events import Alert, CallEnded, CallInfo, CallStarted, Event, Polarity, Transcript
from callcoach.live.storage import Storage
from tests.helpers.auth import cookie_header, login_cookie_async
from tests.helpers.server import Server, clean_env, free_ports, start_server
from tests.helpers.stored_calls import write_wav

SECONDS = 2.0


def moment(n: int, kind: str, polarity: Polarity) -> Alert:
    """A moment of ``kind`` a second into the call."""
    return Alert(
        f"{kind}-{n}",
        0,
        kind,
        polarity,
        "agent",
        1.0,
        1.5,
        1.5,
        f"{kind} {n}",
        "so sorry to hear that",
        "why it matters",
        "what to say instead",
    )


def store_agent_call(
    data: Path,
    call_id: str,
    *,
    agent: str,
    team: str,
    started_at: str,
    moments: Sequence[Alert] = (),
) -> None:
    """Store a finished call of ``agent`` (empty: the platform named nobody) in ``data``."""
    storage = Storage(data / "calls.sqlite3", data / "recordings")
    try:
        recording = storage.recording_path(call_id)
        write_wav(recording, SECONDS)
        coach = sum(m.polarity == "coach" for m in moments)
        info = CallInfo(
            call_id,
            f"Line {call_id}",
            "twilio",
            started_at,
            SECONDS,
            False,
            "ready",
            coach_alerts=coach,
            praise_alerts=len(moments) - coach,
            audio_url=f"/recordings/{call_id}",
            agent=agent,
            team=team,
        )
        events: list[Event] = [
            CallStarted(call_id, "twilio", started_at, ("agent", "customer"), agent=agent, team=team),
            Transcript("customer", "my uncle passed away", 0.2, 0.9, True),
            *moments,
            CallEnded(SECONDS, "completed"),
        ]
        storage.save(info, events, recording)
    finally:
        storage.close()


@dataclass
class Site:
    """A running server and a logged-in cookie per account: ``api`` calls an endpoint as one of them."""

    server: Server
    tokens: dict[str, str]

    async def api(self, who: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        async with aiohttp.ClientSession(headers=cookie_header(self.tokens[who])) as http:
            return await call_api(http, self.server.base, method, path, body)


async def started(callcoach: Path, model_dir: Path, data: Path, users: Iterable[str]) -> Site:
    """A real ``callcoach serve`` on ``data``, with a login cookie for each of ``users`` (password
    ``<name>-password``)."""
    server = await start_server(callcoach, model_dir, data)
    tokens = {}
    async with aiohttp.ClientSession() as http:
        for name in users:
            tokens[name] = await login_cookie_async(http, server.base, name, f"{name}-password")
    return Site(server, tokens)


async def call_api(
    http: aiohttp.ClientSession, base: str, method: str, path: str, body: dict[str, Any] | None = None
) -> tuple[int, Any]:
    """A coaching endpoint as the page calls it: its status and JSON answer."""
    async with http.request(method, f"{base}{path}", json=body) as resp:
        return resp.status, await resp.json()


@contextlib.contextmanager
def serving(
    callcoach: Path, model_dir: Path, data: Path, *, env: dict[str, str] | None = None, timeout_s: float = 60
) -> Iterator[str]:
    """``callcoach serve`` on ``data`` (its accounts and calls made beforehand) with no recordings, on a
    free loopback port, with ``env`` (``CALLCOACH_*`` settings), for sync tests (a browser); yields its base
    URL and stops it as Ctrl-C does."""
    port, customer_leg, agent_leg = free_ports(3)
    recordings = data.parent / f"{data.name}-no-recordings"
    recordings.mkdir(parents=True, exist_ok=True)
    argv = [
        *(str(callcoach), "serve", "--port", str(port), "--data", str(data), "--model", str(model_dir)),
        *("--recordings", str(recordings), "--audiosocket-port", str(customer_leg)),
        *("--audiosocket-agent-port", str(agent_leg)),
    ]
    base = f"http://127.0.0.1:{port}"
    with (data.parent / f"{data.name}-serve-{port}.log").open("w") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=clean_env(**(env or {})))
        try:
            deadline = time.monotonic() + timeout_s
            while not _answers(base):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"callcoach serve did not start: see {log.name}")
                time.sleep(0.2)
            yield base
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def _answers(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/login", timeout=2):
            return True
    except OSError:
        return False
