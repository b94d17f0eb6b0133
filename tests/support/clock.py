"""The suite's one clock (the ``clock`` fixture wraps it; see tests/conftest.py).

``FLEXPOOL_TEST_TODAY`` pins it: ``2027-07-01`` is midday in Sydney that day, ``2027-04-04T02:30``
a local time; unset, it is today's date in Sydney, at midday.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from time import monotonic
from zoneinfo import ZoneInfo

SYDNEY = ZoneInfo("Australia/Sydney")


@dataclass(frozen=True)
class TestClock:
    """The suite's clock: starts at the pinned moment and moves on with real time, so things
    done one after another are still ordered in time. ``today`` is the pinned date in Sydney,
    the demo's today and the web app's."""

    __test__ = False  # not a test class, whatever its name

    start: datetime
    origin: float

    @property
    def today(self) -> date:
        return self.start.astimezone(SYDNEY).date()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=monotonic() - self.origin)

    def __call__(self) -> datetime:
        return self.now()


def clock_from(pinned: str | None) -> TestClock:
    """``YYYY-MM-DD`` (midday in Sydney), ``YYYY-MM-DDTHH:MM`` (Sydney time), or None: today."""
    if not pinned:
        local = datetime.combine(datetime.now(SYDNEY).date(), time(12))
    elif "T" in pinned:
        local = datetime.fromisoformat(pinned)
    else:
        local = datetime.combine(date.fromisoformat(pinned), time(12))
    if local.tzinfo is None:
        local = local.replace(tzinfo=SYDNEY)
    return TestClock(local.astimezone(UTC), monotonic())


CLOCK = clock_from(os.environ.get("FLEXPOOL_TEST_TODAY"))
