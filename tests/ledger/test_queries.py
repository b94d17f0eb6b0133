"""Balances as of a day, an account's entries page by page, and the trial balance."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from ledger import TransferKind, balance_as_of, list_entries, trial_balance
from ledger.errors import InvalidEntryError
from ledger.money import cents_to_decimal_text
from tests.support.ledger import LedgerKit, open_kit

NOV = date(2026, 11, 1)


def as_of(kit: LedgerKit, account: str, day: date) -> int:
    with kit.factory() as session:
        return balance_as_of(session, kit.book, account, day)


def test_as_of_balances_follow_effective_dates_including_backdated_entries(kit: LedgerKit) -> None:
    kit.post(kit.move("bank", "pool", "1,000.00", TransferKind.GRANT_RECEIPT), on=NOV)
    kit.post(kit.allocate_leg("org:NGO1", "100.00"), on=NOV + timedelta(days=9))
    kit.post(kit.allocate_leg("org:NGO1", "40.00"), on=NOV + timedelta(days=4))  # backdated
    (held,) = kit.post(
        kit.hold("org:NGO1", "client:C-0001", "30.00"), on=NOV + timedelta(days=10)
    ).transfer_ids
    kit.post(kit.settle(held, "20.00"), on=NOV + timedelta(days=2))  # backdated post of the hold
    assert as_of(kit, "org:NGO1", NOV) == 0
    assert as_of(kit, "org:NGO1", NOV + timedelta(days=2)) == -2_000
    assert as_of(kit, "org:NGO1", NOV + timedelta(days=4)) == 2_000
    assert as_of(kit, "org:NGO1", NOV + timedelta(days=9)) == 12_000
    assert as_of(kit, "client:C-0001", NOV + timedelta(days=3)) == 2_000
    assert as_of(kit, "pool", NOV - timedelta(days=1)) == 0
    assert as_of(kit, "pool", NOV + timedelta(days=30)) == 86_000
    assert kit.verify() == []


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(st.integers(0, 20), st.integers(1, 500)), min_size=1, max_size=12))
def test_as_of_equals_the_sum_of_everything_dated_on_or_before_the_day(
    session_factory: sessionmaker[Session], now: object, moves: list[tuple[int, int]]
) -> None:
    kit = open_kit(session_factory, now)  # type: ignore[arg-type]
    kit.post(kit.move("bank", "pool", "100,000.00", TransferKind.GRANT_RECEIPT), on=NOV)
    for offset, cents in moves:
        kit.post(
            kit.move("pool", "org:NGO1", cents_to_decimal_text(cents), TransferKind.ALLOCATION),
            on=NOV + timedelta(days=offset),
        )
    for day in range(-1, 22):
        expected = sum(cents for offset, cents in moves if offset <= day)
        assert as_of(kit, "org:NGO1", NOV + timedelta(days=day)) == expected


def test_entries_come_newest_first_a_page_at_a_time(kit: LedgerKit) -> None:
    kit.fund_pool()
    for dollars in range(1, 8):
        kit.allocate("org:NGO1", f"{dollars}.00")
    (held,) = kit.post(kit.hold("org:NGO1", "client:C-0001", "5.00")).transfer_ids
    seen, cursor = [], None
    while True:
        with kit.factory() as session:
            page = list_entries(session, kit.book, "org:NGO1", cursor=cursor, limit=3)
        seen += page.entries
        cursor = page.next_cursor
        if cursor is None:
            break
    assert [e.transfer_id for e in seen] == sorted((e.transfer_id for e in seen), reverse=True)
    assert len(seen) == 8
    assert seen[0].transfer_id == held and seen[0].phase == "pending" and seen[0].amount == -500
    assert seen[0].balance_after == 2_800  # holds do not change the posted balance
    assert [e.amount for e in seen[1:]] == [700, 600, 500, 400, 300, 200, 100]
    assert seen[1].counterparty == "pool"


def test_a_forged_cursor_is_refused(kit: LedgerKit) -> None:
    with kit.factory() as session, pytest.raises(InvalidEntryError, match="cursor"):
        list_entries(session, kit.book, "pool", cursor="%%%")
    with kit.factory() as session, pytest.raises(InvalidEntryError, match="page size"):
        list_entries(session, kit.book, "pool", limit=0)


def test_the_trial_balance_sums_to_zero_now_and_as_of_a_day(kit: LedgerKit) -> None:
    kit.post(kit.move("bank", "pool", "1,000.00", TransferKind.GRANT_RECEIPT), on=NOV)
    kit.post(kit.allocate_leg("org:NGO1", "100.00"), on=NOV + timedelta(days=5))
    (held,) = kit.post(
        kit.hold("org:NGO1", "client:C-0001", "30.00"), on=NOV + timedelta(days=6)
    ).transfer_ids
    kit.post(
        kit.settle(held),
        kit.move("client:C-0001", "bank", "30.00", TransferKind.PAYMENT),
        on=NOV + timedelta(days=7),
    )
    with kit.factory() as session:
        now_lines = {line.account: line for line in trial_balance(session, kit.book)}
        early = {
            line.account: line
            for line in trial_balance(session, kit.book, as_of=NOV + timedelta(days=5))
        }
    assert sum(line.balance for line in now_lines.values()) == 0
    assert (now_lines["bank"].debits, now_lines["bank"].credits, now_lines["bank"].balance) == (
        100_000,
        3_000,
        97_000,
    )
    assert now_lines["org:NGO1"].balance == -7_000
    assert sum(line.balance for line in early.values()) == 0
    assert early["org:NGO1"].balance == -10_000 and early["bank"].credits == 0


def test_several_balances_in_one_read_match_one_at_a_time_and_a_type_total(kit: LedgerKit) -> None:
    from ledger.errors import UnknownAccountError
    from ledger.queries import get_balance, get_balances, totals
    from ledger.values import AccountType, normal

    kit.post(kit.move("bank", "pool", "1,000.00", TransferKind.GRANT_RECEIPT), on=NOV)
    kit.post(kit.allocate_leg("org:NGO1", "250.00"), on=NOV)
    kit.post(kit.hold("org:NGO1", "client:C-0001", "30.00"), on=NOV)
    codes = ["pool", "org:NGO1", "client:C-0001", "bank"]
    with kit.factory() as session:
        together = get_balances(session, kit.book, codes)
        assert together == {code: get_balance(session, kit.book, code) for code in codes}
        assert together["org:NGO1"].held_out == 3_000
        funds = [line for line in trial_balance(session, kit.book) if line.type is AccountType.FUND]
        fund_totals = totals(session, kit.book, AccountType.FUND)
        assert fund_totals.accounts == len(funds)
        assert fund_totals.balance(AccountType.FUND) == sum(
            normal(AccountType.FUND, line.balance) for line in funds
        )
        assert fund_totals.balance(AccountType.FUND) == 100_000
        everything = totals(session, kit.book)
        lines = trial_balance(session, kit.book)
        assert everything.debits == everything.credits == sum(line.debits for line in lines)
        with pytest.raises(UnknownAccountError, match="org:NOPE"):
            get_balances(session, kit.book, ["pool", "org:NOPE"])
