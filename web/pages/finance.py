"""``/finance``: the finance officer's day at the lead agency.

Requests awaiting payment with what was approved, paid and remains; recording a payment against
one (part or final), closing a part-paid request, supplier refunds, grant receipts, GST refunds,
the year-end return to the funder (FIN_MGR only), and suppliers with their second-person
verification. Every page is for the lead agency's FIN or FIN_MGR, scoped to their consortium.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from approvals.abn import display_abn
from approvals.consortium.actors import Actor
from approvals.consortium.catalogue import add_supplier as add_supplier_record
from approvals.consortium.catalogue import verify_supplier as verify_supplier_record
from approvals.errors import NotFoundError
from approvals.funds import receive_grant as receive_grant_funds
from approvals.funds import receive_gst_refund, return_to_funder
from approvals.lifecycle.payments import PaymentInput
from approvals.lifecycle.refunds import record_refund
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
    User,
)
from approvals.models.people import FINANCE
from ledger.errors import DomainError
from ledger.money import format_cents
from ledger.queries import get_balances
from ledger.values import Balance, Posted
from web.clock import now
from web.forms import FormReader
from web.refusals import Refusal, attempt, refusal, render_form
from web.session import actor, as_actor, db_session, local_today

blueprint = Blueprint("finance", __name__, url_prefix="/finance")
RECENT_PAYMENTS = 100


def _finance() -> Actor:
    who = actor()
    who.require_lead(*FINANCE, doing="open the finance pages")
    return who


def _posted_values() -> dict[str, str]:
    return {name: request.form.get(name, "") for name in request.form if name != "csrf_token"}


def _book(session: Session, who: Actor) -> str:
    return session.get_one(Consortium, who.consortium_id).code


def _balances(session: Session, who: Actor) -> dict[str, Balance]:
    return get_balances(session, _book(session, who), ("bank", "pool", "gst_receivable"))


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
    who = _finance()
    session = db_session()
    return render_template(
        "finance/home.html",
        awaiting=_details(session, who, *HOLDS_FUNDS),
        balances=_balances(session, who),
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
    who = _finance()
    session = db_session()
    item = _one_request(session, who, request_id)
    refused: Refusal | None = None
    values = {"paid_on": local_today(session, who.consortium_id).isoformat()}
    if request.method == "POST":
        values = _posted_values()
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
    who = _finance()
    session = db_session()
    item = _one_request(session, who, request_id)
    refused: Refusal | None = None
    values: dict[str, str] = {}
    if request.method == "POST":
        values = _posted_values()
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
    who = _finance()
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
    who = _finance()
    session = db_session()
    found = _payment_rows(session, who, payment_id=payment_id)
    if not found:
        raise NotFoundError("There is no such payment.")
    row = found[0]
    refused: Refusal | None = None
    values = {"received_on": local_today(session, who.consortium_id).isoformat()}
    if request.method == "POST":
        values = _posted_values()
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


Work = Callable[[Session, Actor], Posted]


def _ledger_form(
    template: str,
    read: Callable[[FormReader], tuple[Work, str]],
    **context: object,
) -> ResponseReturnValue:
    """GET shows the form; POST posts one ledger entry (once, thanks to a hidden key)."""
    who = actor()
    session = db_session()
    refused: Refusal | None = None
    values = {
        "on": local_today(session, who.consortium_id).isoformat(),
        "key": secrets.token_urlsafe(18),
    }
    if request.method == "POST":
        values = _posted_values()
        form = FormReader(request.form)
        work, done = read(form)
        posted = attempt(work, form)
        if isinstance(posted, Refusal):
            refused = posted
        else:
            if posted.replayed:
                flash("That was already recorded; nothing was posted twice.", "info")
            else:
                flash(done, "success")
            return redirect(url_for("finance.home"))
    return render_form(
        template,
        refused,
        balances=_balances(session, who),
        values=values,
        **context,
    )


Service = Callable[..., Posted]


def _reader(service: Service, done: str) -> Callable[[FormReader], tuple[Work, str]]:
    """Amount, date and memo for a one-entry service such as a grant receipt."""

    def read(form: FormReader) -> tuple[Work, str]:
        amount = form.money("amount", allow_zero=False)
        on = form.day("on")
        memo = form.text("memo", limit=300)
        token = form.optional_text("key", limit=40)
        key = f"web:{actor().user_id}:{token}" if token else None

        def work(session: Session, who: Actor) -> Posted:
            assert isinstance(on, date)  # noqa: S101 - form.check() refused a missing date
            return service(session, who, amount_cents=amount, on=on, memo=memo, key=key, now=now())

        return work, done.format(amount=format_cents(amount))

    return read


@blueprint.route("/grants/new", methods=["GET", "POST"])
@login_required
def grant() -> ResponseReturnValue:
    _finance()
    return _ledger_form(
        "finance/ledger_form.html",
        _reader(receive_grant_funds, "Recorded a grant receipt of {amount} into the pool."),
        heading="Record a grant receipt",
        explain="Money from the funder arrives in the bank and goes to the unallocated pool.",
        action=url_for("finance.grant"),
        button="Record grant receipt",
    )


@blueprint.route("/gst-refund", methods=["GET", "POST"])
@login_required
def gst_refund() -> ResponseReturnValue:
    _finance()
    return _ledger_form(
        "finance/ledger_form.html",
        _reader(receive_gst_refund, "Recorded a GST refund of {amount} from the tax office."),
        heading="Record a GST refund received",
        explain="The tax office's refund arrives in the bank and clears GST receivable.",
        action=url_for("finance.gst_refund"),
        button="Record GST refund",
    )


@blueprint.route("/return", methods=["GET", "POST"])
@login_required
def return_funds() -> ResponseReturnValue:
    actor().require_lead(Role.FIN_MGR, doing="return funds to the funder")
    return _ledger_form(
        "finance/ledger_form.html",
        _reader(return_to_funder, "Returned {amount} from the pool to the funder."),
        heading="Return unspent funds to the funder",
        explain="At year end, unspent money leaves the unallocated pool for the funder's bank "
        "account. Only the finance manager may do this.",
        action=url_for("finance.return_funds"),
        button="Return to funder",
    )


@blueprint.get("/suppliers")
@login_required
def suppliers() -> ResponseReturnValue:
    who = _finance()
    session = db_session()
    changer, verifier = aliased(User), aliased(User)
    rows = session.execute(
        select(Supplier, changer.display_name, verifier.display_name)
        .join(changer, changer.id == Supplier.changed_by_id)
        .outerjoin(verifier, verifier.id == Supplier.verified_by_id)
        .where(Supplier.consortium_id == who.consortium_id)
        .order_by(Supplier.verified_at.is_not(None), Supplier.name, Supplier.id)
    )
    return render_template(
        "finance/suppliers.html",
        rows=list(rows),
        me=who.user_id,
        abn=display_abn,
    )


@blueprint.route("/suppliers/new", methods=["GET", "POST"])
@login_required
def add_supplier() -> ResponseReturnValue:
    _finance()
    refused: Refusal | None = None
    values: dict[str, str] = {}
    if request.method == "POST":
        values = _posted_values()
        form = FormReader(request.form)
        name = form.text("name", limit=200)
        abn = form.optional_text("abn", limit=20)
        registered = form.flag("gst_registered")
        bsb = form.optional_text("bsb", limit=10)
        account_number = form.optional_text("account_number", limit=14)
        try:
            form.check()
            added = as_actor(
                lambda s, w: (
                    add_supplier_record(
                        s,
                        w,
                        name=name,
                        abn=abn,
                        gst_registered=registered,
                        bsb=bsb,
                        account_number=account_number,
                        now=now(),
                    ).name
                )
            )
        except DomainError as error:
            refused = refusal(error)
        else:
            flash(f"Added {added}. A second person must verify its details.", "success")
            return redirect(url_for("finance.suppliers"))
    return render_form("finance/supplier_new.html", refused, values=values)


@blueprint.route("/suppliers/<int:supplier_id>/verify", methods=["GET", "POST"])
@login_required
def verify_supplier(supplier_id: int) -> ResponseReturnValue:
    who = _finance()
    session = db_session()
    supplier = session.get(Supplier, supplier_id)
    if supplier is None or supplier.consortium_id != who.consortium_id:
        raise NotFoundError("There is no such supplier.")
    refused: Refusal | None = None
    if request.method == "POST" and supplier.verified_at is not None:
        flash(f"{supplier.name} is already verified.", "info")
        return redirect(url_for("finance.suppliers"))
    if request.method == "POST":
        try:
            name = as_actor(lambda s, w: verify_supplier_record(s, w, supplier_id, now=now()).name)
        except DomainError as error:
            refused = refusal(error)
        else:
            flash(f"Verified {name}'s ABN and bank details.", "success")
            return redirect(url_for("finance.suppliers"))
    changed_by = session.get_one(User, supplier.changed_by_id)
    verified_by = session.get(User, supplier.verified_by_id) if supplier.verified_by_id else None
    return render_form(
        "finance/supplier_verify.html",
        refused,
        supplier=supplier,
        abn=display_abn(supplier.abn) if supplier.abn else None,
        changed_by=changed_by.display_name,
        verified_by=verified_by.display_name if verified_by else None,
        mine=supplier.changed_by_id == who.user_id,
    )
