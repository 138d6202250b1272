"""The coaching records: kept in the calls' database beside Storage's tables, and there after a reopen
(on SQLite and on PostgreSQL); who may open a call's sheet."""

from __future__ import annotations

from pathlib import Path

from callcoach.live.accounts import User
from callcoach.live.coaching import SelfAssessment
from callcoach.live.coaching_store import CoachingStore, may_see_sheet
from callcoach.live.events import CallInfo
from callcoach.live.storage import Storage
from tests.helpers.postgres import DatabaseAt

AT = "2026-12-01T09:00:00+00:00"
BO = User(1, "bo", "Bo", "agent", ("north",))
CY = User(2, "cy", "Cy", "agent", ("north",))
LEAD = User(3, "di", "Di", "lead", ("north",))
OTHER_TEAM = User(4, "ed", "Ed", "coach", ("south",))


def call(agent: str = "bo", team: str = "north") -> CallInfo:
    return CallInfo("call-1", "Call 1", "twilio", AT, 30.0, False, "ready", agent=agent, team=team)


def test_everything_survives_a_reopen_beside_the_calls(tmp_path: Path, database: DatabaseAt) -> None:
    db = database("calls.sqlite3")
    calls = Storage(db, tmp_path / "recordings")  # the same file the server's calls are in
    calls.save(call(), [], None)
    store = CoachingStore(db)
    store.assign("call-1", "bo", "di", AT)
    store.share("call-1", "bo", "di", AT)
    store.write_self_assessment(SelfAssessment("call-1", "bo", "I stayed calm", "say sorry first", AT))
    made = store.add_commitment(
        agent="bo",
        call_id="call-1",
        kind="cold_reply_to_bad_news",
        behaviour="acknowledge bad news",
        due_date="2026-12-02",
        coach="di",
        at=AT,
    )
    store.close()
    calls.close()

    store = CoachingStore(db)
    assert store.assignments() == {"call-1": "bo"}
    assert store.shared_with("call-1") == "bo" and store.shared_with("call-2") is None
    assert store.self_assessment("call-1") == SelfAssessment(
        "call-1", "bo", "I stayed calm", "say sorry first", AT
    )
    assert store.commitments("bo") == [made] and made.accepted_at is None
    assert store.commitments_for_call("call-1") == [made] and store.commitments_for_call("call-2") == []
    accepted = store.accept(made.id, "2026-12-01T10:00:00+00:00")
    assert accepted is not None and accepted.accepted_at == "2026-12-01T10:00:00+00:00"
    again = store.accept(made.id, "2026-12-03T10:00:00+00:00")  # a second accept keeps the first time
    assert again == accepted
    records = store.records_of("bo")
    assert records.shared == {"call-1"} and set(records.assessments) == {"call-1"}
    assert records.commitments == (accepted,)
    assert store.records_of("cy").commitments == ()
    store.close()
    assert [c.info.call_id for c in Storage(db, tmp_path / "recordings").load_all()] == ["call-1"]


def test_commitment_ids_are_not_guessable(database: DatabaseAt) -> None:
    store = CoachingStore(database("calls.sqlite3"))
    made = {
        store.add_commitment(
            agent="bo", call_id="c", kind="silence", behaviour="b", due_date="2026-12-02", coach="di", at=AT
        ).id
        for _ in range(20)
    }
    assert len(made) == 20 and all(len(i) > 10 for i in made)


def test_the_agent_sees_the_sheet_only_after_assessing_the_call() -> None:
    assert not may_see_sheet(BO, call(), assessed=False)
    assert may_see_sheet(BO, call(), assessed=True)
    assert not may_see_sheet(CY, call(), assessed=True)  # another agent's call: never
    assert may_see_sheet(LEAD, call(), assessed=False)  # the coach needs no self-assessment
    assert not may_see_sheet(OTHER_TEAM, call(), assessed=True)


def test_the_store_looks_up_whether_the_agent_assessed(database: DatabaseAt) -> None:
    store = CoachingStore(database("calls.sqlite3"))
    assert not store.may_see_sheet(BO, call())
    store.write_self_assessment(SelfAssessment("call-1", "bo", "calm", "sorry first", AT))
    assert store.may_see_sheet(BO, call())
    assert not store.may_see_sheet(CY, call(agent="cy"))


def test_each_team_features_one_moment_the_latest_and_keeps_it(database: DatabaseAt) -> None:
    db = database("calls.sqlite3")
    store = CoachingStore(db)
    assert store.featured("north") is None
    store.feature("north", "call-1", "empathy_shown-1", "di", AT)
    store.feature("north", "call-2", "turned_around-1", "di", AT)  # replaces the first
    store.feature("south", "call-9", "ownership-1", "lu", AT)
    store.close()
    again = CoachingStore(db)
    assert again.featured("north") == ("call-2", "turned_around-1")
    assert again.featured("south") == ("call-9", "ownership-1")
    again.close()
