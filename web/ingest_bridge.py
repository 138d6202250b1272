"""From a platform's ingest events to a live call: who is speaking on which track, and when the call ends.

Each endpoint (Twilio, audio fork, AudioSocket) owns a parser and an :class:`IngestBridge`; the bridge maps
tracks and channels to speakers, starts the call in the catalog on ``StreamOpened``, pushes each speaker's
audio (awaiting: a busy pipeline slows the socket, not the server) and ends the call on ``StreamClosed``,
or as dropped when the connection goes without one. A call that runs into a limit ends itself; the
bridge says so (:attr:`IngestBridge.fault`) so that the endpoint can close the connection.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Sequence

from callcoach.live.catalog import CallCatalog
from callcoach.live.events import SPEAKERS, CallStarted, Speaker
from callcoach.live.live_call import LiveCall
from callcoach.web.ingest.types import AudioChunk, IngestEvent, StreamClosed, StreamOpened

log = logging.getLogger(__name__)

# (track, channel index) -> speaker, for one opened stream; None: the channel is not listened to.
SpeakerMap = Callable[[str, int], Speaker | None]


def mask_number(number: str) -> str:
    """A phone number as a coach needs it: enough to tell calls apart, not enough to dial."""
    digits = re.sub(r"\D", "", number)
    return f"•••• {digits[-4:]}" if len(digits) >= 4 else ("••••" if digits else "")


def call_title(metadata: dict[str, str], agent: str, customer: str, platform: str) -> str:
    if metadata.get("title"):
        return metadata["title"]
    parts = [p for p in (agent, customer) if p]
    return " · ".join(parts) if parts else f"Live call ({platform})"


class IngestBridge:
    def __init__(
        self, catalog: CallCatalog, speakers: Callable[[StreamOpened], tuple[Sequence[Speaker], SpeakerMap]]
    ):
        self._catalog = catalog
        self._speakers = speakers
        self._map: SpeakerMap | None = None
        self.live: LiveCall | None = None
        self.closed = False

    async def handle(self, events: Sequence[IngestEvent]) -> None:
        for event in events:
            if isinstance(event, StreamOpened):
                self._open(event)
            elif isinstance(event, AudioChunk):
                await self._audio(event)
            elif isinstance(event, StreamClosed):
                await self.finish(clean=event.reason != "error", detail=event.detail)
            # DTMF and marks carry nothing a coach needs yet.

    @property
    def fault(self) -> str | None:
        """Why the call was ended at a limit (past ``max_call_s``), if it was: close the connection."""
        fault = self.live.fault if self.live is not None else None
        return fault.message if fault is not None else None

    async def finish(self, *, clean: bool, detail: str = "") -> None:
        """The stream is over: cleanly (hang-up, stop) or not (the connection dropped mid-call)."""
        if self.live is not None and not self.closed:
            await self.live.end("completed" if clean else "dropped", detail)
        self.closed = True

    def _open(self, opened: StreamOpened) -> None:
        if self.live is not None:
            log.warning("a second start on one stream was ignored (%s)", opened.call_key)
            return
        speakers, self._map = self._speakers(opened)
        self.live = self._catalog.start_live(started_from(opened, tuple(speakers)))

    async def _audio(self, chunk: AudioChunk) -> None:
        if self.live is None or self._map is None or self.closed:
            return
        for channel in range(chunk.pcm.shape[1]):
            speaker = self._map(chunk.track, channel)
            if speaker is not None:
                await self.live.push(speaker, chunk.pcm[:, channel], chunk.sample_rate, chunk.timestamp_s)


def started_from(opened: StreamOpened, speakers: tuple[Speaker, ...]) -> CallStarted:
    meta = opened.metadata
    agent = meta.get("agent", "") or meta.get("agent_name", "")
    customer = mask_number(meta.get("customer", "") or meta.get("from", "") or meta.get("caller", ""))
    return CallStarted(
        call_id=f"{opened.platform}-{opened.call_key}",
        source=opened.platform,
        started_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        speakers=speakers,
        title=call_title(meta, agent, customer, opened.platform),
        agent=agent,
        customer=customer,
        team=str(meta.get("team", "")).strip(),
    )


def twilio_speakers(agent_track: str) -> Callable[[StreamOpened], tuple[Sequence[Speaker], SpeakerMap]]:
    """Twilio: one mono track per leg; ``agent_track`` (``outbound`` by default) is the agent's."""

    def speakers(opened: StreamOpened) -> tuple[Sequence[Speaker], SpeakerMap]:
        roles: dict[str, Speaker] = {t: "agent" if t == agent_track else "customer" for t in opened.tracks}
        if len(roles) == 1:
            only = next(iter(roles))
            roles[only] = "mixed"  # one leg only: its speaker may be anyone
        order = [s for s in SPEAKERS if s in roles.values()]
        return order, lambda track, _channel: roles.get(track)

    return speakers


def audiofork_speakers(agent_side: str) -> Callable[[StreamOpened], tuple[Sequence[Speaker], SpeakerMap]]:
    """Audio fork: stereo is caller left, callee right; ``agent_side`` says which side the agent is on."""

    def speakers(opened: StreamOpened) -> tuple[Sequence[Speaker], SpeakerMap]:
        if opened.channels == 1:
            return ("mixed",), lambda _t, _c: "mixed"
        agent_index = 1 if agent_side == "callee" else 0
        return ("agent", "customer"), lambda _t, c: "agent" if c == agent_index else "customer"

    return speakers
