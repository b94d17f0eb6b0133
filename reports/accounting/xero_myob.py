"""The pool's money movements as a Xero manual journal or an MYOB general journal import.

Why: the lead agency holds the pool's bank account, so its own books must show what flexpool
paid and received. Only movements that touch the bank or GST reach its general ledger; how each
maps to an account and a tax name is in :mod:`reports.accounting.lines`, and what the importers
accept is checked by the pre-flight in :mod:`reports.accounting.rows`.

Summarised, not itemised: a period is ONE journal, narrated ``flexpool <CONSORTIUM> <period>``
and dated the period's last day, with one line per (partner, GL account, tax name, description,
debit or credit). A month of a busy pool is a few dozen lines, far inside Xero's 300; the
payment-by-payment detail lives in the reconciliation workbook. A financial-year file is the
same journal for the whole year: post either the months or the year, never both. Lines that
belong to a partner carry the tracking ``Partner = <NGO code>`` (MYOB: the Job); all carry
``Program = PIR`` in Xero. The journal names no client and no supplier. A period with no bank
or GST movement gives a file with the header alone.

The GST is on its own line exactly as the invoices stated it and every amount is final: import
with line amounts as "No tax" (MYOB: not inclusive) so the system adds no GST of its own; the tax
names classify the lines for the BAS.

Files: UTF-8, CRLF line ends (the csv module's, as Excel and both importers expect), a header row
exactly as docs/exports.md#xero-and-myob lists it, amounts as plain decimals from integer cents,
dates ``dd/mm/yyyy``, text cells neutralised against formula injection. Xero: comma-separated,
amounts signed (debit positive). MYOB: tab-separated by default
(:class:`~reports.accounting.rows.MyobLayout`), separate debit and credit columns, journal number
``FP<yyyymm>`` (``FPFY2526`` for a year), one journal per file. Every line passes the pre-flight
before a byte is written, and a rejected run lists every offending row. Nothing depends on when it
runs: the same ledger gives the same bytes.

The map of accounts and tax names (:class:`~reports.accounting.rows.AccountingMap`) and MYOB's
columns are data with Australian defaults; a per-consortium settings table does not exist yet.
"""

from __future__ import annotations

import csv
import io
from typing import BinaryIO

from sqlalchemy.orm import Session

from approvals.errors import InvalidInputError
from approvals.fiscal import Period
from reports.accounting.lines import build_lines, category_accounts
from reports.accounting.rows import (
    XERO_HEADER,
    AccountingMap,
    ExportRejectedError,
    Line,
    MyobLayout,
    for_myob,
    myob_cells,
    myob_rules,
    preflight,
    xero_cells,
    xero_rules,
)
from reports.ledger_state import ledger_head
from reports.written import Written


def _require(period: Period | None, what: str) -> Period:
    if period is None:
        raise InvalidInputError(
            f"A {what} covers a month or a financial year.",
            fields={"period": "Use YYYY-MM or FY2025-26."},
        )
    return period


DEFAULT_MAP = AccountingMap()
XERO = "Xero manual journal"
MYOB = "MYOB general journal"


def write_xero(
    session: Session,
    book: str,
    out: BinaryIO,
    period: Period | None,
    chart: AccountingMap = DEFAULT_MAP,
) -> Written:
    """Checked in full before the first byte: a rejected file is never half-written."""
    span = _require(period, XERO)
    lines = build_lines(session, book, span, chart)
    findings = preflight(lines, xero_rules(category_accounts(session, book), chart))
    if findings:
        raise ExportRejectedError(XERO, findings)
    _write(out, XERO_HEADER, [xero_cells(line, chart) for line in lines], ",")
    return _summary(session, book, span, lines)


def write_myob(
    session: Session,
    book: str,
    out: BinaryIO,
    period: Period | None,
    chart: AccountingMap = DEFAULT_MAP,
    layout: MyobLayout = MyobLayout(),  # noqa: B008 - frozen, so one shared default is safe
) -> Written:
    span = _require(period, MYOB)
    lines = for_myob(build_lines(session, book, span, chart), chart)
    findings = preflight(lines, myob_rules(category_accounts(session, book), chart))
    if findings:
        raise ExportRejectedError(MYOB, findings)
    number = journal_number(span)
    rows = [myob_cells(line, layout, number) for line in lines]
    _write(out, layout.columns, rows, layout.delimiter)
    return _summary(session, book, span, lines)


def journal_number(period: Period) -> str:
    """Eight characters at most, as AccountRight allows: ``FP202610``, ``FPFY2526``."""
    label = period.label
    if label.startswith("FY"):
        return f"FPFY{label[4:6]}{label[7:9]}"
    return f"FP{label.replace('-', '')}"


def _write(out: BinaryIO, header: tuple[str, ...], rows: list[list[str]], delimiter: str) -> None:
    text = io.TextIOWrapper(out, encoding="utf-8", newline="")
    writer = csv.writer(text, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    text.flush()
    text.detach()


def _summary(session: Session, book: str, period: Period, lines: list[Line]) -> Written:
    sequence, chain_hash = ledger_head(session, book, period.end)
    journals = len({(line.narration, line.date) for line in lines})
    return Written({"journals": journals, "lines": len(lines)}, sequence, chain_hash)
