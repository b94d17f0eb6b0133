"""What a bank statement line can be matched to, signed as the bank sees it (negative = out).

Three kinds: a supplier **payment** (``inc_gst_cents`` is what left the bank), a supplier
**refund** (money back in), and a ledger **transaction** that moved money through the bank on
its own: a grant received (bank → pool), a GST refund from the tax office (bank →
gst_receivable) or unspent funds returned to the funder (pool → bank). A supplier refund's own
ledger transaction also debits the bank, but it is reached through its ``Refund`` row only, so
the same money is never offered twice; reversed transactions are not offered at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from approvals.errors import InvalidInputError
from approvals.lifecycle.requests import request_label
from approvals.models import Consortium, FundRequest, Payment, Refund, Supplier
from ledger.models import accounts, books, transactions, transfers
from ledger.values import Phase, TransferKind, UnmappedKindError, rule_for
from reports.models import BankLine


class TargetKind(StrEnum):
    PAYMENT = "payment"
    REFUND = "refund"
    TRANSACTION = "transaction"


@dataclass(frozen=True)
class Target:
    kind: TargetKind
    id: int
    on: date
    amount_cents: int  # as the statement shows it: negative = money out
    label: str
    keys: tuple[str, ...]  # what a bank reference may quote: invoice, R-0042, refund reference
    recorded_by_id: int | None  # who recorded the money movement (segregation of duties)

    @property
    def token(self) -> str:
        """How a form names it: ``payment:12``."""
        return f"{self.kind.value}:{self.id}"


def parse_token(text: str) -> tuple[TargetKind, int]:
    kind, _, number = (text or "").strip().partition(":")
    if kind not in set(TargetKind) or not (number.isascii() and number.isdigit()):
        raise InvalidInputError("Choose what this line matches.", fields={"target": "Required."})
    return TargetKind(kind), int(number)


def open_targets(
    session: Session, consortium_id: int, amounts: set[int], start: date, end: date
) -> list[Target]:
    """Everything not yet matched, of one of these (signed) amounts, dated ``start``–``end``."""
    out = {-a for a in amounts if a < 0}
    into = {a for a in amounts if a > 0}
    found = _payments(
        session,
        consortium_id,
        [Payment.inc_gst_cents.in_(out), Payment.paid_on.between(start, end)],
        open_only=True,
    )
    found += _refunds(
        session,
        consortium_id,
        [Refund.amount_cents.in_(into), Refund.received_on.between(start, end)],
        open_only=True,
    )
    found += _transactions(
        session,
        consortium_id,
        [
            transfers.c.amount.in_(out | into),
            transfers.c.effective_date.between(start, end),
        ],
        open_only=True,
    )
    return [target for target in found if target.amount_cents in amounts]


def targets_by_id(
    session: Session, consortium_id: int, kind: TargetKind, ids: Iterable[int]
) -> dict[int, Target]:
    """These targets of the consortium, matched or not (others are simply absent)."""
    wanted = set(ids)
    if not wanted:
        return {}
    if kind is TargetKind.PAYMENT:
        found = _payments(session, consortium_id, [Payment.id.in_(wanted)], open_only=False)
    elif kind is TargetKind.REFUND:
        found = _refunds(session, consortium_id, [Refund.id.in_(wanted)], open_only=False)
    else:
        where = [transfers.c.transaction_id.in_(wanted)]
        found = _transactions(session, consortium_id, where, open_only=False)
    return {target.id: target for target in found}


def matched_column(kind: TargetKind) -> Any:
    return {
        TargetKind.PAYMENT: BankLine.payment_id,
        TargetKind.REFUND: BankLine.refund_id,
        TargetKind.TRANSACTION: BankLine.transaction_id,
    }[kind]


def _payments(
    session: Session, consortium_id: int, where: Sequence[ColumnElement[bool]], *, open_only: bool
) -> list[Target]:
    query = (
        select(Payment, FundRequest.number, Supplier.name)
        .join(FundRequest, FundRequest.id == Payment.request_id)
        .join(Supplier, Supplier.id == Payment.supplier_id)
        .where(FundRequest.consortium_id == consortium_id, *where)
    )
    if open_only:
        query = query.where(~select(BankLine.id).where(BankLine.payment_id == Payment.id).exists())
    return [
        Target(
            TargetKind.PAYMENT,
            payment.id,
            payment.paid_on,
            -payment.inc_gst_cents,
            f"Payment {request_label(number)} · {supplier} · invoice {payment.invoice_number}",
            (payment.invoice_number, request_label(number)),
            payment.recorded_by_id,
        )
        for payment, number, supplier in session.execute(query.order_by(Payment.id))
    ]


def _refunds(
    session: Session, consortium_id: int, where: Sequence[ColumnElement[bool]], *, open_only: bool
) -> list[Target]:
    query = (
        select(Refund, Payment.invoice_number, FundRequest.number, Supplier.name)
        .join(Payment, Payment.id == Refund.payment_id)
        .join(FundRequest, FundRequest.id == Payment.request_id)
        .join(Supplier, Supplier.id == Payment.supplier_id)
        .where(FundRequest.consortium_id == consortium_id, *where)
    )
    if open_only:
        query = query.where(~select(BankLine.id).where(BankLine.refund_id == Refund.id).exists())
    return [
        Target(
            TargetKind.REFUND,
            refund.id,
            refund.received_on,
            refund.amount_cents,
            f"Refund {request_label(number)} · {supplier} · {refund.reference}",
            (refund.reference, invoice, request_label(number)),
            refund.recorded_by_id,
        )
        for refund, invoice, number, supplier in session.execute(query.order_by(Refund.id))
    ]


# How a pool transaction a bank line may match is named, per transfer kind; ``None`` for the
# kinds that are never matched on their own (``_moves_bank_alone`` admits exactly the named ones,
# which a test checks). Every kind is here, so a new one must be decided, not guessed.
TRANSACTION_LABELS: dict[TransferKind, str | None] = {
    TransferKind.GRANT_RECEIPT: "Grant received",
    TransferKind.REFUND: "GST refund",  # from the tax office; supplier refunds have their own
    TransferKind.RETURN_TO_FUNDER: "Returned to the funder",
    TransferKind.PAYMENT: None,  # supplier payments are matched as payments
    TransferKind.REVERSAL: None,  # a reversed transaction is not offered at all
    TransferKind.ADJUSTMENT: None,
    TransferKind.ALLOCATION: None,
    TransferKind.RESERVATION: None,
    TransferKind.POST: None,
    TransferKind.VOID: None,
}


def _transaction_label(kind: str) -> str:
    label = rule_for(TRANSACTION_LABELS, kind, "The bank matcher's transaction labels")
    if label is None:
        raise UnmappedKindError(f"A {kind!r} transfer is never matched to a bank line alone.")
    return label


def _transactions(
    session: Session, consortium_id: int, where: Sequence[ColumnElement[bool]], *, open_only: bool
) -> list[Target]:
    bank, gst = _bank_accounts(session, consortium_id)
    if bank is None:
        return []
    query = (
        select(transfers, transactions.c.memo, transactions.c.actor)
        .join(transactions, transactions.c.id == transfers.c.transaction_id)
        .where(_moves_bank_alone(bank, gst), _not_reversed(), *where)
    )
    if open_only:
        taken = select(BankLine.id).where(BankLine.transaction_id == transfers.c.transaction_id)
        query = query.where(~taken.exists())
    return [
        Target(
            TargetKind.TRANSACTION,
            row.transaction_id,
            row.effective_date,
            row.amount if row.debit_account_id == bank else -row.amount,
            f"{_transaction_label(row.kind)} · {row.memo} · transaction #{row.transaction_id}",
            (),
            _user_id(row.actor),
        )
        for row in session.execute(query.order_by(transfers.c.id))
    ]


def _bank_accounts(session: Session, consortium_id: int) -> tuple[int | None, int | None]:
    rows = session.execute(
        select(accounts.c.code, accounts.c.id)
        .join(books, books.c.id == accounts.c.book_id)
        .join(Consortium, Consortium.code == books.c.code)
        .where(Consortium.id == consortium_id, accounts.c.code.in_(("bank", "gst_receivable")))
    )
    found = {str(code): int(account_id) for code, account_id in rows}
    return found.get("bank"), found.get("gst_receivable")


def _moves_bank_alone(bank: int, gst: int | None) -> ColumnElement[bool]:
    kind, debit, credit = (
        transfers.c.kind,
        transfers.c.debit_account_id,
        transfers.c.credit_account_id,
    )
    into = and_(
        debit == bank,
        or_(
            kind == TransferKind.GRANT_RECEIPT.value,
            and_(kind == TransferKind.REFUND.value, credit == gst),
        ),
    )
    out = and_(credit == bank, kind == TransferKind.RETURN_TO_FUNDER.value)
    return and_(transfers.c.phase == Phase.SINGLE.value, or_(into, out))


def _not_reversed() -> ColumnElement[bool]:
    reversal = transactions.alias("reversal")
    return (
        ~select(reversal.c.id).where(reversal.c.reverses_id == transfers.c.transaction_id).exists()
    )


def _user_id(label: str) -> int | None:
    """``user:12`` → 12; the scheduler and the CLI record no person."""
    prefix, _, number = label.partition(":")
    return int(number) if prefix == "user" and number.isascii() and number.isdigit() else None
