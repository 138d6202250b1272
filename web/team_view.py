"""What a team's page shows, as JSON: the team's trends and findings, each agent's findings with a link to
their page, and the kudos wall. Who may see what is decided here from the user alone (the routes look the
records up): the team page is for the team's coaches and leads and for admins, never for agents; the wall
alone (praise only) is for the team's agents too. No I/O here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from callcoach.live.accounts import User, sees_every_team
from callcoach.live.catalog import CallCatalog
from callcoach.live.errors import CallcoachError
from callcoach.live.kudos import Kudo, kudos
from callcoach.live.trends import CallEvents, trends
from callcoach.web.agent_view import trends_json

LEADS = ("lead", "admin")


def check_team_page(user: User, team: str) -> None:
    """Refuse a user who may not open ``team``'s page (an agent, or someone of another team)."""
    if user.role == "agent":
        raise CallcoachError(
            "forbidden_team",
            f"team {team!r}'s page is for its coaches and leads: your own page is /agent/{user.username}",
        )
    if not (sees_every_team(user.role) or team in user.teams):
        raise CallcoachError("forbidden_team", f"you are not in team {team!r}: ask an admin to add you to it")


def check_wall(user: User, team: str) -> None:
    """Refuse a user who may not see ``team``'s kudos wall: anyone outside the team (agents of the team
    may: it holds only praise, and it is made for the team meeting)."""
    if not (sees_every_team(user.role) or team in user.teams):
        raise CallcoachError("forbidden_team", f"you are not in team {team!r}: ask an admin to add you to it")


def check_may_feature(user: User, team: str) -> None:
    check_team_page(user, team)
    if user.role not in LEADS:
        raise CallcoachError(
            "not_a_lead", "only a lead (or an admin) features a moment on the wall: ask your lead"
        )


def team_calls(team: str, catalog: CallCatalog) -> list[CallEvents]:
    """The team's calls with their events so far, oldest first."""
    found = []
    for info in catalog.calls():
        record = catalog.get(info.call_id)
        if record is not None and info.team == team:
            found.append((info, tuple(record.log.events)))
    return sorted(found, key=lambda c: c[0].started_at)


def agents_of_team(team: str, users: Iterable[User]) -> list[User]:
    return [u for u in users if u.role == "agent" and team in u.teams]


def team_page(
    user: User,
    team: str,
    calls: Sequence[CallEvents],
    agents: Sequence[User],
    featured: tuple[str, str] | None,
    now: datetime,
    weeks: int,
) -> dict[str, Any]:
    """The whole team page for ``user`` (checked with :func:`check_team_page` first)."""
    today = now.date()
    per_agent = []
    for agent in agents:
        theirs = [c for c in calls if c[0].agent == agent.username]
        found = trends(theirs, today, weeks)
        per_agent.append(
            {
                "user": agent.username,
                "name": agent.display_name,
                "calls": found.calls,
                "recurring": dataclasses.asdict(found.recurring),
                "steady": dataclasses.asdict(found.steady),
            }
        )
    return {
        "team": team,
        "viewer": {"user": user.username, "role": user.role, "may_feature": user.role in LEADS},
        "trends": trends_json(trends(calls, today, weeks)),
        "agents": per_agent,
        "kudos": wall_json(user, calls, agents, featured, now),
    }


def wall_json(
    user: User,
    calls: Sequence[CallEvents],
    agents: Sequence[User],
    featured: tuple[str, str] | None,
    now: datetime,
) -> list[dict[str, Any]]:
    """The wall as ``user`` sees it: each moment ``playable`` when they may play its call's recording (an
    agent only their own), and to an agent without the call's title (only the praise is theirs to see)."""
    names = {a.username: a.display_name for a in agents}
    return [_kudo_json(user, k) for k in kudos(calls, names, featured, now)]


def on_wall(calls: Sequence[CallEvents], call_id: str, moment_id: str, now: datetime) -> bool:
    """Whether the moment is on the team's wall this week (only those can be featured)."""
    return any(
        (k.call_id, k.moment_id) == (call_id, moment_id) for k in kudos(calls, {}, None, now, limit=10**6)
    )


def _kudo_json(user: User, kudo: Kudo) -> dict[str, Any]:
    fields: dict[str, Any] = dataclasses.asdict(kudo)
    fields["playable"] = user.role != "agent" or kudo.agent == user.username
    if user.role == "agent" and kudo.agent != user.username:
        fields["title"] = ""
    return fields
