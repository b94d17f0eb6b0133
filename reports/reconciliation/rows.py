"""The workbook's long sheets, payments and commitments, streamed row by row.

A year of payments is the biggest sheet (about 100,000 rows), so nothing here builds a list of
rows: each query is read in batches (``yield_per``) and written as it arrives, and only running
totals are kept. Who approved a payment is looked up once per batch, not once per row.

Clients appear by their code only: no query here selects anything else about a client.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from sqlalchemy import Row, select
from sqlalchemy.orm import Session, aliased

from approvals.abn import display_abn
from approvals.lifecycle.requests import request_label
from approvals.models import (
    Category,
    Client,
    Decision,
    FundRequest,
    Organisation,
    Payment,
    Supplier,
    User,
)
from ledger.models import accounts, transactions, transfers
from reports.reconciliation.scope import BATCH, CategoryInfo, Rows, Scope, open_at_end
from reports.xlsx import Money, SheetWriter

PAYMENT_HEADERS = (
    "Payment",
    "Request",
    "Ledger #",
    "Client code",
    "NGO",
    "Category",
    "GL code",
    "Category tax code",
    "Supplier",
    "ABN",
    "Invoice",
    "Ex-GST",
    "GST",
    "Inc-GST",
    "Charged to funds",
    "Paid on",
    "Approvers",
)
COMMITMENT_HEADERS = (
    "Hold",
    "Request",
    "Client code",
    "NGO",
    "Category",
    "Supplier",
    "Approved on",
    "Needed by",
    "Held",
    "Age (days)",
    "Expires on",
    "Days to expiry",
    "Note",
)


@dataclass(frozen=True)
class PaymentTotals:
    count: int
    ex_gst: int
    gst: int
    inc_gst: int
    charged: int


@dataclass(frozen=True)
class CommitmentTotals:
    count: int
    held: int
    past_expiry: int


def label(number: int | None) -> str:
    return request_label(number) if number is not None else ""


def _batches(session: Session, query: Rows) -> Iterable[Sequence[Row[Any]]]:
    return session.execute(query.execution_options(yield_per=BATCH)).partitions()


def _payments(scope: Scope) -> Rows:
    return (
        select(
            Payment.id,
            FundRequest.id.label("request_id"),
            FundRequest.number,
            transactions.c.sequence,
            Client.code.label("client"),
            Organisation.code.label("ngo"),
            Category.name.label("category"),
            Category.gl_code,
            Category.tax_code,
            Supplier.name.label("supplier"),
            Supplier.abn,
            Payment.invoice_number,
            Payment.inc_gst_cents,
            Payment.gst_cents,
            Payment.charged_cents,
            Payment.paid_on,
        )
        .join(FundRequest, FundRequest.id == Payment.request_id)
        .join(Client, Client.id == FundRequest.client_id)
        .join(Organisation, Organisation.id == FundRequest.organisation_id)
        .join(Category, Category.id == FundRequest.category_id)
        .join(Supplier, Supplier.id == Payment.supplier_id)
        .outerjoin(transactions, transactions.c.id == Payment.ledger_transaction_id)
        .where(
            FundRequest.consortium_id == scope.consortium_id,
            Payment.paid_on.between(scope.period.start, scope.period.end),
        )
        .order_by(Payment.paid_on, Payment.id)
    )


def write_payments(session: Session, book: Workbook, scope: Scope) -> PaymentTotals:
    sheet = SheetWriter(book, "Payments", PAYMENT_HEADERS, [9, 9, 9, 11, 8] + [14] * 11 + [40])
    sums = [0, 0, 0, 0]
    for batch in _batches(session, _payments(scope)):
        approvers = _approvers(session, {row.request_id for row in batch})
        for row in batch:
            amounts = (row.inc_gst_cents - row.gst_cents, row.gst_cents, row.inc_gst_cents)
            sums = [a + b for a, b in zip(sums, (*amounts, row.charged_cents), strict=True)]
            sheet.row(
                [row.id, label(row.number), row.sequence, row.client, row.ngo, row.category]
                + [row.gl_code, row.tax_code, row.supplier, display_abn(row.abn) if row.abn else ""]
                + [row.invoice_number, *(Money(cents) for cents in amounts)]
                + [Money(row.charged_cents), row.paid_on, approvers.get(row.request_id, "")]
            )
    count = sheet.rows
    sheet.blank()
    sheet.row(["Total", f"{count} payments", *[""] * 9, *map(Money, sums)], bold=True)
    return PaymentTotals(count, *sums)


def _approvers(session: Session, request_ids: set[int]) -> dict[int, str]:
    """Who approved each request in its last round, in order, and for whom if delegated."""
    actor, principal = aliased(User), aliased(User)
    rows = session.execute(
        select(Decision.request_id, actor.display_name, principal.display_name)
        .join(FundRequest, FundRequest.id == Decision.request_id)
        .join(actor, actor.id == Decision.actor_id)
        .outerjoin(principal, principal.id == Decision.on_behalf_of_id)
        .where(
            Decision.request_id.in_(sorted(request_ids)),
            Decision.action == "approve",
            Decision.round == FundRequest.round,
        )
        .order_by(Decision.request_id, Decision.id)
    ).all()
    named: dict[int, list[str]] = {}
    for request_id, who, for_whom in rows:
        named.setdefault(request_id, []).append(f"{who} for {for_whom}" if for_whom else who)
    return {request_id: "; ".join(people) for request_id, people in named.items()}


def open_holds(scope: Scope) -> Rows:
    envelope, client = accounts.alias("envelope"), accounts.alias("client")
    return (
        select(
            transfers.c.id,
            transfers.c.amount,
            transfers.c.category,
            transfers.c.effective_date,
            transfers.c.expires_at,
            envelope.c.code.label("envelope"),
            client.c.code.label("client"),
            FundRequest.number,
            FundRequest.approved_at,
            FundRequest.needed_by,
            FundRequest.carried_over,
            Supplier.name.label("supplier"),
        )
        .join(envelope, envelope.c.id == transfers.c.debit_account_id)
        .join(client, client.c.id == transfers.c.credit_account_id)
        .outerjoin(FundRequest, FundRequest.id == transfers.c.request_id)
        .outerjoin(Supplier, Supplier.id == FundRequest.supplier_id)
        .where(open_at_end(scope))
        .order_by(transfers.c.effective_date, transfers.c.id)
    )


def code_of(account: str) -> str:
    """``client:C-0001`` → ``C-0001``: the ledger names clients and NGOs by their codes."""
    return account.partition(":")[2] or account


def write_commitments(
    session: Session, book: Workbook, scope: Scope, categories: dict[str, CategoryInfo]
) -> CommitmentTotals:
    sheet = SheetWriter(book, "Commitments", COMMITMENT_HEADERS, [10, 9, 11, 8] + [14] * 8 + [36])
    end = scope.period.end
    held = past = 0
    for batch in _batches(session, open_holds(scope)):
        for row in batch:
            approved = scope.local_day(row.approved_at) or row.effective_date
            expires = scope.local_day(row.expires_at)
            overdue = row.expires_at is not None and row.expires_at < scope.utc_end
            held, past = held + row.amount, past + overdue
            info = categories.get(row.category or "")
            sheet.row(
                [f"T{row.id:07d}", label(row.number), code_of(row.client), code_of(row.envelope)]
                + [info.name if info else row.category, row.supplier, approved, row.needed_by]
                + [Money(row.amount), (end - approved).days, expires]
                + [(expires - end).days if expires else None, _note(overdue, row.carried_over)]
            )
    count = sheet.rows
    sheet.blank()
    sheet.row(["Total", f"{count} holds", *[""] * 6, Money(held)], bold=True)
    return CommitmentTotals(count, held, past)


def _note(overdue: bool, carried_over: bool | None) -> str:
    notes = ["past expiry, not yet released"] if overdue else []
    return "; ".join(notes + (["carried over"] if carried_over else []))


def stream(session: Session, query: Rows) -> Iterable[Row[Any]]:
    for batch in _batches(session, query):
        yield from batch
