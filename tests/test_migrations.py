"""Migrations are the only way to the schema: one head, up from empty, down to nothing, no drift."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from ledger.db import Base, make_engine
from migrations import alembic_config, downgrade, load_models, upgrade
from tests.support.databases import own_postgres_database


def test_there_is_exactly_one_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it; on PostgreSQL a new one, dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with own_postgres_database(f"mig_{uuid.uuid4().hex[:10]}") as url:
        yield url


# SQLAlchemy cannot reflect SQLite's expression indexes (lower(email)); it says so and skips them.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
def test_upgrade_from_empty_matches_the_models_and_downgrades_to_nothing(empty_url: str) -> None:
    upgrade(empty_url)
    load_models()
    engine = make_engine(empty_url)
    try:
        with engine.connect() as conn:
            differences = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
            )
            assert differences == []
            assert {"ledger_transfers", "ledger_transactions", "ledger_accounts"} <= set(
                inspect(conn).get_table_names()
            )
        downgrade(empty_url, "base")
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
        upgrade(empty_url)  # and back up again, triggers included
        with engine.connect() as conn:
            assert "ledger_books" in inspect(conn).get_table_names()
    finally:
        engine.dispose()
