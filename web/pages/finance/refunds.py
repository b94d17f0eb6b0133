"""Recent payments (searched by invoice, supplier or request) and supplier refunds against one.

A refund puts the money back in the NGO's envelope; what remains refundable is shown per payment.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from approvals.consortium.actors import Actor
from approvals.errors import NotFoundError
from approvals.lifecycle.refunds import record_refund
from approvals.lifecycle.requests import request_label
from approvals.models import FundRequest, Payment, Refund, Supplier
from ledger.errors import DomainError
from ledger.money import format_cents
from web.clock import now
from web.forms import FormReader
from web.pages.finance.blueprint import blueprint
from web.pages.finance.scope import posted_values, require_finance
from web.refusals import Refusal, refusal, render_form
from web.session import as_actor, db_session, local_today

RECENT_PAYMENTS = 100


@dataclass(frozen=True)
class PaymentRow:
    payment: Payment
    label: str
    supplier: str
    refunded: int

    @property
    def refundable(self) -> int:
        return max(self.payment.charged_cents - self.refunded, 0)


def _payment_rows(
    session: Session, who: Actor, *, payment_id: int | None = None, search: str = ""
) -> list[PaymentRow]:
    refunded = (
        select(func.coalesce(func.sum(Refund.amount_cents), 0))
        .where(Refund.payment_id == Payment.id)
        .scalar_subquery()
    )
    query = (
        select(Payment, FundRequest, Supplier.name, refunded)
        .join(FundRequest, FundRequest.id == Payment.request_id)
        .join(Supplier, Supplier.id == Payment.supplier_id)
        .where(FundRequest.consortium_id == who.consortium_id)
        .order_by(Payment.paid_on.desc(), Payment.id.desc())
        .limit(RECENT_PAYMENTS)
    )
    if payment_id is not None:
        query = query.where(Payment.id == payment_id)
    if search:
        pattern = f"%{search.replace('%', '').replace('_', '')}%"
        number = search.upper().removeprefix("R-")
        condition = Payment.invoice_number.ilike(pattern) | Supplier.name.ilike(pattern)
        if number.isascii() and number.isdigit() and len(number) < 10:
            condition = condition | (FundRequest.number == int(number))
        query = query.where(condition)
    return [
        PaymentRow(payment, request_label(fund_request), name, int(total))
        for payment, fund_request, name, total in session.execute(query)
    ]


@blueprint.get("/payments")
@login_required
def payments() -> ResponseReturnValue:
    who = require_finance()
    search = (request.args.get("q") or "").strip()[:60]
    return render_template(
        "finance/payments.html",
        rows=_payment_rows(db_session(), who, search=search),
        search=search,
        limit=RECENT_PAYMENTS,
    )


@blueprint.route("/payments/<int:payment_id>/refund", methods=["GET", "POST"])
@login_required
def refund(payment_id: int) -> ResponseReturnValue:
    who = require_finance()
    session = db_session()
    found = _payment_rows(session, who, payment_id=payment_id)
    if not found:
        raise NotFoundError("There is no such payment.")
    row = found[0]
    refused: Refusal | None = None
    values = {"received_on": local_today(session, who.consortium_id).isoformat()}
    if request.method == "POST":
        values = posted_values()
        form = FormReader(request.form)
        amount = form.money("amount_cents", allow_zero=False)
        received_on = form.day("received_on")
        reference = form.text("reference", limit=100)
        try:
            form.check()
            assert received_on is not None  # noqa: S101 - form.check() refused a missing date
            as_actor(
                lambda s, w: record_refund(
                    s,
                    w,
                    payment_id,
                    amount_cents=amount,
                    received_on=received_on,
                    reference=reference,
                    now=now(),
                )
            )
        except DomainError as error:
            refused = refusal(error)
        else:
            flash(
                f"Recorded a refund of {format_cents(amount)} on {row.label} "
                f"invoice {row.payment.invoice_number}; it is back in the NGO's envelope.",
                "success",
            )
            return redirect(url_for("finance.payments"))
    refunds = session.execute(
        select(Refund).where(Refund.payment_id == payment_id).order_by(Refund.id)
    ).scalars()
    return render_form(
        "finance/refund.html",
        refused,
        row=row,
        refunds=list(refunds),
        values=values,
    )
