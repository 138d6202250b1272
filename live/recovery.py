"""How an ended call reads in the call list, and bringing back a call whose server died in the middle.

A live call is stored as it happens (:class:`~callcoach.live.call_writer.CallWriter`); one the server
never ended (kill -9, a power cut, an out-of-memory kill) is still marked live in storage at the next
start. :func:`recover` ends it where the server stopped, as ``dropped``: its recording's header is
repaired, an ``Error`` and a ``CallEnded`` close its log so that a replay ends as any dropped call's does,
and its list line says where it stopped in call time ("the server stopped unexpectedly at 00:24").
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import Literal

import soundfile as sf

from callcoach.detectors.alerts import clock
from callcoach.live.eventlog import latest_alerts, moment_s
from callcoach.live.events import CallEnded, CallInfo, CallStarted, Error, Event, Note, Pin, Redaction
from callcoach.live.recording import repair
from callcoach.live.silencing import SilencingError, silence_live
from callcoach.live.storage import StoredCall

log = logging.getLogger(__name__)
SERVER_STOPPED = "server_stopped"


def ended_info(
    info: CallInfo,
    events: Sequence[Event],
    ended: CallEnded,
    status: Literal["ready", "error", "dropped"] | None = None,
) -> CallInfo:
    """The list line of a call whose log ended with ``ended``: its length, its alerts counted, the first
    fatal error as its reason. A dropped call is still a good replay of everything up to the drop, so it
    is ``ready`` unless ``status`` says otherwise."""
    alerts = latest_alerts(events)
    faults = [e.message for e in events if isinstance(e, Error) and e.fatal]
    return dataclasses.replace(
        info,
        live=False,
        status=status or ("error" if ended.reason == "error" else "ready"),
        duration_s=ended.end_s,
        coach_alerts=sum(a.polarity == "coach" for a in alerts),
        praise_alerts=sum(a.polarity == "praise" for a in alerts),
        error=faults[0] if faults else None,
    )


def repair_recording(stored: StoredCall) -> None:
    """Make the call's WAV header right, if it has a recording (one it cannot open is left to the
    recording's route to answer 404 for, as before)."""
    if stored.recording is None:
        return
    try:
        if repair(stored.recording):
            log.info("repaired the header of %s, cut off by a crash", stored.recording)
    except OSError as exc:
        log.warning("the recording of call %s cannot be opened: %s", stored.info.call_id, exc)


def silence_redactions(stored: StoredCall) -> None:
    """Silence every redacted span of an interrupted call again: the server may have died between logging
    a redaction and silencing it (silencing twice changes nothing)."""
    started = next((e for e in stored.events if isinstance(e, CallStarted)), None)
    if stored.recording is None or started is None:
        return
    for event in stored.events:
        if isinstance(event, Redaction):
            try:
                silence_live(stored.recording, started.speakers, event)
            except SilencingError:
                log.exception("call %s: a redacted span could not be silenced", stored.info.call_id)


def interrupted(stored: StoredCall) -> bool:
    """Whether the call was still live when its server stopped without ending it."""
    return stored.info.live


def recover(stored: StoredCall) -> StoredCall:
    """A call its server never ended, ended where it stopped (its recording already repaired)."""
    events = [e for e in stored.events if not isinstance(e, Note | Pin)]
    annotations = [e for e in stored.events if isinstance(e, Note | Pin)]
    recorded_s = _length_s(stored)
    recording = stored.recording if recorded_s is not None else None
    finished = next((e for e in reversed(events) if isinstance(e, CallEnded)), None)
    if finished is not None:  # the log was complete: only the final save was missing
        info = ended_info(stored.info, events, finished)
    else:
        # The recording is written before the pipeline takes each step, so it is never short of the
        # events; without one, the call got as far as its latest event.
        end_s = recorded_s if recorded_s is not None else max((moment_s(e) for e in events), default=0.0)
        end_s = round(end_s, 3)
        message = (
            f"the server stopped unexpectedly at {clock(end_s)}: the call is kept up to there "
            "(the server's log may say why it stopped)"
        )
        ended = CallEnded(end_s, "dropped")
        events += [Error(SERVER_STOPPED, message, fatal=True, at_s=end_s), ended]
        info = dataclasses.replace(ended_info(stored.info, events, ended, "dropped"), error=message)
    info = dataclasses.replace(info, audio_url=f"/recordings/{info.call_id}" if recording else None)
    return StoredCall(info, (*events, *annotations), recording)


def _length_s(stored: StoredCall) -> float | None:
    """The length of the call's recording; None if it has none that plays (the call is listed without)."""
    if stored.recording is None:
        return None
    try:
        info = sf.info(str(stored.recording))
    except (OSError, RuntimeError) as exc:  # soundfile raises RuntimeError (LibsndfileError) on bad audio
        log.warning("the recording of call %s cannot be played: %s", stored.info.call_id, exc)
        return None
    return float(info.frames) / float(info.samplerate)
