"""The database itself refuses what must never happen, and verify catches what got underneath it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError

from ledger import TransferKind
from ledger.db import make_engine, make_session_factory
from tests.support.ledger import LedgerKit, open_kit

RawSQL = Callable[..., Any]


def insert_sql(columns: list[str]) -> str:
    names = ", ".join(columns)
    values = ", ".join(f":{c}" for c in columns)
    return f"INSERT INTO ledger_transfers ({names}) VALUES ({values})"


def transfer_row(raw_sql: RawSQL, transfer_id: int) -> Any:
    return raw_sql("SELECT * FROM ledger_transfers WHERE id = :id", id=transfer_id).mappings().one()


@pytest.mark.parametrize("table", ["ledger_transfers", "ledger_transactions"])
@pytest.mark.parametrize(
    "statement", ["UPDATE {table} SET book_id = book_id", "DELETE FROM {table}"]
)
def test_ledger_rows_cannot_be_updated_or_deleted(
    kit: LedgerKit, raw_sql: RawSQL, table: str, statement: str
) -> None:
    kit.fund_pool()
    with pytest.raises(IntegrityError, match="append-only"):
        raw_sql(statement.format(table=table))
    assert kit.verify() == []


def test_period_closes_cannot_be_undone_underneath(kit: LedgerKit, raw_sql: RawSQL) -> None:
    from datetime import date

    from ledger import close_period

    kit.run(
        lambda s: close_period(
            s, book=kit.book, through=date(2026, 9, 30), actor="u", now=kit.now, today=kit.day
        )
    )
    with pytest.raises(IntegrityError, match="append-only"):
        raw_sql("DELETE FROM ledger_period_closes")


def test_the_counters_check_refuses_an_overdraft_even_from_raw_sql(
    kit: LedgerKit, raw_sql: RawSQL
) -> None:
    kit.fund_pool("100.00")
    kit.allocate("org:NGO1", "10.00")
    with pytest.raises(IntegrityError):
        raw_sql(
            "UPDATE ledger_accounts SET debits_pending = 1001 WHERE code = 'org:NGO1' "
            "AND book_id = (SELECT id FROM ledger_books WHERE code = :book)",
            book=kit.book,
        )


def test_a_transfer_cannot_touch_an_account_of_another_book(
    kit: LedgerKit, raw_sql: RawSQL
) -> None:
    kit.fund_pool()
    (grant,) = kit.post(kit.move("bank", "pool", "1.00", TransferKind.GRANT_RECEIPT)).transfer_ids
    other = open_kit(kit.factory, kit.now)
    row = dict(transfer_row(raw_sql, grant))
    stranger = raw_sql(
        "SELECT a.id FROM ledger_accounts a JOIN ledger_books b ON b.id = a.book_id "
        "WHERE b.code = :book AND a.code = 'pool'",
        book=other.book,
    ).scalar_one()
    row.update(id=None, credit_account_id=stranger)
    columns = [name for name in row if name != "id"]
    with pytest.raises(IntegrityError):
        raw_sql(
            insert_sql(columns),
            **{c: row[c] for c in columns},
        )


def test_a_hold_can_be_resolved_only_once_even_from_raw_sql(
    kit: LedgerKit, raw_sql: RawSQL
) -> None:
    kit.fund_pool()
    kit.allocate("org:NGO1", "100.00")
    (held,) = kit.post(kit.hold("org:NGO1", "client:C-0001", "10.00")).transfer_ids
    (void,) = kit.post(kit.release(held)).transfer_ids
    row = dict(transfer_row(raw_sql, void))
    columns = [name for name in row if name != "id"]
    with pytest.raises(IntegrityError):
        raw_sql(
            insert_sql(columns),
            **{c: row[c] for c in columns},
        )


def tamper(raw_sql: RawSQL, dialect: str, sql: str, **params: Any) -> None:
    """Change a transfer underneath the application, as an attacker with DDL rights could."""
    if dialect == "postgresql":
        raw_sql("ALTER TABLE ledger_transfers DISABLE TRIGGER ledger_transfers_append_only")
        try:
            raw_sql(sql, **params)
        finally:
            raw_sql("ALTER TABLE ledger_transfers ENABLE TRIGGER ledger_transfers_append_only")
        return
    raw_sql("DROP TRIGGER ledger_transfers_no_update")
    try:
        raw_sql(sql, **params)
    finally:
        raw_sql(
            "CREATE TRIGGER ledger_transfers_no_update BEFORE UPDATE ON ledger_transfers "
            "BEGIN SELECT RAISE(ABORT, 'ledger_transfers is append-only: UPDATE refused'); END"
        )


def test_verify_names_the_tampered_transfer_the_counter_drift_and_the_broken_chain(
    kit: LedgerKit, raw_sql: RawSQL, dialect: str
) -> None:
    kit.fund_pool("1,000.00")
    allocation = kit.allocate("org:NGO1", "100.00")
    later = kit.allocate("org:NGO1", "50.00")
    kit.allocate("org:NGO2", "25.00")
    assert kit.verify() == []
    (tampered,) = allocation.transfer_ids
    (shifted,) = later.transfer_ids
    tamper(
        raw_sql, dialect, "UPDATE ledger_transfers SET amount = 15000 WHERE id = :id", id=tampered
    )
    tamper(
        raw_sql,
        dialect,
        "UPDATE ledger_transfers SET debit_balance_after = 0 WHERE id = :id",
        id=shifted,
    )

    findings = kit.verify()
    by_check = {finding.check for finding in findings}
    assert {"balance_after", "counter", "chain"} <= by_check
    assert any(
        f.check == "balance_after" and f.transfer_id == tampered and f"T{tampered}" in f.message
        for f in findings
    )
    assert any(f.check == "balance_after" and f.transfer_id == shifted for f in findings)
    drift = [f for f in findings if f.check == "counter"]
    assert {f.account for f in drift} == {"pool", "org:NGO1"}
    assert any("drift -$50.00" in f.message for f in drift)
    broken = [f for f in findings if f.check == "chain"]
    assert {f.transaction_id for f in broken} == {allocation.transaction_id, later.transaction_id}
    assert all("chain is broken" in f.message for f in broken)


def test_verify_covers_every_book_when_no_book_is_named(
    sqlite_template: Path, tmp_path: Path, now: datetime
) -> None:
    """On a database of its own: verifying everything on the shared PostgreSQL one would be slow."""
    from ledger import verify

    path = tmp_path / "two-books.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    try:
        first, second = (
            open_kit(make_session_factory(engine), now),
            open_kit(make_session_factory(engine), now),
        )
        first.fund_pool()
        second.fund_pool()
        with first.factory() as session:
            assert verify(session) == []
            (missing,) = verify(session, "NO-SUCH-BOOK")
        assert missing.check == "book"
    finally:
        engine.dispose()


def test_a_transaction_can_still_write_after_verifying_the_book(kit: LedgerKit) -> None:
    """``verify`` streams its reads; that must not leave the session's connection streaming
    (on PostgreSQL a later INSERT … RETURNING would then fail as a server-side cursor)."""
    from ledger.models import Book
    from ledger.verify import verify

    kit.fund_pool()

    def verify_then_write(session: Any) -> list[Any]:
        findings = verify(session, kit.book)
        session.add(Book(code=f"{kit.book}-B", name="second book", created_at=kit.now))
        session.flush()  # an ORM insert: INSERT … RETURNING id
        return findings

    assert kit.run(verify_then_write) == []
