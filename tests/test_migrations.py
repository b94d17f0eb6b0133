"""Migrations are the only way to the schema: one head, up from empty, down to nothing, no drift."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError, IntegrityError

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


_RUN_AND_SIGN_OFF = (
    "INSERT INTO consortia (id, code, name, state, created_at)"
    " VALUES (1, 'C', 'C', 'NSW', '2026-11-01 00:00:00')",
    "INSERT INTO users (id, email, display_name, password_hash, created_at)"
    " VALUES (1, 'a@b.c', 'A', 'x', '2026-11-01 00:00:00')",
    "INSERT INTO export_runs (id, consortium_id, kind, period, scheduled, status, requested_by,"
    " requested_at, finished_at, file_name, sha256) VALUES (1, 1, 'reconciliation', '2026-10',"
    " true, 'done', 'scheduler', '2026-11-01 00:00:00', '2026-11-01 00:01:00', 'r.xlsx', 'ab')",
    "INSERT INTO month_sign_offs (consortium_id, period, export_run_id, ledger_sequence,"
    " ledger_hash, closed_by_id, closed_at) VALUES (1, '2026-10', 1, 1, 'x', 1,"
    " '2026-11-02 00:00:00')",
)


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_the_export_kind_check_keeps_runs_their_sign_offs_and_triggers(empty_url: str) -> None:
    """0013 rebuilds ``export_runs`` on SQLite while a month sign-off points at a run."""
    upgrade(empty_url, "0012")
    engine = make_engine(empty_url)
    try:
        with engine.begin() as conn:
            for sql in _RUN_AND_SIGN_OFF:
                conn.execute(text(sql))
        for _ in range(2):
            upgrade(empty_url)
            with engine.connect() as conn:
                assert conn.execute(text("SELECT count(*) FROM month_sign_offs")).scalar() == 1
            with pytest.raises(IntegrityError), engine.begin() as conn:
                conn.execute(
                    text(
                        "INSERT INTO export_runs (consortium_id, kind, period, scheduled, status,"
                        " requested_by, requested_at) VALUES (1, 'bogus', '2026-10', false,"
                        " 'running', 'scheduler', '2026-11-01 00:00:00')"
                    )
                )
            with pytest.raises(DBAPIError), engine.begin() as conn:
                conn.execute(text("DELETE FROM export_runs"))  # still append-only
            downgrade(empty_url, "0012")
            with engine.connect() as conn:
                assert (
                    conn.execute(text("SELECT kind FROM export_runs")).scalar() == "reconciliation"
                )
    finally:
        engine.dispose()


_POLICY_WITH_A_STEP = (
    "INSERT INTO consortia (id, code, name, state, created_at)"
    " VALUES (1, 'C', 'C', 'NSW', '2026-11-01 00:00:00')",
    "INSERT INTO users (id, email, display_name, password_hash, created_at)"
    " VALUES (1, 'a@b.c', 'A', 'x', '2026-11-01 00:00:00')",
    "INSERT INTO approval_policies (id, consortium_id, version, status, created_by_id, created_at)"
    " VALUES (1, 1, 1, 'draft', 1, '2026-11-01 00:00:00')",
    "INSERT INTO policy_rules (id, policy_id, position, name, is_fallback, min_cents, max_cents,"
    " supplier_unverified) VALUES (1, 1, 1, 'PM above $500', false, 50000, 200000, false)",
    "INSERT INTO policy_steps (rule_id, position, approvers, quorum, sla_business_days)"
    " VALUES (1, 1, '[\"PM@lead\"]', 'any', 2)",
)


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_the_amount_band_rename_keeps_rules_their_steps_and_triggers(empty_url: str) -> None:
    """0012 renames ``policy_rules``' band on a database in use, where steps point at its rules
    (a batch copy could not drop the table under them on SQLite)."""
    upgrade(empty_url, "0011")
    engine = make_engine(empty_url)
    try:
        with engine.begin() as conn:
            for sql in _POLICY_WITH_A_STEP:
                conn.execute(text(sql))
        for _ in range(2):
            upgrade(empty_url)
            with engine.connect() as conn:
                band = conn.execute(text("SELECT above_cents, up_to_cents FROM policy_rules"))
                assert band.one() == (50000, 200000)
                assert conn.execute(text("SELECT count(*) FROM policy_steps")).scalar() == 1
            with pytest.raises(IntegrityError), engine.begin() as conn:
                conn.execute(text("UPDATE policy_rules SET up_to_cents = 50000"))  # empty band
            with pytest.raises(DBAPIError), engine.begin() as conn:
                conn.execute(text("DELETE FROM policy_rules"))  # its steps still point at it
            downgrade(empty_url, "0011")
            with engine.connect() as conn:
                band = conn.execute(text("SELECT min_cents, max_cents FROM policy_rules"))
                assert band.one() == (50000, 200000)
    finally:
        engine.dispose()


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_the_demo_goes_down_to_0011_and_back_with_its_history(
    demo_sqlite: Path, tmp_path: Path
) -> None:
    """A database in use (the demo's year) through the table rebuilds of 0012-0014 and back: the
    rows stay, the append-only triggers stay, and the new CHECKs hold."""
    path = tmp_path / "demo.db"
    shutil.copy(demo_sqlite, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            counted = [
                conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()  # noqa: S608
                for table in ("decisions", "policy_rules", "policy_steps", "export_runs")
            ]
        assert counted[0] and counted[1] and counted[2]
        downgrade(url, "0011")
        upgrade(url)
        with engine.connect() as conn:
            assert [
                conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()  # noqa: S608
                for table in ("decisions", "policy_rules", "policy_steps", "export_runs")
            ] == counted
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text("DELETE FROM decisions"))
        with (
            pytest.raises(IntegrityError, match="ck_decisions_action_known"),
            engine.begin() as conn,
        ):
            conn.execute(
                text(
                    "INSERT INTO decisions (request_id, round, action, from_state, to_state,"
                    " actor_id, at) SELECT request_id, round, 'bogus', from_state, to_state,"
                    " actor_id, at FROM decisions LIMIT 1"
                )
            )
    finally:
        engine.dispose()
