"""A real ``callcoach serve`` in a subprocess, as a user runs it, for asyncio tests and the benches: on
free loopback ports, with its own data folder (and a ``--db`` PostgreSQL database if asked), an ingest token
and an admin account logged in to; stopped as Ctrl-C stops it. Also what a test reads back from it (the call
list, the calls saved in its data folder or database).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from callcoach.live.db import open_database
from tests.helpers.auth import cookie_header, create_user, login_cookie_async

TOKEN = "test-ingest-token"


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(n: int) -> list[int]:
    """``n`` distinct loopback ports free right now (held together while chosen, so none repeats)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(n)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any ``CALLCOACH_*`` setting of the developer's, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCOACH_")}
    return env | extra


@dataclass
class Server:
    """A running ``callcoach serve``: its process, ports, data folder, ingest token and the login session
    of the test account."""

    proc: asyncio.subprocess.Process
    port: int
    audiosocket_port: int
    audiosocket_agent_port: int
    data: Path
    token: str
    log: Path
    session: str = ""
    db: str = ""  # its --db, if it keeps its rows in PostgreSQL

    def client(self) -> aiohttp.ClientSession:
        """An HTTP client logged in as the test account (its cookie on every request and socket)."""
        return aiohttp.ClientSession(headers=cookie_header(self.session))

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def cpu_s(self) -> float:
        """The server process's CPU seconds so far (user + system, every thread), from /proc."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
        return (utime + stime) / os.sysconf("SC_CLK_TCK")


async def start_server(
    callcoach: Path,
    model_dir: Path,
    data: Path,
    *,
    recordings: Path | None = None,
    env: dict[str, str] | None = None,
    timeout_s: float = 60,
    db: str = "",
) -> Server:
    """``callcoach serve`` on free loopback ports with ``data`` as its data folder (and ``recordings``,
    else an empty folder: nothing analysed in the background; and ``--db``, when ``db`` is given), and an
    admin account in it; returns once it answers, logged in (:meth:`Server.client`)."""
    port, as_port, as_agent_port = free_ports(3)
    if recordings is None:
        recordings = data.parent / f"{data.name}-no-recordings"
        recordings.mkdir(parents=True, exist_ok=True)
    argv = [
        *("serve", "--host", "127.0.0.1", "--port", str(port), "--data", str(data)),
        *("--recordings", str(recordings), "--model", str(model_dir), "--ingest-token", TOKEN),
        *("--audiosocket-port", str(as_port), "--audiosocket-agent-port", str(as_agent_port)),
        *(("--db", db) if db else ()),
    ]
    log = data.parent / f"{data.name}-serve-{port}.log"
    create_user(data, db=db)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        proc = await asyncio.create_subprocess_exec(
            str(callcoach), *argv, stdout=fd, stderr=subprocess.STDOUT, env=clean_env(**(env or {}))
        )
    finally:
        os.close(fd)
    server = Server(proc, port, as_port, as_agent_port, data, TOKEN, log, db=db)
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession() as http:
        while True:
            if proc.returncode is not None:
                raise RuntimeError(f"callcoach serve exited with {proc.returncode}:\n{server.output()}")
            with contextlib.suppress(aiohttp.ClientError):
                server.session = await login_cookie_async(http, server.base)
                return server
            if time.monotonic() > deadline:
                await stop_server(server)
                raise RuntimeError(f"callcoach serve did not answer in {timeout_s} s:\n{server.output()}")
            await asyncio.sleep(0.1)


async def stop_server(server: Server, timeout_s: float = 20) -> int:
    """Stop it as Ctrl-C does (live calls end as dropped and are stored); its exit status."""
    if server.proc.returncode is None:
        server.proc.send_signal(signal.SIGINT)
        try:
            async with asyncio.timeout(timeout_s):
                await server.proc.wait()
        except TimeoutError:
            server.proc.kill()
            await server.proc.wait()
    assert server.proc.returncode is not None
    return server.proc.returncode


async def get_calls(http: aiohttp.ClientSession, server: Server) -> list[dict[str, Any]]:
    async with http.get(f"{server.base}/api/calls") as resp:
        resp.raise_for_status()
        calls: list[dict[str, Any]] = (await resp.json())["calls"]
        return calls


def stored_call_ids(data: Path, db: str = "") -> set[str]:
    """The calls saved in the data folder's SQLite file, or the ``db`` database (read as any other reader
    would)."""
    if not db and not (data / "calls.sqlite3").exists():
        return set()
    with contextlib.closing(open_database(db or data / "calls.sqlite3", read_only=True)) as conn:
        return {row[0] for row in conn.fetchall("SELECT call_id FROM calls")}
