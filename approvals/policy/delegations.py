"""Delegating one's approvals for a date range (docs/approvals.md#delegation).

The delegate must hold an approving role in the consortium; decisions record "by B on behalf of
A", and segregation of duties is checked against B, who actually decides. Delegations are not
transitive, and a pair that would hand approvals back and forth over the same days is refused.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from approvals import audit
from approvals.consortium.actors import Actor, load_actor
from approvals.consortium.people import belongs_to
from approvals.errors import InvalidInputError, NotAllowedError, NotFoundError
from approvals.models import Delegation, Role, User
from approvals.models.people import APPROVING


def delegate(
    session: Session,
    actor: Actor,
    *,
    to_user_id: int,
    starts_on: date,
    ends_on: date,
    from_user_id: int | None = None,
    now: datetime,
) -> Delegation:
    """``from_user_id`` (the actor unless ADMIN says otherwise) lets ``to_user_id`` decide."""
    principal = actor.user_id if from_user_id is None else from_user_id
    if principal != actor.user_id:
        actor.require_lead(Role.ADMIN, doing="arrange delegations for others")
    if principal == to_user_id:
        raise InvalidInputError("Delegate to someone else.", fields={"to_user_id": "Not yourself."})
    if ends_on < starts_on:
        raise InvalidInputError(
            "A delegation cannot end before it starts.",
            fields={"ends_on": "On or after the start."},
        )
    for someone in (principal, to_user_id):
        if session.get(User, someone) is None or not belongs_to(
            session, actor.consortium_id, someone
        ):
            raise NotFoundError("There is no such user.")
    delegate_roles = load_actor(
        session, user_id=to_user_id, consortium_id=actor.consortium_id, today=starts_on
    )
    if not any(delegate_roles.has(role) for role in APPROVING):
        raise NotAllowedError("The delegate must hold an approving role (TL, PM, FIN_MGR or CEO).")
    reverse = session.execute(
        select(Delegation.id).where(
            Delegation.from_user_id == to_user_id,
            Delegation.to_user_id == principal,
            Delegation.revoked_at.is_(None),
            Delegation.starts_on <= ends_on,
            Delegation.ends_on >= starts_on,
        )
    ).first()
    if reverse is not None:
        raise InvalidInputError(
            "That person already delegates to you for those days; "
            "delegations cannot go round in a circle.",
            fields={"to_user_id": "Would make a cycle."},
        )
    delegation = Delegation(
        consortium_id=actor.consortium_id,
        from_user_id=principal,
        to_user_id=to_user_id,
        starts_on=starts_on,
        ends_on=ends_on,
        created_by_id=actor.user_id,
        created_at=now,
    )
    session.add(delegation)
    session.flush()
    audit.record(
        session,
        consortium_id=actor.consortium_id,
        actor_id=actor.user_id,
        action="delegation.created",
        subject_type="delegation",
        subject_id=delegation.id,
        now=now,
        from_user=principal,
        to_user=to_user_id,
        starts_on=starts_on.isoformat(),
        ends_on=ends_on.isoformat(),
    )
    return delegation


def revoke(session: Session, actor: Actor, delegation_id: int, *, now: datetime) -> None:
    delegation = session.get(Delegation, delegation_id)
    if delegation is None or delegation.consortium_id != actor.consortium_id:
        raise NotFoundError("There is no such delegation.")
    if actor.user_id not in (
        delegation.from_user_id,
        delegation.created_by_id,
    ) and not actor.has_lead(Role.ADMIN):
        raise NotAllowedError("Only the person who delegated, or ADMIN, may revoke it.")
    if delegation.revoked_at is not None:
        return  # already revoked: nothing changes and nothing more is recorded
    delegation.revoked_at = now
    session.flush()
    audit.record(
        session,
        consortium_id=actor.consortium_id,
        actor_id=actor.user_id,
        action="delegation.revoked",
        subject_type="delegation",
        subject_id=delegation.id,
        now=now,
    )
