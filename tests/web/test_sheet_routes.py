"""``GET /api/calls/{id}/sheet`` and ``GET /sheet/{id}`` in the real ``callcoach serve`` (a subprocess, the
real model loaded, on loopback). Its data folder holds a stored call of the default team with moments, a
note and a pin, and a call of team ``billing``; its recordings folder holds the cold bereavement sample,
which the server analyses as it starts, and a file that is no audio. Accounts: the test admin and ``bo``, a
coach of the default team.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from callcoach.live.events import Alert, Event, Pin, Polarity
from callcoach.live.storage import Storage
from tests.helpers.auth import cookie_header, create_user, login_cookie_async
from tests.helpers.server import Server, start_server, stop_server
from tests.helpers.stored_calls import call_events, store_call

pytestmark = [pytest.mark.vosk, pytest.mark.asyncio(loop_scope="module")]

BO, BO_PASSWORD = "bo", "bo-password-1"
ANALYSIS = aiohttp.ClientTimeout(total=300)  # a recording's sheet waits for its analysis


@dataclass
class Site:
    server: Server
    bo: str  # bo's session token

    async def get(self, path: str, token: str | None = None) -> tuple[int, Any]:
        """GET ``path`` as bo (``token`` None), with that session, or with none (``""``)."""
        headers = {} if token == "" else cookie_header(self.bo if token is None else token)
        async with (
            aiohttp.ClientSession(headers=headers, timeout=ANALYSIS) as http,
            http.get(f"{self.server.base}{path}", allow_redirects=False) as resp,
        ):
            is_json = resp.content_type == "application/json"
            return resp.status, await resp.json() if is_json else resp.headers.get("Location")


def moment(alert_id: str, kind: str, start_s: float, polarity: Polarity = "coach") -> Alert:
    return Alert(
        alert_id, 0, kind, polarity, "agent", start_s, start_s + 1, start_s + 1,
        f"{kind} at {start_s}", f"words at {start_s}", f"why {alert_id}", f"try {alert_id}",
    )  # fmt: skip


def add_moments(data: Path, call_id: str, *events: Event) -> None:
    """The stored call's events with ``events`` (alerts; pins are kept as annotations) before its end."""
    storage = Storage(data / "calls.sqlite3", data / "recordings")
    try:
        stored = next(c for c in storage.load_all() if c.info.call_id == call_id)
        *said, ended = call_events(call_id, stored.info.started_at, 2.0)
        alerts = [e for e in events if not isinstance(e, Pin)]
        storage.save(stored.info, [*said, *alerts, ended], stored.recording)
        for pin in (e for e in events if isinstance(e, Pin)):
            storage.annotate(call_id, pin)
    finally:
        storage.close()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def site(
    callcoach: Path, model_dir: Path, samples: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Site]:
    root = tmp_path_factory.mktemp("sheet")
    data, recordings = root / "data", root / "recordings"
    recordings.mkdir()
    shutil.copy(samples / "bereavement_cold.wav", recordings)
    (recordings / "broken.wav").write_bytes(b"RIFF, but nothing after it")
    store_call(data, "ours", age_days=1)  # with a coach's note "ask first" at 1.0 s
    add_moments(
        data,
        "ours",
        moment("silence-1", "silence", 0.2),
        moment("cold-1", "cold_reply_to_bad_news", 1.2),
        moment("empathy-1", "empathy_shown", 1.6, "praise"),
        moment("silence-2", "silence", 1.8),
        moment("monologue-1", "monologue", 0.4),
        Pin("silence-2", True, 1.8, "coach"),
    )
    store_call(data, "theirs", age_days=1, team="billing")
    create_user(data, BO, BO_PASSWORD, role="coach", teams=("default",))
    server = await start_server(callcoach, model_dir, data, recordings=recordings)
    try:
        async with aiohttp.ClientSession() as http:
            bo = await login_cookie_async(http, server.base, BO, BO_PASSWORD)
        yield Site(server, bo)
    finally:
        await stop_server(server)


async def test_a_recording_s_sheet_waits_for_its_analysis(site: Site) -> None:
    """Asked for first, while the server is analysing it: the answer is the whole call's sheet."""
    status, sheet = await site.get("/api/calls/bereavement_cold/sheet")
    assert status == 200, sheet
    assert [o["kind"] for o in sheet["opportunities"]] == ["cold_reply_to_bad_news", "silence"]
    assert sheet["title"] == "bereavement_cold.wav" and sheet["duration_s"] == pytest.approx(34.5, abs=0.1)


async def test_a_coach_of_the_team_gets_the_sheet_ranked(site: Site) -> None:
    status, sheet = await site.get("/api/calls/ours/sheet")
    assert status == 200, sheet
    assert (sheet["call_id"], sheet["title"], sheet["duration_s"]) == ("ours", "Line ours", 2.0)
    assert [s["id"] for s in sheet["strengths"]] == ["empathy-1"]
    # the cold reply first, then the monologue; of the two silences the pinned one, though it came later
    assert [o["id"] for o in sheet["opportunities"]] == ["cold-1", "monologue-1", "silence-2"]
    assert [m["id"] for m in sheet["more"]] == ["silence-1"]
    top = sheet["opportunities"][0]
    assert (top["quote"], top["start_s"], top["why"], top["suggestion"]) == (
        "words at 1.2", 1.2, "why cold-1", "try cold-1",
    )  # fmt: skip
    assert [(n["text"], n["author_name"]) for n in sheet["notes"]] == [("ask first", "Ana")]
    assert (sheet["praise_count"], sheet["coach_count"]) == (1, 5)  # four moments and a coach's note
    assert (sheet["self_assessment"], sheet["commitments"]) == (None, [])


async def test_another_teams_call_is_refused_with_the_reason(site: Site) -> None:
    status, body = await site.get("/api/calls/theirs/sheet")
    assert (status, body["code"]) == (403, "forbidden_call")
    assert body["message"] == (
        "call 'theirs' belongs to team 'billing', which you are not in: "
        "ask a lead of that team to share it with you"
    )
    status, body = await site.get("/api/calls/theirs/sheet", token=site.server.session)  # the admin
    assert status == 200 and body["call_id"] == "theirs"


async def test_an_unknown_or_forged_call_id_is_404(site: Site) -> None:
    for forged in ("nope", "..%2Fours", "ours%00", "%E2%80%AEours"):
        status, body = await site.get(f"/api/calls/{forged}/sheet")
        assert (status, body["code"]) == (404, "unknown_call"), forged
        assert body["message"].endswith(": pick one from the list")


async def test_without_a_login_the_api_says_401_and_the_page_goes_to_the_login(site: Site) -> None:
    status, body = await site.get("/api/calls/ours/sheet", token="")
    assert (status, body["code"]) == (401, "login_required")
    status, location = await site.get("/sheet/ours", token="")
    assert (status, location) == (302, "/login?next=/sheet/ours")
    status, _ = await site.get("/sheet/ours")
    assert status == 200


async def test_reading_a_sheet_is_an_open_in_the_audit_trail(site: Site) -> None:
    await site.get("/api/calls/ours/sheet")
    status, body = await site.get(f"/api/audit?user={BO}&call=ours", token=site.server.session)
    assert status == 200
    assert {(e["action"], e["detail"]) for e in body["entries"]} == {("open", "sheet, 127.0.0.1")}


async def test_a_recording_that_could_not_be_analysed_has_no_sheet_and_says_why(site: Site) -> None:
    status, body = await site.get("/api/calls/broken/sheet")
    assert (status, body["code"]) == (409, "not_analysed")
    assert body["message"].startswith("call 'broken' could not be analysed, so it has no sheet: ")
    assert len(body["message"]) > len("call 'broken' could not be analysed, so it has no sheet: ") + 10
