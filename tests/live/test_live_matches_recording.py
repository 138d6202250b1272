"""A live call and ``callcoach analyze`` of its recording hear the same words (issue 16).

A real ``callcoach serve`` takes the cold bereavement sample as a live Twilio call while a coach follows it;
then ``callcoach analyze`` decodes the WAV the server recorded, in a fresh process. Before every model was
loaded with ``--dither=0``, the two speakers' recognizers drew Kaldi's dither noise from one process-wide
generator in whatever order their threads ran, so the coach's transcript and the replayed analysis could
differ word for word, and an alert seen live could vanish from the analysis. Now both must give the same
final transcripts (words, times and confidences) and the same alerts.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.calls import Plan, place_calls, wait_stored
from tests.helpers.server import start_server, stop_server

pytestmark = [pytest.mark.vosk, pytest.mark.asyncio]


def finals(events: list[dict[str, Any]]) -> list[tuple[str, str, list[dict[str, Any]]]]:
    return [(e["speaker"], e["text"], e["words"]) for e in events if e["type"] == "transcript" and e["final"]]


def alert_facts(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    keys = ("id", "revision", "kind", "start_s", "end_s", "detected_s", "title", "confidence")
    return [tuple(e[k] for k in keys) for e in events if e["type"] == "alert"]


async def test_analyze_of_a_live_calls_recording_hears_what_the_coach_saw(
    callcoach: Path, model_dir: Path, samples: Path, tmp_path: Path
) -> None:
    server = await start_server(callcoach, model_dir, tmp_path / "data")
    try:
        [trace] = await place_calls(server, [Plan("twilio", samples / "bereavement_cold.wav", speed=2.0)])
        async with server.client() as http:
            await wait_stored(http, server, {trace.call_id})
    finally:
        await stop_server(server)
    wav = server.data / "recordings" / f"{trace.call_id}.wav"
    proc = await asyncio.create_subprocess_exec(
        *(str(callcoach), "analyze", str(wav), "--json", "--model", str(model_dir)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    async with asyncio.timeout(300):
        out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    analysed = [json.loads(line) for line in out.decode().splitlines()]
    live = finals(trace.events)
    assert any(speaker == "customer" and "passed away" in text for speaker, text, _ in live), live
    assert finals(analysed) == live
    assert alert_facts(analysed) == alert_facts(trace.events)
