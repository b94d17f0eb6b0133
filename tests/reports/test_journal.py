"""The journal export, re-added by hledger and ledger-cli: their balances must be ours.

Both tools also check every balance assertion in the file, so a journal whose running balances
were wrong anywhere (not only at the end) fails here.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from approvals.fiscal import Period, month_of
from demo.base import CODE
from ledger import TransferKind
from ledger.db import make_engine, make_session_factory
from ledger.errors import LedgerError
from ledger.money import cents_to_decimal_text
from ledger.queries import get_balances, trial_balance
from reports.journal import write_journal
from tests.support.clock import CLOCK
from tests.support.databases import missing_tool
from tests.support.ledger import open_kit


def _tool(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        missing_tool(f"needs {name}: apt-get install {package}")
    return str(found)


def _journal(factory: sessionmaker[Session], book: str, path: Path, period: Period | None) -> Path:
    with factory() as session, open(path, "w", encoding="utf-8", newline="\n") as out:
        write_journal(session, book, out, period)
    return path


def _ours(factory: sessionmaker[Session], book: str, as_of: date | None) -> dict[str, Decimal]:
    with factory() as session:
        lines = trial_balance(session, book, as_of=as_of)
    return {line.account: Decimal(line.balance) / 100 for line in lines if line.balance}


def hledger_balances(journal: Path, *query: str, cleared: bool = True) -> dict[str, Decimal]:
    command = [_tool("hledger", "hledger"), "-f", str(journal), "bal", "--flat", "-O", "csv"]
    out = subprocess.run(  # noqa: S603 - our own arguments
        command + (["--cleared"] if cleared else []) + list(query),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = list(csv.reader(io.StringIO(out)))[1:]
    return {
        account: Decimal(amount.replace("$", ""))
        for account, amount in rows
        if account != "Total:" and amount not in ("0", "")
    }


def ledger_balances(journal: Path) -> dict[str, Decimal]:
    out = subprocess.run(  # noqa: S603 - our own arguments
        [
            _tool("ledger", "ledger"),
            "-f",
            str(journal),
            "bal",
            "--cleared",
            "--flat",
            "--no-total",
            "--balance-format",
            "%(account)\t%(quantity(display_total))\n",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = {}
    for line in out.splitlines():
        account, amount = line.split("\t")
        if Decimal(amount):
            found[account] = Decimal(amount)
    return found


@pytest.fixture(scope="module")
def demo(demo_sqlite: Path) -> sessionmaker[Session]:
    return make_session_factory(make_engine(f"sqlite:///{demo_sqlite}"))


def test_both_tools_report_our_trial_balance_for_the_demo_book(
    demo: sessionmaker[Session], tmp_path: Path
) -> None:
    journal = _journal(demo, CODE, tmp_path / "all.journal", None)
    ours = _ours(demo, CODE, None)
    assert {"bank", "pool", "org:NGO1"} <= set(ours)
    assert hledger_balances(journal) == ours
    assert ledger_balances(journal) == ours


def test_a_month_opens_with_its_brought_forward_balances_and_closes_on_the_as_of_balance(
    demo: sessionmaker[Session], tmp_path: Path
) -> None:
    today = CLOCK.today  # the demo's today
    last_month = month_of(today.replace(day=1) - timedelta(days=1))
    journal = _journal(demo, CODE, tmp_path / "month.journal", last_month)
    text = journal.read_text()
    assert "(opening) Balances brought forward" in text
    assert hledger_balances(journal) == _ours(demo, CODE, last_month.end)
    assert ledger_balances(journal) == _ours(demo, CODE, last_month.end)
    start, end = last_month.start.isoformat(), last_month.end.isoformat()
    posted = [line[:10] for line in text.splitlines() if line[10:13] == " * "]
    held = [line[:10] for line in text.splitlines() if line[10:13] == " ! "]
    assert posted and all(start <= day <= end for day in posted)
    assert all(day <= end for day in held)  # still open at the month's end, whenever made


@pytest.mark.calendar
def test_held_money_appears_only_on_held_accounts_and_equals_the_open_holds(
    demo: sessionmaker[Session], tmp_path: Path
) -> None:
    journal = _journal(demo, CODE, tmp_path / "all.journal", None)
    held = hledger_balances(journal, "^held:", cleared=False)
    assert held, "the demo has approved requests not yet paid"
    codes = sorted({account.removeprefix("held:") for account in held})
    with demo() as session:
        balances = get_balances(session, CODE, codes)
    for code in codes:
        pending = balances[code].debits_pending - balances[code].credits_pending
        assert held[f"held:{code}"] == Decimal(pending) / 100, code


def test_writing_twice_gives_the_same_bytes(demo: sessionmaker[Session], tmp_path: Path) -> None:
    one = _journal(demo, CODE, tmp_path / "one.journal", None).read_bytes()
    two = _journal(demo, CODE, tmp_path / "two.journal", None).read_bytes()
    assert one == two


NOV = date(2026, 11, 1)


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    moves=st.lists(
        st.tuples(
            st.sampled_from(["allocate", "hold", "settle", "release", "refund"]),
            st.integers(0, 40),  # day offset: later moves may be backdated before earlier ones
            st.integers(1, 90_000),
        ),
        min_size=1,
        max_size=14,
    )
)
def test_a_generated_book_reads_the_same_in_both_tools(
    session_factory: sessionmaker[Session],
    now: object,
    tmp_path_factory: pytest.TempPathFactory,
    moves: list[tuple[str, int, int]],
) -> None:
    kit = open_kit(session_factory, now)  # type: ignore[arg-type]
    kit.post(kit.move("bank", "pool", "5,000.00", TransferKind.GRANT_RECEIPT), on=NOV)
    kit.post(kit.allocate_leg("org:NGO1", "2,000.00"), on=NOV)
    holds: list[int] = []
    for action, offset, cents in moves:
        day = NOV + timedelta(days=offset)
        amount = cents_to_decimal_text(cents % 20_000 + 1)
        try:  # a move the ledger refuses (short funds) simply does not happen
            if action == "allocate":
                kit.post(kit.allocate_leg("org:NGO2", amount), on=day)
            elif action == "hold":
                leg = kit.hold("org:NGO1", "client:C-0001", amount)
                holds.append(kit.post(leg, on=day).transfer_ids[0])
            elif action in ("settle", "release") and holds:
                pending = holds.pop(0)
                leg = kit.settle(pending) if action == "settle" else kit.release(pending)
                kit.post(leg, on=day)
            elif action == "refund":
                kit.post(kit.move("bank", "org:NGO2", amount, TransferKind.REFUND), on=day)
        except LedgerError:
            continue
    folder = tmp_path_factory.mktemp("journal")
    journal = _journal(session_factory, kit.book, folder / "book.journal", None)
    ours = _ours(session_factory, kit.book, None)
    assert hledger_balances(journal) == ours
    assert ledger_balances(journal) == ours
    period = Period(NOV + timedelta(days=10), NOV + timedelta(days=25), "part")
    window = _journal(session_factory, kit.book, folder / "window.journal", period)
    assert hledger_balances(window) == _ours(session_factory, kit.book, period.end)
