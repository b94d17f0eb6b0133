"""Decisions recorded before audit events carried their digest are still checked, more weakly."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from approvals import audit
from approvals.lifecycle.records import verify_records
from approvals.models import Decision
from tests.support.world import Desk


def _legacy_decision(session: Session, desk: Desk, request_id: int) -> int:
    """A withdrawal written the way transitions wrote it before digests (same moment, no keys)."""
    world = desk.world
    decision = Decision(
        request_id=request_id, step_id=None, round=1, action="withdraw", from_state="pending",
        to_state="withdrawn", actor_id=world.users["sf1"], on_behalf_of_id=None, reason=None,
        amount_cents=None, at=world.now,
    )  # fmt: skip
    session.add(decision)
    session.flush()
    audit.record(
        session,
        consortium_id=world.consortium_id,
        actor_id=world.users["sf1"],
        action="request.withdraw",
        subject_type="request",
        subject_id=request_id,
        now=world.now,
        to="withdrawn",
    )
    return decision.id


def test_a_decision_from_before_digests_passes_with_its_event_and_fails_without(
    desk: Desk, dialect: str
) -> None:
    request_id = desk.submitted()
    with desk.world.factory.begin() as session:
        legacy_id = _legacy_decision(session, desk, request_id)
    with desk.world.factory() as session:
        assert verify_records(session, desk.world.consortium_id) == []
    with desk.world.factory.begin() as session:
        if dialect == "postgresql":
            session.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            session.execute(text("DROP TRIGGER decisions_no_update"))
        session.execute(
            text("UPDATE decisions SET actor_id = :tl WHERE id = :id"),
            {"tl": desk.world.users["tl1"], "id": legacy_id},
        )
    with desk.world.factory() as session:
        findings = verify_records(session, desk.world.consortium_id)
        assert session.execute(select(Decision.id).where(Decision.id == legacy_id)).scalar()
    assert [f.message for f in findings] == [
        f"Decision {legacy_id} (withdraw on R-0001) is not in the audit trail."
    ]
