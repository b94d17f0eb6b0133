"""What every sheet of a reconciliation workbook shares: the book, the period and its clock.

Accounting dates (``effective_date``, ``paid_on``, a statement line's date) are compared with the
period directly. Moments (when an exception was raised, when a receipt was uploaded) are stored
in UTC and belong to a period by the consortium's local calendar, so a period is also a half-open
range of UTC instants from local midnight on its first day to local midnight after its last.

Money still held at the end of the period is read from the ledger, not from a request's state
today: a hold counts if it was made by the period's end and neither posted nor released by then,
so a past month shows what was committed at its end however the requests moved since.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, select
from sqlalchemy.orm import Session

from approvals.errors import InvalidInputError
from approvals.fiscal import Period, financial_year
from approvals.models import Category, Consortium
from approvals.zone import local_day, local_midnight, zone_of
from ledger.models import books, transfers
from ledger.queries import find_account, hold_open_on
from ledger.values import POSTED_PHASES
from reports.xlsx import Percent

BATCH = 2_000
POSTED = tuple(phase.value for phase in POSTED_PHASES)
Rows = Select[*tuple[Any, ...]]  # a query of any columns, read as rows


@dataclass(frozen=True)
class CategoryInfo:
    name: str
    gl_code: str
    tax_code: str


@dataclass(frozen=True)
class Scope:
    book: str
    book_id: int
    consortium_id: int
    consortium_name: str
    gst_basis: str
    zone: ZoneInfo
    period: Period
    bank_id: int
    gst_id: int

    @property
    def year(self) -> Period:
        """The financial year the period ends in: budgets are annual."""
        return financial_year(self.period.end)

    @property
    def year_elapsed(self) -> Percent | None:
        """How far through its financial year the period ends, to set spend against."""
        year = self.year
        return share((self.period.end - year.start).days + 1, (year.end - year.start).days + 1)

    @property
    def utc_start(self) -> datetime:
        return self.midnight(self.period.start)

    @property
    def utc_end(self) -> datetime:
        """Exclusive: local midnight after the period's last day."""
        return self.midnight(self.period.end + timedelta(days=1))

    def midnight(self, day: date) -> datetime:
        return local_midnight(self.zone, day)

    def local_day(self, at: datetime | None) -> date | None:
        return local_day(self.zone, at) if at is not None else None


def load_scope(session: Session, book: str, period: Period | None) -> Scope:
    """The scope of one workbook; refuses an unknown consortium or a missing period."""
    if period is None:
        raise InvalidInputError(
            "A reconciliation covers a month or a financial year.",
            fields={"period": "Use YYYY-MM or FY2025-26."},
        )
    consortium = session.execute(select(Consortium).where(Consortium.code == book)).scalar()
    book_id = session.execute(select(books.c.id).where(books.c.code == book)).scalar()
    if consortium is None or book_id is None:
        raise InvalidInputError(
            f"There is no consortium {book!r}.", fields={"consortium": "Use a consortium code."}
        )
    return Scope(
        book=book,
        book_id=int(book_id),
        consortium_id=consortium.id,
        consortium_name=consortium.name,
        gst_basis=consortium.gst_basis,
        zone=zone_of(consortium),
        period=period,
        bank_id=find_account(session, book, "bank").id,
        gst_id=find_account(session, book, "gst_receivable").id,
    )


def categories(session: Session, scope: Scope) -> dict[str, CategoryInfo]:
    """Category details by code (the ledger tags spend with the code)."""
    rows = session.execute(
        select(Category.code, Category.name, Category.gl_code, Category.tax_code).where(
            Category.consortium_id == scope.consortium_id
        )
    ).all()
    return {code: CategoryInfo(name, gl, tax) for code, name, gl, tax in rows}


def open_at_end(scope: Scope) -> ColumnElement[bool]:
    """Holds made by the period's end and neither posted nor released by then."""
    return and_(transfers.c.book_id == scope.book_id, hold_open_on(scope.period.end))


def posted_between(scope: Scope, start: date, end: date) -> ColumnElement[bool]:
    return and_(
        transfers.c.book_id == scope.book_id,
        transfers.c.phase.in_(POSTED),
        transfers.c.effective_date.between(start, end),
    )


def share(part: int, whole: int) -> Percent | None:
    """``part`` of ``whole`` to the basis point, rounded half up; none of nothing."""
    if whole <= 0:
        return None
    return Percent((2 * part * 10_000 + whole) // (2 * whole))
