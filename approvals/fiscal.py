"""The Australian financial year (1 July – 30 June, named ``FY2025-26``) and monthly periods."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

from approvals.errors import InvalidInputError

_FY_LABEL = re.compile(r"FY(\d{4})-(\d{2})", re.ASCII)
_MONTH_LABEL = re.compile(r"(\d{4})-(\d{2})", re.ASCII)
FIRST_YEAR, LAST_YEAR = 1900, 2999


@dataclass(frozen=True, order=True)
class Period:
    """An inclusive range of accounting dates with the name people use for it."""

    start: date
    end: date
    label: str

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


def financial_year(day: date) -> Period:
    first = day.year if day.month >= 7 else day.year - 1
    return Period(date(first, 7, 1), date(first + 1, 6, 30), f"FY{first}-{(first + 1) % 100:02d}")


def _plausible(year: int) -> bool:
    """Four digits are not enough: year 0 is no date, and FY9999-00 would end in year 10000."""
    return FIRST_YEAR <= year <= LAST_YEAR


def parse_financial_year(label: str) -> Period:
    match = _FY_LABEL.fullmatch(label.strip())
    if match is None or (int(match[1]) + 1) % 100 != int(match[2]) or not _plausible(int(match[1])):
        raise InvalidInputError(
            f"{label!r} is not a financial year such as FY2025-26.",
            fields={"period": "Use FY2025-26."},
        )
    return financial_year(date(int(match[1]), 7, 1))


def month(year: int, number: int) -> Period:
    last = calendar.monthrange(year, number)[1]
    return Period(date(year, number, 1), date(year, number, last), f"{year}-{number:02d}")


def parse_month(label: str) -> Period:
    match = _MONTH_LABEL.fullmatch(label.strip())
    if match is None or not 1 <= int(match[2]) <= 12 or not _plausible(int(match[1])):
        raise InvalidInputError(
            f"{label!r} is not a month such as 2026-10.", fields={"period": "Use YYYY-MM."}
        )
    return month(int(match[1]), int(match[2]))


def month_of(day: date) -> Period:
    return month(day.year, day.month)
