"""The payments queue: requests holding funds, paying one (part or final), closing a part-paid one.

Each row shows what was approved, paid and remains, so finance pays against what is left.
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
from approvals.lifecycle.payments import PaymentInput
from approvals.lifecycle.requests import request_label
from approvals.lifecycle.states import HOLDS_FUNDS, TRANSITIONS, Action, RequestState
from approvals.lifecycle.transitions import transition
from approvals.models import (
    Category,
    Client,
    Consortium,
    FundRequest,
    Organisation,
    Payment,
    Refund,
    Role,
    Supplier,
)
from ledger.errors import DomainError
from ledger.money import format_cents
from web.clock import now
from web.forms import FormReader
from web.pages.finance.blueprint import blueprint
from web.pages.finance.scope import balances, posted_values, require_finance
from web.refusals import Refusal, refusal, render_form
from web.session import as_actor, db_session, local_today


@dataclass(frozen=True)
class Awaiting:
    request: FundRequest
    label: str
    client: str
    organisation: str
    category: str
    supplier: Supplier | None

    @property
    def approved(self) -> int:
        return self.request.approved_cents or 0

    @property
    def paid(self) -> int:
        return self.request.paid_cents

    @property
    def remaining(self) -> int:
        return max(self.approved - self.paid, 0)

    @property
    def payable(self) -> bool:
        return (RequestState(self.request.state), Action.PAY) in TRANSITIONS

    @property
    def closable(self) -> bool:
        return (RequestState(self.request.state), Action.CLOSE) in TRANSITIONS


def _details(
    session: Session, who: Actor, *states: str, request_id: int | None = None
) -> list[Awaiting]:
    query = (
        select(FundRequest, Client.code, Organisation.code, Category.name, Supplier)
        .join(Client, Client.id == FundRequest.client_id)
        .join(Organisation, Organisation.id == FundRequest.organisation_id)
        .join(Category, Category.id == FundRequest.category_id)
        .outerjoin(Supplier, Supplier.id == FundRequest.supplier_id)
        .where(FundRequest.consortium_id == who.consortium_id)
        .order_by(FundRequest.needed_by, FundRequest.number)
    )
    if states:
        query = query.where(FundRequest.state.in_(states))
    if request_id is not None:
        query = query.where(FundRequest.id == request_id)
    return [
        Awaiting(row[0], request_label(row[0]), row[1], row[2], row[3], row[4])
        for row in session.execute(query)
    ]


def _one_request(session: Session, who: Actor, request_id: int) -> Awaiting:
    found = _details(session, who, request_id=request_id)
    if not found:
        raise NotFoundError("There is no such request.")
    return found[0]


@blueprint.get("/")
@login_required
def home() -> ResponseReturnValue:
    who = require_finance()
    session = db_session()
    return render_template(
        "finance/home.html",
        awaiting=_details(session, who, *HOLDS_FUNDS),
        balances=balances(session, who),
        today=local_today(session, who.consortium_id),
        may_return=who.has_lead(Role.FIN_MGR),
    )


def _payments_of(session: Session, request_id: int) -> list[tuple[Payment, int]]:
    refunded = (
        select(func.coalesce(func.sum(Refund.amount_cents), 0))
        .where(Refund.payment_id == Payment.id)
        .scalar_subquery()
    )
    return [
        (payment, int(total))
        for payment, total in session.execute(
            select(Payment, refunded).where(Payment.request_id == request_id).order_by(Payment.id)
        )
    ]


@blueprint.route("/requests/<int:request_id>/pay", methods=["GET", "POST"])
@login_required
def pay(request_id: int) -> ResponseReturnValue:
    who = require_finance()
    session = db_session()
    item = _one_request(session, who, request_id)
    refused: Refusal | None = None
    values = {"paid_on": local_today(session, who.consortium_id).isoformat()}
    if request.method == "POST":
        values = posted_values()
        form = FormReader(request.form)
        invoice = form.text("invoice_number", limit=40)
        inc_gst = form.money("inc_gst_cents", allow_zero=False)
        gst = form.money("gst_cents", allow_zero=True)
        paid_on = form.day("paid_on")
        final = form.flag("final")
        try:
            form.check()
            assert paid_on is not None  # noqa: S101 - form.check() refused a missing date
            payment = PaymentInput(invoice, inc_gst, gst, paid_on, final=final)
            state = as_actor(
                lambda s, w: (
                    transition(s, w, request_id, Action.PAY, now=now(), payment=payment).state
                )
            )
        except DomainError as error:
            refused = refusal(error)
        else:
            flash(
                f"Recorded invoice {invoice} ({format_cents(inc_gst)}) against {item.label}; "
                f"it is now {state.replace('_', ' ')}.",
                "success",
            )
            return redirect(url_for("finance.home"))
    return render_form(
        "finance/pay.html",
        refused,
        item=item,
        payments=_payments_of(session, item.request.id),
        consortium=session.get_one(Consortium, who.consortium_id),
        payable=item.payable,
        values=values,
    )


@blueprint.route("/requests/<int:request_id>/close", methods=["GET", "POST"])
@login_required
def close(request_id: int) -> ResponseReturnValue:
    who = require_finance()
    session = db_session()
    item = _one_request(session, who, request_id)
    refused: Refusal | None = None
    values: dict[str, str] = {}
    if request.method == "POST":
        values = posted_values()
        form = FormReader(request.form)
        reason = form.text("reason", limit=1000)
        try:
            form.check()
            as_actor(
                lambda s, w: transition(s, w, request_id, Action.CLOSE, now=now(), reason=reason)
            )
        except DomainError as error:
            refused = refusal(error)
        else:
            flash(
                f"{item.label} is closed; {format_cents(item.remaining)} no longer held for it.",
                "success",
            )
            return redirect(url_for("finance.home"))
    return render_form(
        "finance/close.html",
        refused,
        item=item,
        closable=item.closable,
        values=values,
    )
