"""Recompute the whole ledger from its transfers and say everything that disagrees.

The database already refuses most corruption; this is how an auditor checks that it did, and how
tampering underneath the database (a dropped trigger, a raw UPDATE) is caught. Nothing stops at
the first problem: every finding is returned, as Beancount's validations do.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger import chain
from ledger.chain import TransferContent
from ledger.models import GENESIS_HASH, accounts, books, period_closes, transactions, transfers
from ledger.money import format_cents
from ledger.values import POSTED_PHASES, Finding, Phase

_POSTED = {phase.value for phase in POSTED_PHASES}
MAX_REPEATS = 3  # per account and check, then one summary line


@dataclass
class _Recomputed:
    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0

    @property
    def net(self) -> int:
        return self.debits_posted - self.credits_posted


@dataclass
class _BookCheck:
    book_id: int
    code: str
    findings: list[Finding] = field(default_factory=list)
    codes: dict[int, str] = field(default_factory=dict)
    totals: dict[int, _Recomputed] = field(default_factory=lambda: defaultdict(_Recomputed))
    open_holds: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    resolved: set[int] = field(default_factory=set)
    repeats: dict[tuple[str, int], int] = field(default_factory=lambda: defaultdict(int))

    def add(self, check: str, message: str, **where: Any) -> None:
        self.findings.append(Finding(check, message, book=self.code, **where))

    def add_limited(self, check: str, account_id: int, message: str, **where: Any) -> None:
        key = (check, account_id)
        self.repeats[key] += 1
        if self.repeats[key] <= MAX_REPEATS:
            self.add(check, message, **where)


def verify(session: Session, book: str | None = None) -> list[Finding]:
    """Every inconsistency in one book (or all books); an empty list means the ledger is sound."""
    query = select(books).order_by(books.c.code)
    if book is not None:
        query = query.where(books.c.code == book)
    rows = session.connection().execute(query).all()
    if book is not None and not rows:
        return [Finding("book", f"There is no book {book!r}.", book=book)]
    findings: list[Finding] = []
    for row in rows:
        findings += _verify_book(session, row)
    return findings


def _verify_book(session: Session, book: Any) -> list[Finding]:
    check = _BookCheck(book.id, book.code)
    account_rows = (
        session.connection().execute(select(accounts).where(accounts.c.book_id == book.id)).all()
    )
    check.codes = {row.id: row.code for row in account_rows}
    closes = (
        session.connection()
        .execute(
            select(period_closes.c.closed_through, period_closes.c.closed_at).where(
                period_closes.c.book_id == book.id
            )
        )
        .all()
    )
    last_sequence, last_hash, reversals = _walk_chain(session, check, closes)
    if book.last_sequence != last_sequence:
        check.add(
            "sequence",
            f"Book says its last transaction is #{book.last_sequence}, "
            f"but the last one is #{last_sequence}.",
        )
    if book.last_hash != last_hash:
        check.add("chain", "The book's chain head does not match its last transaction's hash.")
    expected_lock = max((c.closed_through for c in closes), default=None)
    if book.closed_through != expected_lock:
        check.add(
            "period",
            f"Book lock date {book.closed_through} does not match "
            f"its period closes ({expected_lock}).",
        )
    _check_accounts(check, account_rows)
    _check_reversals(session, check, reversals)
    return check.findings


def _stream(session: Session, book_id: int) -> Iterator[Any]:
    query = (
        select(
            transactions.c.id.label("tx_id"),
            transactions.c.sequence,
            transactions.c.effective_date.label("tx_date"),
            transactions.c.memo,
            transactions.c.actor,
            transactions.c.idempotency_key,
            transactions.c.payload_hash,
            transactions.c.reverses_id,
            transactions.c.transfer_count,
            transactions.c.backdated.label("tx_backdated"),
            transactions.c.prev_hash,
            transactions.c.hash,
            transactions.c.created_at,
            transfers,
        )
        .outerjoin(
            transfers,
            (transfers.c.book_id == book_id) & (transfers.c.transaction_id == transactions.c.id),
        )
        .where(transactions.c.book_id == book_id)
        .order_by(transactions.c.sequence, transfers.c.id)
    )
    # Options on this statement only: Connection.execution_options() would change the session's
    # connection in place and leave every later statement of the transaction streaming.
    yield from session.connection().execute(
        query, execution_options={"stream_results": True, "yield_per": 2000}
    )


def _walk_chain(
    session: Session, check: _BookCheck, closes: Sequence[Any]
) -> tuple[int, str, list[tuple[int, int]]]:
    prev_hash, expected_sequence, high_water = GENESIS_HASH, 1, None
    reversals: list[tuple[int, int]] = []
    group: list[Any] = []

    def finish(rows: list[Any]) -> None:
        nonlocal prev_hash, expected_sequence, high_water
        head = rows[0]
        if head.sequence != expected_sequence:
            check.add(
                "sequence",
                f"Transaction #{head.sequence} follows #{expected_sequence - 1}: "
                "the sequence has a gap.",
                transaction_id=head.tx_id,
            )
        expected_sequence = head.sequence + 1
        backdated = high_water is not None and head.tx_date < high_water
        high_water = head.tx_date if high_water is None else max(high_water, head.tx_date)
        contents = _check_transfers(check, head, [r for r in rows if r.id is not None], backdated)
        if head.tx_backdated != backdated:
            check.add(
                "backdated",
                f"Transaction #{head.sequence} has the wrong backdated flag.",
                transaction_id=head.tx_id,
            )
        if head.prev_hash != prev_hash:
            check.add(
                "chain",
                f"Transaction #{head.sequence} does not point at its predecessor's hash: "
                "the chain is broken.",
                transaction_id=head.tx_id,
            )
        recomputed = chain.transaction_hash(
            head.prev_hash,
            book=check.code,
            sequence=head.sequence,
            effective_date=head.tx_date,
            memo=head.memo,
            actor=head.actor,
            idempotency_key=head.idempotency_key,
            payload_hash=head.payload_hash,
            reverses_id=head.reverses_id,
            backdated=head.tx_backdated,
            created_at=head.created_at,
            transfers=contents,
        )
        if recomputed != head.hash:
            check.add(
                "chain",
                f"Transaction #{head.sequence} does not match its hash: its content was "
                "changed after posting (the chain is broken here).",
                transaction_id=head.tx_id,
            )
        prev_hash = head.hash
        for close in closes:
            if head.tx_date <= close.closed_through and head.created_at > close.closed_at:
                check.add(
                    "period",
                    f"Transaction #{head.sequence} is dated {head.tx_date} inside a period "
                    f"closed at {close.closed_at:%Y-%m-%d %H:%M}.",
                    transaction_id=head.tx_id,
                )
        if head.reverses_id is not None:
            reversals.append((head.tx_id, head.reverses_id))

    for row in _stream(session, check.book_id):
        if group and row.tx_id != group[0].tx_id:
            finish(group)
            group = []
        group.append(row)
    if group:
        finish(group)
    return expected_sequence - 1, prev_hash, reversals


def _check_transfers(
    check: _BookCheck, head: Any, rows: list[Any], backdated: bool
) -> list[TransferContent]:
    if len(rows) != head.transfer_count or not rows:
        check.add(
            "transaction",
            f"Transaction #{head.sequence} should have {head.transfer_count} transfer(s) "
            f"but has {len(rows)}.",
            transaction_id=head.tx_id,
        )
    contents = []
    for row in rows:
        _check_transfer(check, head, row, backdated)
        contents.append(
            chain.transfer_content(
                row._mapping, lambda account_id: check.codes.get(account_id, "?")
            )
        )
    return contents


def _check_transfer(check: _BookCheck, head: Any, row: Any, backdated: bool) -> None:
    where = {"transaction_id": head.tx_id, "transfer_id": row.id}
    label = f"Transfer T{row.id} (transaction #{head.sequence})"
    if (
        row.book_id != check.book_id
        or row.debit_account_id not in check.codes
        or row.credit_account_id not in check.codes
    ):
        check.add("transfer", f"{label} touches an account outside book {check.code}.", **where)
        return
    if row.amount <= 0 or row.debit_account_id == row.credit_account_id:
        check.add(
            "transfer", f"{label} has a non-positive amount or one account on both sides.", **where
        )
    if row.effective_date != head.tx_date or row.backdated != backdated:
        check.add(
            "transfer", f"{label} disagrees with its transaction's date or backdated flag.", **where
        )
    debit, credit = check.totals[row.debit_account_id], check.totals[row.credit_account_id]
    if row.phase == Phase.PENDING:
        debit.debits_pending += row.amount
        credit.credits_pending += row.amount
        check.open_holds[row.id] = (row.amount, row.debit_account_id, row.credit_account_id)
    elif row.phase in (Phase.POST_PENDING, Phase.VOID_PENDING):
        _resolve(check, row, label, where)
    if row.phase in _POSTED:
        debit.debits_posted += row.amount
        credit.credits_posted += row.amount
    for account_id, stored in (
        (row.debit_account_id, row.debit_balance_after),
        (row.credit_account_id, row.credit_balance_after),
    ):
        running = check.totals[account_id].net
        if stored != running:
            check.add_limited(
                "balance_after",
                account_id,
                f"{label}: balance after on {check.codes[account_id]} is stored as "
                f"{format_cents(stored)} but the running balance is {format_cents(running)}.",
                account=check.codes[account_id],
                **where,
            )


def _resolve(check: _BookCheck, row: Any, label: str, where: dict[str, Any]) -> None:
    held = check.open_holds.pop(row.pending_id, None)
    if held is None:
        state = (
            "resolved twice"
            if row.pending_id in check.resolved
            else "not an earlier pending transfer in this book"
        )
        check.add("pending", f"{label} resolves T{row.pending_id}, which is {state}.", **where)
        return
    check.resolved.add(row.pending_id)
    amount, debit_id, credit_id = held
    check.totals[debit_id].debits_pending -= amount
    check.totals[credit_id].credits_pending -= amount
    if (debit_id, credit_id) != (row.debit_account_id, row.credit_account_id):
        check.add("pending", f"{label} resolves T{row.pending_id} on different accounts.", **where)
    too_much = row.amount > amount if row.phase == Phase.POST_PENDING else row.amount != amount
    if too_much:
        check.add(
            "pending",
            f"{label} moves {format_cents(row.amount)} against a hold of {format_cents(amount)}.",
            **where,
        )


_COUNTERS = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")


def _check_accounts(check: _BookCheck, account_rows: Sequence[Any]) -> None:
    total_net = 0
    for row in account_rows:
        recomputed = check.totals[row.id]
        for name in _COUNTERS:
            stored, actual = getattr(row, name), getattr(recomputed, name)
            if stored != actual:
                check.add(
                    "counter",
                    f"Account {row.code}: {name.replace('_', ' ')} is {format_cents(stored)} "
                    f"but its transfers add up to {format_cents(actual)} "
                    f"(drift {format_cents(stored - actual)}).",
                    account=row.code,
                )
        if (
            row.debits_must_not_exceed_credits
            and row.debits_posted + row.debits_pending > row.credits_posted
        ):
            check.add("overdraft", f"Account {row.code} is overdrawn.", account=row.code)
        if (
            row.credits_must_not_exceed_debits
            and row.credits_posted + row.credits_pending > row.debits_posted
        ):
            check.add("overdraft", f"Account {row.code} is overdrawn.", account=row.code)
        if row.closed and (
            row.debits_posted != row.credits_posted or row.debits_pending or row.credits_pending
        ):
            check.add("closed", f"Account {row.code} is closed but not empty.", account=row.code)
        total_net += recomputed.net
        for key, count in check.repeats.items():
            if key[1] == row.id and count > MAX_REPEATS:
                check.add(
                    key[0],
                    f"…and {count - MAX_REPEATS} more {key[0]} findings on {row.code}.",
                    account=row.code,
                )
    if total_net != 0:
        check.add(
            "trial_balance", f"The trial balance does not sum to zero: {format_cents(total_net)}."
        )


def _check_reversals(session: Session, check: _BookCheck, reversals: list[tuple[int, int]]) -> None:
    if not reversals:
        return
    ids = {i for pair in reversals for i in pair}
    legs: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    rows = (
        session.connection()
        .execute(
            select(
                transfers.c.transaction_id,
                transfers.c.debit_account_id,
                transfers.c.credit_account_id,
                transfers.c.amount,
            )
            .where(transfers.c.book_id == check.book_id, transfers.c.transaction_id.in_(ids))
            .order_by(transfers.c.id)
        )
        .all()
    )
    for row in rows:
        legs[row.transaction_id].append((row.debit_account_id, row.credit_account_id, row.amount))
    for reversal_id, original_id in reversals:
        mirrored = [
            (credit, debit, amount) for debit, credit, amount in reversed(legs[original_id])
        ]
        if legs[reversal_id] != mirrored:
            check.add(
                "reversal",
                f"Transaction {reversal_id} does not mirror the transaction "
                f"it reverses ({original_id}).",
                transaction_id=reversal_id,
            )


def summarize(findings: list[Finding]) -> str:
    """The one-line verdict the CLI and the generator print."""
    if not findings:
        return "Ledger verified: no findings."
    return f"Ledger has {len(findings)} finding(s)."
