"""Shared fixtures: every database test runs on SQLite, and on PostgreSQL when it is configured.

Set ``FLEXPOOL_TEST_DATABASE_URL`` (``.ci/run`` does) to add PostgreSQL; with
``FLEXPOOL_REQUIRE_POSTGRES=1`` a missing server fails the run instead of skipping.

Every test that builds on "today" (the demo, the web app, timers, closes, the financial year)
takes its time from one clock, :data:`CLOCK` (the ``clock`` fixture). ``FLEXPOOL_TEST_TODAY``
pins it: ``2027-07-01`` is midday in Sydney that day (after the demo's last writes of its
today), ``2027-04-04T02:30`` a local time; unset, it is today's date in Sydney, at midday.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

import approvals.people
from demo.consortium import load_demo
from ledger.db import make_engine, make_session_factory
from migrations import upgrade
from tests.support.clock import CLOCK, SYDNEY, TestClock
from tests.support.databases import own_postgres_database, postgres_url


@pytest.fixture(scope="session")
def clock() -> TestClock:
    """The one clock of every test that builds on today (see the module docstring)."""
    return CLOCK


def pytest_report_header() -> str:
    local = CLOCK.start.astimezone(SYDNEY)
    return f"clock: {local:%Y-%m-%d %H:%M %Z} in Australia/Sydney (FLEXPOOL_TEST_TODAY to pin)"


# Real argon2id with test-sized cost: worlds and the demo hash a dozen users each, and the web
# tests sign in hundreds of times. The default cost is for production, not for proofs.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(approvals.people, "_HASHER", CHEAP_HASHER)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test gets a copy (migrating per test would be slow)."""
    path = tmp_path_factory.mktemp("template") / "flexpool.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_migrated() -> str:
    url = postgres_url()
    upgrade(url)
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "postgresql":
        return str(request.getfixturevalue("postgres_migrated"))
    path = tmp_path / "flexpool.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


@pytest.fixture
def dialect(engine: Engine) -> str:
    return engine.dialect.name


@pytest.fixture
def raw_sql(engine: Engine) -> Callable[..., Any]:
    """Run SQL underneath the application (for tamper tests); commits at once."""

    def run(sql: str, **params: Any) -> Any:
        with engine.begin() as conn:
            return conn.execute(text(sql), params)

    return run


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say plainly which tests did not run for want of which tool."""
    wanting: Counter[str] = Counter()
    for report in terminalreporter.stats.get("skipped", []):
        reason = (
            str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
        )
        reason = reason.removeprefix("Skipped: ")
        if reason.startswith("needs "):
            wanting[reason] += 1
    if wanting:
        terminalreporter.section("tools missing on this machine")
        for reason, count in sorted(wanting.items()):
            terminalreporter.line(f"{count} test(s) skipped, {reason}")


# -- the demo consortium, loaded once per run for the web and report tests --------------------


def _load(url: str) -> str:
    upgrade(url)
    engine = make_engine(url)
    try:
        with pytest.MonkeyPatch.context() as patch:  # session-scoped: the autouse one is not
            patch.setattr(approvals.people, "_HASHER", CHEAP_HASHER)
            load_demo(make_session_factory(engine), today=CLOCK.today)
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def demo_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("web") / "demo.db"
    _load(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def demo_postgres() -> Iterator[str]:
    """A database of its own beside the test database (one per test process), demo loaded once."""
    with own_postgres_database(f"web_{os.getpid()}") as url:
        yield _load(url)
