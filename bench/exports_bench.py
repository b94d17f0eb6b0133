"""Export speed and memory on national data: the reconciliation workbook, month and year.

Why: issue 5's targets are a monthly workbook for the largest consortium and a whole-year
workbook of all payments (~100,000 rows) in constant memory (< 300 MB peak) and < 60 s for the
year, compared in the same run with ledger-cli reading our journal export for the trial balance.

    .venv/bin/python -m bench.exports_bench --url postgresql+psycopg://postgres@127.0.0.1/flexpool_national

Each export runs in a child process of its own, so its peak resident memory (``ru_maxrss``) is
that export's alone. Measured, in one run:

1. the reconciliation workbook of the busiest month of the consortium with most payments;
2. its whole financial year (every payment of the year on the Payments sheet);
3. the year at national volume: ``demo.national`` builds about 1,300 payments a consortium, so
   a scratch copy of the database (``CREATE DATABASE … TEMPLATE``) gets that consortium's year of
   payment rows repeated until the Payments sheet holds ``--rows`` rows (default 100,000). The
   copies carry the original requests and ledger transactions, so the workbook's checks flag
   them as not matching the ledger; that is expected here and the figure shows it. The scratch
   database is dropped afterwards.
4. for comparison, the year's journal export (``flexpool export run --kind journal``) and
   ``ledger -f <journal> bal`` over it, the trial balance as ledger-cli computes it.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, make_url, select, text
from sqlalchemy.orm import Session

from approvals.fiscal import Period, financial_year, parse_financial_year, parse_month
from approvals.models import Consortium, FundRequest, Payment
from ledger.db import make_engine, make_session_factory
from reports.models import ExportKind
from reports.runs import ExportOrder, run_export

TARGET_SECONDS = 60.0
TARGET_MB = 300.0


@dataclass(frozen=True)
class Figure:
    what: str
    seconds: float
    peak_mb: float
    rows: str


def _child(url: str, code: str, kind: str, label: str, out: str) -> None:
    """Run one export here and print its figures as JSON (the parent reads the last line)."""
    factory = make_session_factory(make_engine(url))
    span = parse_financial_year(label) if label.startswith("FY") else parse_month(label)
    order = ExportOrder(code, ExportKind(kind), span, Path(out), "cli:bench")
    started = time.perf_counter()
    run = run_export(factory, order, now=lambda: datetime.now(UTC))
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert run is not None
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_mb": peak_mb,
                "rows": run.row_counts,
                "file": str(Path(out) / str(run.file_name)),
            }
        )
    )


def _measure(url: str, code: str, kind: str, label: str, out: Path) -> dict[str, object]:
    done = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "bench.exports_bench", "--child", url, code, kind, label, str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _largest(session: Session, year: Period) -> tuple[str, int, Period, int]:
    """The consortium with most payments in the year, its count, busiest month and its count."""
    per = (
        select(Consortium.code, func.count(Payment.id))
        .join(FundRequest, FundRequest.consortium_id == Consortium.id)
        .join(Payment, Payment.request_id == FundRequest.id)
        .where(Payment.paid_on.between(year.start, year.end))
        .group_by(Consortium.code)
        .order_by(func.count(Payment.id).desc(), Consortium.code)
    )
    code, count = session.execute(per.limit(1)).one()
    days = session.execute(
        select(Payment.paid_on)
        .join(FundRequest, FundRequest.id == Payment.request_id)
        .join(Consortium, Consortium.id == FundRequest.consortium_id)
        .where(Consortium.code == code, Payment.paid_on.between(year.start, year.end))
    ).scalars()
    months: dict[str, int] = {}
    for day in days:
        months[f"{day:%Y-%m}"] = months.get(f"{day:%Y-%m}", 0) + 1
    busiest = max(sorted(months), key=lambda m: months[m])
    return code, count, parse_month(busiest), months[busiest]


def _scratch_copy(url: str, name: str) -> str:
    base = make_url(url)
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{base.database}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _drop(url: str) -> None:
    base = make_url(url)
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{base.database}" WITH (FORCE)'))
    admin.dispose()


def _repeat_payments(url: str, code: str, year: Period, copies: int) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO payments (request_id, supplier_id, invoice_number, inc_gst_cents,"
                " gst_cents, charged_cents, paid_on, ledger_transaction_id, recorded_by_id,"
                " recorded_at) SELECT p.request_id, p.supplier_id,"
                " p.invoice_number || '/c' || g, p.inc_gst_cents, p.gst_cents, p.charged_cents,"
                " p.paid_on, p.ledger_transaction_id, p.recorded_by_id, p.recorded_at"
                " FROM payments p JOIN fund_requests r ON r.id = p.request_id"
                " JOIN consortia c ON c.id = r.consortium_id"
                " CROSS JOIN generate_series(1, :copies) g"
                " WHERE c.code = :code AND p.paid_on BETWEEN :start AND :end"
            ),
            {"copies": copies, "code": code, "start": year.start, "end": year.end},
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE payments"))
    engine.dispose()


def _ledger_cli(journal: str) -> float:
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 - Debian's ledger-cli on our own file
        [str(shutil.which("ledger")), "-f", journal, "bal", "--flat"],
        capture_output=True,
        check=True,
    )
    return time.perf_counter() - started


def _figure(what: str, measured: dict[str, object], rows_key: str) -> Figure:
    counts = json.loads(str(measured["rows"]))
    shown = f"{counts.get(rows_key, '?'):,} {rows_key}" if rows_key else ""
    if "mismatches" in counts:
        shown += f", {counts['mismatches']} check(s) flagged"
    return Figure(what, float(str(measured["seconds"])), float(str(measured["peak_mb"])), shown)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="demo.national's PostgreSQL database")
    parser.add_argument("--year", default=None, help="FY2025-26 (default: the last whole one)")
    parser.add_argument("--rows", type=int, default=100_000, help="payments in the volume run")
    parser.add_argument("--child", nargs=5, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    if not args.url:
        parser.error("--url is required")
    engine = make_engine(args.url)
    with make_session_factory(engine)() as session:
        latest = session.execute(select(func.max(Payment.paid_on))).scalar_one()
        current = financial_year(latest)
        last_whole = financial_year(current.start - timedelta(days=1))
        year = parse_financial_year(args.year) if args.year else last_whole
        code, count, busiest, in_month = _largest(session, year)
    engine.dispose()
    print(f"consortium {code}: {count:,} payments in {year.label}, {in_month} in {busiest.label}")
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        month_run = _measure(args.url, code, "reconciliation", busiest.label, out)
        figures.append(_figure(f"reconciliation {busiest.label}", month_run, "payments"))
        year_run = _measure(args.url, code, "reconciliation", year.label, out)
        figures.append(_figure(f"reconciliation {year.label}", year_run, "payments"))
        scratch = _scratch_copy(args.url, f"{make_url(args.url).database}_volume")
        try:
            _repeat_payments(scratch, code, year, max(0, -(-args.rows // count) - 1))
            volume = _measure(scratch, code, "reconciliation", year.label, out / "volume")
            figures.append(_figure(f"reconciliation {year.label}, volume", volume, "payments"))
        finally:
            _drop(scratch)
        journal = _measure(args.url, code, "journal", year.label, out)
        figures.append(_figure(f"journal {year.label}", journal, "entries"))
        ledger_seconds = _ledger_cli(str(journal["file"])) if shutil.which("ledger") else None
    _print(figures, ledger_seconds)


def _print(figures: list[Figure], ledger_seconds: float | None) -> None:
    print(f"{'export':<38} {'wall s':>8} {'peak MB':>8}  rows")
    for f in figures:
        print(f"{f.what:<38} {f.seconds:>8.1f} {f.peak_mb:>8.0f}  {f.rows}")
    if ledger_seconds is not None:
        print(f"{'ledger -f <journal> bal (ledger-cli)':<38} {ledger_seconds:>8.1f}")
    volume = next((f for f in figures if f.what.endswith("volume")), None)
    if volume is not None:
        ok = volume.seconds < TARGET_SECONDS and volume.peak_mb < TARGET_MB
        print(
            f"year at volume: {volume.seconds:.1f} s (target < {TARGET_SECONDS:.0f}), "
            f"peak {volume.peak_mb:.0f} MB (target < {TARGET_MB:.0f}): "
            + ("met" if ok else "NOT met")
        )


if __name__ == "__main__":
    main()
