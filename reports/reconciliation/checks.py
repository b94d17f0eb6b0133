"""The reconciliation's checks: each sheet's totals tied out against an independent source.

A check that compares a figure with itself proves nothing, so each one sets a sheet's total
against something computed another way: the trial balance against the ledger's postings and its
balance-after index, the payments sheet (read from the approvals tables) against the bank and
GST postings in the ledger, the year's spend on the envelopes (ledger) against payments less
refunds (approvals tables), matched bank lines against what they name. Results are values
computed here, never spreadsheet formulas (a reader without a recalculating application would
see nothing). The number that fail is what the month's sign-off refuses on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from approvals.gst import GstBasis
from approvals.models import FundRequest, Payment, Refund
from ledger.models import accounts, transfers
from ledger.values import TransferKind
from reports.reconciliation.bank_sheet import BankTotals
from reports.reconciliation.exceptions_sheet import ExceptionTotals
from reports.reconciliation.ledger_sheets import BudgetTotals, TrialTotals
from reports.reconciliation.rows import CommitmentTotals, PaymentTotals
from reports.reconciliation.scope import Scope, posted_between


@dataclass(frozen=True)
class Figures:
    """What the sheets wrote, for the Summary and the checks."""

    trial: TrialTotals
    budget: BudgetTotals
    payments: PaymentTotals
    commitments: CommitmentTotals
    exceptions: ExceptionTotals
    bank: BankTotals
    refunds: tuple[int, int]  # count and cents received in the period


@dataclass(frozen=True)
class Check:
    name: str
    expected: int
    found: int
    money: bool = True  # cents; otherwise a count

    @property
    def ok(self) -> bool:
        return self.expected == self.found


def refunds_between(session: Session, scope: Scope, start: date, end: date) -> tuple[int, int]:
    count, cents = session.execute(
        select(func.count(), func.coalesce(func.sum(Refund.amount_cents), 0))
        .join(Payment, Payment.id == Refund.payment_id)
        .join(FundRequest, FundRequest.id == Payment.request_id)
        .where(
            FundRequest.consortium_id == scope.consortium_id,
            Refund.received_on.between(start, end),
        )
    ).one()
    return int(count), int(cents)


def _charged_between(session: Session, scope: Scope, start: date, end: date) -> int:
    return int(
        session.execute(
            select(func.coalesce(func.sum(Payment.charged_cents), 0))
            .join(FundRequest, FundRequest.id == Payment.request_id)
            .where(
                FundRequest.consortium_id == scope.consortium_id,
                Payment.paid_on.between(start, end),
            )
        ).scalar_one()
    )


def _posted(session: Session, scope: Scope, *conditions: ColumnElement[bool]) -> int:
    """Cents posted in the period by transfers that meet ``conditions``."""
    window = posted_between(scope, scope.period.start, scope.period.end)
    return int(
        session.execute(
            select(func.coalesce(func.sum(transfers.c.amount), 0)).where(window, *conditions)
        ).scalar_one()
    )


def _client_accounts(scope: Scope) -> ColumnElement[bool]:
    ids = select(accounts.c.id).where(
        accounts.c.book_id == scope.book_id, accounts.c.code.startswith("client:")
    )
    return transfers.c.debit_account_id.in_(ids)


def run_checks(session: Session, scope: Scope, figures: Figures) -> tuple[Check, ...]:
    return (
        _trial_checks(session, scope, figures.trial)
        + _payment_checks(session, scope, figures.payments, figures.refunds[1])
        + _sheet_checks(session, scope, figures)
    )


def _trial_checks(session: Session, scope: Scope, trial: TrialTotals) -> tuple[Check, ...]:
    return (
        Check("Trial balance: opening balances sum to zero", 0, trial.opening),
        Check("Trial balance: period debits equal period credits", trial.debits, trial.credits),
        Check("Trial balance: closing balances sum to zero", 0, trial.closing),
        Check(
            "Trial balance: period debits equal the ledger's postings dated in the period",
            _posted(session, scope),
            trial.debits,
        ),
        Check(
            "Trial balance: accounts whose closing differs from the balance-after index",
            0,
            trial.disagreeing,
            money=False,
        ),
    )


def _payment_checks(
    session: Session, scope: Scope, payments: PaymentTotals, refunded: int
) -> tuple[Check, ...]:
    """The payments and refunds registers against the bank and GST postings in the ledger."""
    out = (
        transfers.c.kind == TransferKind.PAYMENT.value,
        transfers.c.credit_account_id == scope.bank_id,
    )
    back = (  # a supplier's refund; a GST refund from the tax office is a REFUND with no request
        transfers.c.kind == TransferKind.REFUND.value,
        transfers.c.debit_account_id == scope.bank_id,
        transfers.c.request_id.is_not(None),
    )
    claims = GstBasis(scope.gst_basis) is GstBasis.CLAIMS_CREDITS
    gst = transfers.c.debit_account_id == scope.gst_id
    return (
        Check(
            "Payments: inc-GST total equals payments out of the bank in the ledger",
            _posted(session, scope, *out),
            payments.inc_gst,
        ),
        Check(
            "Payments: charged to funds equals client spend paid from the bank",
            _posted(session, scope, *out, _client_accounts(scope)),
            payments.charged,
        ),
        Check(
            "Payments: GST claimed equals GST receivable posted by payments",
            _posted(session, scope, *out, gst),
            payments.gst if claims else 0,
        ),
        Check(
            "Refunds: refunds recorded equal refunds into the bank in the ledger",
            _posted(session, scope, *back),
            refunded,
        ),
    )


def _sheet_checks(session: Session, scope: Scope, figures: Figures) -> tuple[Check, ...]:
    year_start, end = scope.year.start, scope.period.end
    budget = figures.budget
    return (
        Check(
            "Budget vs actual: year-to-date spend equals payments less refunds",
            _charged_between(session, scope, year_start, end)
            - refunds_between(session, scope, year_start, end)[1],
            budget.paid,
        ),
        Check(
            "Commitments: total equals committed in Budget vs actual",
            budget.committed,
            figures.commitments.held,
        ),
        Check(
            "Bank match: matched lines that differ from what they matched",
            0,
            figures.bank.disagreeing,
            money=False,
        ),
    )
