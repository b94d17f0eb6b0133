"""Who is acting, with which roles in which organisations, on a given day.

Every service takes an :class:`Actor` and checks it; nothing trusts the caller to have checked.
Roles come from memberships valid on the day, within the actor's own consortium only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from approvals.errors import NotAllowedError, NotFoundError
from approvals.models import Consortium, Membership, Organisation, OrgKind, Role, User


@dataclass(frozen=True)
class Actor:
    user_id: int
    email: str
    consortium_id: int
    lead_organisation_id: int
    roles: frozenset[tuple[int, Role]]  # (organisation id, role)
    system: bool = False  # the scheduler's own actor: timers only, never a person

    @property
    def label(self) -> str:
        """How the ledger records who acted."""
        return f"user:{self.user_id}"

    def has(self, role: Role, organisation_id: int | None = None) -> bool:
        return any(
            r is role and (organisation_id is None or org == organisation_id)
            for org, r in self.roles
        )

    def has_lead(self, role: Role) -> bool:
        return self.has(role, self.lead_organisation_id)

    def organisations_with(self, role: Role) -> frozenset[int]:
        return frozenset(org for org, r in self.roles if r is role)

    def require(self, *roles: Role, organisation_id: int | None = None, doing: str) -> None:
        """Refuse unless the actor holds one of ``roles`` (in ``organisation_id`` if given)."""
        if not any(self.has(role, organisation_id) for role in roles):
            names = " or ".join(role.value for role in roles)
            raise NotAllowedError(f"Only {names} may {doing}.")

    def require_lead(self, *roles: Role, doing: str) -> None:
        self.require(*roles, organisation_id=self.lead_organisation_id, doing=doing)


def load_actor(session: Session, *, user_id: int, consortium_id: int, today: date) -> Actor:
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise NotAllowedError("This account is not active.")
    lead_of_consortium = (
        select(Organisation.id)
        .where(
            Organisation.consortium_id == consortium_id,
            Organisation.kind == OrgKind.LEAD.value,
        )
        .scalar_subquery()
    )
    # One round trip for the roles and the lead agency: every request loads an actor.
    found = session.execute(
        select(lead_of_consortium, Membership.organisation_id, Membership.role)
        .select_from(Consortium)
        .outerjoin(
            Membership,
            and_(
                Membership.user_id == user_id,
                Membership.valid_from <= today,
                or_(Membership.valid_to.is_(None), Membership.valid_to >= today),
                Membership.organisation_id.in_(
                    select(Organisation.id).where(
                        Organisation.consortium_id == consortium_id,
                        Organisation.active.is_(True),
                    )
                ),
            ),
        )
        .where(Consortium.id == consortium_id)
    ).all()
    lead = found[0][0] if found else None
    if lead is None:
        raise NotFoundError("There is no such consortium.")
    rows = [(org, role) for _, org, role in found if org is not None]
    return Actor(
        user.id, user.email, consortium_id, lead, frozenset((org, Role(role)) for org, role in rows)
    )


def system_email(consortium_code: str) -> str:
    return f"system@{consortium_code.lower()}.flexpool.invalid"


def system_actor(session: Session, consortium_id: int) -> Actor:
    """The scheduler acting for a consortium: it expires, reminds and archives, nothing else."""
    consortium = session.get(Consortium, consortium_id)
    if consortium is None:
        raise NotFoundError("There is no such consortium.")
    user = session.execute(
        select(User).where(User.email == system_email(consortium.code))
    ).scalar_one()
    lead = session.execute(
        select(Organisation.id).where(
            Organisation.consortium_id == consortium_id, Organisation.kind == "lead"
        )
    ).scalar_one()
    return Actor(user.id, user.email, consortium_id, lead, frozenset(), system=True)
