"""Days in the consortium's zone: the one place a moment becomes a local date, and back.

Deadlines, periods, dates shown and schedules are the consortium's calendar days
(``Australia/Sydney`` by default), while every stored moment is an aware UTC ``datetime``
(docs/architecture.md#the-clock). Whoever needs "today" or "the day this happened" asks here, so
a day never starts at UTC midnight in one place and at local midnight in another.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from approvals.models import Consortium

Where = Consortium | ZoneInfo | str
"""A consortium, its zone, or the zone's name (``Consortium.timezone``)."""


def zone_of(where: Where) -> ZoneInfo:
    """The zone itself (``ZoneInfo`` keeps one object per name, so this costs no lookups)."""
    if isinstance(where, ZoneInfo):
        return where
    return ZoneInfo(where if isinstance(where, str) else where.timezone)


def local_day(where: Where, at: datetime) -> date:
    """The calendar day the moment ``at`` falls on in the consortium's zone."""
    return at.astimezone(zone_of(where)).date()


def local_today(where: Where, now: datetime) -> date:
    """Today in the consortium's zone, by the caller's clock ``now``."""
    return local_day(where, now)


def consortium_today(session: Session, consortium_id: int, now: datetime) -> date:
    """Today in the zone of the consortium with this id (read from the database)."""
    return local_today(session.get_one(Consortium, consortium_id), now)


def local_midnight(where: Where, day: date) -> datetime:
    """The moment (in UTC) the local day ``day`` begins."""
    return datetime.combine(day, time(0), tzinfo=zone_of(where)).astimezone(UTC)


def local_day_bounds(
    where: Where, first: date, last: date | None = None
) -> tuple[datetime, datetime]:
    """The local days ``first``..``last`` (inclusive; ``last`` defaults to ``first``) as UTC
    instants: local midnight starting ``first``, and local midnight after ``last`` (exclusive)."""
    return local_midnight(where, first), local_midnight(where, (last or first) + timedelta(days=1))
