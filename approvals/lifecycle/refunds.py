"""Supplier refunds: money back into the bank, through the client, to the NGO's envelope.

INVARIANT: refunds on a payment never add up to more than it charged, and each is one row with
one ledger transaction, recorded once per reference. The payment's row lock orders its refunds
(docs/concurrency.md); migration 0009 holds the same rules in the database.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from approvals import audit
from approvals.consortium.actors import Actor
from approvals.consortium.clients import client_account
from approvals.consortium.setup import envelope_account
from approvals.errors import DuplicateError, InvalidInputError, NotFoundError
from approvals.lifecycle.requests import request_label
from approvals.locks import locked
from approvals.models import (
    Category,
    Client,
    Consortium,
    FundRequest,
    Organisation,
    Payment,
    Refund,
)
from approvals.models.people import FINANCE
from ledger.money import format_cents
from ledger.posting import post_entry
from ledger.values import JournalEntry, Transfer, TransferKind


def record_refund(
    session: Session,
    actor: Actor,
    payment_id: int,
    *,
    amount_cents: int,
    received_on: date,
    reference: str,
    now: datetime,
) -> Refund:
    """A supplier refund: back into the bank, through the client, to the NGO's envelope."""
    actor.require_lead(*FINANCE, doing="record refunds")
    # INVARIANT: the payment's row serialises its refunds, so what is left to refund is read
    # after every earlier refund committed (docs/concurrency.md); a trigger checks it again.
    payment = locked(session, Payment, payment_id)
    request = session.get(FundRequest, payment.request_id) if payment is not None else None
    if payment is None or request is None or request.consortium_id != actor.consortium_id:
        raise NotFoundError("There is no such payment.")
    _check_refund(session, payment, amount_cents, received_on, reference)
    consortium = session.get_one(Consortium, actor.consortium_id)
    client = client_account(session.get_one(Client, request.client_id).code)
    envelope = envelope_account(session.get_one(Organisation, request.organisation_id).code)
    category = session.get_one(Category, request.category_id).code
    posted = post_entry(
        session,
        JournalEntry(
            consortium.code,
            received_on,
            f"Refund on {request_label(request)} invoice {payment.invoice_number}: "
            f"{reference.strip()}"[:500],
            actor.label,
            (
                Transfer(
                    "bank",
                    client,
                    amount_cents,
                    TransferKind.REFUND,
                    category=category,
                    request_id=request.id,
                ),
                Transfer(
                    client,
                    envelope,
                    amount_cents,
                    TransferKind.REFUND,
                    category=category,
                    request_id=request.id,
                ),
            ),
            idempotency_key=_refund_key(session, payment),
        ),
        now=now,
    )
    refund = Refund(
        payment_id=payment.id,
        amount_cents=amount_cents,
        received_on=received_on,
        reference=reference.strip(),
        ledger_transaction_id=posted.transaction_id,
        recorded_by_id=actor.user_id,
        recorded_at=now,
    )
    session.add(refund)
    session.flush()
    audit.record(
        session,
        consortium_id=actor.consortium_id,
        actor_id=actor.user_id,
        action="payment.refunded",
        subject_type="payment",
        subject_id=payment.id,
        now=now,
        amount_cents=amount_cents,
    )
    return refund


def _refund_key(session: Session, payment: Payment) -> str:
    """The ledger key of the payment's next refund: one refund row, one ledger transaction.

    (The key once held the reference, truncated, and a refund recorded twice replayed one
    transaction under two rows; the payment's lock makes the count exact.)"""
    count = session.execute(
        select(func.count()).select_from(Refund).where(Refund.payment_id == payment.id)
    ).scalar_one()
    return f"payment:{payment.id}:refund:{int(count) + 1}"


def _check_refund(
    session: Session, payment: Payment, amount_cents: int, received_on: date, reference: str
) -> None:
    """Refuse a refund that is malformed, recorded already, or more than is left to refund."""
    refunded = session.execute(
        select(func.coalesce(func.sum(Refund.amount_cents), 0)).where(
            Refund.payment_id == payment.id
        )
    ).scalar_one()
    problems: dict[str, str] = {}
    if not isinstance(amount_cents, int) or isinstance(amount_cents, bool) or amount_cents <= 0:
        problems["amount_cents"] = "The refund must be more than $0.00."
    elif amount_cents + int(refunded) > payment.charged_cents:
        problems["amount_cents"] = (
            f"At most {format_cents(payment.charged_cents - int(refunded))} is left to refund "
            "on this payment."
        )
    if not 0 < len((reference or "").strip()) <= 100:
        problems["reference"] = "The bank reference or credit note number."
    if not isinstance(received_on, date) or isinstance(received_on, datetime):
        problems["received_on"] = "The date the money arrived."
    if problems:
        raise InvalidInputError(
            "The refund was not recorded: " + " ".join(problems.values()), fields=problems
        )
    seen = select(Refund.id).where(
        Refund.payment_id == payment.id, Refund.reference == reference.strip()
    )
    if session.execute(seen).first() is not None:
        raise DuplicateError(
            f"Refund {reference.strip()} on invoice {payment.invoice_number} is already recorded.",
            fields={"reference": "Already recorded."},
        )
