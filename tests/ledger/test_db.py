"""The unit of work: one commit, a bounded retry on deadlock, nothing half-written on error."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ledger import LedgerError, TransferKind, post_entry
from ledger.db import run_in_transaction
from ledger.errors import ConcurrencyError
from ledger.models import books
from tests.support.ledger import LedgerKit


class FakeDriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def deadlock() -> DBAPIError:
    return OperationalError("SELECT ... FOR UPDATE", {}, FakeDriverError("40P01"))


def sequence_of(kit: LedgerKit) -> int:
    with kit.factory() as session:
        return int(
            session.execute(
                select(books.c.last_sequence).where(books.c.code == kit.book)
            ).scalar_one()
        )


def test_a_deadlock_is_retried_and_the_retry_commits_once(kit: LedgerKit) -> None:
    kit.fund_pool()
    attempts: list[int] = []
    entry = kit.entry(kit.allocate_leg("org:NGO1", "10.00"))

    def work(session: Session) -> Any:
        posted = post_entry(session, entry, now=kit.now)
        attempts.append(posted.sequence)
        if len(attempts) < 3:
            raise deadlock()  # after writing: the rollback must undo it
        return posted

    posted = run_in_transaction(kit.factory, work)
    assert attempts == [2, 2, 2]
    assert posted.sequence == sequence_of(kit) == 2
    assert kit.balance("org:NGO1").posted == 1000
    assert kit.verify() == []


def test_retries_are_bounded_and_end_in_a_clear_busy_error(
    session_factory: sessionmaker[Session],
) -> None:
    calls: list[int] = []

    def always_deadlocks(session: Session) -> None:
        calls.append(1)
        raise deadlock()

    with pytest.raises(ConcurrencyError, match="busy; the change was not made"):
        run_in_transaction(session_factory, always_deadlocks, attempts=3)
    assert len(calls) == 3


def test_other_database_errors_are_not_retried(session_factory: sessionmaker[Session]) -> None:
    calls: list[int] = []

    def fails(session: Session) -> None:
        calls.append(1)
        raise OperationalError("SELECT 1", {}, FakeDriverError("08006"))

    with pytest.raises(OperationalError):
        run_in_transaction(session_factory, fails)
    assert len(calls) == 1


def test_a_ledger_error_rolls_back_everything_the_work_did_before_it(kit: LedgerKit) -> None:
    kit.fund_pool("100.00")

    def two_steps(session: Session) -> None:
        post_entry(session, kit.entry(kit.allocate_leg("org:NGO1", "60.00")), now=kit.now)
        post_entry(
            session,
            kit.entry(kit.move("pool", "org:NGO2", "60.00", TransferKind.ALLOCATION)),
            now=kit.now,
        )

    with pytest.raises(LedgerError, match="Insufficient funds in pool"):
        run_in_transaction(kit.factory, two_steps)
    assert sequence_of(kit) == 1
    assert kit.balance("org:NGO1").posted == 0
