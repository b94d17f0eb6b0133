"""The monthly (or financial-year) reconciliation workbook that finance signs off.

Sheets: Summary, Trial balance, Budget vs actual, Payments, Commitments, Exceptions, Bank match
(docs/exports.md#the-reconciliation-workbook). The Summary comes first but is written last: its
control totals and checks are the other sheets' totals, gathered while they stream (openpyxl's
``write_only`` sheets each keep their own temporary file, so the order they are filled in does not
matter).

Why no "generated at": the file is a pure function of the ledger state and the period, so the
same state gives the same bytes and a closed month can be regenerated and compared with its
checksum years later. The Summary therefore says what it was built from: the period's end in the
consortium's timezone, and the sequence number and hash-chain head of the last ledger
transaction dated on or before it (a backdated entry changes both). Workbook and zip timestamps
are fixed to the period's last second. Totals and check results are values, never formulas.
"""

from __future__ import annotations

from typing import Any, BinaryIO

from sqlalchemy.orm import Session

from approvals.fiscal import Period
from approvals.gst import GstBasis
from reports.ledger_state import ledger_head
from reports.models import LineStatus
from reports.reconciliation.bank_sheet import write_bank_match
from reports.reconciliation.checks import Check, Figures, refunds_between, run_checks
from reports.reconciliation.exceptions_sheet import write_exceptions
from reports.reconciliation.ledger_sheets import write_budget, write_trial_balance
from reports.reconciliation.rows import write_commitments, write_payments
from reports.reconciliation.scope import Scope, categories, load_scope
from reports.written import GST_BASIS, MISMATCHES, Written
from reports.xlsx import Money, SheetWriter, end_of, new_workbook, save

SHEETS = (
    "Summary",
    "Trial balance",
    "Budget vs actual",
    "Payments",
    "Commitments",
    "Exceptions",
    "Bank match",
)


def write_reconciliation(
    session: Session, book: str, out: BinaryIO, period: Period | None
) -> Written:
    """Write the workbook for ``period`` of ``book`` (a consortium code) to ``out``."""
    scope = load_scope(session, book, period)
    head = ledger_head(session, book, scope.period.end)
    stamp = end_of(scope.period.end)
    workbook = new_workbook(f"{book} reconciliation {scope.period.label}", stamp)
    summary = SheetWriter(workbook, SHEETS[0], ("Reconciliation", "Value", "Detail", "Result"))
    by_code = categories(session, scope)
    figures = Figures(
        trial=write_trial_balance(session, workbook, scope),
        budget=write_budget(session, workbook, scope, by_code),
        payments=write_payments(session, workbook, scope),
        commitments=write_commitments(session, workbook, scope, by_code),
        exceptions=write_exceptions(session, workbook, scope),
        bank=write_bank_match(session, workbook, scope),
        refunds=refunds_between(session, scope, scope.period.start, scope.period.end),
    )
    checks = run_checks(session, scope, figures)
    _facts(summary, scope, head)
    _control_totals(summary, scope, figures)
    _checks(summary, checks)
    _sign_off(summary)
    save(workbook, out, stamp)
    return Written(_row_counts(figures, checks), head[0], head[1])


def _row_counts(figures: Figures, checks: tuple[Check, ...]) -> dict[str, int]:
    return {
        "accounts": figures.trial.accounts,
        "payments": figures.payments.count,
        "commitments": figures.commitments.count,
        "exceptions": figures.exceptions.count,
        "bank_lines": figures.bank.lines,
        "checks": len(checks),
        MISMATCHES: sum(not check.ok for check in checks),
    }


def _facts(sheet: SheetWriter, scope: Scope, head: tuple[int, str]) -> None:
    period, year = scope.period, scope.year
    rows: list[list[Any]] = [
        ["Consortium", scope.consortium_name, scope.book],
        ["Period", period.label, period.start, period.end],
        ["As at", period.end, f"end of day, {scope.zone.key}"],
        ["Financial year", year.label, "share of the year elapsed", scope.year_elapsed],
        ["GST basis", scope.gst_basis, GST_BASIS[GstBasis(scope.gst_basis)]],
        ["Ledger sequence", head[0], "last transaction dated on or before the period's end"],
        ["Ledger hash-chain head", head[1]],
    ]
    for row in rows:
        sheet.row(row)


def _control_totals(sheet: SheetWriter, scope: Scope, figures: Figures) -> None:
    trial, budget, payments = figures.trial, figures.budget, figures.payments
    held, bank = figures.commitments, figures.bank
    unmatched = bank.of(LineStatus.UNMATCHED)
    rows: list[list[Any]] = [
        ["Ledger debits in the period", Money(trial.debits), f"{trial.accounts} accounts"],
        ["Ledger credits in the period", Money(trial.credits)],
        ["Payments (inc-GST)", Money(payments.inc_gst), f"{payments.count} payments"],
        ["Payments: GST", Money(payments.gst)],
        ["Payments: charged to funds", Money(payments.charged)],
        ["Refunds received", Money(figures.refunds[1]), f"{figures.refunds[0]} refunds"],
        ["Committed at the period's end", Money(held.held), f"{held.count} holds"],
        ["Holds past expiry at the period's end", held.past_expiry],
        [f"Allocated to envelopes, {scope.year.label} to date", Money(budget.allocated)],
        [f"Spent from envelopes, {scope.year.label} to date", Money(budget.paid)],
        ["Available in envelopes", Money(budget.available)],
        ["Exceptions", figures.exceptions.count],
        *([f"  {kind}", count] for kind, count in figures.exceptions.by_kind),
        ["Bank statement lines", bank.lines],
        ["Unmatched bank lines", Money(unmatched.cents), f"{unmatched.count} lines"],
    ]
    sheet.blank()
    sheet.row(["Control totals"], bold=True)
    for row in rows:
        sheet.row(row)


def _checks(sheet: SheetWriter, checks: tuple[Check, ...]) -> None:
    sheet.blank()
    sheet.row(["Checks", "Expected", "Found", "Result"], bold=True)
    for check in checks:
        expected, found = (
            (Money(check.expected), Money(check.found))
            if check.money
            else (check.expected, check.found)
        )
        sheet.row([check.name, expected, found, "OK" if check.ok else "MISMATCH"])
    failed = sum(not check.ok for check in checks)
    sheet.row(["Checks failed", failed, "", "OK" if not failed else "MISMATCH"], bold=True)


def _sign_off(sheet: SheetWriter) -> None:
    """Blank cells to sign on paper; whoever reconciles must not be whoever paid (SoD)."""
    sheet.blank()
    sheet.row(["Sign-off", "Name", "Signature", "Date"], bold=True)
    for role in ("Prepared by", "Reviewed by"):
        sheet.row([role, None, None, None])
