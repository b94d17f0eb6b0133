"""Ledger benchmark: one command, both databases, every figure of docs/ledger.md#speed-targets in
one table.

    .venv/bin/python -m bench.ledger_bench [--sqlite-only] [--postgres-url URL] [--big N] [--quick]

Why it is built this way:

* **Fresh databases, real schema.** Each run migrates a new SQLite file and a new PostgreSQL
  database (``flexpool_bench_<pid>``, dropped at the end) with ``migrations.upgrade``, so the
  figures include every index, foreign key, CHECK and trigger, and no earlier data skews them.
* **Service next to raw SQL, interleaved.** The service figure alone says little on a shared
  machine; the same workload hand-written against the driver (``bench/raw_sql.py``) runs on
  the same database in alternating blocks, and their ratio is the figure with a target.
* **Long runs, halves reported.** A posting rate measured over the first thousand transfers can hide
  a slide as tables grow (docs/ledger.md#speed-targets), so the runs are thousands long and each
  half is reported on its own.
* **Reads as a caller makes them.** Every read opens its own session, as a web request does, and
  is timed at 1,000 transfers and again after ``--big``, so "constant whatever the history" is a
  ratio you can read off. The big history is loaded with ``ledger.bulk.load_history``, whose
  rate is a figure too.
* **Informational.** PASS/MISS is printed, never asserted: timings belong here, not in tests/.
  The exit status is 0 unless something crashes.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bench import history, throughput
from bench.databases import Target, fresh_postgres, fresh_sqlite, machine_facts
from bench.raw_sql import POSTGRES, SQLITE, RawLedger
from bench.report import Results, print_table
from bench.throughput import Throughput
from ledger.db import make_engine, make_session_factory


@dataclass(frozen=True)
class Sizes:
    transfers: dict[str, int]
    pairs: dict[str, int]
    reads: int
    trials: int
    big: int
    block: int


def sizes_for(quick: bool, big: int | None) -> Sizes:
    if quick:
        return Sizes(
            {"SQLite": 1000, "PostgreSQL": 500},
            {"SQLite": 200, "PostgreSQL": 100},
            reads=100,
            trials=5,
            big=big or 20_000,
            block=50,
        )
    return Sizes(
        {"SQLite": 10_000, "PostgreSQL": 5_000},
        {"SQLite": 2_000, "PostgreSQL": 1_000},
        reads=500,
        trials=20,
        big=big or 1_000_000,
        block=250,
    )


def log(message: str, started: float) -> None:
    print(f"  [{time.perf_counter() - started:7.1f}s] {message}", file=sys.stderr, flush=True)


def run_target(target: Target, sizes: Sizes) -> Results:
    started = time.perf_counter()
    print(f"{target.name} {target.server_version}:", file=sys.stderr, flush=True)
    engine = make_engine(target.url)
    factory = make_session_factory(engine)
    connection = target.raw_connect()
    try:
        service, raw, pairs = posting_figures(factory, connection, target.name, sizes, started)
        small, big, trial, bulk = history_figures(factory, sizes, started)
    finally:
        connection.close()
        engine.dispose()
    elapsed = time.perf_counter() - started
    log(f"done in {elapsed:.0f}s", started)
    return Results(
        target.name, target.server_version, service, raw, pairs, small, big, trial, bulk, elapsed
    )


def posting_figures(
    factory: sessionmaker[Session], connection: Any, db: str, sizes: Sizes, started: float
) -> tuple[Throughput, Throughput, float]:
    for book in ("svc", "raw"):
        throughput.open_twin_book(factory, book)
    raw = RawLedger(connection, SQLITE if db == "SQLite" else POSTGRES, "raw")
    count = sizes.transfers[db]
    log(f"{count:,} transfers through the service and {count:,} in raw SQL", started)
    service, raw_rate = throughput.interleaved(
        lambda i: throughput.service_transfer(factory, "svc", i),
        lambda i: throughput.raw_transfer(raw, i),
        count,
        sizes.block,
    )
    throughput.check_twins(factory)
    log(f"{sizes.pairs[db]:,} reserve+post pairs", started)
    return service, raw_rate, throughput.reserve_and_post(factory, "svc", sizes.pairs[db])


def history_figures(
    factory: sessionmaker[Session], sizes: Sizes, started: float
) -> tuple[history.Reads, history.Reads, history.Latency, float]:
    history.open_history_book(factory, "hist")
    log(f"posting {history.SMALL:,} history transfers, then reads", started)
    history.post_small(factory, "hist", sizes.big)
    small = history.reads(factory, "hist", history.SMALL, sizes.reads)
    log(f"bulk-loading {sizes.big - history.SMALL:,} more transfers", started)
    bulk = history.bulk_load(factory, "hist", sizes.big)
    history.analyze(factory)
    log("reads and trial balance on the big book", started)
    big = history.reads(factory, "hist", sizes.big, sizes.reads)
    return small, big, history.trial_latency(factory, "hist", sizes.trials), bulk


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ledger_bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("FLEXPOOL_BENCH_DATABASE_URL")
        or os.environ.get("FLEXPOOL_TEST_DATABASE_URL"),
        help="any database on the server; a fresh flexpool_bench_<pid> is created beside it "
        "(default: $FLEXPOOL_BENCH_DATABASE_URL, else $FLEXPOOL_TEST_DATABASE_URL)",
    )
    parser.add_argument(
        "--big",
        type=int,
        default=None,
        help="transfers in the big history (default 1,000,000; 20,000 with --quick)",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    args = parser.parse_args(argv)
    if args.big is not None and args.big < 2 * history.SMALL:
        parser.error(f"--big must be at least {2 * history.SMALL:,}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = sizes_for(args.quick, args.big)
    started = time.perf_counter()
    facts = machine_facts()
    targets: list[Callable[[], AbstractContextManager[Target]]] = [fresh_sqlite]
    notes = []
    if args.sqlite_only:
        notes.append("PostgreSQL skipped (--sqlite-only).")
    elif not args.postgres_url:
        notes.append("PostgreSQL skipped: give --postgres-url or set FLEXPOOL_BENCH_DATABASE_URL.")
    else:
        targets.append(lambda: fresh_postgres(args.postgres_url))
    results = []
    for make_target in targets:
        with make_target() as target:
            results.append(run_target(target, sizes))
    facts += [(f"{r.db} server", r.version) for r in results if r.db == "PostgreSQL"]
    print_table(facts, results, sizes.transfers, sizes.big, notes, time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
