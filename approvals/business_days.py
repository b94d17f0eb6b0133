"""Business days for SLAs: weekdays that are not public holidays, national or the state's own."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays

STATES = ("ACT", "NSW", "NT", "QLD", "SA", "TAS", "VIC", "WA")


@lru_cache(maxsize=64)
def _holidays(state: str, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("AU", subdiv=state, years=year))


def is_business_day(day: date, state: str) -> bool:
    return day.weekday() < 5 and day not in _holidays(state, day.year)


def add_business_days(start: date, days: int, state: str) -> date:
    """The date ``days`` business days after ``start`` (``start`` itself never counts)."""
    day, left = start, days
    while left > 0:
        day += timedelta(days=1)
        if is_business_day(day, state):
            left -= 1
    return day


def business_days_between(start: date, end: date, state: str) -> int:
    """Business days after ``start`` up to and including ``end``; 0 when ``end`` is not later."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        if is_business_day(day, state):
            count += 1
    return count
