"""Who may decide a step: approver specs resolved to people, less those excluded by SoD.

Resolution happens when a step activates (docs/approvals.md#policy), against memberships valid that
day. Segregation of duties (docs/approvals.md#segregation-of-duties): the requester never approves
their own request, and one person decides at most one step of a request; ADMIN and AUDITOR are never
approvers, even if they also hold an approver's role. Where that leaves nobody, the step's
escalation target is resolved instead.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from approvals.models import Delegation, FundRequest, Membership, Organisation, Role, User
from approvals.models.people import NEVER_APPROVE
from approvals.policy import parse_approver


def _holders(session: Session, role: Role, organisation_id: int, on: date) -> set[int]:
    rows = session.execute(
        select(Membership.user_id)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.organisation_id == organisation_id,
            Membership.role == role.value,
            Membership.valid_from <= on,
            or_(Membership.valid_to.is_(None), Membership.valid_to >= on),
            User.active.is_(True),
        )
    ).scalars()
    return set(rows)


def lead_organisation_id(session: Session, consortium_id: int) -> int:
    return int(
        session.execute(
            select(Organisation.id).where(
                Organisation.consortium_id == consortium_id, Organisation.kind == "lead"
            )
        ).scalar_one()
    )


def resolve(session: Session, specs: list[str], request: FundRequest, on: date) -> set[int]:
    """Everyone named by ``specs`` for this request on this day, before any exclusion."""
    people: set[int] = set()
    lead = lead_organisation_id(session, request.consortium_id)
    for spec in specs:
        role, scope, user_id = parse_approver(spec)
        if user_id is not None:
            user = session.get(User, user_id)
            if user is not None and user.active:
                people.add(user_id)
        elif role is not None:
            people |= _holders(
                session, role, request.organisation_id if scope == "requesting_org" else lead, on
            )
    return people


def excluded(request: FundRequest, deciders_of_other_steps: set[int]) -> set[int]:
    """SoD 1 and 2: the requester, and anyone who already decided another step."""
    return {request.requester_id} | deciders_of_other_steps


def never_approvers(session: Session, request: FundRequest, on: date) -> set[int]:
    """SoD 4: ADMIN and AUDITOR of the consortium that day, whatever other role they hold."""
    rows = session.execute(
        select(Membership.user_id)
        .join(Organisation, Organisation.id == Membership.organisation_id)
        .where(
            Organisation.consortium_id == request.consortium_id,
            Membership.role.in_([role.value for role in NEVER_APPROVE]),
            Membership.valid_from <= on,
            or_(Membership.valid_to.is_(None), Membership.valid_to >= on),
        )
    ).scalars()
    return set(rows)


def eligible(
    session: Session,
    request: FundRequest,
    specs: list[str],
    escalate_to: str | None,
    deciders_of_other_steps: set[int],
    on: date,
) -> tuple[set[int], str]:
    """The step's approvers and how they were found (``"policy"`` or ``"escalation"``)."""
    barred = excluded(request, deciders_of_other_steps) | never_approvers(session, request, on)
    people = resolve(session, specs, request, on) - barred
    if people or escalate_to is None:
        return people, "policy"
    return resolve(session, [escalate_to], request, on) - barred, "escalation"


def delegators_for(session: Session, delegate_id: int, consortium_id: int, on: date) -> set[int]:
    """Whose approvals ``delegate_id`` may give today (delegations are not transitive)."""
    rows = session.execute(
        select(Delegation.from_user_id).where(
            Delegation.to_user_id == delegate_id,
            Delegation.consortium_id == consortium_id,
            Delegation.starts_on <= on,
            Delegation.ends_on >= on,
            Delegation.revoked_at.is_(None),
        )
    ).scalars()
    return set(rows)
