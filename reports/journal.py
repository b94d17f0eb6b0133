"""A book as a plain-text accounting journal that hledger and ledger-cli both read.

Why: an auditor should not have to trust our arithmetic. The journal is an independent
restatement of the ledger that two unrelated programs re-add: ``hledger bal`` and ``ledger bal``
must report exactly ``flexpool ledger trial-balance``, account by account, and every posting
carries a balance assertion (``= $R``) both tools check, so a single wrong cent stops them.

Format (docs/exports.md#the-plain-text-journal): one journal entry per posted transfer, its transfer
id as the code, ``*`` (cleared) for posted money; postings are debit-positive in ``$`` with two
decimals. Entries are written in date order (then transfer id) with the running balance computed in
that order, because both tools check assertions in date order, and a backdated transfer would
otherwise assert a balance the tools never see. Holds still open at the end of the period follow as
``!`` (pending) entries on ``held:`` twins of their accounts (``held:org:NGO1``): both tools order
entries by date, so a hold on the real account would count in every later assertion, and reserved
money is not spent. ``hledger bal --cleared`` (``ledger bal --cleared``) is the posted trial
balance; ``hledger bal held`` is what approvals have reserved. Accounts are named by their ledger
codes (``client:C-0001``), which both tools read as a hierarchy.

For a period, an opening entry carries each account's posted balance at the start, so the file
stands alone. Nothing in it depends on when it was written: the header names the period and the
last ledger transaction dated inside it (its sequence and chain hash), so a closed period
regenerates byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TextIO

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from approvals.fiscal import Period
from ledger.models import accounts, books, transactions, transfers
from ledger.money import cents_to_decimal_text
from ledger.queries import hold_open_on, trial_balance
from ledger.values import Phase
from reports.ledger_state import ledger_head

BATCH = 2_000
HELD = "held:"


@dataclass(frozen=True)
class JournalSummary:
    book: str
    period: str
    entries: int  # posted transfers written (the opening entry not counted)
    pending: int  # holds still open at the end, written as ``!``
    through_sequence: int
    through_hash: str


def money(cents: int) -> str:
    """``$-480.00``: the sign after the symbol, no thousands separator (both tools agree)."""
    return f"${'-' if cents < 0 else ''}{cents_to_decimal_text(abs(cents))}"


def _clean(text: str) -> str:
    """One line, no comment or hierarchy markers that would change how the tools parse it."""
    return " ".join(text.replace(";", ",").split())[:200]


def write_journal(
    session: Session, book: str, out: TextIO, period: Period | None = None
) -> JournalSummary:
    """Write the book (or one period of it) to ``out``; returns what was written."""
    last = ledger_head(session, book, period.end if period else None)
    label = period.label if period else "all history"
    out.write(f"; flexpool journal of book {book}, {label}\n")
    out.write(f"; ledger through sequence {last[0]}, chain hash {last[1]}\n")
    out.write("; amounts in AUD, debit-positive; * posted, ! held (reserved, not yet paid)\n\n")
    running: dict[str, int] = {}
    if period is not None:
        _opening(session, book, period, out, running)
    entries = 0
    for row in _posted(session, book, period):
        _entry(out, row, running)
        entries += 1
    pending = 0
    for row in _open_holds(session, book, period.end if period else None):
        _entry(out, row, None)
        pending += 1
    return JournalSummary(book, label, entries, pending, last[0], last[1])


def _opening(
    session: Session, book: str, period: Period, out: TextIO, running: dict[str, int]
) -> None:
    lines = [
        line
        for line in trial_balance(session, book, as_of=period.start - timedelta(days=1))
        if line.balance
    ]
    if not lines:
        return
    out.write(f"{period.start.isoformat()} * (opening) Balances brought forward\n")
    for line in lines:
        running[line.account] = line.balance
        out.write(f"    {line.account}  {money(line.balance)} = {money(line.balance)}\n")
    out.write("\n")


@dataclass(frozen=True)
class _Row:
    transfer_id: int
    day: date
    memo: str
    kind: str
    debit: str
    credit: str
    amount: int
    sequence: int
    status: str


def _select(book: str) -> Select[int, date, str, str, str, str, int, int]:
    debit, credit = accounts.alias("debit"), accounts.alias("credit")
    query = (
        select(
            transfers.c.id,
            transfers.c.effective_date,
            transactions.c.memo,
            transfers.c.kind,
            debit.c.code,
            credit.c.code,
            transfers.c.amount,
            transactions.c.sequence,
        )
        .join(transactions, transactions.c.id == transfers.c.transaction_id)
        .join(books, books.c.id == transfers.c.book_id)
        .join(debit, debit.c.id == transfers.c.debit_account_id)
        .join(credit, credit.c.id == transfers.c.credit_account_id)
        .where(books.c.code == book)
    )
    return query


def _rows(
    session: Session, query: Select[int, date, str, str, str, str, int, int], status: str
) -> Iterator[_Row]:
    for id_, day, memo, kind, debit, credit, amount, sequence in session.execute(
        query.execution_options(yield_per=BATCH)
    ):
        yield _Row(id_, day, memo, kind, debit, credit, amount, sequence, status)


def _posted(session: Session, book: str, period: Period | None) -> Iterator[_Row]:
    query = _select(book).where(
        transfers.c.phase.in_((Phase.SINGLE.value, Phase.POST_PENDING.value))
    )
    if period is not None:
        query = query.where(transfers.c.effective_date.between(period.start, period.end))
    return _rows(session, query.order_by(transfers.c.effective_date, transfers.c.id), "*")


def _open_holds(session: Session, book: str, through: date | None) -> Iterator[_Row]:
    """Holds made by the end of the period and not posted or voided by then."""
    query = _select(book).where(hold_open_on(through))
    return _rows(session, query.order_by(transfers.c.effective_date, transfers.c.id), "!")


def _entry(out: TextIO, row: _Row, running: dict[str, int] | None) -> None:
    """One transfer: debit then credit; with ``running``, each posting asserts its balance."""
    out.write(
        f"{row.day.isoformat()} {row.status} (T{row.transfer_id:07d}) "
        f"{_clean(row.memo) or row.kind} [{row.kind}]\n"
    )
    out.write(f"    ; sequence:{row.sequence}\n")
    for account, cents in ((row.debit, row.amount), (row.credit, -row.amount)):
        if running is None:
            out.write(f"    {HELD}{account}  {money(cents)}\n")
            continue
        running[account] = running.get(account, 0) + cents
        out.write(f"    {account}  {money(cents)} = {money(running[account])}\n")
    out.write("\n")
