"""Where the coaching conversation is kept: a call's agent as assigned, the calls shared with their agents,
the agents' self-assessments, the commitments and each team's featured moment on its kudos wall, in the
same database as the calls (``calls.sqlite3``, or the ``--db`` PostgreSQL database).

Tables of their own beside :mod:`live.storage`'s (keyed by call id, as notes are: a recording has no row in
``calls``), so that both can be opened on one file. An assignment (by an admin or a lead, on the page or
with ``callcoach call assign``) wins over the agent the phone platform named. Whether an agent may open
the coach's sheet of a call is :func:`may_see_sheet`: only once the call was shared with them and they
have written their own assessment of it. The caller runs these blocking methods in an executor; a lock
keeps them one at a time.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass

from callcoach.live.accounts import User
from callcoach.live.coaching import Commitment, SelfAssessment
from callcoach.live.db import SqliteTuning, Target, upsert
from callcoach.live.events import CallInfo
from callcoach.live.migrations import Migration, open_migrated

_TABLES = (
    """CREATE TABLE IF NOT EXISTS call_agents (
        call_id TEXT PRIMARY KEY, agent TEXT NOT NULL, assigned_by TEXT NOT NULL, assigned_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS shares (
        call_id TEXT PRIMARY KEY, agent TEXT NOT NULL, shared_by TEXT NOT NULL, shared_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS self_assessments (
        call_id TEXT PRIMARY KEY, agent TEXT NOT NULL, went_well TEXT NOT NULL, do_differently TEXT NOT NULL,
        written_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS featured_moments (
        team TEXT PRIMARY KEY, call_id TEXT NOT NULL, moment_id TEXT NOT NULL, featured_by TEXT NOT NULL,
        featured_at TEXT NOT NULL
    )""",
)
_BY_AGENT = "CREATE INDEX IF NOT EXISTS commitments_by_agent ON commitments (agent, created_at)"
# Commitments are listed in the order they were made: by ``created_at``, then by insertion, which SQLite's
# implicit rowid gives; PostgreSQL has none, so its table has an identity column of that name (and its
# times sort as the strings they are, COLLATE "C", whatever the database's locale).
MIGRATIONS = (
    Migration(
        1,
        sqlite=(
            *_TABLES,
            """CREATE TABLE IF NOT EXISTS commitments (
                id TEXT PRIMARY KEY, agent TEXT NOT NULL, call_id TEXT NOT NULL, kind TEXT NOT NULL,
                behaviour TEXT NOT NULL, due_date TEXT NOT NULL, coach TEXT NOT NULL,
                created_at TEXT NOT NULL, accepted_at TEXT
            )""",
            _BY_AGENT,
        ),
        postgresql=(
            *_TABLES,
            """CREATE TABLE IF NOT EXISTS commitments (
                id TEXT PRIMARY KEY, agent TEXT NOT NULL, call_id TEXT NOT NULL, kind TEXT NOT NULL,
                behaviour TEXT NOT NULL, due_date TEXT NOT NULL, coach TEXT NOT NULL,
                created_at TEXT COLLATE "C" NOT NULL, accepted_at TEXT,
                rowid BIGINT GENERATED ALWAYS AS IDENTITY
            )""",
            _BY_AGENT,
        ),
    ),
)
_COMMITMENT = "id, agent, call_id, kind, behaviour, due_date, coach, created_at, accepted_at"
# One row per key: a later assignment, share, assessment or featured moment replaces the earlier one.
_ASSIGN = upsert("call_agents", ("call_id", "agent", "assigned_by", "assigned_at"), key=("call_id",))
_SHARE = upsert("shares", ("call_id", "agent", "shared_by", "shared_at"), key=("call_id",))
_ASSESS = upsert(
    "self_assessments", ("call_id", "agent", "went_well", "do_differently", "written_at"), key=("call_id",)
)
_FEATURE = upsert(
    "featured_moments", ("team", "call_id", "moment_id", "featured_by", "featured_at"), key=("team",)
)


@dataclass(frozen=True)
class AgentRecords:
    """What is kept of one agent's coaching conversations."""

    shared: frozenset[str]  # ids of the calls shared with them
    assessments: dict[str, SelfAssessment]  # by call id
    commitments: tuple[Commitment, ...]


def may_see_sheet(user: User, call: CallInfo, assessed: bool) -> bool:
    """Whether ``user`` may open the coach's sheet of ``call``: whoever may see the call, except that its
    agent must first have written their own assessment (``assessed``): their view comes before the coach's."""
    if not user.can_see(call.team, call.agent):
        return False
    return user.role != "agent" or assessed


class CoachingStore:
    """Open (creating and migrating the tables if needed) the coaching records in ``database``, a SQLite
    file's path (the calls' file) or a PostgreSQL URL."""

    def __init__(self, database: Target) -> None:
        # WAL, as Storage: two connections on one file.
        self._db = open_migrated(database, "coaching", MIGRATIONS, SqliteTuning(wal=True))
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def assign(self, call_id: str, agent: str, by: str, at: str) -> None:
        """``agent`` is the call's agent from now on, whatever the platform said."""
        with self._lock:
            self._db.execute(_ASSIGN, (call_id, agent, by, at))

    def assignments(self) -> dict[str, str]:
        """Every assigned call's agent, by call id."""
        with self._lock:
            return {
                str(call_id): str(agent)
                for call_id, agent in self._db.fetchall("SELECT call_id, agent FROM call_agents")
            }

    def share(self, call_id: str, agent: str, by: str, at: str) -> None:
        """The coach shares the call with its agent (again: the later share stands)."""
        with self._lock:
            self._db.execute(_SHARE, (call_id, agent, by, at))

    def shared_with(self, call_id: str) -> str | None:
        """The agent the call was shared with, if it was."""
        with self._lock:
            row = self._db.fetchone("SELECT agent FROM shares WHERE call_id = ?", (call_id,))
        return None if row is None else str(row[0])

    def write_self_assessment(self, assessment: SelfAssessment) -> None:
        """Keep the agent's own view of a call (a rewrite replaces it)."""
        a = assessment
        with self._lock:
            self._db.execute(_ASSESS, (a.call_id, a.agent, a.went_well, a.do_differently, a.written_at))

    def self_assessment(self, call_id: str) -> SelfAssessment | None:
        with self._lock:
            row = self._db.fetchone(
                "SELECT call_id, agent, went_well, do_differently, written_at FROM self_assessments"
                " WHERE call_id = ?",
                (call_id,),
            )
        return None if row is None else SelfAssessment(*row)

    def records_of(self, agent: str) -> AgentRecords:
        """Everything kept of one agent's coaching: the calls shared with them, their self-assessments and
        their commitments (oldest first)."""
        with self._lock:
            shared = self._db.fetchall("SELECT call_id FROM shares WHERE agent = ?", (agent,))
            assessed = self._db.fetchall(
                "SELECT call_id, agent, went_well, do_differently, written_at FROM self_assessments"
                " WHERE agent = ?",
                (agent,),
            )
        assessments = {row[0]: SelfAssessment(*row) for row in assessed}
        return AgentRecords(frozenset(r[0] for r in shared), assessments, tuple(self.commitments(agent)))

    def may_see_sheet(self, user: User, call: CallInfo) -> bool:
        """:func:`may_see_sheet`, with whether the call's agent has assessed it looked up here."""
        assessment = self.self_assessment(call.call_id)
        return may_see_sheet(user, call, assessment is not None and assessment.agent == user.username)

    def add_commitment(
        self, *, agent: str, call_id: str, kind: str, behaviour: str, due_date: str, coach: str, at: str
    ) -> Commitment:
        """Record a commitment (not yet accepted), under a new random id: an id says nothing of others."""
        commitment = Commitment(
            f"c-{secrets.token_hex(6)}", agent, call_id, kind, behaviour, due_date, coach, at
        )
        c = commitment
        with self._lock:
            self._db.execute(
                f"INSERT INTO commitments ({_COMMITMENT}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (c.id, c.agent, c.call_id, c.kind, c.behaviour, c.due_date, c.coach, c.created_at, None),
            )
        return commitment

    def commitment(self, commitment_id: str) -> Commitment | None:
        with self._lock:
            row = self._db.fetchone(f"SELECT {_COMMITMENT} FROM commitments WHERE id = ?", (commitment_id,))
        return None if row is None else Commitment(*row)

    def commitments(self, agent: str) -> list[Commitment]:
        """The agent's commitments, oldest first."""
        with self._lock:
            rows = self._db.fetchall(
                f"SELECT {_COMMITMENT} FROM commitments WHERE agent = ? ORDER BY created_at, rowid", (agent,)
            )
        return [Commitment(*row) for row in rows]

    def commitments_for_call(self, call_id: str) -> list[Commitment]:
        """The commitments made in the conversation about one call, oldest first (for its sheet)."""
        with self._lock:
            rows = self._db.fetchall(
                f"SELECT {_COMMITMENT} FROM commitments WHERE call_id = ? ORDER BY created_at, rowid",
                (call_id,),
            )
        return [Commitment(*row) for row in rows]

    def accept(self, commitment_id: str, at: str) -> Commitment | None:
        """The agent accepts the commitment (once: a second accept keeps the first time)."""
        with self._lock:
            self._db.execute(
                "UPDATE commitments SET accepted_at = ? WHERE id = ? AND accepted_at IS NULL",
                (at, commitment_id),
            )
        return self.commitment(commitment_id)

    def feature(self, team: str, call_id: str, moment_id: str, by: str, at: str) -> None:
        """The team's wall features this moment from now on (one per team: the later one stands)."""
        with self._lock:
            self._db.execute(_FEATURE, (team, call_id, moment_id, by, at))

    def featured(self, team: str) -> tuple[str, str] | None:
        """The (call id, moment id) the team's wall features, if a lead featured one."""
        with self._lock:
            row = self._db.fetchone("SELECT call_id, moment_id FROM featured_moments WHERE team = ?", (team,))
        return None if row is None else (str(row[0]), str(row[1]))
