"""The calls a coach can open: recordings found in a folder, each run once through the same pipeline.

Every recording gets a :class:`CallRecord` whose event log is filled by a :class:`CallSession` fed from a
:class:`FileSource` (unpaced): a replay is a reader of that log, gated by the coach's player. Analysis runs
in the background, one recording after another, and a recording a coach opens first jumps the queue.
Listeners are told when the list changes (a call finished analysing, a live call started).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from callcoach.audio.errors import AudioError
from callcoach.live.eventlog import EventLog, latest_alerts
from callcoach.live.events import CallEnded, CallInfo, Error
from callcoach.live.session import CallSession
from callcoach.live.settings import Settings
from callcoach.live.sources import FileSource

log = logging.getLogger(__name__)
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")


@dataclass
class CallRecord:
    info: CallInfo
    log: EventLog
    path: Path | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)


class CallCatalog:
    def __init__(self, settings: Settings, model: Any, executor: Executor) -> None:
        self._settings = settings
        self._model = model
        self._executor = executor
        self._records: dict[str, CallRecord] = {}
        self._listeners: set[Callable[[], None]] = set()

    def calls(self) -> list[CallInfo]:
        return [r.info for r in self._records.values()]

    def get(self, call_id: str) -> CallRecord | None:
        return self._records.get(call_id)

    def listen(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` (cheap, non-blocking) on every change; returns the function that stops it."""
        self._listeners.add(callback)
        return lambda: self._listeners.discard(callback)

    def scan(self) -> None:
        """Register every recording in the recordings folder (new ones only)."""
        folder = self._settings.recordings_dir
        paths = (
            sorted(p for p in folder.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)
            if folder.is_dir()
            else []
        )
        known = {r.path for r in self._records.values()}
        for path in paths:
            if path not in known:
                self._add_recording(path)
        self._changed()

    def _add_recording(self, path: Path) -> None:
        call_id = _unique(_slug(path.stem), self._records)
        info = CallInfo(
            call_id,
            path.name,
            "file",
            "",
            None,
            live=False,
            status="analysing",
            audio_url=f"/recordings/{call_id}",
        )
        self._records[call_id] = CallRecord(info, EventLog(call_id), path)

    async def analyse_all(self) -> None:
        """Analyse every registered recording that has not been, one at a time."""
        for record in list(self._records.values()):
            await self.ensure_analysed(record.info.call_id)

    def ensure_analysed(self, call_id: str) -> asyncio.Task[None]:
        """Start analysing the call now unless begun already; the task ends when its log is complete."""
        record = self._records[call_id]
        if record.task is None:
            record.task = asyncio.create_task(self._analyse(record), name=f"analyse {call_id}")
        return record.task

    async def _analyse(self, record: CallRecord) -> None:
        assert record.path is not None
        try:
            source = FileSource(record.path, self._settings)
        except AudioError as exc:  # a bad file is listed with its reason; it never stops the others
            record.log.append(Error(exc.code, exc.message, fatal=True))
            record.log.close()
            self._update(record, status="error", error=exc.message)
            return
        started = source.started(record.info.call_id)
        self._update(record, started_at=started.started_at, duration_s=started.duration_s)
        session = CallSession(
            started, model=self._model, settings=self._settings, executor=self._executor, log=record.log
        )
        ended = await session.run(source.frames())
        self._finished(record, ended)

    def _finished(self, record: CallRecord, ended: CallEnded) -> None:
        alerts = latest_alerts(record.log.events)
        faults = [e.message for e in record.log.events if isinstance(e, Error) and e.fatal]
        self._update(
            record,
            status="ready" if ended.reason == "completed" else "error",
            duration_s=ended.end_s,
            coach_alerts=sum(a.polarity == "coach" for a in alerts),
            praise_alerts=sum(a.polarity == "praise" for a in alerts),
            error=faults[0] if faults else None,
        )

    def _update(self, record: CallRecord, **changes: Any) -> None:
        record.info = replace(record.info, **changes)
        self._changed()

    def _changed(self) -> None:
        for callback in list(self._listeners):
            callback()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "call"


def _unique(call_id: str, taken: dict[str, CallRecord]) -> str:
    n, candidate = 1, call_id
    while candidate in taken:
        n += 1
        candidate = f"{call_id}-{n}"
    return candidate
