"""The real server a page talks to, driven synchronously: ``callcoach serve`` on a recordings folder in a
subprocess (:func:`running_server`), its test account's session, and what a page reads from it (the call
list, a call's events). The browser tests and the page latency benchmark start the server exactly this way.
Each server gets an admin account (made with ``callcoach user add``) and is logged in to once: the helpers
send that session, and pages get its cookie (:func:`log_in`).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from tests.helpers.auth import PASSWORD, USERNAME, browser_cookie, cookie_header, login_cookie
from tests.helpers.server import free_ports

# base URL of each running server -> the session token of its test account, and its data folder
_SESSIONS: dict[str, str] = {}
_DATA: dict[str, Path] = {}


def session(base: str) -> str:
    """The logged-in session of the test account on the server at ``base`` (one of :func:`running_server`)."""
    return _SESSIONS[base]


def server_data(base: str) -> Path:
    """The data folder of the server at ``base`` (its accounts and live calls)."""
    return _DATA[base]


def get_json(url: str) -> Any:
    """GET a JSON resource of a running server, logged in."""
    base = "/".join(url.split("/", 3)[:3])
    request = urllib.request.Request(url, headers=cookie_header(session(base)))
    with urllib.request.urlopen(request, timeout=5) as resp:
        return json.loads(resp.read())


def log_in(page: Any, base: str) -> None:
    """Give a Playwright page (its browser context) the test account's session on ``base``."""
    page.context.add_cookies([browser_cookie(base, session(base))])


@contextlib.contextmanager
def running_server(
    callcoach: Path,
    recordings: Path,
    model_dir: Path,
    *,
    timeout_s: float = 60,
    ingest_token: str = "",
    args: Sequence[str] = (),
) -> Iterator[str]:
    """``callcoach serve`` on a free loopback port, as a user runs it; yields its base URL.

    Live calls are kept in a temporary folder (never the user's own), AudioSocket legs are taken on free
    ports (so that it runs beside any other server), and ``ingest_token``, when given, is its ingest token.
    Its data folder has an admin account, made with ``callcoach user add``; :func:`session` is its login.
    ``args`` are more flags for ``serve`` (``--rules FILE``, say).
    """
    port, customer_leg, agent_leg = free_ports(3)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCOACH_")}
    with (
        tempfile.TemporaryDirectory(prefix="callcoach-data-") as data_dir,
        tempfile.TemporaryFile("w+") as log,
    ):
        argv = [
            str(callcoach),
            "serve",
            "--port",
            str(port),
            "--recordings",
            str(recordings),
            "--model",
            str(model_dir),
            "--data",
            data_dir,
            "--audiosocket-port",
            str(customer_leg),
            "--audiosocket-agent-port",
            str(agent_leg),
        ]
        if ingest_token:
            argv += ["--ingest-token", ingest_token]
        argv += args
        add_user = [str(callcoach), "user", "add", USERNAME, "--role", "admin", "--password-stdin"]
        added = subprocess.run(
            [*add_user, "--data", data_dir], input=PASSWORD, text=True, env=env, capture_output=True
        )
        if added.returncode:
            raise RuntimeError(f"callcoach user add failed:\n{added.stderr}")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"callcoach serve exited with {proc.returncode}:\n{log.read()}")
                try:
                    _SESSIONS[base], _DATA[base] = login_cookie(base), Path(data_dir)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"callcoach serve did not answer on {base} in {timeout_s} s"
                        ) from None
                    time.sleep(0.2)
            yield base
        finally:
            _SESSIONS.pop(base, None)
            _DATA.pop(base, None)
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def wait_until_analysed(base: str, *, timeout_s: float = 180) -> list[dict[str, Any]]:
    """The call list once no call is still being analysed."""
    deadline = time.monotonic() + timeout_s
    while True:
        calls: list[dict[str, Any]] = get_json(f"{base}/api/calls")["calls"]
        if calls and all(c["status"] != "analysing" for c in calls):
            return calls
        if time.monotonic() > deadline:
            raise RuntimeError(f"calls still analysing after {timeout_s} s: {calls}")
        time.sleep(0.3)


def call_log(base: str, call_id: str) -> list[dict[str, Any]]:
    """Every event of an analysed call, read as a page whose player sits past the end."""
    from websockets.sync.client import connect

    url = base.replace("http://", "ws://") + "/ws"
    events: list[dict[str, Any]] = []
    with connect(url, open_timeout=10, additional_headers=cookie_header(session(base))) as ws:
        ws.send(json.dumps({"type": "subscribe", "call_id": call_id, "after_seq": 0}))
        ws.send(json.dumps({"type": "playback", "call_id": call_id, "position_s": 1e6, "playing": False}))
        while True:
            data = json.loads(ws.recv(timeout=10))
            if data.get("call") == call_id and "seq" in data:
                events.append(data)
                if data["type"] == "call_ended":
                    return events


def latest_alerts(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each alert id's first and last revisions: ``{id: {"first": ..., "last": ...}}``."""
    out: dict[str, dict[str, Any]] = {}
    for event in events:
        if event["type"] == "alert":
            entry = out.setdefault(event["id"], {"first": event})
            entry["last"] = event
    return out
