"""``GET /api/calls/{id}/export.{vtt,srt,txt,csv,pdf}`` and ``GET /api/teams/{team}/moments.csv`` against a
real ``callcoach serve``: who may export what (the call's own visibility rule; the moments CSV and the
sheet's PDF for an agent only once they have given their own view; a team's CSV for its lead and admins),
the files as attachments that parse with their formats' rules, the period of a team's CSV, and each export
in the audit trail.

Accounts: ``bo``, agent of north; ``cy``, agent of north; ``di``, lead of north; ``fay``, coach of north;
``ed``, coach of south; ``ann``, an admin. Calls: ``bo-1`` (yesterday, north, a cold reply), ``cy-1``
(yesterday, north), ``old-1`` (forty days ago, north, empathy), ``zed-1`` (yesterday, south).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pypdf
import pytest
import pytest_asyncio
import srt
import webvtt
from multidict import CIMultiDictProxy

from callcoach.live.events import CallEnded, CallInfo, CallStarted, Redaction, Transcript
from callcoach.live.exports import TEAM_COLUMNS
from callcoach.live.storage import Storage
from tests.helpers.auth import cookie_header, create_user
from tests.helpers.coaching import Site, moment, started, store_agent_call
from tests.helpers.server import stop_server

USERS = {
    "bo": ("agent", "north"),
    "cy": ("agent", "north"),
    "di": ("lead", "north"),
    "fay": ("coach", "north"),
    "ed": ("coach", "south"),
    "ann": ("admin", "south"),
}
NOW = dt.datetime.now(dt.UTC)
YESTERDAY = (NOW - dt.timedelta(days=1)).isoformat(timespec="seconds")
LONG_AGO = (NOW - dt.timedelta(days=40)).isoformat(timespec="seconds")
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def site(
    callcoach: Path, model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Site]:
    data = tmp_path_factory.mktemp("exports") / "data"
    for name, (role, team) in USERS.items():
        create_user(data, name, f"{name}-password", role=role, teams=(team,))  # type: ignore[arg-type]
    cold, empathy = moment(1, "cold_reply_to_bad_news", "coach"), moment(1, "empathy_shown", "praise")
    store_agent_call(data, "bo-1", agent="bo", team="north", started_at=YESTERDAY, moments=(cold,))
    store_agent_call(data, "cy-1", agent="cy", team="north", started_at=YESTERDAY)
    store_agent_call(data, "old-1", agent="cy", team="north", started_at=LONG_AGO, moments=(empathy,))
    store_agent_call(data, "zed-1", agent="zed", team="south", started_at=YESTERDAY, moments=(cold,))
    store_redacted(data)
    site = await started(callcoach, model_dir, data, USERS)
    try:
        yield site
    finally:
        await stop_server(site.server)


def store_redacted(data: Path) -> None:
    """A call of north kept with redaction on: its line says [card], as the server stored it."""
    storage = Storage(data / "calls.sqlite3", data / "recordings")
    try:
        info = CallInfo("masked-1", "Masked", "twilio", YESTERDAY, 5.0, False, "ready", team="north")
        said = Transcript("customer", "my card is [card]", 0.5, 4.0, True)
        started = CallStarted("masked-1", "twilio", YESTERDAY, ("agent", "customer"), team="north")
        storage.save(info, [started, said, Redaction("customer", "card", 1.2, 4.0), CallEnded(5.0)], None)
    finally:
        storage.close()


async def fetch(site: Site, who: str, path: str) -> tuple[int, str, CIMultiDictProxy[str]]:
    async with (
        aiohttp.ClientSession(headers=cookie_header(site.tokens[who])) as http,
        http.get(f"{site.server.base}{path}") as resp,
    ):
        return resp.status, await resp.text(), resp.headers


async def test_a_coach_of_the_team_downloads_each_format(site: Site) -> None:
    status, text, headers = await fetch(site, "fay", "/api/calls/bo-1/export.vtt")
    assert status == 200, text
    assert headers["Content-Type"] == "text/vtt; charset=utf-8"
    assert headers["Content-Disposition"] == 'attachment; filename="bo-1.vtt"'
    (caption,) = webvtt.from_string(text, strict=True).captions
    assert (caption.voice, caption.text) == ("Customer", "my uncle passed away")
    status, text, headers = await fetch(site, "fay", "/api/calls/bo-1/export.srt")
    assert headers["Content-Type"] == "application/x-subrip; charset=utf-8"
    assert [s.content for s in srt.parse(text)] == ["Customer: my uncle passed away"]
    status, text, _ = await fetch(site, "fay", "/api/calls/bo-1/export.txt")
    assert text == "[00:00:00] Customer: my uncle passed away\n"
    status, text, headers = await fetch(site, "fay", "/api/calls/bo-1/export.csv")
    assert headers["Content-Disposition"] == 'attachment; filename="bo-1.csv"'
    rows = list(csv.reader(io.StringIO(text)))
    assert [r[:4] for r in rows[1:]] == [["cold_reply_to_bad_news", "coach", "1.000", "1.500"]]
    status, answer, _ = await fetch(site, "fay", "/api/calls/bo-1/export.docx")
    assert status == 404 and "use vtt, srt, txt, csv, pdf" in answer


async def test_a_redacted_call_exports_what_was_stored(site: Site) -> None:
    status, text, _ = await fetch(site, "fay", "/api/calls/masked-1/export.txt")
    assert (status, text) == (200, "[00:00:00] Customer: my card is [card]\n")


async def test_nobody_outside_the_call_gets_it(site: Site) -> None:
    status, answer, _ = await fetch(site, "ed", "/api/calls/bo-1/export.vtt")  # a coach of south
    assert status == 403 and '"forbidden_call"' in answer
    status, answer, _ = await fetch(site, "cy", "/api/calls/bo-1/export.txt")  # another agent of north
    assert status == 403 and "not one of your calls" in answer
    status, answer, _ = await fetch(site, "fay", "/api/calls/nobody/export.vtt")
    assert status == 404 and '"unknown_call"' in answer
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{site.server.base}/api/calls/bo-1/export.vtt") as r,
    ):
        assert r.status == 401  # not logged in


async def test_an_agent_gets_their_transcript_and_their_moments_after_their_own_view(site: Site) -> None:
    status, text, _ = await fetch(site, "bo", "/api/calls/bo-1/export.vtt")
    assert status == 200 and "my uncle passed away" in text
    status, answer, _ = await fetch(site, "bo", "/api/calls/bo-1/export.csv")
    assert status == 403 and '"assess_first"' in answer
    assert (await site.api("di", "POST", "/api/calls/bo-1/share"))[0] == 200
    said = {"went_well": "I stayed calm", "do_differently": "say sorry first"}
    assert (await site.api("bo", "POST", "/api/calls/bo-1/self-assessment", said))[0] == 200
    status, text, _ = await fetch(site, "bo", "/api/calls/bo-1/export.csv")
    assert status == 200 and "cold_reply_to_bad_news" in text


async def fetch_bytes(site: Site, who: str, path: str) -> tuple[int, bytes, CIMultiDictProxy[str]]:
    async with (
        aiohttp.ClientSession(headers=cookie_header(site.tokens[who])) as http,
        http.get(f"{site.server.base}{path}") as resp,
    ):
        return resp.status, await resp.read(), resp.headers


def pdf_text(body: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(body))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


async def test_the_coaching_sheet_as_a_pdf_for_whoever_may_see_the_sheet(site: Site) -> None:
    status, body, headers = await fetch_bytes(site, "di", "/api/calls/bo-1/export.pdf")  # the team's lead
    assert status == 200, body
    assert headers["Content-Type"] == "application/pdf"
    assert headers["Content-Disposition"] == 'attachment; filename="bo-1-sheet.pdf"'
    text = pdf_text(body)
    assert "Coaching sheet: Line bo-1" in text and "agent bo" in text
    assert "1. 00:01 cold_reply_to_bad_news 1" in text and "“so sorry to hear that”" in text
    assert "Why it matters: why it matters" in text and "Try: what to say instead" in text
    status, answer, _ = await fetch(site, "ed", "/api/calls/bo-1/export.pdf")  # a coach of south
    assert status == 403 and '"forbidden_call"' in answer
    # cy's own call: not before cy has said what went well and what to do differently, then with it.
    status, answer, _ = await fetch(site, "cy", "/api/calls/cy-1/export.pdf")
    assert status == 403 and '"assess_first"' in answer
    assert (await site.api("di", "POST", "/api/calls/cy-1/share"))[0] == 200
    said = {"went_well": "I kept the customer’s café order", "do_differently": "slow down"}
    assert (await site.api("cy", "POST", "/api/calls/cy-1/self-assessment", said))[0] == 200
    status, body, _ = await fetch_bytes(site, "cy", "/api/calls/cy-1/export.pdf")
    assert status == 200 and "Went well: I kept the customer’s café order" in pdf_text(body)


async def test_the_team_csv_is_for_its_lead_and_admins(site: Site) -> None:
    status, text, headers = await fetch(site, "di", "/api/teams/north/moments.csv")
    assert status == 200, text
    assert headers["Content-Disposition"] == 'attachment; filename="north-moments-all.csv"'
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == TEAM_COLUMNS
    assert [(r[0], r[4]) for r in rows[1:]] == [
        ("old-1", "empathy_shown"),
        ("bo-1", "cold_reply_to_bad_news"),
    ]
    since = (NOW - dt.timedelta(days=7)).date().isoformat()
    status, text, headers = await fetch(site, "ann", f"/api/teams/north/moments.csv?from={since}")
    assert status == 200 and headers["Content-Disposition"].endswith(f'"north-moments-{since}.csv"')
    assert [r[0] for r in csv.reader(io.StringIO(text))][1:] == ["bo-1"]
    for who, code in (("fay", "not_a_lead"), ("bo", "forbidden_team"), ("ed", "forbidden_team")):
        status, answer, _ = await fetch(site, who, "/api/teams/north/moments.csv")
        assert status == 403 and f'"{code}"' in answer, who
    status, answer, _ = await fetch(site, "di", "/api/teams/north/moments.csv?from=yesterday")
    assert status == 400 and "YYYY-MM-DD" in answer


async def test_exports_are_in_the_audit_trail(site: Site) -> None:
    await fetch(site, "fay", "/api/calls/cy-1/export.txt")
    status, trail, _ = await fetch(site, "ann", "/api/audit?call=cy-1")
    assert status == 200 and '"export"' in trail and '"fay"' in trail
