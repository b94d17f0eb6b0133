"""Reading a bank statement CSV (Xero's layout or plain headers) into lines, or refusing it whole.

Why whole: a statement is evidence of what the bank did. Importing the good half of a file would
leave the reconciliation quietly short, so one bad line refuses the file, and every bad line is
listed at once with its line number (the header is line 1) so it is fixed in one round trip.

Accepted: UTF-8 with or without a byte-order mark; a header row naming the columns in any order,
case-insensitive, with or without Xero's ``*`` on required ones (``*Date,*Amount,Payee,
Description,Reference`` or ``date,amount,payee,description,reference``; Xero's optional
``Cheque Number`` is kept in the reference); dates ``dd/mm/yyyy`` or ``yyyy-mm-dd``; signed
amounts, negative = money out, at most two decimals, ``$`` and correctly placed thousands
separators allowed (``-1,234.50``: the money parser checks the grouping); at most 1,000 lines
(Xero's own limit). Blank lines are skipped. Nothing here touches the database.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from approvals.errors import InvalidInputError
from ledger.dates import DATE_WINDOW
from ledger.errors import InvalidAmountError
from ledger.money import parse_cents

MAX_LINES = 1_000
MAX_FILE_BYTES = 1_000_000  # 1,000 lines of up to ~1 KB: anything bigger is not a statement
LIMITS = {"payee": 200, "description": 500, "reference": 200}  # the bank_lines columns
KNOWN = ("date", "amount", "payee", "description", "reference", "cheque number")
REQUIRED = ("date", "amount")

_OPEN_QUOTE = "(a quote opened on this line is never closed)"
_DMY = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})", re.ASCII)
_ISO = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", re.ASCII)


@dataclass(frozen=True)
class StatementLine:
    line_number: int
    on: date
    amount_cents: int  # negative = money out
    payee: str
    description: str
    reference: str


@dataclass(frozen=True)
class Finding:
    line_number: int | None  # None: the file as a whole
    message: str

    def __str__(self) -> str:
        return (
            self.message if self.line_number is None else f"Line {self.line_number}: {self.message}"
        )


class StatementRefusedError(InvalidInputError):
    """The file was refused whole; ``findings`` lists every reason, line by line."""

    code = "statement_refused"

    def __init__(self, findings: list[Finding]) -> None:
        listed = " ".join(str(f) for f in findings)
        super().__init__(
            f"The statement was not imported (nothing was written): {listed}",
            fields={"file": listed}
            | {f"line {f.line_number}": f.message for f in findings if f.line_number is not None},
        )
        self.findings = findings


def parse_statement(data: bytes, *, today: date | None = None) -> list[StatementLine]:
    """Every line of the file, or :class:`StatementRefusedError` naming every bad one; given
    ``today``, each line's date must also be inside the ledger's window (ledger/dates.py)."""
    text = _decode(data)
    rows = list(_rows(text))
    if not rows:
        raise StatementRefusedError([Finding(None, "The file is empty.")])
    columns = _columns(rows[0][1])
    body = [(number, cells) for number, cells in rows[1:]]
    if len(body) > MAX_LINES:
        raise StatementRefusedError(
            [Finding(None, f"At most {MAX_LINES:,} lines per file; this one has {len(body):,}.")]
        )
    if not body:
        raise StatementRefusedError([Finding(None, "The file has a header but no lines.")])
    lines: list[StatementLine] = []
    findings: list[Finding] = []
    for number, cells in body:
        line, problems = _line(number, cells, columns)
        outside = DATE_WINDOW.problem(line.on, today) if line and today else None
        if outside is not None:
            line, problems = None, [f"Date must be {outside}."]
        if problems:
            findings.append(Finding(number, " ".join(problems)))
        if line is not None:
            lines.append(line)
    if findings:
        raise StatementRefusedError(findings)
    return lines


def _decode(data: bytes) -> str:
    if len(data) > MAX_FILE_BYTES:
        raise StatementRefusedError(
            [Finding(None, f"The file is larger than {MAX_FILE_BYTES // 1000:,} KB.")]
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise StatementRefusedError(
            [Finding(line, "This is not UTF-8 text: save the statement as CSV UTF-8.")]
        ) from error
    if "\x00" in text:  # no bank writes one, and no database column can hold one
        line = text[: text.index("\x00")].count("\n") + 1
        raise StatementRefusedError([Finding(line, "This line holds a NUL byte: not CSV text.")])
    return text


def _rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """Non-blank rows with the line each starts on (a quoted cell may span lines).

    Strict: a quote left open (which would swallow every later line into one cell) or text
    after a closing quote refuses the file at the line where that row starts."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                yield start, cells
            start = reader.line_num + 1
    except csv.Error as error:
        reason = _OPEN_QUOTE if str(error) == "unexpected end of data" else f"({error})"
        raise StatementRefusedError([Finding(start, f"This is not valid CSV {reason}.")]) from error


def _columns(header: list[str]) -> list[str]:
    names = [" ".join(cell.strip().lstrip("*").split()).lower() for cell in header]
    problems = [
        f"unknown column {cell.strip()!r}"
        for cell, n in zip(header, names, strict=True)
        if n not in KNOWN
    ]
    problems += [f"the column {n!r} appears twice" for n in KNOWN if names.count(n) > 1]
    problems += [f"the column {n!r} is missing" for n in REQUIRED if n not in names]
    if problems:
        expected = "*Date,*Amount,Payee,Description,Reference"
        raise StatementRefusedError(
            [Finding(1, f"The header must name the columns ({expected}): {'; '.join(problems)}.")]
        )
    return names


def _line(
    number: int, cells: list[str], columns: list[str]
) -> tuple[StatementLine | None, list[str]]:
    if len(cells) > len(columns):
        return None, [
            f"{len(cells)} cells for {len(columns)} columns (a comma in an unquoted cell?)."
        ]
    values = dict(
        zip(columns, [cell.strip() for cell in cells], strict=False)
    )  # short rows: blank cells
    problems: list[str] = []
    on = _date(values.get("date", ""), problems)
    amount = _amount(values.get("amount", ""), problems)
    texts = {name: values.get(name, "") for name in LIMITS}
    if values.get("cheque number"):
        texts["reference"] = f"{texts['reference']} cheque {values['cheque number']}".strip()
    problems += [
        f"{name.capitalize()} is longer than {limit} characters."
        for name, limit in LIMITS.items()
        if len(texts[name]) > limit
    ]
    if problems or on is None or amount is None:
        return None, problems
    return StatementLine(number, on, amount, **texts), []


def _date(text: str, problems: list[str]) -> date | None:
    found = _DMY.fullmatch(text)
    parts = (found[3], found[2], found[1]) if found else None
    if parts is None and (iso := _ISO.fullmatch(text)):
        parts = (iso[1], iso[2], iso[3])
    if parts is None:
        problems.append(f"Date {text!r} is not a date like 31/12/2026 or 2026-12-31.")
        return None
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        problems.append(f"Date {text!r} is not a real day.")
        return None


def _amount(text: str, problems: list[str]) -> int | None:
    try:
        cents = parse_signed_cents(text)
    except InvalidAmountError as error:
        problems.append(str(error))
        return None
    if cents == 0:
        problems.append("Amount is 0.00: a statement line moves money.")
        return None
    return cents


def parse_signed_cents(text: str) -> int:
    """A statement amount: the ledger's strict parser, with one leading ``-`` for money out."""
    stripped = text.strip(" \t")
    negative = stripped.startswith("-")
    body = stripped[1:] if negative else stripped
    if body.startswith(("-", "+", "−", "(")) or stripped.startswith(("+", "−", "(")):
        raise InvalidAmountError(f"Amount {text!r} has a sign the statement format does not use.")
    cents = parse_cents(body, field="Amount")
    return -cents if negative else cents
