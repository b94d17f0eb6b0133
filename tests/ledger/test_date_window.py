"""Accounting dates stay within a window around today, on every way into the ledger.

A far date is refused and writes nothing; in particular a far-future one can no longer raise the
book's date high-water mark so that every later entry is flagged backdated for ever.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from ledger.bulk import load_history
from ledger.dates import DATE_WINDOW, parse_day
from ledger.errors import InvalidEntryError
from ledger.models import books, transactions
from tests.support.ledger import LedgerKit

FAR = [date(9999, 12, 31), date(1900, 1, 1), date(2015, 12, 31), date(2027, 11, 22)]


def of_book(kit: LedgerKit) -> Any:
    return (
        transactions.c.book_id
        == select(books.c.id).where(books.c.code == kit.book).scalar_subquery()
    )


def count(kit: LedgerKit) -> int:
    query = select(func.count()).select_from(transactions).where(of_book(kit))
    with kit.factory() as session:
        return int(session.execute(query).scalar_one())


@pytest.mark.parametrize("on", FAR, ids=str)
def test_a_date_outside_the_window_is_refused_and_writes_nothing(kit: LedgerKit, on: date) -> None:
    kit.fund_pool()
    before = count(kit)
    with pytest.raises(InvalidEntryError, match="effective date must be a date from"):
        kit.post(kit.move("bank", "pool", "5.00"), on=on)
    assert count(kit) == before and kit.verify() == []


@pytest.mark.parametrize("on", FAR, ids=str)
def test_a_history_load_with_a_date_outside_the_window_loads_nothing(
    kit: LedgerKit, on: date
) -> None:
    entries = [
        kit.entry(kit.move("bank", "pool", "5.00")),
        kit.entry(kit.move("bank", "pool", "1.00"), on=on),
    ]
    with pytest.raises(InvalidEntryError):
        kit.run(lambda s: load_history(s, kit.book, entries, now=kit.now))
    assert count(kit) == 0


def test_the_window_runs_from_ten_calendar_years_back_to_a_year_ahead(kit: LedgerKit) -> None:
    today = kit.now.date()  # 2026-11-20
    assert (DATE_WINDOW.first(today), DATE_WINDOW.last(today)) == (
        date(2016, 1, 1),
        date(2027, 11, 21),
    )
    kit.post(kit.move("bank", "pool", "5.00"), on=date(2016, 1, 1))
    kit.post(kit.move("bank", "pool", "5.00"), on=date(2027, 11, 20))
    assert kit.verify() == []


def test_a_refused_far_future_date_leaves_later_entries_not_backdated(kit: LedgerKit) -> None:
    with pytest.raises(InvalidEntryError):
        kit.post(kit.move("bank", "pool", "5.00"), on=date(9999, 12, 31))
    kit.post(kit.move("bank", "pool", "5.00"), on=kit.day)
    with kit.factory() as session:
        flags = (
            session.execute(select(transactions.c.backdated).where(of_book(kit))).scalars().all()
        )
    assert flags == [False]


@pytest.mark.parametrize("text", ["2026-W01", "2026-W01-1", "20260101", "2026-1-1", " 2026-01-01"])
def test_week_dates_and_other_iso_forms_are_not_read_as_days(text: str) -> None:
    with pytest.raises(ValueError, match="not a date like"):
        parse_day(text)
    assert parse_day("2026-01-01") == date(2026, 1, 1)
