"""National-scale data for the benchmarks: 48 consortia, ~25,000 clients, ~250,000 transfers.

Why: the page, export and query benchmarks of later issues need "a year of national data"
(docs/ledger.md#speed-targets) that looks like what the real services write: the same chains,
decisions, audit events, reservations, part payments and refunds, not rows made up by ``INSERT``. So
every row here goes through the same service functions as ``flexpool demo`` (``demo/consortium.py``,
whose categories, suppliers and helpers are reused): ``create_consortium``, ``add_partner``,
``create_user``/``grant_role``, ``add_category``, ``add_supplier``/``verify_supplier``, the default
policy, ``receive_grant``/``allocate``, ``enrol_client``/``change_status``/``add_need``,
``create_request`` and ``transition`` (pay with ``PaymentInput``), ``record_refund`` and the timers
that expire stale approvals.

To be fast enough (the full run in well under an hour on the 2-core machine) it differs from
the demo only in how it *commits*, never in what it writes:

- a consortium's set-up, its funding, each batch of enrolments and each business day of requests
  is one database transaction; every service call inside it runs in a savepoint, so a call the
  services refuse (a cap, short funds) leaves nothing behind, exactly as its own transaction
  would;
- each user's ``Actor`` is loaded once per consortium (nobody's roles change during the run);
- generated users get a cheap argon2 hasher: ``approvals.consortium.people._HASHER`` is
monkeypatched for
  the duration of this command only (restored afterwards), since 1,300 default-cost hashes would
  take minutes and prove nothing about the benchmarks. Their password is ``flexpool-demo``.

Volume: ``--scale`` multiplies clients per consortium and therefore requests (about 3 a client
a year, modest amounts so caps and envelopes rarely block); ``--consortia`` sets how many.
Deterministic for a given ``--seed`` and ``--today``. On PostgreSQL ``--jobs 2`` builds two
consortia at a time (books are independent); SQLite has one writer, so it stays at 1.

    .venv/bin/python -m demo.national --url postgresql://postgres@127.0.0.1/flexpool_national
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from approvals.lifecycle.timers import run_timers
from approvals.models import Client, FundRequest, User
from demo.base import ZONE, moment
from demo.consortium import database_is_empty as demo_database_is_empty
from demo.region import Region, cheap_password_hashing, enrol, fund, set_up
from demo.region_year import history
from ledger.db import make_engine, make_session_factory
from ledger.models import transfers
from ledger.verify import summarize, verify
from migrations import upgrade


@dataclass(frozen=True)
class _Job:
    url: str
    index: int
    clients: int
    seed: int
    today: date


def build_consortium(job: _Job) -> tuple[str, int, float]:
    """Build one whole consortium; returns its code, its request count and the seconds taken."""
    began = time.perf_counter()
    engine = make_engine(job.url)
    try:
        factory = make_session_factory(engine)
        rng = random.Random(job.seed * 1_000 + job.index)  # noqa: S311 - test data, not secrets
        c = Region(factory, job.today, job.index, job.clients, rng)
        start = job.today - timedelta(days=364)
        with cheap_password_hashing():
            set_up(c, start)
            fund(c, start)
            enrol(c, start)
            history(c, start)
        c.unit(lambda s: run_timers(s, c.consortium_id, moment(job.today, 8)))
    finally:
        engine.dispose()
    seconds = time.perf_counter() - began
    print(
        f"{c.code}: {len(c.clients)} clients, {c.requests} requests in {seconds:.1f} s",
        file=sys.stderr,
        flush=True,
    )
    return c.code, c.requests, seconds


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="demo.national", description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True, help="an empty (or new) database's URL")
    parser.add_argument("--consortia", type=int, default=48)
    parser.add_argument("--clients-per-consortium", type=int, default=520)
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies clients, requests")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--today", type=date.fromisoformat, default=None, help="YYYY-MM-DD")
    parser.add_argument("--jobs", type=int, default=1, help="consortia built at once (PostgreSQL)")
    parser.add_argument("--verify-all", action="store_true", help="verify every book, not one")
    arguments = parser.parse_args(argv)
    if arguments.consortia < 1 or arguments.consortia > 99:
        parser.error("--consortia must be 1-99 (codes NC01..NC99).")
    if arguments.scale <= 0 or arguments.clients_per_consortium < 1 or arguments.jobs < 1:
        parser.error("--scale, --clients-per-consortium and --jobs must be positive.")
    if arguments.url.startswith("sqlite") and arguments.jobs > 1:
        parser.error("SQLite has one writer at a time: use --jobs 1.")
    if arguments.url.startswith("postgresql://"):
        arguments.url = "postgresql+psycopg://" + arguments.url.removeprefix("postgresql://")
    return arguments


def main(argv: list[str] | None = None) -> int:
    arguments = _arguments(argv)
    today = arguments.today or datetime.now(ZONE).date()
    clients = max(3, round(arguments.clients_per_consortium * arguments.scale))
    began = time.perf_counter()
    print("Migrating the database...", file=sys.stderr, flush=True)
    upgrade(arguments.url)
    engine = make_engine(arguments.url)
    factory = make_session_factory(engine)
    with factory() as session:
        if not demo_database_is_empty(session):
            print(
                "The database already holds data; demo.national fills only an empty database "
                "(create a new one, or drop and re-create this one).",
                file=sys.stderr,
            )
            return 2
    print(
        f"Generating {arguments.consortia} consortia x {clients} clients up to {today} "
        f"(seed {arguments.seed}, {arguments.jobs} job(s))...",
        file=sys.stderr,
        flush=True,
    )
    jobs = [
        _Job(arguments.url, index, clients, arguments.seed, today)
        for index in range(1, arguments.consortia + 1)
    ]
    if arguments.jobs == 1:
        results = [build_consortium(job) for job in jobs]
    else:
        with ProcessPoolExecutor(arguments.jobs) as pool:
            results = list(pool.map(build_consortium, jobs))
    generated = time.perf_counter() - began
    _settle(engine)
    _summary(factory, results, generated, arguments.verify_all)
    engine.dispose()
    return 0


def _settle(engine: Engine) -> None:
    """Leave PostgreSQL as autovacuum would in service: a year of state changes leaves dead row
    versions behind, and fresh planner statistics decide whether the pages' queries use indexes.
    Benchmarks on an unvacuumed database measure the bulk load, not the product."""
    if engine.dialect.name != "postgresql":
        return
    print("VACUUM ANALYZE...", file=sys.stderr, flush=True)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE")


def _summary(
    factory: sessionmaker[Session],
    results: list[tuple[str, int, float]],
    generated: float,
    verify_all: bool,
) -> None:
    with factory() as session:
        users = session.execute(select(func.count()).select_from(User)).scalar_one()
        clients = session.execute(select(func.count()).select_from(Client)).scalar_one()
        moved = session.execute(select(func.count()).select_from(transfers)).scalar_one()
        states = Counter(
            dict(
                session.execute(
                    select(FundRequest.state, func.count()).group_by(FundRequest.state)
                ).all()
            )
        )
    print(f"consortia      {len(results)}")
    print(f"users          {users}")
    print(f"clients        {clients}")
    print(f"requests       {sum(states.values())}")
    for state, count in sorted(states.items()):
        print(f"  {state:<15}{count}")
    print(f"transfers      {moved}")
    print(
        f"wall time      {generated:.1f} s (slowest consortium {max(r[2] for r in results):.1f} s)"
    )
    print(f"transfers/s    {moved / generated:.0f}")
    books = [code for code, _, _ in results] if verify_all else [results[0][0]]
    checked = time.perf_counter()
    with factory() as session:
        findings = [finding for book in books for finding in verify(session, book)]
    seconds = time.perf_counter() - checked
    label = "all books" if verify_all else books[0]
    print(f"ledger verify  {label}: {summarize(findings)} ({seconds:.1f} s)")
    if findings:
        raise SystemExit(1)


if __name__ == "__main__":
    raise SystemExit(main())
