"""Test databases: PostgreSQL when configured, a database of one's own, names that never clash."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES_URL = os.environ.get("FLEXPOOL_TEST_DATABASE_URL")


REQUIRE_POSTGRES = os.environ.get("FLEXPOOL_REQUIRE_POSTGRES") == "1"


NEEDS_POSTGRES = "needs PostgreSQL: set FLEXPOOL_TEST_DATABASE_URL"


def postgres_url() -> str:
    if not POSTGRES_URL:
        if REQUIRE_POSTGRES:
            pytest.fail("FLEXPOOL_REQUIRE_POSTGRES=1 but FLEXPOOL_TEST_DATABASE_URL is not set")
        pytest.skip(NEEDS_POSTGRES)
    return POSTGRES_URL


def missing_tool(reason: str) -> None:
    """Skip here; fail in CI (``.ci/run`` installs every tool, so nothing may skip there).

    ``reason`` starts with "needs ", so the run's closing lines count it under its tool."""
    if os.environ.get("FLEXPOOL_REQUIRE_TOOLS") == "1":
        pytest.fail(f"FLEXPOOL_REQUIRE_TOOLS=1 but this test {reason}")
    pytest.skip(reason)


def unique_code(prefix: str = "T") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@contextmanager
def own_postgres_database(suffix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database beside the test database, dropped afterwards (even if a
    crashed earlier run left one of the same name)."""
    url = make_url(postgres_url())
    name = f"{url.database}_{suffix}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    drop()
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        drop()
        admin.dispose()
