"""A real ``redis-server`` for the bus's tests: one per test session, on a free loopback port, nothing on
disk (``--save ''``, ``--appendonly no``), stopped at the end.

Where the binary is absent the tests that need it are skipped, saying how to install it; under CI
(``CI=true``) they fail instead, so that a machine without it never passes them by skipping.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.server import free_port

MISSING = "redis-server is not installed: run `make debs` (or apt-get install redis-server)"


@dataclass(frozen=True)
class RedisServer:
    port: int
    proc: subprocess.Popen[bytes]

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"


def redis_binary() -> str:
    """The ``redis-server`` to run, or skip (fail under CI) saying how to get it."""
    found = shutil.which("redis-server")
    if found is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(MISSING)
        pytest.skip(MISSING)
    return found


def start_redis(folder: Path, timeout_s: float = 20) -> RedisServer:
    port = free_port()
    argv = [redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    log = folder / f"redis-{port}.log"
    with log.open("wb") as out:  # the server keeps its own copy of the descriptor
        proc = subprocess.Popen([*argv, "--dir", str(folder)], stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(64).startswith(b"+PONG"):
                    return RedisServer(port, proc)
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"redis-server did not answer on port {port} in {timeout_s} s")
        time.sleep(0.05)


def stop_redis(server: RedisServer) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(10)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """This test session's Redis (each test uses its own database number, or flushes what it used)."""
    server = start_redis(tmp_path_factory.mktemp("redis"))
    try:
        yield server
    finally:
        stop_redis(server)
