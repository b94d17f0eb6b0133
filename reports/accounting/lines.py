"""The period's bank and GST movements as summarised general-ledger lines (see ``accounting``).

Mapping, from the ledger's money flows (docs/ledger.md#money-flows) to the lead agency's chart:

* a supplier payment debits the expense account of the request's category (``Category.gl_code``)
  for what was charged to funds (ex-GST when the consortium claims GST credits, inc-GST when it
  does not), debits GST paid for the recoverable GST, and credits the bank for the inc-GST total;
* a supplier refund is the reverse: debit the bank, credit the category's expense account (the
  ledger does not adjust GST on a refund, so neither do these lines);
* a grant receipt debits the bank and credits grant income; unspent money returned to the
  funder debits "returned to funder" and credits the bank; a GST refund from the tax office
  debits the bank and credits GST paid. A reversal of one of these lands on the same accounts.

Payments and refunds come from their own tables (joined to request, category and partner); the
other movements from ledger transfers of the bank or ``gst_receivable`` that are not a payment's
or refund's legs. Allocations and moves between the pool and the partners' envelopes,
reservations and their release are internal to the pool: they never touch the general ledger.
A movement of the bank or GST that none of these rules maps (a reversed supplier refund, an
adjustment such as a bank fee or interest) gets the account ``ledger:<code>``, which the
pre-flight rejects by row: such a period fails loudly instead of being posted wrongly (never as
grant income), and finance posts that movement by hand. The rules are one table keyed by every
transfer kind, ``GL_ROLES``; a kind missing from it raises ``UnmappedKindError``.

Tax names: a payment with recoverable GST is ``GST on Expenses``; one without takes its
category's tax name, except that ``GST on Expenses`` becomes ``GST Free Expenses`` (the supplier
charged none); when the consortium claims no GST credits every expense line is ``BAS Excluded``.
Bank, GST, grant and return lines are ``BAS Excluded``. A refund takes its payment's tax name.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from approvals.errors import InvalidInputError
from approvals.fiscal import Period
from approvals.gst import GstBasis
from approvals.models import Category, Consortium, FundRequest, Organisation, Payment, Refund
from ledger.models import accounts, books, transfers
from ledger.values import POSTED_PHASES, TransferKind, rule_for
from reports.accounting.rows import AccountingMap, Line, day_text

BATCH = 2_000
BANK, GST, POOL = "bank", "gst_receivable", "pool"


class _Key(NamedTuple):
    """A summary line; sorting the keys orders the file (pool lines first, then by partner)."""

    partner: str
    rank: int  # expense, GST, bank
    account: str
    tax: str
    description: str
    debit: bool


def build_lines(session: Session, book: str, period: Period, chart: AccountingMap) -> list[Line]:
    """The period's journal, summarised, in the order it is written (Xero tax names)."""
    basis = GstBasis(_consortium(session, book).gst_basis)
    totals: dict[_Key, int] = {}
    for key, cents in _supplier_flows(session, book, period, chart, basis):
        totals[key] = totals.get(key, 0) + cents
    for key, cents in _pool_flows(session, book, period, chart):
        totals[key] = totals.get(key, 0) + cents
    narration, day = f"flexpool {book} {period.label}", day_text(period.end)
    return [
        Line(narration, day, key.description, key.account, key.tax, cents, key.partner)
        for key, cents in sorted(totals.items())
    ]


def _consortium(session: Session, book: str) -> Consortium:
    found = session.execute(select(Consortium).where(Consortium.code == book)).scalar()
    if found is None:
        raise InvalidInputError(
            f"There is no consortium {book!r}.", fields={"consortium": "Use a consortium code."}
        )
    return found


def _expense_tax(category_tax: str, gst: int, basis: GstBasis, chart: AccountingMap) -> str:
    if basis is GstBasis.NO_CREDITS:
        return chart.bas_excluded
    if gst:
        return chart.gst_on_expenses
    return chart.gst_free_expenses if category_tax == chart.gst_on_expenses else category_tax


class _Flow(NamedTuple):
    inc_gst: int
    charged: int
    gl_code: str
    tax_code: str
    category: str
    partner: str
    amount: int  # what was charged for a payment, what came back for a refund
    refund: bool


def _supplier_flows(
    session: Session, book: str, period: Period, chart: AccountingMap, basis: GstBasis
) -> Iterator[tuple[_Key, int]]:
    """Signed cents per summary key, for each payment and refund of the period."""
    bank, excluded = chart.bank, chart.bas_excluded
    for flow in _supplier_rows(session, book, period):
        gst = flow.inc_gst - flow.charged  # what went to gst_receivable (none without credits)
        tax = _expense_tax(flow.tax_code, gst, basis, chart)
        partner, gl = flow.partner, flow.gl_code
        if flow.refund:
            yield (
                _Key(partner, 0, gl, tax, f"{flow.category}: supplier refunds", False),
                -flow.amount,
            )
            yield _Key(partner, 2, bank, excluded, "Supplier refunds", True), flow.amount
            continue
        yield _Key(partner, 0, gl, tax, f"{flow.category}: supplier payments", True), flow.charged
        if gst:
            yield _Key(partner, 1, chart.gst_paid, excluded, "GST paid to suppliers", True), gst
        yield _Key(partner, 2, bank, excluded, "Supplier payments", False), -flow.inc_gst


def _supplier_rows(session: Session, book: str, period: Period) -> Iterator[_Flow]:
    base = (
        select(
            Payment.inc_gst_cents,
            Payment.charged_cents,
            Category.gl_code,
            Category.tax_code,
            Category.name,
            Organisation.code,
        )
        .join(FundRequest, FundRequest.id == Payment.request_id)
        .join(Category, Category.id == FundRequest.category_id)
        .join(Organisation, Organisation.id == FundRequest.organisation_id)
        .join(Consortium, Consortium.id == FundRequest.consortium_id)
        .where(Consortium.code == book)
    )
    paid = base.add_columns(Payment.charged_cents).where(
        Payment.paid_on.between(period.start, period.end)
    )
    refunded = (
        base.add_columns(Refund.amount_cents)
        .join(Refund, Refund.payment_id == Payment.id)
        .where(Refund.received_on.between(period.start, period.end))
    )
    for query, refund in ((paid.order_by(Payment.id), False), (refunded.order_by(Refund.id), True)):
        for inc, charged, gl, tax, name, partner, amount in session.execute(
            query.execution_options(yield_per=BATCH)
        ):
            yield _Flow(inc, charged, gl, tax, name, partner, amount, refund)


# The pool's own movements of the bank: (bank debited, bank credited) descriptions per role.
_LABELS = {
    "grant": ("Grants received from the funder", "Grant receipts reversed"),
    "return": ("Returns to the funder reversed", "Unspent funds returned to the funder"),
    "gst": ("GST refunds from the tax office", "GST refunds reversed"),
}


# What a pool movement of the bank is in the general ledger, per transfer kind, by the bank's
# counterpart and whether money came in. Every kind is here (a test walks the enum through it);
# an empty rule means the kind never makes a line of its own: its bank movements go to
# ``_unmapped``, and finance posts them by hand. Nothing falls through to grant income.
GL_ROLES: dict[TransferKind, dict[tuple[str, bool], str]] = {
    TransferKind.GRANT_RECEIPT: {(POOL, True): "grant"},
    TransferKind.RETURN_TO_FUNDER: {(POOL, False): "return"},
    TransferKind.REFUND: {(GST, True): "gst"},  # supplier refunds come from their own table
    TransferKind.REVERSAL: {
        (POOL, False): "grant",  # a grant receipt undone: money back out
        (POOL, True): "return",  # a return undone: money back in
        (GST, True): "gst",
        (GST, False): "gst",
    },
    TransferKind.ALLOCATION: {},  # pool to envelopes: internal to the pool
    TransferKind.RESERVATION: {},
    TransferKind.POST: {},
    TransferKind.VOID: {},
    TransferKind.PAYMENT: {},  # supplier payments come from their own table
    TransferKind.ADJUSTMENT: {},  # a bank fee, a correction: finance decides its account
}


def _role(code: str, kind: str, into_bank: bool) -> str | None:
    """What a counterpart of the bank is in the general ledger; ``None`` if nothing maps it."""
    return rule_for(GL_ROLES, kind, "The Xero/MYOB classifier").get((code, into_bank))


def _pool_flows(
    session: Session, book: str, period: Period, chart: AccountingMap
) -> Iterator[tuple[_Key, int]]:
    """Grants, GST refunds, returns (and their reversals): ledger transfers of bank or GST
    that are not the legs of a supplier payment or refund."""
    accounts_for = {
        "grant": chart.grant_income,
        "return": chart.returned_to_funder,
        "gst": chart.gst_paid,
    }
    for transfer_id, kind, debit, credit, amount in _bank_and_gst_transfers(session, book, period):
        into_bank = debit == BANK
        other = credit if into_bank else debit
        role = _role(other, kind, into_bank) if BANK in (debit, credit) else None
        if role is None:
            yield from _unmapped(transfer_id, debit, credit, amount, chart)
            continue
        label = _LABELS[role][0 if into_bank else 1]
        yield (
            _Key("", 2, chart.bank, chart.bas_excluded, label, into_bank),
            (amount if into_bank else -amount),
        )
        yield (
            _Key("", 0, accounts_for[role], chart.bas_excluded, label, not into_bank),
            (-amount if into_bank else amount),
        )


def _unmapped(
    transfer_id: int, debit: str, credit: str, amount: int, chart: AccountingMap
) -> Iterator[tuple[_Key, int]]:
    """Lines the pre-flight will reject by row: finance must post this movement by hand."""
    label = f"Ledger transfer T{transfer_id:07d} ({debit} to {credit}) has no GL mapping"
    # Only the bank keeps its account: the other side is always unknown to the chart, so the
    # pre-flight rejects even a bank and GST movement no rule maps.
    known = {BANK: chart.bank}
    for code, cents in ((debit, amount), (credit, -amount)):
        yield (
            _Key("", 3, known.get(code, f"ledger:{code}"), chart.bas_excluded, label, cents > 0),
            cents,
        )


def _bank_and_gst_transfers(
    session: Session, book: str, period: Period
) -> Iterator[tuple[int, str, str, str, int]]:
    debit, credit = accounts.alias("debit"), accounts.alias("credit")
    supplier_leg = and_(
        transfers.c.kind.in_((TransferKind.PAYMENT.value, TransferKind.REFUND.value)),
        transfers.c.request_id.is_not(None),
    )
    query = (
        select(transfers.c.id, transfers.c.kind, debit.c.code, credit.c.code, transfers.c.amount)
        .join(books, books.c.id == transfers.c.book_id)
        .join(debit, debit.c.id == transfers.c.debit_account_id)
        .join(credit, credit.c.id == transfers.c.credit_account_id)
        .where(
            books.c.code == book,
            transfers.c.effective_date.between(period.start, period.end),
            transfers.c.phase.in_([phase.value for phase in POSTED_PHASES]),
            or_(debit.c.code.in_((BANK, GST)), credit.c.code.in_((BANK, GST))),
            ~supplier_leg,
        )
        .order_by(transfers.c.id)
    )
    for row in session.execute(query.execution_options(yield_per=BATCH)):
        yield int(row[0]), str(row[1]), str(row[2]), str(row[3]), int(row[4])


def category_accounts(session: Session, book: str) -> list[str]:
    query = (
        select(Category.gl_code)
        .join(Consortium, Consortium.id == Category.consortium_id)
        .where(Consortium.code == book)
    )
    return list(session.execute(query).scalars())
