"""What the coaching conversation keeps: an agent's self-assessment of a call, and the commitments made.

Plain frozen records, shared by the coaching sheet (which shows them beside the call's moments), the agent's
page and storage. Times are ISO 8601 strings in UTC, as a call's ``started_at`` is; a commitment's
``due_date`` is an ISO date.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class SelfAssessment:
    """The agent's own view of a call, written before they see the coach's sheet."""

    TYPE: ClassVar[str] = "self_assessment"
    call_id: str
    agent: str  # the agent's username
    went_well: str
    do_differently: str
    written_at: str


@dataclass(frozen=True)
class Commitment:
    """One behaviour the agent commits to practise, tied to a kind of moment, from a coaching conversation."""

    TYPE: ClassVar[str] = "commitment"
    id: str
    agent: str  # the agent's username
    call_id: str  # the call whose conversation it came from
    kind: str  # the alert kind it is about: "cold_reply_to_bad_news" (its praise twin follows it too)
    behaviour: str  # in the coach's words: "acknowledge bad news before business"
    due_date: str  # from when it is followed up
    coach: str  # who recorded it
    created_at: str
    accepted_at: str | None = None  # None until the agent accepts it
