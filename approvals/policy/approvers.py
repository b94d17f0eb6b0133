"""Who may decide a step: approver specs resolved to people, less those excluded by SoD.

Resolution happens when a step activates (docs/approvals.md#policy), against memberships valid that
day. Segregation of duties (docs/approvals.md#segregation-of-duties): the requester never approves
their own request, and one person decides at most one step of a request; ADMIN and AUDITOR are never
approvers, even if they also hold an approver's role. Where that leaves fewer people than the
step's quorum needs (nobody, or fewer than N of an N-of-M step), the step's escalation target joins
whoever is left.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from approvals.models import Delegation, FundRequest, Membership, Organisation, Role, User
from approvals.models.people import NEVER_APPROVE
from approvals.policy.rules import parse_approver


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
    return _named(session, specs, request.consortium_id, request.organisation_id, on)


def _named(
    session: Session, specs: list[str], consortium_id: int, requesting_org: int | None, on: date
) -> set[int]:
    people: set[int] = set()
    lead = lead_organisation_id(session, consortium_id)
    for spec in specs:
        role, scope, user_id = parse_approver(spec)
        if user_id is not None:
            user = session.get(User, user_id)
            if user is not None and user.active:
                people.add(user_id)
        elif role is not None:
            organisation_id = requesting_org if scope == "requesting_org" else lead
            if organisation_id is not None:
                people |= _holders(session, role, organisation_id, on)
    return people


def known_approvers(
    session: Session, consortium_id: int, specs: tuple[str, ...], on: date
) -> set[int] | None:
    """Who could decide a step named by ``specs`` on ``on``, whatever the request (ADMIN and
    AUDITOR left out, as at activation); None when a spec names the requesting NGO's people,
    who are known only once a request reaches the step."""
    if any(parse_approver(spec)[1] == "requesting_org" for spec in specs):
        return None
    people = _named(session, list(specs), consortium_id, None, on)
    return people - never_approvers(session, consortium_id, on)


def excluded(request: FundRequest, deciders_of_other_steps: set[int]) -> set[int]:
    """SoD 1 and 2: the requester, and anyone who already decided another step."""
    return {request.requester_id} | deciders_of_other_steps


def never_approvers(session: Session, consortium_id: int, on: date) -> set[int]:
    """SoD 4: ADMIN and AUDITOR of the consortium that day, whatever other role they hold."""
    rows = session.execute(
        select(Membership.user_id)
        .join(Organisation, Organisation.id == Membership.organisation_id)
        .where(
            Organisation.consortium_id == consortium_id,
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
    needed: int = 1,
) -> tuple[set[int], str]:
    """The step's approvers and how they were found (``"policy"`` or ``"escalation"``).

    ``needed`` is the fewest people who can complete the step (its quorum). When SoD leaves
    fewer, the escalation target joins those left: with nobody left, it replaces them.
    """
    barred = excluded(request, deciders_of_other_steps) | never_approvers(
        session, request.consortium_id, on
    )
    people = resolve(session, specs, request, on) - barred
    if len(people) >= needed or escalate_to is None:
        return people, "policy"
    return people | (resolve(session, [escalate_to], request, on) - barred), "escalation"


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
