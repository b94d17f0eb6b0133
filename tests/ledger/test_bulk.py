"""Loading history in bulk keeps every invariant the one-at-a-time path keeps, or loads nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ledger import JournalEntry, Reserve, Transfer, TransferKind, balance_as_of, close_period
from ledger.bulk import load_history
from ledger.errors import (
    InsufficientFundsError,
    InvalidEntryError,
    PeriodClosedError,
    UnknownAccountError,
)
from tests.support.ledger import LedgerKit

START = date(2026, 7, 1)


def history(kit: LedgerKit, count: int) -> list[JournalEntry]:
    entries = [
        JournalEntry(
            kit.book,
            START,
            "grant",
            "import",
            (Transfer("bank", "pool", 10**9, TransferKind.GRANT_RECEIPT),),
        )
    ]
    for i in range(count):
        envelope = "org:NGO1" if i % 2 else "org:NGO2"
        entries.append(
            JournalEntry(
                kit.book,
                START + timedelta(days=i % 90),
                f"allocation {i}",
                "import",
                (Transfer("pool", envelope, 100 + i, TransferKind.ALLOCATION),),
            )
        )
    return entries


def test_a_loaded_history_verifies_and_reads_like_one_posted_entry_by_entry(
    kit: LedgerKit, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ledger.bulk.BATCH", 500)  # several chunks, so the COPY pipeline overlaps
    entries = history(kit, 3_000)
    result = kit.run(lambda s: load_history(s, kit.book, entries, now=kit.now))
    assert (result.transactions, result.transfers, result.last_sequence) == (3_001, 3_001, 3_001)
    assert kit.verify() == []
    envelope_total = sum(100 + i for i in range(3_000) if i % 2)
    assert kit.balance("org:NGO1").posted == envelope_total
    day = START + timedelta(days=30)
    expected = sum(100 + i for i in range(3_000) if i % 2 and i % 90 <= 30)
    with kit.factory() as session:
        assert balance_as_of(session, kit.book, "org:NGO1", day) == expected
    kit.post(kit.allocate_leg("org:NGO1", "1.00"))  # the chain continues after a load
    assert kit.verify() == []


def test_an_overdraft_anywhere_loads_nothing(kit: LedgerKit) -> None:
    entries = [
        *history(kit, 50),
        JournalEntry(
            kit.book,
            START,
            "too much",
            "import",
            (Transfer("org:NGO1", "client:C-0001", 10**10, TransferKind.ADJUSTMENT),),
        ),
    ]
    with pytest.raises(InsufficientFundsError, match="org:NGO1"):
        kit.run(lambda s: load_history(s, kit.book, entries, now=kit.now))
    assert kit.balance("pool").posted == 0
    assert kit.verify() == []


@pytest.mark.parametrize(
    ("leg", "error"),
    [
        (Reserve("pool", "org:NGO1", 100), InvalidEntryError),
        (Transfer("pool", "org:NOPE", 100, TransferKind.ALLOCATION), UnknownAccountError),
        (Transfer("pool", "org:NGO1", 0, TransferKind.ALLOCATION), InvalidEntryError),
    ],
)
def test_history_takes_only_valid_immediate_transfers(
    kit: LedgerKit, leg: object, error: type[Exception]
) -> None:
    entries = [*history(kit, 3), JournalEntry(kit.book, START, "bad", "import", (leg,))]  # type: ignore[arg-type]
    with pytest.raises(error):
        kit.run(lambda s: load_history(s, kit.book, entries, now=kit.now))
    assert kit.verify() == []


def test_history_cannot_be_dated_inside_a_closed_period(kit: LedgerKit) -> None:
    kit.run(
        lambda s: close_period(
            s, book=kit.book, through=date(2026, 7, 31), actor="u", now=kit.now, today=kit.day
        )
    )
    with pytest.raises(PeriodClosedError):
        kit.run(lambda s: load_history(s, kit.book, history(kit, 3), now=kit.now))
