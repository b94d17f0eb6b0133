"""The ``flexpool`` command as an operator uses it: clear output, honest exit codes."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text

from ledger.db import make_engine
from tests.support.web import on_the_suite_clock
from web.cli import main

Run = Callable[..., Result]


def runner_for(path: Path) -> Run:
    runner = CliRunner(env={"FLEXPOOL_DATABASE_URL": f"sqlite:///{path}"})

    def invoke(*args: str) -> Result:
        return runner.invoke(main, list(args), catch_exceptions=False, obj=on_the_suite_clock())

    return invoke


@pytest.fixture(scope="module")
def demo_template(demo_sqlite_by_cli: tuple[Path, str]) -> tuple[Path, str]:
    """The run's demo, which `flexpool db upgrade` and `flexpool demo` loaded once (it is a year
    of history, see tests/conftest.py), and what `flexpool demo` printed; each test gets a copy."""
    return demo_sqlite_by_cli


@pytest.fixture
def demo_db(demo_template: tuple[Path, str], tmp_path: Path) -> Path:
    path = tmp_path / "demo.db"
    shutil.copy(demo_template[0], path)
    return path


def test_demo_loads_a_verified_consortium_with_requests_in_every_state(
    demo_template: tuple[Path, str],
) -> None:
    output = demo_template[1]
    assert "Loaded NORTHCOAST" in output and "ledger verify: no findings." in output
    for state in (
        "draft",
        "pending",
        "info_requested",
        "returned",
        "approved",
        "part_paid",
        "paid",
        "rejected",
        "withdrawn",
        "cancelled",
        "expired",
    ):
        assert f" {state}" in output, state
    assert "tl@ngo1.demo" in output and "password flexpool-demo" in output


def test_demo_refuses_a_database_that_is_not_empty(demo_db: Path) -> None:
    run = runner_for(demo_db)
    again = run("demo")
    assert again.exit_code == 1 and "not empty" in again.output
    kept = run("demo", "--keep-existing")
    assert kept.exit_code == 0 and "already loaded" in kept.output


def test_trial_balance_csv_has_the_documented_columns_and_sums_to_zero(demo_db: Path) -> None:
    result = runner_for(demo_db)(
        "ledger", "trial-balance", "--format", "csv", "--book", "NORTHCOAST"
    )
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert list(rows[0]) == ["book", "account", "debits", "credits", "balance"]
    assert {row["account"] for row in rows} >= {
        "bank",
        "pool",
        "org:NGO1",
        "client:C-0002",
        "gst_receivable",
    }
    assert (
        sum(
            int(row["balance"].replace(".", "").replace("-", ""))
            * (-1 if row["balance"].startswith("-") else 1)
            for row in rows
        )
        == 0
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ledger", "trial-balance", "--as-of", "2026-13-01"), "does not match the format"),
        (("ledger", "trial-balance", "--book", "NOPE"), "There is no book 'NOPE'"),
        (("ledger", "trial-balance", "--format", "xlsx"), "Invalid value for '--format'"),
    ],
)
def test_bad_arguments_get_a_clear_message_and_exit_2(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    run = runner_for(tmp_path / "empty.db")
    run("db", "upgrade")
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.output


def test_verify_exits_1_and_lists_every_finding_when_the_ledger_was_tampered_with(
    demo_db: Path,
) -> None:
    run = runner_for(demo_db)
    assert run("ledger", "verify").output.strip().endswith("Ledger verified: no findings.")
    engine = make_engine(f"sqlite:///{demo_db}")
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER ledger_transfers_no_update"))
        conn.execute(text("UPDATE ledger_transfers SET amount = amount + 1 WHERE id = 1"))
    engine.dispose()
    result = run("ledger", "verify", "--book", "NORTHCOAST")
    assert result.exit_code == 1
    assert (
        "[chain]" in result.output
        and "[counter]" in result.output
        and "[balance_after]" in result.output
    )
    assert "FAILED" in result.output


def test_verify_compares_the_anchors_says_so_and_fails_on_a_rewritten_anchored_head(
    demo_db: Path, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from reports import anchors

    env = {"FLEXPOOL_DATABASE_URL": f"sqlite:///{demo_db}", "FLEXPOOL_EXPORTS_DIR": str(tmp_path)}
    runner = CliRunner(env=env)
    clean = runner.invoke(main, ["ledger", "verify"], catch_exceptions=False)
    assert "NORTHCOAST: Anchors: none yet" in clean.output and clean.exit_code == 0
    at = datetime(2026, 12, 1, tzinfo=UTC)
    anchors.append(tmp_path, [anchors.Anchor("ledger", "NORTHCOAST", 1, "0" * 64, at)], None)
    result = runner.invoke(main, ["ledger", "verify"], catch_exceptions=False)
    assert result.exit_code == 1
    assert "[anchor] The ledger chain's #1" in result.output
    assert "NORTHCOAST: Anchors: compared 1 anchored chain head(s)" in result.output


def test_grant_app_role_prints_insert_only_grants_for_append_only_tables_and_no_truncate(
    tmp_path: Path,
) -> None:
    run = runner_for(tmp_path / "empty.db")
    printed = run("db", "grant-app-role", "flexpool_app", "--print")
    assert printed.exit_code == 0
    assert "GRANT SELECT, INSERT ON decisions TO flexpool_app;" in printed.output
    assert "GRANT SELECT, INSERT, UPDATE ON payments TO flexpool_app;" in printed.output
    assert "TRUNCATE" not in printed.output and "TRIGGER" not in printed.output
    refused = run("db", "grant-app-role", "app; DROP TABLE users", "--print")
    assert refused.exit_code == 2 and "not a plain role name" in refused.output
    assert run("db", "grant-app-role", "flexpool_app").exit_code == 2  # SQLite has no roles
