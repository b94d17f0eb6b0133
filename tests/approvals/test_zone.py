"""Days are the consortium's: one function turns a moment into its local day, and back."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from approvals.models import Consortium
from approvals.zone import local_day, local_day_bounds, local_midnight, local_today, zone_of


def test_today_is_the_consortiums_day_not_utcs() -> None:
    evening_utc = datetime(2027, 6, 30, 14, 30, tzinfo=UTC)  # 00:30 on 1 July in Sydney
    assert local_today("Australia/Sydney", evening_utc) == date(2027, 7, 1)
    assert local_today(Consortium(timezone="Australia/Perth"), evening_utc) == date(2027, 6, 30)
    assert local_day(ZoneInfo("Australia/Sydney"), evening_utc) == date(2027, 7, 1)


def test_a_local_day_runs_from_local_midnight_to_the_next_one_across_daylight_saving() -> None:
    start, end = local_day_bounds("Australia/Sydney", date(2026, 10, 4))  # clocks go forward
    assert start == datetime(2026, 10, 3, 14, 0, tzinfo=UTC)
    assert end == datetime(2026, 10, 4, 13, 0, tzinfo=UTC)  # a 23-hour day
    year = local_day_bounds("Australia/Sydney", date(2026, 7, 1), date(2027, 6, 30))
    assert year == (
        local_midnight("Australia/Sydney", date(2026, 7, 1)),
        datetime(2027, 6, 30, 14, 0, tzinfo=UTC),
    )
    assert zone_of("Australia/Sydney") is zone_of(Consortium(timezone="Australia/Sydney"))
