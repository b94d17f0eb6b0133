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
import sqlite3
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from hypothesis import settings
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

import approvals.consortium.people
from demo.consortium import load_demo
from ledger.db import make_engine, make_session_factory
from migrations import upgrade
from tests.support.clock import CLOCK, SYDNEY, TestClock
from tests.support.databases import POSTGRES_URL, own_postgres_database, postgres_url
from tests.support.hypothesis_profiles import HYPOTHESIS_PROFILE
from web import create_app
from web.cli import main

settings.load_profile(HYPOTHESIS_PROFILE)  # docs: tests/support/hypothesis_profiles.py


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
    monkeypatch.setattr(approvals.consortium.people, "_HASHER", CHEAP_HASHER)


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
            patch.setattr(approvals.consortium.people, "_HASHER", CHEAP_HASHER)
            load_demo(make_session_factory(engine), today=CLOCK.today)
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def demo_sqlite_by_cli(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The SQLite demo, loaded once per run the way an operator does (`flexpool db upgrade`,
    then `flexpool demo`, on the suite's clock); the path and what `flexpool demo` printed,
    which tests/web/test_cli.py reads instead of loading a year of history a second time."""
    path = tmp_path_factory.mktemp("web") / "demo.db"
    runner = CliRunner(env={"FLEXPOOL_DATABASE_URL": f"sqlite:///{path}"})
    apps: list[Flask] = []

    def app_on_the_clock() -> Flask:
        apps.append(create_app(clock=CLOCK))
        return apps[-1]

    try:
        with pytest.MonkeyPatch.context() as patch:  # session-scoped: the autouse one is not
            patch.setattr(approvals.consortium.people, "_HASHER", CHEAP_HASHER)
            on_the_clock = ScriptInfo(create_app=app_on_the_clock)
            for command in (["db", "upgrade"], ["demo"]):
                result = runner.invoke(main, command, catch_exceptions=False, obj=on_the_clock)
                assert result.exit_code == 0, result.output
    finally:
        for app in apps:
            app.extensions["flexpool.engine"].dispose()
    # Tests copy the file alone: what the write-ahead log still holds must be in it first.
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    return path, result.output


@pytest.fixture(scope="session")
def demo_sqlite(demo_sqlite_by_cli: tuple[Path, str]) -> Path:
    return demo_sqlite_by_cli[0]


class _DemoLoading:
    """The PostgreSQL demo, loaded by a process of its own from the moment the run knows it has
    PostgreSQL tests: a year of history through the services is some twenty seconds of mostly
    Python, which the second core spends while the first runs the tests that come earlier.
    Nothing else touches that database until ``demo_postgres`` has waited for the load."""

    def __init__(self) -> None:
        self._database = ExitStack()
        self.url = self._database.enter_context(own_postgres_database(f"web_{os.getpid()}"))
        self._output = self._database.enter_context(tempfile.TemporaryFile("w+"))
        load = "import sys, tests.conftest as t; t._load(sys.argv[1])"
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and code
            [sys.executable, "-c", load, self.url],
            cwd=Path(__file__).parent.parent,
            env={**os.environ, "FLEXPOOL_TEST_TODAY": CLOCK.today.isoformat()},
            stdout=self._output,
            stderr=subprocess.STDOUT,
        )

    def wait(self) -> str:
        if self._process.wait() != 0:
            self._output.seek(0)
            pytest.fail(f"loading the PostgreSQL demo failed:\n{self._output.read()[-4000:]}")
        return self.url

    def close(self) -> None:
        if self._process.poll() is None:  # the run ended before any test needed the demo
            self._process.kill()
            self._process.wait()
        self._database.close()


DEMO_LOADING = pytest.StashKey[_DemoLoading]()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the load if the run holds a PostgreSQL test of the demo's users, the web and
    report tests; a run without one (``-m "not postgres"``, only tests/ledger) never starts it."""
    users = (Path(__file__).parent / "web", Path(__file__).parent / "reports")
    if POSTGRES_URL and any(
        item.get_closest_marker("postgres") and any(map(item.path.is_relative_to, users))
        for item in session.items
    ):
        session.config.stash[DEMO_LOADING] = _DemoLoading()


def pytest_sessionfinish(session: pytest.Session) -> None:
    loading = session.config.stash.get(DEMO_LOADING, None)
    if loading is not None:
        loading.close()


@pytest.fixture(scope="session")
def demo_postgres(request: pytest.FixtureRequest) -> Iterator[str]:
    """A database of its own beside the test database (one per test process), demo loaded once:
    by the process started when the run was collected, or here if there is none."""
    loading = request.config.stash.get(DEMO_LOADING, None)
    if loading is not None:
        yield loading.wait()
        return
    with own_postgres_database(f"web_{os.getpid()}") as url:
        yield _load(url)
