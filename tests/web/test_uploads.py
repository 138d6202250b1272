"""``POST /api/recordings`` and ``callcoach import`` against a real ``callcoach serve`` (a subprocess, the
real model loaded, on loopback), with an upload limit of 0.5 MB.

Accounts: ``di``, lead of north; ``lu``, lead of north and south; ``fay``, coach of north; ``bo``, agent
of north; ``ann``, an admin. A lead uploads to their own team only, an admin to any, coaches and agents
not at all; in a batch with a file that is not audio and one too large, the good files are kept, listed
at once and analysed with the agent channel the upload named; a folder imported on the command line is
listed by the running server without a restart.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
import pytest_asyncio

from tests.helpers.auth import cookie_header, create_user, login_cookie_async
from tests.helpers.server import Server, clean_env, get_calls, start_server, stop_server
from tests.helpers.synth import render_call, write_wav

pytestmark = [pytest.mark.vosk, pytest.mark.asyncio(loop_scope="module")]

USERS = {
    "di": ("lead", ("north",)),
    "lu": ("lead", ("north", "south")),
    "fay": ("coach", ("north",)),
    "bo": ("agent", ("north",)),
    "ann": ("admin", ()),
}
# The agent greets, the customer says their card was stolen: who said which tells the channels apart.
TURNS = [
    ("agent", "thank you for calling how can I help you today", 0.3),
    ("customer", "my card was stolen and I need a new one", 0.4),  # heard: "... and i need a new one"
]
File = tuple[str, bytes]  # (the client's file name, its bytes)


@dataclass
class Site:
    server: Server
    tokens: dict[str, str]
    folder: Path  # the test's own files

    async def upload(self, who: str, files: Sequence[File], **fields: str) -> tuple[int, Any]:
        form = aiohttp.FormData(quote_fields=False)  # names as a browser sends them
        for name, value in fields.items():
            form.add_field(name, value)
        for filename, data in files:
            form.add_field("file", data, filename=filename, content_type="application/octet-stream")
        async with (
            aiohttp.ClientSession(headers=cookie_header(self.tokens[who])) as http,
            http.post(f"{self.server.base}/api/recordings", data=form) as resp,
        ):
            return resp.status, await resp.json()

    async def calls(self, who: str = "ann") -> dict[str, dict[str, Any]]:
        async with aiohttp.ClientSession(headers=cookie_header(self.tokens[who])) as http:
            return {c["call_id"]: c for c in await get_calls(http, self.server)}

    async def until(self, ready: Any, timeout_s: float = 180) -> dict[str, dict[str, Any]]:
        """The call list (as the admin sees it) once ``ready(calls)`` holds."""
        deadline = time.monotonic() + timeout_s
        while not ready(calls := await self.calls()):
            assert time.monotonic() < deadline, f"not so after {timeout_s} s: {calls}"
            await asyncio.sleep(0.3)
        return calls


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def site(
    callcoach: Path, model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Site]:
    folder = tmp_path_factory.mktemp("uploads")
    data = folder / "data"
    for name, (role, teams) in USERS.items():
        create_user(data, name, f"{name}-password", role=role, teams=teams)  # type: ignore[arg-type]
    server = await start_server(callcoach, model_dir, data, env={"CALLCOACH_UPLOAD_MAX_MB": "0.5"})
    try:
        async with aiohttp.ClientSession() as http:
            tokens = {n: await login_cookie_async(http, server.base, n, f"{n}-password") for n in USERS}
        yield Site(server, tokens, folder)
    finally:
        await stop_server(server)


def wav(path: Path, seconds: float = 1.0) -> bytes:
    """A short stereo tone, well under the limit."""
    t = np.arange(round(seconds * 16000)) / 16000
    tone = (np.sin(2 * np.pi * 300 * t) * 6000).astype(np.int16)
    return write_wav(path, np.stack([tone, tone], axis=1)).read_bytes()


def uploaded(folder: Path) -> list[str]:
    root = folder / "data" / "uploads"
    return sorted(
        str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and ".incoming" not in p.parts
    )


async def test_coaches_and_agents_may_not_upload(site: Site) -> None:
    for who in ("fay", "bo"):
        status, body = await site.upload(who, [("a.wav", wav(site.folder / "a.wav"))])
        assert (status, body["code"]) == (403, "forbidden_upload"), who
    assert uploaded(site.folder) == []


async def test_a_lead_uploads_only_to_their_own_team(site: Site) -> None:
    status, body = await site.upload("di", [("a.wav", wav(site.folder / "a.wav"))], team="south")
    assert (status, body["code"]) == (403, "forbidden_team")
    status, body = await site.upload("lu", [("a.wav", wav(site.folder / "a.wav"))])
    assert (status, body["code"]) == (400, "team_required")  # two teams: say which
    assert uploaded(site.folder) == []
    status, body = await site.upload("lu", [("South one.wav", wav(site.folder / "a.wav"))], team="south")
    assert status == 200 and body["files"][0]["team"] == "south"
    call_id = body["files"][0]["call_id"]
    status, body = await site.upload("di", [("North one.wav", wav(site.folder / "a.wav"))])
    assert status == 200 and body["files"][0]["team"] == "north"  # a lead of one team needs not say
    async with aiohttp.ClientSession(headers=cookie_header(site.tokens["di"])) as http:
        listed = {c["call_id"] for c in await get_calls(http, site.server)}
    assert call_id not in listed  # di does not see south's upload
    assert {"north/North-one.wav", "south/South-one.wav"} <= set(uploaded(site.folder))


async def test_an_admin_uploads_to_any_team(site: Site) -> None:
    status, body = await site.upload("ann", [("west.wav", wav(site.folder / "w.wav"))], team="west")
    assert status == 200 and body["files"][0]["team"] == "west"
    status, body = await site.upload("ann", [("dflt.wav", wav(site.folder / "d.wav"))])
    assert status == 200 and body["files"][0]["team"] == "default"  # the server's default team
    status, body = await site.upload("ann", [("x.wav", wav(site.folder / "x.wav"))], team="../etc")
    assert (status, body["code"]) == (400, "bad_team")


async def test_a_batch_keeps_its_good_files_and_says_why_the_others_were_refused(site: Site) -> None:
    stereo = render_call("swapped", TURNS)
    good = write_wav(site.folder / "swapped.wav", stereo[:, ::-1]).read_bytes()  # the agent on the RIGHT
    noise = np.random.default_rng(1).integers(-9000, 9000, (10 * 16000, 2), dtype=np.int16)  # 640 kB
    files = [
        ("Call from Ana.wav", good),
        ("notes.wav", b"this is a text file, not a recording\n"),
        ("big.wav", write_wav(site.folder / "big.wav", noise).read_bytes()),
        ("tail.wav", wav(site.folder / "tail.wav", 0.5)),
    ]
    status, body = await site.upload("di", files, agent_channel="right")
    assert status == 200
    outcomes = {f["name"]: f for f in body["files"]}
    assert outcomes["notes.wav"]["error"]["code"] == "not_audio"
    assert "notes.wav is not audio" in outcomes["notes.wav"]["error"]["message"]
    assert outcomes["big.wav"]["error"]["code"] == "too_large"
    assert "0.5 MB" in outcomes["big.wav"]["error"]["message"]
    good_id, tail_id = outcomes["Call from Ana.wav"]["call_id"], outcomes["tail.wav"]["call_id"]
    listed = await site.calls()  # listed at once, before any analysis could be done
    assert listed[good_id]["title"] == "Call from Ana.wav" and listed[good_id]["team"] == "north"
    assert listed[good_id]["status"] in ("analysing", "ready") and listed[tail_id]["team"] == "north"
    assert listed[tail_id]["duration_s"] == 0.5  # its length known from the check, before any analysis
    calls = await site.until(lambda c: c[good_id]["status"] == "ready" and c[tail_id]["status"] == "ready")
    assert calls[good_id]["analysed_s"] is None and calls[good_id]["duration_s"] > 3
    said = await transcripts(site, good_id)
    # The upload's agent channel: the greeting is the agent's, the new card the customer's.
    assert "help" in said["agent"] and "new one" in said["customer"] and "help" not in said["customer"], said
    async with (
        aiohttp.ClientSession(headers=cookie_header(site.tokens["di"])) as http,
        http.get(f"{site.server.base}/recordings/{good_id}") as resp,
    ):
        assert resp.status == 200 and await resp.read() == good  # playable, as uploaded


async def test_a_folder_imported_on_the_command_line_is_listed_by_the_running_server(
    site: Site, callcoach: Path
) -> None:
    folder = site.folder / "to-import"
    folder.mkdir()
    wav(folder / "Imported call.wav", 0.8)
    (folder / "readme.wav").write_text("not audio\n")
    argv = ["import", str(folder), "--team", "north", "--data", str(site.server.data)]
    proc = await asyncio.create_subprocess_exec(
        str(callcoach), *argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env()
    )
    out, err = await proc.communicate()
    assert proc.returncode == 1, err.decode()  # one refused
    stdout = out.decode()
    assert "imported" in stdout and "readme.wav: not_audio" in stdout
    calls = await site.until(lambda c: any(i["title"] == "Imported call.wav" for i in c.values()), 60)
    imported = next(i for i in calls.values() if i["title"] == "Imported call.wav")
    assert imported["team"] == "north"
    await site.until(lambda c: c[imported["call_id"]]["status"] == "ready")


async def transcripts(site: Site, call_id: str) -> dict[str, str]:
    """Each speaker's final transcript lines of an analysed call, joined, from the coach websocket."""
    said: dict[str, list[str]] = {"agent": [], "customer": []}
    async with (
        aiohttp.ClientSession(headers=cookie_header(site.tokens["di"])) as http,
        http.ws_connect(site.server.ws_url("/ws")) as ws,
    ):
        await ws.send_str(json.dumps({"v": 1, "type": "subscribe", "call_id": call_id, "after_seq": 0}))
        playback = {"v": 1, "type": "playback", "call_id": call_id, "position_s": 1e6, "playing": False}
        await ws.send_str(json.dumps(playback))
        async for message in ws:
            data = json.loads(message.data)
            if data.get("call") != call_id:
                continue
            if data["type"] == "transcript" and data["final"] and data["speaker"] in said:
                said[data["speaker"]].append(data["text"])
            if data["type"] == "call_ended":
                break
    return {k: " ".join(v) for k, v in said.items()}
