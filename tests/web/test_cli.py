"""The ``flexpool`` command as an operator uses it: clear output, honest exit codes."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text

from ledger.db import make_engine
from web.cli import main


@pytest.fixture
def run(tmp_path: Path):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner(env={"FLEXPOOL_DATABASE_URL": url})

    def invoke(*args: str) -> Result:
        return runner.invoke(main, list(args), catch_exceptions=False)

    invoke.url = url  # type: ignore[attr-defined]
    return invoke


def test_demo_loads_a_verified_book_once(run) -> None:  # type: ignore[no-untyped-def]
    assert run("db", "upgrade").exit_code == 0
    first = run("demo")
    assert first.exit_code == 0, first.output
    assert "Loaded demo book DEMO" in first.output
    assert "Total" in first.output and "ledger verify: no findings." in first.output
    again = run("demo")
    assert again.exit_code == 1
    assert "already holds the demo book" in again.output
    kept = run("demo", "--keep-existing")
    assert kept.exit_code == 0 and "already loaded" in kept.output


def test_trial_balance_csv_has_the_documented_columns_and_sums_to_zero(run) -> None:  # type: ignore[no-untyped-def]
    run("db", "upgrade")
    run("demo")
    result = run("ledger", "trial-balance", "--format", "csv", "--book", "DEMO")
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
    cents = [int(row["balance"].replace(".", "")) for row in rows]
    assert sum(cents) == 0
    bank = next(row for row in rows if row["account"] == "bank")
    assert bank["balance"] == "118640.00"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ledger", "trial-balance", "--as-of", "2026-13-01"), "does not match the format"),
        (("ledger", "trial-balance", "--book", "NOPE"), "There is no book 'NOPE'"),
        (("ledger", "trial-balance", "--format", "xlsx"), "Invalid value for '--format'"),
    ],
)
def test_bad_arguments_get_a_clear_message_and_exit_2(
    run, args: tuple[str, ...], message: str
) -> None:  # type: ignore[no-untyped-def]
    run("db", "upgrade")
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.output


def test_verify_exits_1_and_lists_every_finding_when_the_ledger_was_tampered_with(run) -> None:  # type: ignore[no-untyped-def]
    run("db", "upgrade")
    run("demo")
    assert run("ledger", "verify").output.strip() == "Ledger verified: no findings."
    engine = make_engine(run.url)
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER ledger_transfers_no_update"))
        conn.execute(text("UPDATE ledger_transfers SET amount = amount + 1 WHERE id = 1"))
    engine.dispose()
    result = run("ledger", "verify", "--book", "DEMO")
    assert result.exit_code == 1
    assert (
        "[chain]" in result.output
        and "[counter]" in result.output
        and "[balance_after]" in result.output
    )
    assert "FAILED" in result.output
