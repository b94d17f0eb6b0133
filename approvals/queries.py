"""What people look at every day: my requests, what waits for me, a client's history, money left.

Read-only and scoped by the actor; the web pages and the API both call these, so a page and its
JSON twin can never disagree about who sees what.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from approvals.actors import Actor
from approvals.chain import delegators_for
from approvals.clients import LEAD_READERS
from approvals.clients import can_see as can_see_client
from approvals.fiscal import financial_year
from approvals.models import (
    Category,
    Client,
    Consortium,
    FundRequest,
    Organisation,
    RequestStep,
    Role,
    StepApprover,
    User,
)
from approvals.setup import envelope_account
from ledger.queries import get_balance

CHARGED = ("approved", "part_paid", "paid")


def visible_requests(actor: Actor) -> Select[FundRequest]:
    """The list form of ``requests.can_see``: my NGOs' requests, and those waiting on me."""
    query = select(FundRequest).where(FundRequest.consortium_id == actor.consortium_id)
    if any(actor.has_lead(role) for role in LEAD_READERS):
        return query
    organisations = actor.organisations_with(Role.SF) | actor.organisations_with(Role.TL)
    waiting_on_me = (
        select(StepApprover.id)
        .join(RequestStep, RequestStep.id == StepApprover.step_id)
        .where(
            StepApprover.user_id == actor.user_id,
            RequestStep.request_id == FundRequest.id,
            RequestStep.round == FundRequest.round,
            RequestStep.position == FundRequest.current_step,
        )
        .exists()
    )
    return query.where(or_(FundRequest.organisation_id.in_(organisations), waiting_on_me))


def page(
    session: Session,
    query: Select[FundRequest],
    *,
    before: int | None = None,
    limit: int = 50,
) -> tuple[list[FundRequest], int | None]:
    """Newest first, keyset-paged by id: one page and the id to continue before (or None)."""
    if before is not None:
        query = query.where(FundRequest.id < before)
    rows = list(session.execute(query.order_by(FundRequest.id.desc()).limit(limit + 1)).scalars())
    more = rows[limit - 1].id if len(rows) > limit else None
    return rows[:limit], more


def my_requests(actor: Actor) -> Select[FundRequest]:
    return visible_requests(actor).where(FundRequest.requester_id == actor.user_id)


def awaiting(session: Session, actor: Actor, today: date) -> list[FundRequest]:
    """Pending requests whose current step the actor (or someone they stand in for) decides."""
    principals = {actor.user_id} | delegators_for(
        session, actor.user_id, actor.consortium_id, today
    )
    step = and_(
        RequestStep.request_id == FundRequest.id,
        RequestStep.round == FundRequest.round,
        RequestStep.position == FundRequest.current_step,
    )
    query = (
        select(FundRequest)
        .join(RequestStep, step)
        .join(StepApprover, StepApprover.step_id == RequestStep.id)
        .where(
            FundRequest.consortium_id == actor.consortium_id,
            FundRequest.state == "pending",
            StepApprover.user_id.in_(principals),
            FundRequest.requester_id != actor.user_id,
        )
        .distinct()
        .order_by(FundRequest.needed_by, FundRequest.id)
    )
    return list(session.execute(query).scalars())


def client_history(session: Session, actor: Actor, client: Client) -> list[FundRequest]:
    """Every request for this client, whichever NGO raised it, newest first."""
    if not can_see_client(actor, client):
        return []
    query = (
        select(FundRequest)
        .where(FundRequest.client_id == client.id)
        .order_by(FundRequest.id.desc())
        .limit(100)
    )
    return list(session.execute(query).scalars())


@dataclass(frozen=True)
class Availability:
    """The figures an approver weighs: the envelope, the client's year and the category's cap."""

    envelope_code: str
    envelope_available: int
    envelope_held: int
    year_label: str
    client_charged: int
    client_cap: int
    category_charged: int
    category_cap: int | None

    @property
    def client_left(self) -> int:
        return self.client_cap - self.client_charged


def availability(session: Session, request: FundRequest) -> Availability:
    return client_availability(
        session,
        client_id=request.client_id,
        organisation_id=request.organisation_id,
        day=request.needed_by,
        category_id=request.category_id,
        excluding=request.id,
    )


def client_availability(
    session: Session,
    *,
    client_id: int,
    organisation_id: int,
    day: date,
    category_id: int | None = None,
    excluding: int | None = None,
) -> Availability:
    """The envelope's money and the client's year so far (the caps' arithmetic of §3.5)."""
    organisation = session.get_one(Organisation, organisation_id)
    consortium = session.get_one(Consortium, organisation.consortium_id)
    code = envelope_account(organisation.code)
    balance = get_balance(session, consortium.code, code)
    year = financial_year(day)

    def charged(*conditions: Any) -> int:
        total = session.execute(
            select(func.coalesce(func.sum(FundRequest.approved_cents), 0)).where(
                FundRequest.client_id == client_id,
                FundRequest.id != (excluding or -1),
                FundRequest.state.in_(CHARGED),
                FundRequest.needed_by.between(year.start, year.end),
                *conditions,
            )
        ).scalar_one()
        return int(total or 0)

    category = session.get(Category, category_id) if category_id else None
    return Availability(
        envelope_code=code,
        envelope_available=balance.available,
        envelope_held=balance.held_out,
        year_label=year.label,
        client_charged=charged(),
        client_cap=consortium.client_fy_cap_cents,
        category_charged=charged(FundRequest.category_id == category_id) if category else 0,
        category_cap=category.client_fy_cap_cents if category else None,
    )


def names(session: Session, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    rows = session.execute(select(User.id, User.display_name).where(User.id.in_(user_ids)))
    return {user_id: name for user_id, name in rows}
