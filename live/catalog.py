"""The calls a coach can open: live calls, stored calls, and recordings found in a folder.

Every call has a :class:`CallRecord` whose event log a :class:`CallSession` fills: from a
:class:`LiveCall` while it happens, or from a :class:`FileSource` (unpaced) for a recording; a replay is a
reader of that log, gated by the coach's player. Recordings are analysed in the background, one after
another, and one a coach opens first jumps the queue. A live call is stored as it happens and once more
when it ends, however it ends, and stays in the list as a replay; stored calls come back from storage at
start-up, a call the server died in the middle of ended there as ``dropped`` (:mod:`live.recovery`).
With redaction on, what the redactor hid is silenced in the audio too: in place in a live call's
recording as each ``redaction`` is logged, and in a copy (in the data folder) of a recording from the
recordings folder, which is served instead of the user's own file.
Coaches' notes and pins go into a call's log and storage through :meth:`CallCatalog.annotate`, at any time.
A call runs with the coach-defined rules in force when it starts (:mod:`live.rules_file`); a broken edit
of the rules file is told to every call still running (:meth:`CallCatalog.notify_running`).
A call's agent is the account the phone platform named (``CallInfo.agent``) unless an admin or lead
assigned another (:meth:`CallCatalog.assign_agent`, kept by :mod:`live.coaching_store`), which wins.
Listeners are told when the list changes. Recordings uploaded on the page or imported
(:mod:`live.imports`) are listed from the data folder's ``uploads/`` as those of ``--recordings`` are, with
the title and agent channel their sidecar keeps; while a recording is analysed its ``analysed_s`` says how
far, a few times a second at most.
Listeners are told when the list changes.
With a shared bus (``--bus``, :mod:`live.bus`), a live call's log is numbered by the bus, this node's
live calls are listed on every node, and other nodes' live calls are listed here (:meth:`add_remote`):
their logs follow the bus, and they become replays here when they end there (as ``dropped`` when their
node died, ended by a survivor: :mod:`live.bus_reaper`).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable, Container, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from callcoach.audio.errors import AudioError
from callcoach.detectors.rules import NO_RULES
from callcoach.live.bus import Bus, BusLog, LocalBus
from callcoach.live.call_writer import CallWriter
from callcoach.live.db import DatabaseError
from callcoach.live.eventlog import EventLog, moment_s
from callcoach.live.events import Alert, CallEnded, CallInfo, CallStarted, Error, Frame, Note, Pin, Redaction
from callcoach.live.imports import read_meta, uploads_dir
from callcoach.live.live_call import LiveCall
from callcoach.live.recovery import (
    SERVER_STOPPED,
    ended_info,
    interrupted,
    recover,
    repair_recording,
    silence_redactions,
)
from callcoach.live.rules_file import RulesReloader
from callcoach.live.session import CallSession
from callcoach.live.settings import Settings
from callcoach.live.silencing import SilencingError, silence_live, silence_recording
from callcoach.live.sources import FileSource
from callcoach.live.storage import Storage

log = logging.getLogger(__name__)
# What of another node's live call changes as it goes (the rest is fixed when it starts).
REMOTE_FIELDS = ("agent", "coach_alerts", "praise_alerts", "title", "team")
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
PROGRESS_EVERY_S = 0.4  # how often at most a recording's analysis progress changes the list (wall time)


@dataclass
class CallRecord:
    info: CallInfo
    log: EventLog
    path: Path | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)
    live: LiveCall | None = field(default=None, repr=False)
    redacted: Path | None = None  # a recording's copy with its redactions silenced, served instead
    agent_channel: str | None = None  # an uploaded recording's agent channel; None: the server's


class CallCatalog:
    def __init__(
        self,
        settings: Settings,
        model: Any,
        executor: Executor,
        storage: Storage | None = None,
        rules: RulesReloader | None = None,
        bus: Bus | None = None,
    ) -> None:
        self._settings = settings
        self._bus: Bus = bus or LocalBus()  # with a shared bus, live calls of other nodes are listed too
        self._rules = rules  # the coach-defined rules in force, when the server has a rules file
        self._running: dict[str, CallSession] = {}  # the calls whose sessions are running, by id
        self._model = model
        self._executor = executor
        self._storage = storage
        self._records: dict[str, CallRecord] = {}
        self._listeners: set[Callable[[], None]] = set()

    def calls(self) -> list[CallInfo]:
        return [r.info for r in self._records.values()]

    def get(self, call_id: str) -> CallRecord | None:
        return self._records.get(call_id)

    def remove(self, call_id: str) -> None:
        """Forget a call that is no longer kept (purged): pages see the list without it. A live call
        stays: it is not stored yet, so nothing of it was purged."""
        record = self._records.get(call_id)
        if record is not None and record.live is None:
            del self._records[call_id]
            self._changed()

    def listen(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` (cheap, non-blocking) on every change; returns the function that stops it."""
        self._listeners.add(callback)
        return lambda: self._listeners.discard(callback)

    def scan(self, *, uploads_only: bool = False) -> list[str]:
        """Register every recording in the recordings folder and the uploads (new ones only); their ids.
        Recordings at its top belong to the default team; those in a sub-folder belong to the team the
        sub-folder is named after."""
        folders = [uploads_dir(self._settings)]
        if not uploads_only:
            folders.insert(0, self._settings.recordings_dir)
        known = {r.path for r in self._records.values()}
        added = [
            self._add_recording(path, team).call_id
            for folder in folders
            for path, team in _recordings(folder, self._settings.default_team)
            if path not in known
        ]
        if added or not uploads_only:
            self._changed()
        return added

    def add_upload(self, path: Path, team: str, duration_s: float | None = None) -> CallInfo:
        """List a file just taken in (:func:`live.imports.take`) at once, as analysing, with its length
        when the check found it."""
        for record in self._records.values():
            if record.path == path:  # a rescan of the uploads got to it first
                return record.info
        record = self._records[self._add_recording(path, team).call_id]
        record.info = replace(record.info, duration_s=duration_s)
        self._changed()
        return record.info

    def _add_recording(self, path: Path, team: str) -> CallInfo:
        call_id = _unique(_slug(path.stem), self._records)
        meta = read_meta(path) if path.is_relative_to(uploads_dir(self._settings)) else None
        info = CallInfo(
            call_id,
            meta.title if meta else path.name,
            "file",
            "",
            None,
            live=False,
            status="analysing",
            audio_url=f"/recordings/{call_id}",
            team=team,
        )
        call_log = EventLog(call_id)
        for note in self._storage.annotations(call_id) if self._storage else []:
            assert isinstance(note, Note | Pin)
            call_log.annotate(note)
        channel = meta.agent_channel if meta else None
        self._records[call_id] = CallRecord(info, call_log, path, agent_channel=channel)
        return info

    def load_stored(self) -> None:
        """Every call kept in storage, as a replay with the events it had; a call the server died in the
        middle of is ended where it stopped, and stored so."""
        if self._storage is None:
            return
        running_elsewhere = self._bus.live_elsewhere()
        for stored in self._storage.load_all():
            if (
                stored.info.call_id in running_elsewhere
            ):  # live on another node: not a crash, listed from there
                continue
            repair_recording(stored)
            if interrupted(stored):
                silence_redactions(stored)
                stored = recover(stored)
                try:
                    self._storage.save(stored.info, stored.events, stored.recording)
                except DatabaseError:  # listed all the same; the next start recovers it again
                    log.exception("could not store call %s as dropped", stored.info.call_id)
            call_log = EventLog(stored.info.call_id)
            for event in stored.events:
                if isinstance(event, Note | Pin):
                    call_log.annotate(event)
                else:
                    call_log.append(event)
            call_log.close()
            self._records[stored.info.call_id] = CallRecord(stored.info, call_log, stored.recording)
        self._changed()

    def start_live(self, started: CallStarted) -> LiveCall:
        """A live call begins: list it, run its session as its audio arrives, store it when it ends."""
        call_id = _unique(_slug(started.call_id), self._records)
        started = replace(started, call_id=call_id)
        recording = self._storage.recording_path(call_id) if self._storage else None
        live = LiveCall(started, self._settings, recording)
        info = CallInfo(
            call_id,
            started.title or call_id,
            started.source,
            started.started_at,
            None,
            live=True,
            status="live",
            agent=started.agent,
            customer=started.customer,
            team=started.team or self._settings.default_team,
        )
        record = CallRecord(info, self._bus.origin_log(call_id), live=live)
        self._records[call_id] = record
        record.task = asyncio.create_task(self._run_live(record, live), name=f"live {call_id}")
        self._bus.publish(info)
        self._bus.share_audio(live, record.log)
        self._changed()
        return live

    async def _run_live(self, record: CallRecord, live: LiveCall) -> None:
        session = self._session(live.started, record)
        counting = asyncio.create_task(self._count_alerts(record))
        writing = None
        if self._storage is not None:  # kept as it goes: a crash loses at most the last moment
            writer = CallWriter(self._storage, record.log)
            writing = asyncio.create_task(writer.run(record.info, live.recording))
        silencing = asyncio.create_task(self._silence_live(record, live))
        ended = await self._run(session, live.frames())
        await counting
        await silencing
        if writing is not None:
            await writing
        record.live = None
        record.path = live.recording if live.recording and live.recording.exists() else None
        self._finished(
            record, ended, live=False, audio_url=f"/recordings/{record.info.call_id}" if record.path else None
        )
        if self._storage is not None:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(
                None, self._storage.save, record.info, list(record.log.events), record.path
            )
        await self._bus.stored(record.info.call_id)

    def add_remote(self, info: CallInfo, call_log: BusLog) -> None:
        """Another node's live call (a shared bus): listed, its log following the bus, and ended here as
        it ends there. Its pipeline, audio and storage are that node's."""
        record = CallRecord(info, call_log)
        self._records[info.call_id] = record
        record.task = asyncio.create_task(self._run_remote(record), name=f"remote {info.call_id}")
        self._changed()

    def listen_audio(
        self, record: CallRecord, callback: Callable[[bytes], None]
    ) -> Callable[[], None] | None:
        """Hear a live call, this node's or (with a bus) another's: the function that stops it; None
        when there is nothing to hear (not live)."""
        if record.live is not None:
            return record.live.listen_audio(callback)
        if record.info.live:
            return self._bus.listen_audio(record.info.call_id, callback)
        return None

    def update_remote(self, info: CallInfo) -> None:
        record = self._records.get(info.call_id)
        if record is not None and record.live is None and record.info.live:
            self._update(record, **{f: getattr(info, f) for f in REMOTE_FIELDS})

    async def _run_remote(self, record: CallRecord) -> None:
        """List another node's call as ended once its log has its ``call_ended``: a replay with the
        recording its node wrote to the shared data folder; dropped if its node died."""
        await record.log.wait_closed()
        ended = next((e for e in reversed(record.log.events) if isinstance(e, CallEnded)), None)
        if ended is None:  # the bus lost it (Redis restarted): its own node has it all, and storage
            why = "this server lost sight of the call when the bus restarted; its own server kept all of it"
            self._update(record, live=False, status="dropped", error=why)
            return
        recording = self._storage.recording_path(record.info.call_id) if self._storage else None
        record.path = recording if recording is not None and recording.exists() else None
        lost = [e for e in record.log.events if isinstance(e, Error) and e.code == SERVER_STOPPED]
        status: Literal["dropped"] | None = "dropped" if lost else None
        info = replace(record.info, audio_url=f"/recordings/{record.info.call_id}" if record.path else None)
        record.info = ended_info(info, record.log.events, ended, status)
        if lost:
            record.info = replace(record.info, error=lost[0].message)
        self._changed()

    async def annotate(self, call_id: str, event: Note | Pin) -> int:
        """Add a coach's note or pin to the call's log (everyone following it gets it) and keep it."""
        seq = await self._bus.annotate(self._records[call_id].log, event)
        if self._storage is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._storage.annotate, call_id, event)
        return seq

    def annotate_here(self, call_id: str, event: Note | Pin) -> int | None:
        """A note or pin from the bus for a call not on it (a recording, a stored call): added to this
        node's log of it (storage has it already). A log that follows the call's stream gets its notes
        from there."""
        record = self._records.get(call_id)
        if record is None or (isinstance(record.log, BusLog) and record.log.on_bus):
            return None
        return record.log.annotate(event)

    def assign_agent(self, call_id: str, agent: str) -> CallInfo:
        """The call's agent is ``agent`` from now on (an assignment: it wins over the platform's); the
        call lists change with it, and a live call is stored with it when it ends."""
        record = self._records[call_id]
        self._update(record, agent=agent)
        return record.info

    def moment_of(self, call_id: str, target_id: str) -> float | None:
        """When the call's alert or note ``target_id`` happens (None if the call has no such thing)."""
        for event in self._records[call_id].log.events:
            if isinstance(event, Alert | Note) and event.id == target_id:
                return moment_s(event)
        return None

    async def end_live_calls(self, detail: str) -> None:
        """Shutting down: end every live call as dropped, and wait until each is stored."""
        running = [r for r in self._records.values() if r.live is not None]
        for record in running:
            assert record.live is not None
            await record.live.end("dropped", detail)
        await asyncio.gather(*(r.task for r in running if r.task is not None), return_exceptions=True)

    async def _count_alerts(self, record: CallRecord) -> None:
        """Keep a live call's alert counts in the list current as its alerts come in."""
        async for _seq, event in record.log.follow():
            if isinstance(event, Alert) and event.revision == 0:
                kind = "coach_alerts" if event.polarity == "coach" else "praise_alerts"
                self._update(record, **{kind: getattr(record.info, kind) + 1})

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
        if record.log.closed:  # a stored call: its events came back from storage, there is nothing to do
            return
        assert record.path is not None
        try:
            source = FileSource(record.path, self._settings_of(record))
        except AudioError as exc:  # a bad file is listed with its reason; it never stops the others
            record.log.append(Error(exc.code, exc.message, fatal=True))
            record.log.close()
            self._update(record, status="error", error=exc.message)
            return
        started = source.started(record.info.call_id)
        self._update(record, started_at=started.started_at, duration_s=started.duration_s)
        frames = self._progress(record, source.frames())
        ended = await self._run(self._session(started, record), frames)
        await self._silence_copy(record)
        self._finished(record, ended, analysed_s=None)

    async def _progress(
        self, record: CallRecord, frames: AsyncIterator[Sequence[Frame]]
    ) -> AsyncIterator[Sequence[Frame]]:
        """The frames, telling the list how far the analysis is as the session takes each step: the
        first at once, then at most every :data:`PROGRESS_EVERY_S` (each change goes to every page)."""
        loop = asyncio.get_running_loop()
        told_at = -PROGRESS_EVERY_S
        async for step in frames:
            if step and loop.time() - told_at >= PROGRESS_EVERY_S:
                told_at = loop.time()
                self._update(record, analysed_s=round(step[0].start_s, 1))
            yield step

    def _settings_of(self, record: CallRecord) -> Settings:
        """The settings a recording is read with: an upload's own agent channel, the customer the other."""
        if record.agent_channel is None:
            return self._settings
        return replace(self._settings, agent_channel=record.agent_channel, customer_channel=None)

    def _session(self, started: CallStarted, record: CallRecord) -> CallSession:
        """A call's session, with the rules in force as it starts (kept to its end) and, while the rules
        file is broken, the error saying so."""
        rules, problem = (self._rules.rules, self._rules.problem) if self._rules else (NO_RULES, None)
        return CallSession(
            started,
            model=self._model,
            settings=self._settings,
            executor=self._executor,
            log=record.log,
            rules=rules,
            notices=(problem,) if problem is not None else (),
        )

    async def _run(self, session: CallSession, frames: AsyncIterator[Sequence[Frame]]) -> CallEnded:
        call_id = session.started.call_id
        self._running[call_id] = session
        try:
            return await session.run(frames)
        finally:
            del self._running[call_id]

    def notify_running(self, error: Error) -> None:
        """Tell the coaches of every call in progress (live, or a recording being analysed) ``error``."""
        for session in self._running.values():
            session.notice(error)

    async def _silence_live(self, record: CallRecord, live: LiveCall) -> None:
        """Silence each redacted span in the live call's recording as it is logged: its audio is on disk
        by then (a step is recorded before the session takes it). A failure costs the silencing only."""
        loop = asyncio.get_running_loop()
        async for _seq, event in record.log.follow():
            if isinstance(event, Redaction) and live.recording is not None:
                try:
                    await loop.run_in_executor(
                        None, silence_live, live.recording, live.started.speakers, event
                    )
                except SilencingError:
                    log.exception("call %s", record.info.call_id)

    async def _silence_copy(self, record: CallRecord) -> None:
        """A recording with redactions gets a copy with them silenced, in the data folder, which
        :meth:`playable` serves (the user's own file is left as it is)."""
        redactions = [e for e in record.log.events if isinstance(e, Redaction)]
        if not redactions or record.path is None:
            return
        target = self._settings.data_dir / "redacted" / f"{record.info.call_id}{record.path.suffix.lower()}"
        s = self._settings_of(record)
        copy = (record.path, target, redactions, s.agent_channel, s.customer_channel)
        try:
            await asyncio.get_running_loop().run_in_executor(None, silence_recording, *copy)
        except SilencingError:
            log.exception("call %s", record.info.call_id)
            return
        record.redacted = target

    async def playable(self, record: CallRecord) -> Path | None:
        """The audio to serve for a call. With redaction on, a recording still being analysed is served
        once its analysis is done (only then is it known what to silence), as its redacted copy if it
        has redactions; None if it has but the copy could not be made (it must not be served as is)."""
        if not self._settings.redact or record.path is None or record.live is not None:
            return record.path
        if not record.log.closed:
            await asyncio.shield(self.ensure_analysed(record.info.call_id))
        unsilenced = record.redacted is None and record.info.source == "file"
        if unsilenced and any(isinstance(e, Redaction) for e in record.log.events):
            return None
        return record.redacted or record.path

    def _finished(self, record: CallRecord, ended: CallEnded, **changes: Any) -> None:
        record.info = ended_info(replace(record.info, **changes), record.log.events, ended)
        self._changed()

    def _update(self, record: CallRecord, **changes: Any) -> None:
        record.info = replace(record.info, **changes)
        if record.live is not None:  # this node's live call: other nodes list it as it is here
            self._bus.publish(record.info)
        self._changed()

    def _changed(self) -> None:
        for callback in list(self._listeners):
            callback()


def recording_ids(folder: Path, default_team: str) -> list[str]:
    """The ids the recordings in ``folder`` are listed under (as :meth:`CallCatalog.scan` names them)."""
    taken: list[str] = []
    for path, _team in _recordings(folder, default_team):
        taken.append(_unique(_slug(path.stem), taken))
    return taken


def _recordings(folder: Path, default_team: str) -> list[tuple[Path, str]]:
    """The audio files in ``folder`` and its direct sub-folders, each with the team it belongs to."""
    if not folder.is_dir():
        return []
    found = [(p, default_team) for p in sorted(folder.iterdir()) if _is_audio(p)]
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        found += [(p, sub.name) for p in sorted(sub.iterdir()) if _is_audio(p)]
    return found


def _is_audio(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in AUDIO_SUFFIXES


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "call"


def _unique(call_id: str, taken: Container[str]) -> str:
    n, candidate = 1, call_id
    while candidate in taken:
        n += 1
        candidate = f"{call_id}-{n}"
    return candidate
