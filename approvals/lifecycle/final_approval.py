"""The last approval of a request: its caps, its expiry, and the reservation of its money.

Approved means reserved: the hold on the organisation's envelope for the client is posted in
the same transaction as the approval, or the approval fails and the request stays pending
(docs/approvals.md#lifecycle). The caps are checked under the client's row lock, so racing
final approvals for one client are checked one after another (docs/concurrency.md#the-rule).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select

from approvals.consortium.clients import client_account
from approvals.consortium.setup import envelope_account
from approvals.errors import CapExceededError, NotAllowedError
from approvals.fiscal import financial_year
from approvals.lifecycle.requests import Context, charge_of, request_label
from approvals.lifecycle.states import CHARGED_STATES, RequestState
from approvals.locks import locked
from approvals.models import Category, Client, FundRequest, Organisation, RequestException, Role
from approvals.zone import zone_of
from ledger.money import format_cents
from ledger.posting import post_entry
from ledger.values import JournalEntry, Reserve

S = RequestState


def final_approval(c: Context) -> None:
    """Approved: reserve the money now, in this transaction, or fail and stay pending."""
    request = c.request
    charge = charge_of(c)
    # INVARIANT: the client's row serialises their final approvals, so the caps are checked
    # against totals no other approval can change before this one commits (taken before the
    # book: docs/concurrency.md).
    client = locked(c.session, Client, request.client_id)
    assert client is not None  # noqa: S101 - a request's client is a foreign key
    _check_cap(c, charge)
    organisation = c.session.get_one(Organisation, request.organisation_id)
    category = c.session.get_one(Category, request.category_id)
    expires_at = _expiry(c)
    posted = post_entry(
        c.session,
        JournalEntry(
            c.consortium.code,
            c.today,
            f"{request_label(request)} approved: {category.name} for {client.code}",
            c.actor.label,
            (
                Reserve(
                    envelope_account(organisation.code),
                    client_account(client.code),
                    charge,
                    expires_at=expires_at,
                    category=category.code,
                    request_id=request.id,
                ),
            ),
            idempotency_key=f"request:{request.id}:reserve:{request.round}",
        ),
        now=c.now,
    )
    request.state, request.approved_cents, request.approved_at = S.APPROVED.value, charge, c.now
    request.reservation_id, request.expires_at, request.current_step = (
        posted.transfer_ids[0],
        expires_at,
        None,
    )


def _client_total(c: Context, *, category_id: int | None = None) -> int:
    """What the client's other approved requests this financial year have charged or hold."""
    request = c.request
    year = financial_year(request.needed_by)
    query = select(func.coalesce(func.sum(FundRequest.approved_cents), 0)).where(
        FundRequest.client_id == request.client_id,
        FundRequest.id != request.id,
        FundRequest.state.in_(CHARGED_STATES),
        FundRequest.needed_by.between(year.start, year.end),
    )
    if category_id is not None:
        query = query.where(FundRequest.category_id == category_id)
    return int(c.session.execute(query).scalar_one() or 0)


def _check_cap(c: Context, charge: int) -> None:
    """The client's yearly cap and the category's, with the consortium's STOP or WARN."""
    year = financial_year(c.request.needed_by).label
    category = c.session.get_one(Category, c.request.category_id)
    over: list[str] = []
    total = _client_total(c) + charge
    if total > c.consortium.client_fy_cap_cents:
        over.append(
            f"This would bring the client's {year} total to {format_cents(total)}, "
            f"over the cap of {format_cents(c.consortium.client_fy_cap_cents)}."
        )
    if category.client_fy_cap_cents is not None:
        in_category = _client_total(c, category_id=category.id) + charge
        if in_category > category.client_fy_cap_cents:
            over.append(
                f"{category.name} for this client in {year} would reach "
                f"{format_cents(in_category)}, over the category's cap of "
                f"{format_cents(category.client_fy_cap_cents)}."
            )
    if not over:
        return
    message = " ".join(over)
    if c.consortium.cap_mode == "stop" or not c.override_reason:
        hint = " A PM may override with a reason." if c.consortium.cap_mode == "warn" else ""
        raise CapExceededError(message + hint)
    if not c.actor.has_lead(Role.PM):
        raise NotAllowedError("Only a PM may override a cap.")
    c.session.add(
        RequestException(
            request_id=c.request.id,
            kind="cap_override",
            recorded_by_id=c.actor.user_id,
            at=c.now,
            detail=f"{message} Override: {c.override_reason[:500]}",
        )
    )


def _expiry(c: Context) -> datetime:
    """The later of N days after approval and the grace days after needed-by (local day end)."""
    zone = zone_of(c.consortium)
    after_approval = c.now + timedelta(days=c.consortium.approval_expiry_days)
    last_day = c.request.needed_by + timedelta(days=c.consortium.needed_by_grace_days)
    after_needed = datetime.combine(last_day, time(23, 59, 59), tzinfo=zone).astimezone(UTC)
    return max(after_approval, after_needed)
