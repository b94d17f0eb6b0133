"""What people look at every day: my requests, what waits for me, a client's history, money left.

Read-only and scoped by the actor; the web pages and the API both call these, so a page and its
JSON twin can never disagree about who sees what.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Exists, Select, or_, select
from sqlalchemy.orm import Session

from approvals.consortium.actors import Actor
from approvals.consortium.clients import LEAD_READERS
from approvals.consortium.clients import can_see as can_see_client
from approvals.consortium.setup import envelope_account
from approvals.fiscal import Period, financial_year
from approvals.lifecycle.states import CHARGED_STATES, RequestState
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
from approvals.policy.approvers import delegators_for
from ledger.queries import get_balances
from ledger.values import Balance


def visible_requests(actor: Actor) -> Select[FundRequest]:
    """The list form of ``requests.can_see``: my NGOs' requests, and those waiting on me."""
    query = select(FundRequest).where(FundRequest.consortium_id == actor.consortium_id)
    if any(actor.has_lead(role) for role in LEAD_READERS):
        return query
    organisations = actor.organisations_with(Role.SF) | actor.organisations_with(Role.TL)
    waiting_on_me = _current_step_decided_by({actor.user_id})
    return query.where(or_(FundRequest.organisation_id.in_(organisations), waiting_on_me))


def _current_step_decided_by(user_ids: set[int]) -> Exists:
    """The request's current step (this round) lists one of these people as an approver."""
    return (
        select(StepApprover.id)
        .join(RequestStep, RequestStep.id == StepApprover.step_id)
        .where(
            RequestStep.request_id == FundRequest.id,
            RequestStep.round == FundRequest.round,
            RequestStep.position == FundRequest.current_step,
            StepApprover.user_id.in_(user_ids),
        )
        .exists()
    )


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
    query = (
        select(FundRequest)
        .where(
            FundRequest.consortium_id == actor.consortium_id,
            FundRequest.state == RequestState.PENDING,
            FundRequest.requester_id != actor.user_id,
            _current_step_decided_by(principals),
        )
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

    organisation_code: str
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
    return availabilities(session, [request])[request.id]


def availabilities(session: Session, requests: list[FundRequest]) -> dict[int, Availability]:
    """Each request's panel, by request id, in a handful of queries however many there are.

    An inbox shows a panel per waiting request; one query per figure per card was most of the
    page's time. The request itself never counts against its own caps (``excluding``)."""
    if not requests:
        return {}
    organisations = _organisations(session, {r.organisation_id for r in requests})
    categories = {
        c.id: c
        for c in session.execute(
            select(Category).where(Category.id.in_({r.category_id for r in requests}))
        ).scalars()
    }
    years = {financial_year(r.needed_by) for r in requests}
    charges = _charges(session, {r.client_id for r in requests}, years)
    return {
        r.id: _panel(
            organisations[r.organisation_id],
            charges,
            client_id=r.client_id,
            day=r.needed_by,
            category=categories.get(r.category_id),
            excluding=r.id,
        )
        for r in requests
    }


def client_availability(
    session: Session,
    *,
    client_id: int,
    organisation_id: int,
    day: date,
    category_id: int | None = None,
) -> Availability:
    """The envelope's money and the client's year so far (the caps' arithmetic of §3.5)."""
    organisation = _organisations(session, {organisation_id})[organisation_id]
    category = session.get(Category, category_id) if category_id else None
    charges = _charges(session, {client_id}, {financial_year(day)})
    return _panel(organisation, charges, client_id=client_id, day=day, category=category)


@dataclass(frozen=True)
class _Envelope:
    organisation_code: str
    code: str
    available: int
    held: int
    client_cap: int


@dataclass(frozen=True)
class _Charge:
    request_id: int
    client_id: int
    category_id: int
    needed_by: date
    cents: int


def _organisations(session: Session, ids: set[int]) -> dict[int, _Envelope]:
    rows = session.execute(
        select(Organisation.id, Organisation.code, Consortium.code, Consortium.client_fy_cap_cents)
        .join(Consortium, Consortium.id == Organisation.consortium_id)
        .where(Organisation.id.in_(ids))
    ).all()
    balances: dict[str, dict[str, Balance]] = {}
    for book in {book for _, _, book, _ in rows}:  # one consortium, in practice one book
        codes = [envelope_account(code) for _, code, in_book, _ in rows if in_book == book]
        balances[book] = get_balances(session, book, codes)
    found = {}
    for organisation_id, code, book, cap in rows:
        balance = balances[book][envelope_account(code)]
        found[organisation_id] = _Envelope(
            code, envelope_account(code), balance.available, balance.held_out, cap
        )
    return found


def _charges(session: Session, client_ids: set[int], years: set[Period]) -> list[_Charge]:
    """What the clients' charged requests in those financial years were approved for."""
    rows = session.execute(
        select(
            FundRequest.id,
            FundRequest.client_id,
            FundRequest.category_id,
            FundRequest.needed_by,
            FundRequest.approved_cents,
        ).where(
            FundRequest.client_id.in_(client_ids),
            FundRequest.state.in_(CHARGED_STATES),
            or_(*(FundRequest.needed_by.between(year.start, year.end) for year in years)),
        )
    ).all()
    return [
        _Charge(id_, client, category, day, cents or 0)
        for id_, client, category, day, cents in rows
    ]


def _panel(
    envelope: _Envelope,
    charges: list[_Charge],
    *,
    client_id: int,
    day: date,
    category: Category | None,
    excluding: int | None = None,
) -> Availability:
    year = financial_year(day)
    counted = [
        c
        for c in charges
        if c.client_id == client_id and c.request_id != excluding and c.needed_by in year
    ]
    return Availability(
        organisation_code=envelope.organisation_code,
        envelope_code=envelope.code,
        envelope_available=envelope.available,
        envelope_held=envelope.held,
        year_label=year.label,
        client_charged=sum(c.cents for c in counted),
        client_cap=envelope.client_cap,
        category_charged=(
            sum(c.cents for c in counted if c.category_id == category.id) if category else 0
        ),
        category_cap=category.client_fy_cap_cents if category else None,
    )


def names(session: Session, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    rows = session.execute(select(User.id, User.display_name).where(User.id.in_(user_ids)))
    return {user_id: name for user_id, name in rows}


def names_by_label(session: Session, labels: set[str]) -> dict[str, str]:
    """Display names for actor labels such as ``user:12`` (as the ledger and exports record
    who acted); other labels (``scheduler``, ``cli:alice``) are left for the caller to show."""
    ids = {int(label[5:]) for label in labels if label.startswith("user:") and label[5:].isdigit()}
    return {f"user:{user_id}": name for user_id, name in names(session, ids).items()}
