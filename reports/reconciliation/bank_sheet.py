"""The Bank match sheet: the period's statement lines, what each matched, and what is still open.

Lines are read straight from the imported statements (``bank_lines``), whoever matched them. A
matched line is checked against what it names, in the same query: a payment leaves the bank as
its inc-GST amount, a refund arrives as its amount, and a ledger transaction (a grant, a GST
refund) moves the bank by its net bank postings. A line that does not agree is a mismatch on the
Summary, because a wrong match hides a real difference between the bank and the books.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from approvals.models import FundRequest, Payment, Refund
from ledger.models import transactions, transfers
from reports.models import BankLine, BankStatement, LineStatus
from reports.reconciliation.rows import label, stream
from reports.reconciliation.scope import POSTED, Rows, Scope
from reports.xlsx import Money, SheetWriter

BANK_HEADERS = (
    "Date",
    "Amount",
    "Payee",
    "Description",
    "Reference",
    "Status",
    "Payment",
    "Request",
    "Refund",
    "Ledger #",
    "Expected",
    "Agrees",
    "Explanation",
    "Statement",
    "Line",
)


@dataclass(frozen=True)
class Tally:
    count: int = 0
    cents: int = 0

    def add(self, cents: int) -> Tally:
        return Tally(self.count + 1, self.cents + cents)


@dataclass(frozen=True)
class BankTotals:
    lines: int
    by_status: tuple[tuple[str, Tally], ...]  # in LineStatus order
    disagreeing: int  # matched lines whose amount differs from what they matched

    def of(self, status: LineStatus) -> Tally:
        return dict(self.by_status).get(status.value, Tally())


def _expected(scope: Scope) -> Any:
    """What a matched line should read, by what it names (money out is negative)."""
    bank_net = (
        select(
            func.sum(
                case(
                    (transfers.c.debit_account_id == scope.bank_id, transfers.c.amount),
                    (transfers.c.credit_account_id == scope.bank_id, -transfers.c.amount),
                    else_=0,
                )
            )
        )
        .where(transfers.c.transaction_id == BankLine.transaction_id, transfers.c.phase.in_(POSTED))
        .scalar_subquery()
    )
    return case(
        (BankLine.payment_id.is_not(None), -Payment.inc_gst_cents),
        (BankLine.refund_id.is_not(None), Refund.amount_cents),
        (BankLine.transaction_id.is_not(None), func.coalesce(bank_net, 0)),
        else_=None,
    )


def _lines(scope: Scope) -> Rows:
    return (
        select(
            BankLine.on,
            BankLine.amount_cents,
            BankLine.payee,
            BankLine.description,
            BankLine.reference,
            BankLine.status,
            BankLine.payment_id,
            FundRequest.number,
            BankLine.refund_id,
            transactions.c.sequence,
            _expected(scope).label("expected"),
            BankLine.explanation,
            BankStatement.file_name,
            BankLine.line_number,
        )
        .join(BankStatement, BankStatement.id == BankLine.statement_id)
        .outerjoin(Payment, Payment.id == BankLine.payment_id)
        .outerjoin(Refund, Refund.id == BankLine.refund_id)
        .outerjoin(FundRequest, FundRequest.id == Payment.request_id)
        .outerjoin(transactions, transactions.c.id == BankLine.transaction_id)
        .where(
            BankLine.consortium_id == scope.consortium_id,
            BankLine.on.between(scope.period.start, scope.period.end),
        )
        .order_by(BankLine.on, BankLine.statement_id, BankLine.line_number, BankLine.id)
    )


def write_bank_match(session: Session, book: Workbook, scope: Scope) -> BankTotals:
    sheet = SheetWriter(book, "Bank match", BANK_HEADERS, [12, 14, 26, 36, 18, 10] + [10] * 9)
    tallies = {status.value: Tally() for status in LineStatus}
    disagreeing = 0
    for row in stream(session, _lines(scope)):
        agrees = None if row.expected is None else int(row.expected) == row.amount_cents
        disagreeing += agrees is False
        tallies[row.status] = tallies[row.status].add(row.amount_cents)
        sheet.row(
            [row.on, Money(row.amount_cents), row.payee, row.description, row.reference]
            + [row.status, row.payment_id, label(row.number), row.refund_id, row.sequence]
            + [None if row.expected is None else Money(int(row.expected))]
            + [{None: "", True: "yes", False: "NO"}[agrees], row.explanation or ""]
            + [row.file_name, row.line_number]
        )
    count = sheet.rows
    sheet.blank()
    for status in (LineStatus.UNMATCHED, LineStatus.MATCHED, LineStatus.EXPLAINED):
        tally = tallies[status.value]
        sheet.row([f"{status.value.capitalize()} lines", Money(tally.cents), tally.count])
    sheet.row(["All lines", Money(sum(t.cents for t in tallies.values())), count], bold=True)
    return BankTotals(count, tuple(tallies.items()), disagreeing)
