"""Paying suppliers against approved requests: part payments, tolerance, GST, and closing.

A payment posts the request's reservation for what is paid, re-reserves any remainder (a hold
can be resolved only once), and pays the supplier from the client's funds in one ledger
transaction. When the consortium claims GST credits, funds are charged ex-GST and the GST goes
to ``gst_receivable``. Paying more than approved is allowed only within the tolerance (the
larger of 5% and $20 by default), and is recorded as an exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from approvals.consortium.clients import client_account
from approvals.consortium.setup import envelope_account
from approvals.errors import DuplicateError, InvalidInputError, NotAllowedError
from approvals.gst import GstBasis, charge_to_funds, plausible_gst
from approvals.lifecycle.permissions import lead_roles
from approvals.lifecycle.requests import Context, request_label, require_reason
from approvals.lifecycle.states import Action, RequestState
from approvals.locks import locked
from approvals.models import (
    Category,
    Client,
    Decision,
    Organisation,
    Payment,
    RequestException,
    Supplier,
)
from approvals.zone import local_day
from ledger.models import transfers
from ledger.money import format_cents
from ledger.posting import post_entry
from ledger.values import (
    JournalEntry,
    Leg,
    PostPending,
    Reserve,
    Transfer,
    TransferKind,
    VoidPending,
)


@dataclass(frozen=True)
class PaymentInput:
    invoice_number: str
    inc_gst_cents: int
    gst_cents: int
    paid_on: date
    final: bool = False  # settles the request: any approved remainder is released


def _held(c: Context) -> int:
    """What the request's current reservation holds."""
    amount = c.session.execute(
        select(transfers.c.amount).where(transfers.c.id == c.request.reservation_id)
    ).scalar()
    return int(amount or 0)


def _check_segregation(c: Context) -> None:
    """SoD 3: whoever records the payment did not request or approve it."""
    involved = c.session.execute(
        select(Decision.actor_id, Decision.on_behalf_of_id).where(
            Decision.request_id == c.request.id, Decision.action == "approve"
        )
    ).all()
    people = {c.request.requester_id} | {a for a, _ in involved} | {b for _, b in involved if b}
    if c.actor.user_id in people:
        raise NotAllowedError(
            "You requested or approved this request, so someone else must record its payment."
        )


def _validate(c: Context, payment: PaymentInput, supplier: Supplier | None) -> None:
    problems: dict[str, str] = {}
    number = (payment.invoice_number or "").strip()
    if not 0 < len(number) <= 40:
        problems["invoice_number"] = "The supplier's invoice number (1-40 characters)."
    if (
        not isinstance(payment.inc_gst_cents, int)
        or isinstance(payment.inc_gst_cents, bool)
        or payment.inc_gst_cents <= 0
    ):
        problems["inc_gst_cents"] = "The amount paid must be more than $0.00."
    elif (
        not isinstance(payment.gst_cents, int)
        or isinstance(payment.gst_cents, bool)
        or payment.gst_cents < 0
    ):
        problems["gst_cents"] = "GST cannot be negative."
    elif supplier is not None:
        problem = plausible_gst(
            payment.inc_gst_cents, payment.gst_cents, registered=supplier.gst_registered
        )
        if problem:
            problems["gst_cents"] = problem
    raised_on = local_day(c.consortium, c.request.created_at)
    if not isinstance(payment.paid_on, date) or not raised_on <= payment.paid_on <= c.today:
        problems["paid_on"] = (
            "The date it was paid: today or earlier, "
            f"not before the request was raised ({raised_on:%d/%m/%Y})."
        )
    if supplier is None:
        problems["supplier_id"] = "Set the request's supplier before paying it."
    if problems:
        raise InvalidInputError(
            "The payment was not recorded: " + " ".join(problems.values()), fields=problems
        )


def pay(c: Context) -> tuple[int | None, int | None]:
    c.actor.require_lead(*lead_roles(Action.PAY), doing="record payments")
    payment: PaymentInput | None = c.payment
    if payment is None:
        raise InvalidInputError("Give the payment's details.", fields={"payment": "Required."})
    _check_segregation(c)
    request = c.request
    # INVARIANT: the supplier's row serialises payments of its invoices, so the duplicate check
    # below sees every invoice paid before it (docs/concurrency.md: after the request).
    supplier = locked(c.session, Supplier, request.supplier_id) if request.supplier_id else None
    _validate(c, payment, supplier)
    assert supplier is not None  # noqa: S101 - _validate refused a missing supplier
    invoice = payment.invoice_number.strip()
    seen = select(Payment.id).where(
        Payment.supplier_id == supplier.id, Payment.invoice_number == invoice
    )
    if c.session.execute(seen).first() is not None:
        raise DuplicateError(
            f"Invoice {invoice} from {supplier.name} has already been paid.",
            fields={"invoice_number": "Already paid."},
        )
    basis = GstBasis(c.consortium.gst_basis)
    charged = charge_to_funds(payment.inc_gst_cents, payment.gst_cents, basis)
    approved = request.approved_cents or 0
    tolerance = max(
        approved * c.consortium.payment_tolerance_basis_points // 10_000,
        c.consortium.payment_tolerance_min_cents,
    )
    if request.paid_cents + charged > approved + tolerance:
        raise InvalidInputError(
            f"{format_cents(request.paid_cents + charged)} would exceed the approved "
            f"{format_cents(approved)} by more than the tolerance of {format_cents(tolerance)}; "
            "it needs a new approval.",
            fields={"inc_gst_cents": "More than approved."},
        )
    legs, settles, re_reserved = _legs(c, payment, charged)
    posted = post_entry(
        c.session,
        JournalEntry(
            c.consortium.code,
            payment.paid_on,
            f"Pay {request_label(request)}: invoice {invoice} "
            f"{format_cents(payment.inc_gst_cents)} inc. {format_cents(payment.gst_cents)} GST",
            c.actor.label,
            tuple(legs),
            idempotency_key=payment_key(request.id, supplier.id, invoice),
        ),
        now=c.now,
    )
    c.session.add(
        Payment(
            request_id=request.id,
            supplier_id=supplier.id,
            invoice_number=invoice,
            inc_gst_cents=payment.inc_gst_cents,
            gst_cents=payment.gst_cents,
            charged_cents=charged,
            paid_on=payment.paid_on,
            ledger_transaction_id=posted.transaction_id,
            recorded_by_id=c.actor.user_id,
            recorded_at=c.now,
        )
    )
    if re_reserved is not None:
        request.reservation_id = posted.transfer_ids[re_reserved]
    request.paid_cents += charged
    request.state = (RequestState.PAID if settles else RequestState.PART_PAID).value
    if request.paid_cents > approved:
        c.session.add(
            RequestException(
                request_id=request.id,
                kind="paid_above_approved",
                recorded_by_id=c.actor.user_id,
                at=c.now,
                detail=f"Paid {format_cents(request.paid_cents)} against "
                f"{format_cents(approved)} approved.",
            )
        )
    c.session.flush()
    return None, None


def payment_key(request_id: int, supplier_id: int, invoice: str) -> str:
    """The ledger key of a payment: one invoice of one supplier paid once on a request (verify
    recomputes it to tie each payment row to its transaction)."""
    return f"request:{request_id}:payment:{supplier_id}:{invoice}"[:100]


def _legs(c: Context, payment: PaymentInput, charged: int) -> tuple[list[Leg], bool, int | None]:
    """The ledger legs of a payment, whether it settles the request, and where a re-reserve is."""
    request = c.request
    envelope = envelope_account(c.session.get_one(Organisation, request.organisation_id).code)
    client = client_account(c.session.get_one(Client, request.client_id).code)
    category = c.session.get_one(Category, request.category_id).code
    held = _held(c)
    legs: list[Leg] = []
    re_reserved: int | None = None
    if charged <= held:
        legs.append(PostPending(request.reservation_id or 0, charged))
        rest = held - charged
        settles = payment.final or rest == 0
        if not settles:
            re_reserved = len(legs)
            legs.append(
                Reserve(
                    envelope,
                    client,
                    rest,
                    expires_at=request.expires_at,
                    category=category,
                    request_id=request.id,
                )
            )
    else:
        legs.append(PostPending(request.reservation_id or 0, held))
        legs.append(
            Transfer(
                envelope,
                client,
                charged - held,
                TransferKind.PAYMENT,
                category=category,
                request_id=request.id,
            )
        )
        settles = True
    legs.append(
        Transfer(
            client, "bank", charged, TransferKind.PAYMENT, category=category, request_id=request.id
        )
    )
    if GstBasis(c.consortium.gst_basis) is GstBasis.CLAIMS_CREDITS and payment.gst_cents:
        legs.append(
            Transfer(
                "gst_receivable",
                "bank",
                payment.gst_cents,
                TransferKind.PAYMENT,
                category=category,
                request_id=request.id,
            )
        )
    return legs, settles, re_reserved


def close(c: Context) -> tuple[int | None, int | None]:
    """Part-paid and nothing more to come: release what is still reserved.

    Finance closes by hand; the scheduler closes a part-paid request whose approval expired.
    """
    if not c.actor.system:
        c.actor.require_lead(*lead_roles(Action.CLOSE), doing="close part-paid requests")
    require_reason(c, "close it")
    request = c.request
    post_entry(
        c.session,
        JournalEntry(
            c.consortium.code,
            c.today,
            f"{request_label(request)} closed: {c.reason}"[:500],
            c.actor.label,
            (VoidPending(request.reservation_id or 0),),
            idempotency_key=f"request:{request.id}:close",
        ),
        now=c.now,
    )
    request.state = RequestState.PAID.value
    return None, None
