"""The transfer workload written by hand against the DB-API driver: the database's own limit.

It issues the same statements, in the same order, as ``ledger.posting.post_entry`` does for a
one-leg transfer: lock the book row, lock both account rows in id order, check the overdraft in
Python, insert the journal transaction and the transfer (both ``RETURNING id``), update both
accounts' counters (one ``executemany``, as SQLAlchemy sends it), then advance the book's
sequence and hash with a conditional update. The hash is a sha256 over the previous hash and a
positional JSON array of the same content. What is left out is everything the service adds on
top: value objects and their checks, sessions, the connection pool, statement compilation.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

# Columns as in the prebuilt statements of ledger.statements.
_LOCK_BOOK = (
    "SELECT id, code, last_sequence, last_hash, date_high_water, closed_through "
    "FROM ledger_books WHERE code = {p}{lock}"
)
_LOCK_ACCOUNTS = (
    "SELECT id, code, type, debits_must_not_exceed_credits, credits_must_not_exceed_debits, "
    "closed, debits_pending, debits_posted, credits_pending, credits_posted "
    "FROM ledger_accounts WHERE book_id = {p} AND code IN ({p}, {p}) ORDER BY id{lock}"
)
_INSERT_TRANSACTION = (
    "INSERT INTO ledger_transactions (book_id, sequence, effective_date, memo, actor, "
    "idempotency_key, payload_hash, reverses_id, transfer_count, backdated, prev_hash, hash, "
    "created_at) VALUES ({p}, {p}, {p}, {p}, {p}, NULL, NULL, NULL, 1, {p}, {p}, {p}, {p}) "
    "RETURNING id"
)
_INSERT_TRANSFER = (
    "INSERT INTO ledger_transfers (transaction_id, book_id, debit_account_id, credit_account_id, "
    "amount, kind, phase, pending_id, expires_at, category, request_id, effective_date, "
    "backdated, debit_balance_after, credit_balance_after) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, "
    "'single', NULL, NULL, NULL, NULL, {p}, {p}, {p}, {p}) RETURNING id"
)
_UPDATE_COUNTERS = (
    "UPDATE ledger_accounts SET debits_pending = {p}, debits_posted = {p}, "
    "credits_pending = {p}, credits_posted = {p} WHERE id = {p}"
)
_ADVANCE_BOOK = (
    "UPDATE ledger_books SET last_sequence = {p}, last_hash = {p}, date_high_water = {p} "
    "WHERE id = {p} AND last_sequence = {p}"
)


@dataclass(frozen=True)
class Dialect:
    placeholder: str
    lock: str
    begin: str
    sqlite: bool


POSTGRES = Dialect("%s", " FOR UPDATE", "BEGIN", sqlite=False)
SQLITE = Dialect("?", "", "BEGIN IMMEDIATE", sqlite=True)


class RawLedger:
    """One connection, one book; :meth:`transfer` is one committed journal transaction."""

    def __init__(self, connection: Any, dialect: Dialect, book: str) -> None:
        self.connection = connection
        self.dialect = dialect
        self.book = book
        self.cursor = connection.cursor()
        self.sql = {
            name: template.format(p=dialect.placeholder, lock=dialect.lock)
            for name, template in (
                ("book", _LOCK_BOOK),
                ("accounts", _LOCK_ACCOUNTS),
                ("tx", _INSERT_TRANSACTION),
                ("transfer", _INSERT_TRANSFER),
                ("counters", _UPDATE_COUNTERS),
                ("advance", _ADVANCE_BOOK),
            )
        }

    def transfer(self, debit: str, credit: str, amount: int, on: date, kind: str) -> None:
        cursor = self.cursor
        cursor.execute(self.dialect.begin)
        try:
            self._post(debit, credit, amount, on, kind)
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        cursor.execute("COMMIT")

    def _post(self, debit: str, credit: str, amount: int, on: date, kind: str) -> None:
        cursor, sql, sqlite = self.cursor, self.sql, self.dialect.sqlite
        now = datetime.now(UTC)
        on_value: Any = on.isoformat() if sqlite else on
        book_id, code, sequence, prev_hash, high_water, closed = cursor.execute(
            sql["book"], (self.book,)
        ).fetchone()
        if closed is not None and on_value <= closed:
            raise RuntimeError("period closed")
        rows = cursor.execute(sql["accounts"], (book_id, debit, credit)).fetchall()
        by_code = {row[1]: list(row) for row in rows}
        d, c = by_code[debit], by_code[credit]
        d[7] += amount  # debits_posted
        c[9] += amount  # credits_posted
        for row in (d, c):
            if row[5] or _overdrawn(row):
                raise RuntimeError(f"insufficient funds or closed: {row[1]}")
        backdated = high_water is not None and on_value < high_water
        d_after, c_after = d[7] - d[9], c[7] - c[9]
        created = now.replace(tzinfo=None).isoformat(" ") if sqlite else now
        content = [
            "flexpool-ledger-v1",
            code,
            sequence + 1,
            on.isoformat(),
            "allocation",
            "bench",
            None,
            None,
            None,
            backdated,
            now.isoformat(timespec="microseconds"),
            [[debit, credit, amount, kind, "single", None, None, None, None, d_after, c_after]],
        ]
        digest = hashlib.sha256(prev_hash.encode("ascii"))
        digest.update(json.dumps(content, separators=(",", ":"), ensure_ascii=True).encode())
        new_hash = digest.hexdigest()
        tx_id = cursor.execute(
            sql["tx"],
            (
                book_id,
                sequence + 1,
                on_value,
                "allocation",
                "bench",
                backdated,
                prev_hash,
                new_hash,
                created,
            ),
        ).fetchone()[0]
        cursor.execute(
            sql["transfer"],
            (tx_id, book_id, d[0], c[0], amount, kind, on_value, backdated, d_after, c_after),
        ).fetchone()
        cursor.executemany(sql["counters"], [(r[6], r[7], r[8], r[9], r[0]) for r in (d, c)])
        top = on_value if high_water is None or on_value > high_water else high_water
        cursor.execute(sql["advance"], (sequence + 1, new_hash, top, book_id, sequence))
        if cursor.rowcount != 1:
            raise RuntimeError("book sequence moved while locked")


def _overdrawn(row: list[Any]) -> bool:
    """Counters: 6 debits_pending, 7 debits_posted, 8 credits_pending, 9 credits_posted."""
    if row[3]:
        return bool(row[7] + row[6] > row[9])
    if row[4]:
        return bool(row[9] + row[8] > row[7])
    return False
