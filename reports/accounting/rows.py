"""Journal lines for the lead agency's accounting system, and the pre-flight that checks them.

Why a pre-flight: Xero and MYOB reject a whole import for one bad row, and they say so only after
finance has uploaded it. So every line is checked here, in pure Python before a byte is written,
and *all* the problems come back at once (as Beancount reports them), each naming the file rows
it concerns. Row numbers are the file's own: the header is row 1, the first line row 2.

What is checked: each journal (the lines sharing a narration and a date) sums to zero in integer
cents; no line is zero; every account code is one the map knows (the categories' GL codes and
the :class:`AccountingMap`'s own accounts) and is shaped as the system wants it (Xero: 1-10
letters, digits, ``.`` or ``-``; MYOB: ``6-1234``); every tax name (MYOB: tax code) is one the
map knows; dates are ``dd/mm/yyyy`` and real; a Xero file has at most 300 lines. The run's
error message spells out the first findings (a run's error is kept to 2,000 characters); the
error carries them all.

The map is data, not code: a frozen dataclass with the defaults below, so a consortium could
configure its own later. The default accounts follow MYOB's Australian chart (the demo's
category codes are in that shape): ``1-1110`` the bank (cheque) account, ``2-1330`` GST paid,
``4-1100`` grant income, ``4-1900`` grant funds returned to the funder. Tax names are Xero's
Australian display names, each paired with the MYOB tax code that means the same thing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from approvals.errors import InvalidInputError
from ledger.money import cents_to_decimal_text
from reports.cells import neutralise

XERO_MAX_LINES = 300
XERO_ACCOUNT = re.compile(r"[0-9A-Za-z][0-9A-Za-z.\-]{0,9}", re.ASCII)
MYOB_ACCOUNT = re.compile(r"[1-9]-[0-9]{4}", re.ASCII)
_DATE = re.compile(r"[0-9]{2}/[0-9]{2}/[0-9]{4}", re.ASCII)
MAX_SHOWN = 15  # findings spelled out in the error message (all are kept on the error)

# Xero display name -> MYOB (AccountRight, Australia) tax code.
AU_TAX_RATES: tuple[tuple[str, str], ...] = (
    ("GST on Expenses", "GST"),
    ("GST Free Expenses", "FRE"),
    ("BAS Excluded", "N-T"),
    ("GST on Capital", "CAP"),
    ("Input Taxed", "INP"),
    ("GST on Imports", "IMP"),
)


@dataclass(frozen=True)
class AccountingMap:
    """Where the pool's money lands in the lead agency's chart of accounts, and its tax names."""

    bank: str = "1-1110"
    gst_paid: str = "2-1330"
    grant_income: str = "4-1100"
    returned_to_funder: str = "4-1900"
    gst_on_expenses: str = "GST on Expenses"
    gst_free_expenses: str = "GST Free Expenses"
    bas_excluded: str = "BAS Excluded"
    tax_rates: tuple[tuple[str, str], ...] = AU_TAX_RATES
    program_tracking: str = "Program"
    program: str = "PIR"
    partner_tracking: str = "Partner"

    def own_accounts(self) -> frozenset[str]:
        return frozenset({self.bank, self.gst_paid, self.grant_income, self.returned_to_funder})

    def xero_tax_names(self) -> frozenset[str]:
        return frozenset(name for name, _ in self.tax_rates)

    def myob_tax_code(self, name: str) -> str:
        """The MYOB code for a Xero tax name; an unknown name stays as it is (pre-flight says)."""
        return dict(self.tax_rates).get(name, name)


@dataclass(frozen=True)
class Line:
    """One row of a journal file, before it is given a system's columns."""

    narration: str
    date: str  # dd/mm/yyyy, as it will be written
    description: str
    account: str
    tax: str  # the target system's tax name (Xero) or code (MYOB)
    amount: int  # cents, debit positive
    partner: str = ""  # the partner NGO's code; empty for the pool's own movements


def day_text(day: date) -> str:
    return f"{day.day:02d}/{day.month:02d}/{day.year:04d}"


@dataclass(frozen=True)
class Rules:
    """What one target system accepts."""

    accounts: frozenset[str]
    tax_names: frozenset[str]
    account_pattern: re.Pattern[str]
    account_shape: str  # how the pattern reads to a person, for the finding
    max_lines: int | None = None


@dataclass(frozen=True, order=True)
class Finding:
    rows: tuple[int, ...]
    problem: str

    def __str__(self) -> str:
        label = "row" if len(self.rows) == 1 else "rows"
        return f"{label} {_ranges(self.rows)}: {self.problem}"


def _ranges(rows: Sequence[int]) -> str:
    """``2-5, 9``: consecutive rows as one range, so a long journal stays one short phrase."""
    parts: list[str] = []
    start = previous = rows[0]
    for row in [*rows[1:], None]:
        if row is not None and row == previous + 1:
            previous = row
            continue
        parts.append(str(start) if start == previous else f"{start}-{previous}")
        if row is not None:
            start = previous = row
    return ", ".join(parts)


def preflight(lines: Sequence[Line], rules: Rules) -> list[Finding]:
    """Every problem in ``lines`` for ``rules``' system; an empty list means the file is good."""
    findings: list[Finding] = []
    for row, line in enumerate(lines, start=2):
        findings.extend(Finding((row,), problem) for problem in _line_problems(line, rules))
    findings.extend(_unbalanced(lines))
    if rules.max_lines is not None and len(lines) > rules.max_lines:
        findings.append(
            Finding(
                tuple(range(rules.max_lines + 2, len(lines) + 2)),
                f"the file has {len(lines)} lines; at most {rules.max_lines} may be imported "
                "in one file",
            )
        )
    return findings


def _line_problems(line: Line, rules: Rules) -> Iterable[str]:
    if line.amount == 0:
        yield "the amount is zero"
    if line.account not in rules.accounts:
        yield f"account {line.account!r} is not a known account code"
    elif not rules.account_pattern.fullmatch(line.account):
        yield f"account {line.account!r} is not {rules.account_shape}"
    if line.tax not in rules.tax_names:
        yield f"tax {line.tax!r} is not one of {', '.join(sorted(rules.tax_names))}"
    if not _real_date(line.date):
        yield f"date {line.date!r} is not a real date written dd/mm/yyyy"


def _real_date(text: str) -> bool:
    if not _DATE.fullmatch(text):
        return False
    try:
        datetime.strptime(text, "%d/%m/%Y")  # noqa: DTZ007 - a calendar date, no time of day
    except ValueError:
        return False
    return True


def _unbalanced(lines: Sequence[Line]) -> Iterable[Finding]:
    journals: dict[tuple[str, str], list[int]] = {}
    for row, line in enumerate(lines, start=2):
        journals.setdefault((line.narration, line.date), []).append(row)
    for (narration, day), rows in journals.items():
        amounts = [lines[row - 2].amount for row in rows]
        if sum(amounts) != 0:
            debits = sum(a for a in amounts if a > 0)
            credits = -sum(a for a in amounts if a < 0)
            yield Finding(
                tuple(rows),
                f"journal {narration!r} dated {day} does not balance: debits "
                f"{cents_to_decimal_text(debits)}, credits {cents_to_decimal_text(credits)}",
            )


class ExportRejectedError(InvalidInputError):
    """The pre-flight found problems: nothing was written, and the run says which rows."""

    code = "export_rejected"

    def __init__(self, what: str, findings: Sequence[Finding]) -> None:
        shown = "; ".join(str(finding) for finding in findings[:MAX_SHOWN])
        more = len(findings) - MAX_SHOWN
        message = (
            f"The {what} was not written: {len(findings)} problem(s): {shown}"
            + (f"; and {more} more" if more > 0 else "")
            + "."
        )
        super().__init__(message, fields={"rows": shown})
        self.findings = tuple(findings)


MYOB_FIELDS = (
    "Journal Number",
    "Date",
    "Memo",
    "Inclusive",
    "Account Number",
    "Debit Amount",
    "Credit Amount",
    "Job",
    "Allocation Memo",
    "Category",
    "Tax Code",
)


@dataclass(frozen=True)
class MyobLayout:
    """The columns of an AccountRight general journal import, in order (Australian edition).

    Organisations should export a template from their own company file and set ``columns`` to
    match: any of :data:`MYOB_FIELDS` may be left out or reordered. Tab-separated by default, as
    AccountRight's own exports are.
    """

    columns: tuple[str, ...] = MYOB_FIELDS
    delimiter: str = "\t"

    def __post_init__(self) -> None:
        unknown = [column for column in self.columns if column not in MYOB_FIELDS]
        if unknown or len(set(self.columns)) != len(self.columns) or not self.columns:
            raise ValueError(f"MYOB columns must be distinct names from {MYOB_FIELDS}: {unknown}")


def xero_rules(category_accounts: Iterable[str], chart: AccountingMap) -> Rules:
    return Rules(
        frozenset(category_accounts) | chart.own_accounts(),
        chart.xero_tax_names(),
        XERO_ACCOUNT,
        "a Xero account code (1-10 letters, digits, '.' or '-')",
        XERO_MAX_LINES,
    )


def myob_rules(category_accounts: Iterable[str], chart: AccountingMap) -> Rules:
    return Rules(
        frozenset(category_accounts) | chart.own_accounts(),
        frozenset(code for _, code in chart.tax_rates),
        MYOB_ACCOUNT,
        "an AccountRight account number shaped like 6-1234",
    )


def for_myob(lines: Iterable[Line], chart: AccountingMap) -> list[Line]:
    """The same lines with MYOB's tax codes in place of Xero's tax names."""
    return [replace(line, tax=chart.myob_tax_code(line.tax)) for line in lines]


XERO_HEADER = (
    "*Narration",
    "*Date",
    "Description",
    "*AccountCode",
    "*TaxRate",
    "*Amount",
    "TrackingName1",
    "TrackingOption1",
    "TrackingName2",
    "TrackingOption2",
)


def xero_cells(line: Line, chart: AccountingMap) -> list[str]:
    """Amount signed (debit positive); Partner tracking only on lines that belong to a partner."""
    return [
        neutralise(line.narration),
        line.date,
        neutralise(line.description),
        line.account,
        line.tax,
        cents_to_decimal_text(line.amount),
        neutralise(chart.program_tracking),
        neutralise(chart.program),
        neutralise(chart.partner_tracking) if line.partner else "",
        neutralise(line.partner),
    ]


def myob_cells(line: Line, layout: MyobLayout, number: str) -> list[str]:
    """Debit and credit in their own columns, both positive; the partner NGO as the Job."""
    amount = cents_to_decimal_text(abs(line.amount))
    values = {
        "Journal Number": number,
        "Date": line.date,
        "Memo": neutralise(line.narration),
        "Inclusive": "",  # amounts are tax exclusive: the GST has its own line
        "Account Number": line.account,
        "Debit Amount": amount if line.amount > 0 else "",
        "Credit Amount": amount if line.amount < 0 else "",
        "Job": neutralise(line.partner),
        "Allocation Memo": neutralise(line.description),
        "Category": "",
        "Tax Code": line.tax,
    }
    return [values[column] for column in layout.columns]
