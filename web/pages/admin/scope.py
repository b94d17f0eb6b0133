"""What every admin page shares: the ADMIN check, and who and what is in the consortium.

Every admin page reads only its own consortium; these helpers are where that scope is drawn.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from approvals.consortium.actors import Actor
from approvals.models import (
    ApprovalPolicy,
    AuditEvent,
    Delegation,
    Membership,
    Organisation,
    PolicyStatus,
    Role,
    User,
)
from web.session import actor, local_today

ROLES = [role.value for role in Role]


def require_admin() -> Actor:
    who = actor()
    who.require_lead(Role.ADMIN, doing="use the admin pages")
    return who


def local_day(session: Session, who: Actor) -> date:
    return local_today(session, who.consortium_id)


def organisations_of(session: Session, consortium_id: int) -> list[Organisation]:
    return list(
        session.execute(
            select(Organisation)
            .where(Organisation.consortium_id == consortium_id)
            .order_by(Organisation.kind, Organisation.code)
        ).scalars()
    )


def organisation_options(session: Session, consortium_id: int) -> list[tuple[int, str]]:
    return [
        (o.id, f"{o.code} · {o.name}") for o in organisations_of(session, consortium_id) if o.active
    ]


def in_scope(consortium_id: int) -> Any:
    """Users who hold a role in the consortium (any dates) or were created in it."""
    members = (
        select(Membership.user_id)
        .join(Organisation, Organisation.id == Membership.organisation_id)
        .where(Organisation.consortium_id == consortium_id)
    )
    created = select(AuditEvent.subject_id).where(
        AuditEvent.consortium_id == consortium_id,
        AuditEvent.action == "user.created",
        AuditEvent.subject_type == "user",
    )
    return or_(User.id.in_(members), User.id.in_(created))


def users_of(session: Session, consortium_id: int, *, active_only: bool = False) -> list[User]:
    query = select(User).where(in_scope(consortium_id))
    if active_only:
        query = query.where(User.active.is_(True))
    return list(session.execute(query.order_by(User.display_name, User.id)).scalars())


def names_of(session: Session, consortium_id: int) -> dict[int, str]:
    return {u.id: f"{u.display_name} ({u.email})" for u in users_of(session, consortium_id)}


def published(session: Session, consortium_id: int) -> ApprovalPolicy | None:
    return session.execute(
        select(ApprovalPolicy).where(
            ApprovalPolicy.consortium_id == consortium_id,
            ApprovalPolicy.status == PolicyStatus.PUBLISHED.value,
        )
    ).scalar()


def delegation_state(delegation: Delegation, today: date) -> str:
    if delegation.revoked_at is not None:
        return "revoked"
    if delegation.ends_on < today:
        return "ended"
    if delegation.starts_on > today:
        return "upcoming"
    return "active"
