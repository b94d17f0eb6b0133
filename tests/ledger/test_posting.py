"""Posting, holds, reversals, closed periods and idempotency, on both databases."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from ledger import (
    TransferKind,
    close_account,
    close_period,
    expire_due,
    reverse_transaction,
)
from ledger.errors import (
    AccountClosedError,
    AccountNotEmptyError,
    AlreadyReversedError,
    IdempotencyConflictError,
    InsufficientFundsError,
    InvalidEntryError,
    InvalidPeriodCloseError,
    NotPendingError,
    NotReversibleError,
    PendingAlreadyResolvedError,
    PendingExpiredError,
    PendingNotExpiredError,
    PeriodClosedError,
    UnknownAccountError,
    UnknownBookError,
    UnknownTransferError,
)
from ledger.models import books
from ledger.values import JournalEntry, Transfer
from tests.support.ledger import LedgerKit, open_kit


def snapshot(kit: LedgerKit) -> tuple[object, ...]:
    """Everything a failed write must leave exactly as it was."""
    with kit.factory() as session:
        head = session.execute(
            select(books.c.last_sequence, books.c.last_hash).where(books.c.code == kit.book)
        ).one()
    accounts = (
        "bank",
        "pool",
        "gst_receivable",
        "org:NGO1",
        "org:NGO2",
        "client:C-0001",
        "client:C-0002",
    )
    return (tuple(head), *(kit.balance(code) for code in accounts))


def test_a_grant_and_allocation_move_money_and_keep_the_books_balanced(kit: LedgerKit) -> None:
    kit.fund_pool("10,000.00")
    kit.allocate("org:NGO1", "2,500.00")
    assert kit.balance("bank").posted == 1_000_000
    assert kit.balance("pool").available == 750_000
    assert kit.balance("org:NGO1").available == 250_000
    assert kit.verify() == []


def test_an_overdraft_is_refused_with_a_clear_message_and_changes_nothing(kit: LedgerKit) -> None:
    kit.fund_pool("1,000.00")
    kit.allocate("org:NGO1", "120.00")
    before = snapshot(kit)
    with pytest.raises(InsufficientFundsError) as raised:
        kit.post(kit.move("org:NGO1", "client:C-0001", "150.00"))
    assert (
        raised.value.message == "Insufficient funds in org:NGO1: available $120.00, needed $150.00"
    )
    assert snapshot(kit) == before


def test_the_bank_cannot_pay_out_more_than_it_holds(kit: LedgerKit) -> None:
    kit.fund_pool("100.00")
    with pytest.raises(InsufficientFundsError, match="Insufficient funds in bank"):
        kit.post(kit.move("gst_receivable", "bank", "100.01"))


def test_a_reservation_counts_against_available_at_once(kit: LedgerKit) -> None:
    kit.fund_pool()
    kit.allocate("org:NGO1", "500.00")
    kit.post(kit.hold("org:NGO1", "client:C-0001", "480.00"))
    envelope = kit.balance("org:NGO1")
    assert (envelope.posted, envelope.held_out, envelope.available) == (50_000, 48_000, 2_000)
    assert kit.balance("client:C-0001").held_in == 48_000
    assert kit.balance("client:C-0001").available == 0  # incoming holds are not spendable
    with pytest.raises(InsufficientFundsError, match=r"available \$20.00, needed \$30.00"):
        kit.post(kit.hold("org:NGO1", "client:C-0002", "30.00"))


def test_posting_a_hold_in_full_moves_the_money(kit: LedgerKit) -> None:
    kit.fund_pool()
    kit.allocate("org:NGO1", "500.00")
    (held,) = kit.post(kit.hold("org:NGO1", "client:C-0001", "480.00")).transfer_ids
    kit.post(kit.settle(held))
    assert kit.balance("org:NGO1").available == 2_000
    assert kit.balance("org:NGO1").held_out == 0
    assert kit.balance("client:C-0001").posted == 48_000
    assert kit.verify() == []


def test_a_partial_post_releases_the_rest(kit: LedgerKit) -> None:
    kit.fund_pool()
    kit.allocate("org:NGO1", "1,000.00")
    (held,) = kit.post(kit.hold("org:NGO1", "client:C-0001", "899.00")).transfer_ids
    kit.post(
        kit.settle(held, "800.00"),
        kit.move("client:C-0001", "bank", "800.00", TransferKind.PAYMENT),
        kit.move("gst_receivable", "bank", "80.00", TransferKind.PAYMENT),
    )
    assert kit.balance("org:NGO1").available == 20_000
    assert kit.balance("client:C-0001").posted == 0
    assert kit.balance("gst_receivable").posted == 8_000
    assert kit.balance("bank").posted == 1_000_000 - 88_000
    assert kit.verify() == []


def test_posting_more_than_was_held_is_refused(kit: LedgerKit) -> None:
    kit.fund_pool()
    kit.allocate("org:NGO1", "1,000.00")
    (held,) = kit.post(kit.hold("org:NGO1", "client:C-0001", "100.00")).transfer_ids
    with pytest.raises(InvalidEntryError, match="cannot post 10001 cents"):
        kit.post(kit.settle(held, "100.01"))


def test_a_void_releases_the_whole_hold(kit: LedgerKit) -> None:
    kit.fund_pool()
    kit.allocate("org:NGO1", "500.00")
    (held,) = kit.post(kit.hold("org:NGO1", "client:C-0001", "480.00")).transfer_ids
    kit.post(kit.release(held))
    assert kit.balance("org:NGO1").available == 50_000
    assert kit.balance("client:C-0001").held_in == 0


@pytest.mark.parametrize("first", ["post", "void"])
@pytest.mark.parametrize("second", ["post", "void"])
def test_a_hold_is_resolved_at_most_once(kit: LedgerKit, first: str, second: str) -> None:
    kit.fund_pool()
    kit.allocate("org:NGO1", "500.00")
    (held,) = kit.post(kit.hold("org:NGO1", "client:C-0001", "100.00")).transfer_ids
    kit.post(kit.settle(held) if first == "post" else kit.release(held))
    before = snapshot(kit)
    with pytest.raises(
        PendingAlreadyResolvedError, match=f"T{held} was already posted or released"
    ):
        kit.post(kit.settle(held) if second == "post" else kit.release(held))
    assert snapshot(kit) == before


def test_only_a_pending_transfer_can_be_posted_or_voided(kit: LedgerKit) -> None:
    kit.fund_pool()
    (grant,) = kit.post(kit.move("bank", "pool", "1.00", TransferKind.GRANT_RECEIPT)).transfer_ids
    with pytest.raises(NotPendingError):
        kit.post(kit.settle(grant))
    with pytest.raises(UnknownTransferError):
        kit.post(kit.release(999_999_999))


def test_a_hold_of_another_book_is_invisible(kit: LedgerKit) -> None:
    other = open_kit(kit.factory, kit.now)
    other.fund_pool()
    other.allocate("org:NGO1", "100.00")
    (held,) = other.post(other.hold("org:NGO1", "client:C-0001", "10.00")).transfer_ids
    with pytest.raises(UnknownTransferError):
        kit.post(kit.release(held))


def test_expiry_releases_only_holds_whose_time_has_passed(kit: LedgerKit) -> None:
    kit.fund_pool()
    kit.allocate("org:NGO1", "500.00")
    soon, later = kit.now + timedelta(days=1), kit.now + timedelta(days=30)
    (due,) = kit.post(kit.hold("org:NGO1", "client:C-0001", "100.00", expires_at=soon)).transfer_ids
    (not_due,) = kit.post(
        kit.hold("org:NGO1", "client:C-0002", "50.00", expires_at=later)
    ).transfer_ids
    with pytest.raises(PendingNotExpiredError):
        kit.post(kit.release(due, expiry=True))
    after = kit.now + timedelta(days=2)
    with pytest.raises(PendingExpiredError):
        kit.post(kit.settle(due), now=after)
    expired = kit.run(lambda s: expire_due(s, book=kit.book, now=after, effective_date=kit.day))
    assert len(expired) == 1
    assert kit.balance("org:NGO1").held_out == 5_000
    assert kit.run(lambda s: expire_due(s, book=kit.book, now=after, effective_date=kit.day)) == []
    kit.post(kit.settle(not_due), now=after)
    assert kit.verify() == []


def test_a_reversal_mirrors_the_transaction_once(kit: LedgerKit) -> None:
    kit.fund_pool()
    mistake = kit.allocate("org:NGO2", "5,000.00")

    def reverse(session):  # type: ignore[no-untyped-def]
        return reverse_transaction(
            session,
            book=kit.book,
            transaction_id=mistake.transaction_id,
            effective_date=kit.day,
            memo="Reverse duplicate allocation",
            actor="user:fin",
            now=kit.now,
        )

    reversal = kit.run(reverse)
    assert kit.balance("org:NGO2").posted == 0
    assert kit.balance("pool").posted == 1_000_000
    with pytest.raises(AlreadyReversedError, match=f"already reversed by #{reversal.sequence}"):
        kit.run(reverse)

    def reverse_the_reversal(session):  # type: ignore[no-untyped-def]
        return reverse_transaction(
            session,
            book=kit.book,
            transaction_id=reversal.transaction_id,
            effective_date=kit.day,
            memo="again",
            actor="user:fin",
            now=kit.now,
        )

    with pytest.raises(NotReversibleError, match="itself a reversal"):
        kit.run(reverse_the_reversal)
    assert kit.verify() == []


def test_a_reservation_cannot_be_reversed_only_voided(kit: LedgerKit) -> None:
    kit.fund_pool()
    kit.allocate("org:NGO1", "500.00")
    hold = kit.post(kit.hold("org:NGO1", "client:C-0001", "10.00"))
    with pytest.raises(NotReversibleError, match="void the reservation instead"):
        kit.run(
            lambda s: reverse_transaction(
                s,
                book=kit.book,
                transaction_id=hold.transaction_id,
                effective_date=kit.day,
                memo="x",
                actor="u",
                now=kit.now,
            )
        )


def test_a_reversal_that_would_overdraw_is_refused(kit: LedgerKit) -> None:
    grant = kit.post(kit.move("bank", "pool", "100.00", TransferKind.GRANT_RECEIPT))
    kit.allocate("org:NGO1", "60.00")
    with pytest.raises(InsufficientFundsError, match="Insufficient funds in pool"):
        kit.run(
            lambda s: reverse_transaction(
                s,
                book=kit.book,
                transaction_id=grant.transaction_id,
                effective_date=kit.day,
                memo="x",
                actor="u",
                now=kit.now,
            )
        )


def test_a_failing_leg_rolls_back_the_whole_entry(kit: LedgerKit) -> None:
    kit.fund_pool("100.00")
    before = snapshot(kit)
    with pytest.raises(InsufficientFundsError, match="org:NGO1"):
        kit.post(
            kit.allocate_leg("org:NGO1", "50.00"), kit.move("org:NGO1", "client:C-0001", "60.00")
        )
    assert snapshot(kit) == before


def test_invalid_entries_list_every_problem_and_change_nothing(kit: LedgerKit) -> None:
    kit.fund_pool("100.00")
    before = snapshot(kit)
    with pytest.raises(InvalidEntryError) as raised:
        kit.run(
            lambda s: __import__("ledger").post_entry(
                s,
                JournalEntry(
                    kit.book,
                    kit.day,
                    "",
                    "u",
                    (Transfer("pool", "pool", -1, TransferKind.ADJUSTMENT),),
                ),
                now=kit.now,
            )
        )
    assert len(raised.value.problems) == 3
    assert snapshot(kit) == before


def test_unknown_books_and_accounts_are_named(kit: LedgerKit) -> None:
    with pytest.raises(UnknownAccountError, match="There is no account client:C-9999"):
        kit.post(kit.move("bank", "client:C-9999", "1.00"))
    stranger = LedgerKit(kit.factory, "NO-SUCH-BOOK", kit.now)
    with pytest.raises(UnknownBookError):
        stranger.post(stranger.move("bank", "pool", "1.00"))


def test_a_closed_account_takes_no_transfers_and_only_an_empty_one_closes(kit: LedgerKit) -> None:
    kit.fund_pool()
    kit.allocate("org:NGO2", "10.00")
    with pytest.raises(AccountNotEmptyError):
        kit.run(lambda s: close_account(s, book=kit.book, code="org:NGO2"))
    kit.run(lambda s: close_account(s, book=kit.book, code="client:C-0002"))
    with pytest.raises(AccountClosedError, match="client:C-0002 is closed"):
        kit.post(kit.move("org:NGO2", "client:C-0002", "1.00"))


def test_a_closed_month_accepts_nothing_dated_inside_it(kit: LedgerKit) -> None:
    kit.fund_pool()
    october_end = date(2026, 10, 31)
    kit.run(
        lambda s: close_period(
            s, book=kit.book, through=october_end, actor="user:fin", now=kit.now, today=kit.day
        )
    )
    with pytest.raises(PeriodClosedError, match="closed through 31/10/2026"):
        kit.post(kit.move("pool", "org:NGO1", "1.00"), on=date(2026, 10, 31))
    kit.post(kit.move("pool", "org:NGO1", "1.00"), on=date(2026, 11, 1))
    assert kit.verify() == []


@pytest.mark.parametrize(
    ("through", "message"),
    [
        (date(2026, 10, 30), "month end"),
        (date(2026, 11, 30), "has not finished"),
        (date(2026, 9, 30), "already closed"),
    ],
)
def test_period_closes_move_forward_at_month_ends_only(
    kit: LedgerKit, through: date, message: str
) -> None:
    kit.run(
        lambda s: close_period(
            s, book=kit.book, through=date(2026, 9, 30), actor="u", now=kit.now, today=kit.day
        )
    )
    with pytest.raises(InvalidPeriodCloseError, match=message):
        kit.run(
            lambda s: close_period(
                s, book=kit.book, through=through, actor="u", now=kit.now, today=kit.day
            )
        )


def test_a_replayed_key_returns_the_original_and_changes_nothing(kit: LedgerKit) -> None:
    first = kit.post(
        kit.move("bank", "pool", "100.00", TransferKind.GRANT_RECEIPT), key="grant-2026-11"
    )
    before = snapshot(kit)
    again = kit.post(
        kit.move("bank", "pool", "100.00", TransferKind.GRANT_RECEIPT), key="grant-2026-11"
    )
    assert again.replayed and not first.replayed
    assert (again.transaction_id, again.transfer_ids, again.hash) == (
        first.transaction_id,
        first.transfer_ids,
        first.hash,
    )
    assert snapshot(kit) == before


def test_a_key_reused_for_a_different_payload_is_a_conflict(kit: LedgerKit) -> None:
    kit.post(kit.move("bank", "pool", "100.00", TransferKind.GRANT_RECEIPT), key="grant-2026-11")
    before = snapshot(kit)
    with pytest.raises(IdempotencyConflictError, match="already used for a different request"):
        kit.post(
            kit.move("bank", "pool", "100.01", TransferKind.GRANT_RECEIPT), key="grant-2026-11"
        )
    assert snapshot(kit) == before


def test_a_replay_is_honoured_even_when_funds_have_since_run_out(kit: LedgerKit) -> None:
    kit.fund_pool("100.00")
    first = kit.post(kit.move("pool", "org:NGO1", "100.00"), key="alloc-1")
    assert (
        kit.post(kit.move("pool", "org:NGO1", "100.00"), key="alloc-1").transaction_id
        == first.transaction_id
    )
