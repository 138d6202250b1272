"""Agents' calls kept in a data folder as a live call leaves them (a row with its agent and team, its
events with the moments a test needs, a WAV), and the coaching endpoints as a page calls them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp

from callcoach.live.events import Alert, CallEnded, CallInfo, CallStarted, Event, Polarity, Transcript
from callcoach.live.storage import Storage
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


async def call_api(
    http: aiohttp.ClientSession, base: str, method: str, path: str, body: dict[str, Any] | None = None
) -> tuple[int, Any]:
    """A coaching endpoint as the page calls it: its status and JSON answer."""
    async with http.request(method, f"{base}{path}", json=body) as resp:
        return resp.status, await resp.json()
