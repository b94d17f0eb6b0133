"""How far from today an accounting date may be: the one window every way in shares.

Any date a person or a file gives the ledger (a payment, a refund, a grant, a move, a reversal,
a history load) must fall within the window, so a typing slip (``9999-12-31``, ``1900-01-01``)
is refused instead of being written to an append-only book. It matters beyond the one entry: the
book's date high-water mark only rises, and every later entry dated before it is flagged
backdated, so one far-future date would mark everything after it backdated for ever. The window
bounds that mark to a year ahead of the day it was written.

The window is the consortium-wide default below (ten whole calendar years back, one year
ahead); it lives here once, so the ledger's own check (which no page, API call, CLI command or
bulk load can bypass) and the services that name the field in their message agree. ``today``
is the caller's clock: the ledger uses the UTC date of ``now``, which the window's generous
ends make immaterial.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

# YYYY-MM-DD and nothing else: Python's date.fromisoformat also reads "2026-W01-1" (an ISO week
# date) and "20260101", which no one types as a date here.
ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


@dataclass(frozen=True)
class DateWindow:
    years_back: int = 10  # whole calendar years before this one
    days_ahead: int = 366

    def first(self, today: date) -> date:
        return date(today.year - self.years_back, 1, 1)

    def last(self, today: date) -> date:
        return today + timedelta(days=self.days_ahead)

    def problem(self, on: date, today: date) -> str | None:
        """Why ``on`` is outside the window, or None when it is inside."""
        first, last = self.first(today), self.last(today)
        if first <= on <= last:
            return None
        return f"a date from {first:%d/%m/%Y} to {last:%d/%m/%Y}, not {on:%d/%m/%Y}"


DATE_WINDOW = DateWindow()


def window_problems(on: object, today: date, what: str = "effective date") -> list[str]:
    """The ledger's check: empty when ``on`` is a date inside the window."""
    if not isinstance(on, date) or isinstance(on, datetime):
        return []  # the type is checked (and reported) with the rest of the entry
    found = DATE_WINDOW.problem(on, today)
    return [] if found is None else [f"{what} must be {found}"]


def parse_day(text: str) -> date:
    """``YYYY-MM-DD`` as a date; ``ValueError`` for anything else, week dates included."""
    if not ISO_DAY.fullmatch(text):
        raise ValueError(f"{text!r} is not a date like 2026-07-31")
    return date.fromisoformat(text)
