"""The Exceptions sheet: what an auditor must look at, for the period.

Three kinds of row, each streamed: the exceptions the workflow recorded during the period
(overrides, payments above approval, duplicate flags, escalations, expiries), approvals whose
expiry passed before the period ended while their money was still held (the expiry sweep did not
release them), and payments of the period with no receipt or invoice attached by its end. Each
is judged as at the period's end, so a receipt uploaded later does not change a closed month.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from openpyxl import Workbook
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from approvals.models import (
    Attachment,
    Client,
    FundRequest,
    Organisation,
    Payment,
    RequestException,
    Supplier,
)
from ledger.models import transfers
from reports.reconciliation.rows import code_of, label, open_holds, stream
from reports.reconciliation.scope import Rows, Scope
from reports.xlsx import Money, SheetWriter

EXCEPTION_HEADERS = ("Kind", "Date", "Request", "Client code", "NGO", "Amount", "Detail")
PROOF_KINDS = ("receipt", "invoice")  # an attachment that evidences a payment
PAST_EXPIRY = "approval past expiry"
NO_RECEIPT = "missing receipt"


@dataclass(frozen=True)
class ExceptionTotals:
    count: int
    by_kind: tuple[tuple[str, int], ...]  # sorted by kind


def write_exceptions(session: Session, book: Workbook, scope: Scope) -> ExceptionTotals:
    sheet = SheetWriter(book, "Exceptions", EXCEPTION_HEADERS, [24, 12, 9, 11, 8, 14, 70])
    kinds: Counter[str] = Counter()
    for row in stream(session, _recorded(scope)):
        kinds[row.kind] += 1
        day = scope.local_day(row.at)
        sheet.row([row.kind, day, label(row.number), row.client, row.ngo, None, row.detail])
    for row in stream(session, open_holds(scope).where(transfers.c.expires_at < scope.utc_end)):
        kinds[PAST_EXPIRY] += 1
        sheet.row(
            [PAST_EXPIRY, scope.local_day(row.expires_at), label(row.number)]
            + [code_of(row.client), code_of(row.envelope), Money(row.amount)]
            + ["Expired before the period ended and still held at its end."]
        )
    for row in stream(session, _unevidenced(scope)):
        kinds[NO_RECEIPT] += 1
        sheet.row(
            [NO_RECEIPT, row.paid_on, label(row.number), row.client, row.ngo]
            + [Money(row.inc_gst_cents)]
            + [f"Invoice {row.invoice_number} from {row.supplier}: no receipt or invoice attached."]
        )
    count = sheet.rows
    sheet.blank()
    sheet.row(["Total", f"{count} exceptions"], bold=True)
    return ExceptionTotals(count, tuple(sorted(kinds.items())))


def _recorded(scope: Scope) -> Rows:
    return (
        select(
            RequestException.kind,
            RequestException.at,
            RequestException.detail,
            FundRequest.number,
            Client.code.label("client"),
            Organisation.code.label("ngo"),
        )
        .join(FundRequest, FundRequest.id == RequestException.request_id)
        .join(Client, Client.id == FundRequest.client_id)
        .join(Organisation, Organisation.id == FundRequest.organisation_id)
        .where(
            FundRequest.consortium_id == scope.consortium_id,
            RequestException.at >= scope.utc_start,
            RequestException.at < scope.utc_end,
        )
        .order_by(RequestException.at, RequestException.id)
    )


def _unevidenced(scope: Scope) -> Rows:
    """Payments of the period whose request had no receipt or invoice by the period's end."""
    proof = exists().where(
        Attachment.request_id == Payment.request_id,
        Attachment.kind.in_(PROOF_KINDS),
        Attachment.uploaded_at < scope.utc_end,
    )
    return (
        select(
            Payment.paid_on,
            Payment.invoice_number,
            Payment.inc_gst_cents,
            FundRequest.number,
            Client.code.label("client"),
            Organisation.code.label("ngo"),
            Supplier.name.label("supplier"),
        )
        .join(FundRequest, FundRequest.id == Payment.request_id)
        .join(Client, Client.id == FundRequest.client_id)
        .join(Organisation, Organisation.id == FundRequest.organisation_id)
        .join(Supplier, Supplier.id == Payment.supplier_id)
        .where(
            FundRequest.consortium_id == scope.consortium_id,
            Payment.paid_on.between(scope.period.start, scope.period.end),
            ~proof,
        )
        .order_by(Payment.paid_on, Payment.id)
    )
