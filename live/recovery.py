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
from callcoach.live.eventlog import latest_alerts
from callcoach.live.events import CallEnded, CallInfo, Error, Event, Note, Pin, moment_s
from callcoach.live.recording import repair
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


def repair_recording(stored: StoredCall) -> StoredCall:
    """The stored call with its WAV's header made right (None if the recording is missing or unreadable:
    the call is still listed, without audio)."""
    if stored.recording is None:
        return stored
    try:
        if repair(stored.recording):
            log.info("repaired the header of %s, cut off by a crash", stored.recording)
        sf.info(str(stored.recording))
    except (OSError, RuntimeError) as exc:  # soundfile raises RuntimeError (LibsndfileError) on bad audio
        call_id = stored.info.call_id
        log.warning("the recording of call %s cannot be played (%s); listed without it", call_id, exc)
        return dataclasses.replace(stored, recording=None)
    return stored


def interrupted(stored: StoredCall) -> bool:
    """Whether the call was still live when its server stopped without ending it."""
    return stored.info.live


def recover(stored: StoredCall) -> StoredCall:
    """A call its server never ended, ended where it stopped (its recording already repaired)."""
    events = [e for e in stored.events if not isinstance(e, Note | Pin)]
    annotations = [e for e in stored.events if isinstance(e, Note | Pin)]
    finished = next((e for e in reversed(events) if isinstance(e, CallEnded)), None)
    if finished is not None:  # the log was complete: only the final save was missing
        info = ended_info(stored.info, events, finished)
    else:
        end_s = _stopped_at_s(stored, events)
        message = (
            f"the server stopped unexpectedly at {clock(end_s)}: the call is kept up to there "
            "(the server's log may say why it stopped)"
        )
        ended = CallEnded(end_s, "dropped")
        events += [Error(SERVER_STOPPED, message, fatal=True, at_s=end_s), ended]
        info = dataclasses.replace(ended_info(stored.info, events, ended, "dropped"), error=message)
    audio_url = f"/recordings/{info.call_id}" if stored.recording is not None else None
    info = dataclasses.replace(info, audio_url=audio_url)
    return dataclasses.replace(stored, info=info, events=(*events, *annotations))


def _stopped_at_s(stored: StoredCall, events: Sequence[Event]) -> float:
    """How far the call got: its recording's length (written before the pipeline takes each step, so
    never short of the events), else the latest moment among its events."""
    if stored.recording is not None:
        info = sf.info(str(stored.recording))
        return round(float(info.frames) / float(info.samplerate), 3)
    return round(max((moment_s(e) for e in events), default=0.0), 3)
