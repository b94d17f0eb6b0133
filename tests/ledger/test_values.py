"""Pure checks on entries, and the one sign convention, without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from ledger.chain import TransactionContent, TransferContent, canonical, chain_hash
from ledger.values import (
    AccountType,
    Balance,
    JournalEntry,
    PostPending,
    Reserve,
    Transfer,
    TransferKind,
    VoidPending,
    check_entry,
    normal,
)

DAY = date(2026, 11, 2)


def entry(*legs: object, memo: str = "memo", key: str | None = None) -> JournalEntry:
    return JournalEntry("B1", DAY, memo, "user:1", tuple(legs), key)  # type: ignore[arg-type]


def test_a_well_formed_entry_has_no_problems() -> None:
    assert check_entry(entry(Transfer("bank", "pool", 100, TransferKind.GRANT_RECEIPT))) == []


@pytest.mark.parametrize(
    ("leg", "problem"),
    [
        (Transfer("bank", "pool", 0, TransferKind.GRANT_RECEIPT), "must be positive"),
        (Transfer("bank", "pool", -5, TransferKind.GRANT_RECEIPT), "must be positive"),
        (Transfer("bank", "pool", 1.5, TransferKind.GRANT_RECEIPT), "whole number of cents"),  # type: ignore[arg-type]
        (Transfer("bank", "pool", True, TransferKind.GRANT_RECEIPT), "whole number of cents"),
        (Transfer("bank", "pool", 10**12, TransferKind.GRANT_RECEIPT), "too large"),
        (Transfer("pool", "pool", 5, TransferKind.ALLOCATION), "same account"),
        (Transfer("Bank Account", "pool", 5, TransferKind.ALLOCATION), "not a valid account code"),
        (Transfer("bank", "pool", 5, "gift"), "unknown kind"),  # type: ignore[arg-type]
        (Reserve("org:A", "client:X", 5, expires_at=datetime(2026, 1, 1)), "timezone-aware"),  # noqa: DTZ001
        (PostPending(0), "refers to no pending transfer"),
        (PostPending(3, amount=0), "must be positive"),
        (Transfer("bank", "pool", 5, TransferKind.ADJUSTMENT, category="x" * 41), "category"),
    ],
)
def test_a_bad_leg_is_named_with_its_problem(leg: object, problem: str) -> None:
    problems = check_entry(entry(leg))
    assert any(problem in p and p.startswith("leg 1") for p in problems), problems


def test_every_problem_is_listed_not_just_the_first() -> None:
    problems = check_entry(
        entry(
            Transfer("bank", "bank", 0, TransferKind.ADJUSTMENT),
            PostPending(7),
            VoidPending(7),
            memo=" ",
        )
    )
    assert "memo is required" in problems
    assert any("leg 1 amount must be positive" in p for p in problems)
    assert any("same account" in p for p in problems)
    assert "a pending transfer can be resolved only once" in problems


def test_an_entry_needs_a_transfer_and_a_sane_memo_and_key() -> None:
    assert "a journal entry needs at least one transfer" in check_entry(entry())
    assert any(
        "longer than 500" in p
        for p in check_entry(
            entry(Transfer("bank", "pool", 1, TransferKind.ADJUSTMENT), memo="x" * 501)
        )
    )
    assert any(
        "idempotency key" in p
        for p in check_entry(
            entry(Transfer("bank", "pool", 1, TransferKind.ADJUSTMENT), key="k" * 101)
        )
    )


def test_payload_hash_ignores_the_key_but_not_the_content() -> None:
    legs = (Transfer("bank", "pool", 100, TransferKind.GRANT_RECEIPT),)
    first = JournalEntry("B1", DAY, "grant", "u", legs, "key-1")
    assert (
        first.payload_hash() == JournalEntry("B1", DAY, "grant", "u", legs, "key-2").payload_hash()
    )
    changed = JournalEntry(
        "B1",
        DAY,
        "grant",
        "u",
        (Transfer("bank", "pool", 101, TransferKind.GRANT_RECEIPT),),
        "key-1",
    )
    assert first.payload_hash() != changed.payload_hash()


def test_sign_convention_funds_are_credit_normal_assets_debit_normal() -> None:
    # A fund given $100 has a net debit of -10000 and a balance of +10000.
    assert normal(AccountType.FUND, -10000) == 10000
    assert normal(AccountType.ASSET, 10000) == 10000
    envelope = Balance(
        "org:NGO1",
        AccountType.FUND,
        debits_posted=2500,
        credits_posted=10000,
        debits_pending=1500,
        credits_pending=0,
    )
    assert (envelope.posted, envelope.held_out, envelope.held_in, envelope.available) == (
        7500,
        1500,
        0,
        6000,
    )
    bank = Balance(
        "bank",
        AccountType.ASSET,
        debits_posted=10000,
        credits_posted=2500,
        debits_pending=0,
        credits_pending=0,
    )
    assert (bank.posted, bank.available) == (7500, 7500)


def _content(amount: int) -> TransactionContent:
    transfer = TransferContent(
        debit="bank",
        credit="pool",
        amount=amount,
        kind="grant_receipt",
        phase="single",
        pending_id=None,
        expires_at=None,
        category=None,
        request_id=None,
        debit_balance_after=amount,
        credit_balance_after=-amount,
    )
    return TransactionContent(
        book="B1",
        sequence=1,
        effective_date=DAY,
        memo="grant",
        actor="u",
        idempotency_key=None,
        payload_hash=None,
        reverses_id=None,
        backdated=False,
        created_at=datetime(2026, 11, 2, tzinfo=UTC),
        transfers=[transfer],
    )


def test_the_chain_hash_commits_to_amounts_and_to_the_previous_hash() -> None:
    base = chain_hash("0" * 64, _content(100))
    assert base == chain_hash("0" * 64, _content(100))
    assert base != chain_hash("0" * 64, _content(101))
    assert base != chain_hash("1" * 64, _content(100))
    assert canonical(_content(100)).startswith(b'["flexpool-ledger-v1","B1",1,"2026-11-02"')
