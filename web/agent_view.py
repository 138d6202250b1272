"""What an agent's page shows, as JSON: their calls (shared or not, self-assessed or not, whether the
sheet may be opened), their commitments with each one's follow-up, the notices a lead is given when a
behaviour has held or slipped, and their trends (moments per kind per week, the recurring opportunity and
the steady strength). Built from the catalog's calls and the agent's kept records; no I/O here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from callcoach.detectors.registry import KINDS
from callcoach.live.accounts import User
from callcoach.live.catalog import CallCatalog
from callcoach.live.coaching import Commitment
from callcoach.live.coaching_store import AgentRecords, may_see_sheet
from callcoach.live.events import CallInfo, Event
from callcoach.live.follow_up import PRAISE_TWINS, FollowUp, follow_up, is_later, tally
from callcoach.live.trends import WEEKS, Trends, trends

CallEvents = tuple[CallInfo, tuple[Event, ...]]
JUDGED = ("ready", "dropped")  # calls whose moments are all known: not live, not being analysed


def as_json(record: Any) -> dict[str, Any]:
    """A frozen record (a call, a self-assessment, a commitment) as JSON fields."""
    fields: dict[str, Any] = dataclasses.asdict(record)
    return fields


def agents_of(user: User, users: Iterable[User]) -> list[User]:
    """The agents ``user`` coaches (an agent: themselves)."""
    return [u for u in users if u.role == "agent" and user.coaches(u)]


def agent_calls(user: User, agent: User, catalog: CallCatalog) -> list[CallEvents]:
    """The agent's calls that ``user`` may see, oldest first, each with its events so far."""
    found = []
    for info in catalog.calls():
        record = catalog.get(info.call_id)
        if record is not None and info.agent == agent.username and user.can_see(info.team, info.agent):
            found.append((info, tuple(record.log.events)))
    return sorted(found, key=lambda c: c[0].started_at)


def agent_page(
    user: User,
    agent: User,
    calls: Sequence[CallEvents],
    records: AgentRecords,
    needed: int,
    today: date | None = None,
    weeks: int = WEEKS,
) -> dict[str, Any]:
    """The whole agent page for ``user`` (the agent, or one of their coaches); with ``today``, the trends
    of the ``weeks`` weeks up to it."""
    follow_ups = follow_ups_of(calls, records, needed)
    return {
        "agent": {"user": agent.username, "name": agent.display_name, "teams": list(agent.teams)},
        "viewer": {"user": user.username, "role": user.role},
        "follow_up_calls": needed,
        "kinds": [as_json(k) for k in KINDS.values()],
        "twins": PRAISE_TWINS,  # coach kind -> the praise kind of getting it right
        "calls": [_call_json(user, info, records) for info, _events in calls],
        "commitments": [_commitment_json(c, follow_ups.get(c.id)) for c in records.commitments],
        "notices": notices(agent, records.commitments, follow_ups),
        "trends": None if today is None else trends_json(trends(calls, today, weeks)),
    }


def trends_json(found: Trends) -> dict[str, Any]:
    """The trends of an agent's or a team's calls (:mod:`live.trends`) as JSON fields."""
    fields: dict[str, Any] = dataclasses.asdict(found)
    return fields


def notices(agent: User, commitments: Iterable[Commitment], follow_ups: dict[str, FollowUp]) -> list[Any]:
    """What the lead is told: each accepted commitment whose behaviour has held or slipped."""
    told = []
    for commitment in commitments:
        up = follow_ups.get(commitment.id)
        if up is None or up.status == "following":
            continue
        if up.status == "held":
            said = f"has held on the next {up.needed} call{_s(up.needed)}"
        else:
            slip = next(c for c in up.calls if c.call_id == up.slipped_on)
            said = f"slipped on {slip.title or slip.call_id} ({slip.coach} coach moment{_s(slip.coach)})"
        told.append(
            {
                "agent": agent.username,
                "commitment_id": commitment.id,
                "status": up.status,
                "message": f"{agent.display_name}: \u201c{commitment.behaviour}\u201d {said}",
            }
        )
    return told


def follow_ups_of(calls: Sequence[CallEvents], records: AgentRecords, needed: int) -> dict[str, FollowUp]:
    """Each accepted commitment's follow-up on the agent's ``calls``, by commitment id."""
    return {c.id: _follow_up(c, calls, needed) for c in records.commitments if c.accepted_at}


def _follow_up(commitment: Commitment, calls: Sequence[CallEvents], needed: int) -> FollowUp:
    later = [
        tally(info, events, commitment.kind)
        for info, events in calls
        if info.status in JUDGED and is_later(info, commitment)
    ]
    return follow_up(commitment, later, needed)


def _call_json(user: User, info: CallInfo, records: AgentRecords) -> dict[str, Any]:
    assessment = records.assessments.get(info.call_id)
    return {
        **as_json(info),
        "shared": info.call_id in records.shared,
        "self_assessment": None if assessment is None else as_json(assessment),
        "may_see_sheet": may_see_sheet(user, info, assessment is not None),
    }


def _commitment_json(commitment: Commitment, up: FollowUp | None) -> dict[str, Any]:
    kind = KINDS.get(commitment.kind)
    twin = PRAISE_TWINS.get(commitment.kind)
    return {
        **as_json(commitment),
        "label": kind.label if kind else commitment.kind,
        "follow_up": None if up is None else as_json(up),
        "twin": twin,
        "twin_label": KINDS[twin].label if twin in KINDS else None,
    }


def _s(n: int) -> str:
    return "" if n == 1 else "s"
