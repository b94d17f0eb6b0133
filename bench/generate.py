"""National-scale data for the benchmarks: 48 consortia, ~25,000 clients, ~250,000 transfers.

Why: the page, export and query benchmarks of later issues need "a year of national data"
(docs/ledger.md#speed-targets) that looks like what the real services write: the same chains,
decisions, audit events, reservations, part payments and refunds, not rows made up by ``INSERT``. So
every row here goes through the same service functions as ``flexpool demo`` (``approvals/demo.py``,
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
- generated users get a cheap argon2 hasher: ``approvals.people._HASHER`` is monkeypatched for
  the duration of this command only (restored afterwards), since 1,300 default-cost hashes would
  take minutes and prove nothing about the benchmarks. Their password is ``flexpool-demo``.

Volume: ``--scale`` multiplies clients per consortium and therefore requests (about 3 a client
a year, modest amounts so caps and envelopes rarely block); ``--consortia`` sets how many.
Deterministic for a given ``--seed`` and ``--today``. On PostgreSQL ``--jobs 2`` builds two
consortia at a time (books are independent); SQLite has one writer, so it stays at 1.

    .venv/bin/python -m bench.generate --url postgresql://postgres@127.0.0.1/flexpool_national
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TypeVar

from argon2 import PasswordHasher
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from approvals import people
from approvals.actors import Actor, load_actor
from approvals.catalogue import add_category, add_supplier, verify_supplier
from approvals.clients import add_need, change_status, enrol_client
from approvals.demo import (
    CATEGORIES,
    DOMAINS,
    PASSWORD,
    SUPPLIERS,
    ZONE,
    demo_request,
    made_up_abn,
    moment,
)
from approvals.demo import database_is_empty as demo_database_is_empty
from approvals.funds import allocate, receive_grant
from approvals.models import Client, ClientStatus, FundRequest, Payment, Role, User
from approvals.payments import PaymentInput
from approvals.people import create_user, grant_role
from approvals.policies import publish, save_draft
from approvals.policy import default_rules
from approvals.refunds import record_refund
from approvals.requests import create_request, current_approvers
from approvals.setup import add_partner, create_consortium
from approvals.states import Action
from approvals.timers import run_timers
from approvals.transitions import transition
from ledger.db import make_engine, make_session_factory, run_in_transaction
from ledger.errors import DomainError
from ledger.models import transfers
from ledger.verify import summarize, verify
from migrations import upgrade

T = TypeVar("T")
STATES = ("NSW", "VIC", "QLD", "WA", "SA", "TAS", "ACT", "NT")
PARTNER_CODES = ("NGO1", "NGO2", "NGO3")
LEAD_ROLES = {  # e-mail local part: role, display name
    "admin": ("ADMIN", "Avery Admin"),
    "pm": ("PM", "Priya Manager"),
    "fin": ("FIN", "Finn Officer"),
    "finmgr": ("FIN_MGR", "Fatima Finance"),
    "ceo": ("CEO", "Casey Chief"),
    "auditor": ("AUDITOR", "Aud Itor"),
}
CLIENTS_PER_SF = 30  # docs/approvals.md#people-and-roles: up to ~30 clients each
REQUESTS_PER_CLIENT_YEAR = 3.0  # ≈ 3.4 transfers a request: 25,000 clients → ≈ 250,000 transfers
ENROL_BATCH = 100
# Cheap categories are common; bonds and furniture rare (they route to the PM and cost more).
CATEGORY_WEIGHTS = {
    "groceries": 30,
    "travel": 20,
    "social": 15,
    "health_gap": 12,
    "utilities": 10,
    "education": 6,
    "furniture": 5,
    "bond": 2,
}
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
RECOVERABLE = DomainError


@dataclass
class _Consortium:
    """One consortium being built: its ids, its people and a cache of their actors."""

    factory: sessionmaker[Session]
    today: date
    index: int
    clients_wanted: int
    rng: random.Random
    consortium_id: int = 0
    users: dict[str, int] = field(default_factory=dict)
    organisations: dict[str, int] = field(default_factory=dict)
    categories: dict[str, int] = field(default_factory=dict)
    suppliers: dict[str, tuple[int, bool]] = field(default_factory=dict)
    sfs: dict[str, list[str]] = field(default_factory=dict)
    clients: list[tuple[int, str, int, str]] = field(default_factory=list)  # id, org, need, sf
    actors: dict[str, Actor] = field(default_factory=dict)
    requests: int = 0

    @property
    def code(self) -> str:
        return f"NC{self.index:02d}"

    def email(self, local: str, org: str = "LEAD") -> str:
        return f"{local}@{org.lower()}.{self.code.lower()}.demo"

    def actor(self, session: Session, who: str) -> Actor:
        if who not in self.actors:
            self.actors[who] = load_actor(
                session, user_id=self.users[who], consortium_id=self.consortium_id, today=self.today
            )
        return self.actors[who]

    def unit(self, work: Callable[[Session], T]) -> T:
        return run_in_transaction(self.factory, work)

    def attempt(self, session: Session, who: str, work: Callable[[Session, Actor], T]) -> T | None:
        """One service call in a savepoint: refused, it leaves nothing behind and gives None."""
        try:
            with session.begin_nested():
                return work(session, self.actor(session, who))
        except RECOVERABLE:
            return None


@contextmanager
def cheap_password_hashing() -> Iterator[None]:
    """Generated users only: a default-cost argon2 hash per user would dominate set-up time."""
    original = people._HASHER
    people._HASHER = CHEAP_HASHER
    try:
        yield
    finally:
        people._HASHER = original


# -- set-up and funding ---------------------------------------------------------------------


def _set_up(c: _Consortium, start: date) -> None:
    at = moment(start - timedelta(days=30), 9)
    admin = c.email("admin")

    def bootstrap(session: Session) -> int:
        consortium, user = create_consortium(
            session,
            code=c.code,
            name=f"Region {c.index:02d} PIR Consortium",
            state=STATES[(c.index - 1) % len(STATES)],
            lead_code="LEAD",
            lead_name=f"Region {c.index:02d} Primary Health Network",
            lead_abn=made_up_abn(c.rng),
            admin_email=admin,
            admin_name="Avery Admin",
            admin_password=PASSWORD,
            now=at,
        )
        c.users[admin] = user.id
        c.organisations["LEAD"] = _lead_id(session, user.id, consortium.id, at.date())
        return consortium.id

    c.consortium_id = c.unit(bootstrap)
    per_org = math.ceil(c.clients_wanted / len(PARTNER_CODES))
    logins: dict[str, tuple[str, str, str]] = {
        c.email(local): ("LEAD", role, name) for local, (role, name) in LEAD_ROLES.items()
    }
    for number, org in enumerate(PARTNER_CODES, 1):
        logins[c.email("tl", org)] = (org, "TL", f"Team Lead {number}")
        c.sfs[org] = []
        for sf in range(1, max(1, math.ceil(per_org / CLIENTS_PER_SF)) + 1):
            email = c.email(f"sf{sf}", org)
            logins[email] = (org, "SF", f"Facilitator {number}.{sf}")
            c.sfs[org].append(email)

    def people_and_catalogue(session: Session) -> None:
        actor = c.actor(session, admin)
        for number, org in enumerate(PARTNER_CODES, 1):
            partner = add_partner(
                session,
                actor,
                code=org,
                name=f"Region {c.index:02d} Partner {number}",
                abn=made_up_abn(c.rng),
                now=at,
            )
            c.organisations[org] = partner.id
        for email, (org, role, name) in logins.items():
            if email == admin:
                continue
            user = create_user(
                session, actor, email=email, display_name=name, password=PASSWORD, now=at
            )
            grant_role(
                session,
                actor,
                user_id=user.id,
                organisation_id=c.organisations[org],
                role=Role(role),
                valid_from=start - timedelta(days=60),
                now=at,
            )
            c.users[email] = user.id
        for code, (name, gl, tax, _typical) in CATEGORIES.items():
            category = add_category(
                session, actor, code=code, name=name, gl_code=gl, tax_code=tax, now=at
            )
            c.categories[code] = category.id
        policy = save_draft(session, actor, default_rules(), now=at)
        publish(session, actor, policy.id, now=at)

    c.unit(people_and_catalogue)

    def suppliers(session: Session) -> None:
        fin, finmgr = c.actor(session, c.email("fin")), c.actor(session, c.email("finmgr"))
        for name, registered, category in SUPPLIERS:
            supplier = add_supplier(
                session,
                fin,
                name=f"{name} (Region {c.index:02d})",
                abn=made_up_abn(c.rng) if registered else None,
                gst_registered=registered,
                now=at,
            )
            verify_supplier(session, finmgr, supplier.id, now=at)
            c.suppliers[category] = (supplier.id, registered)

    c.unit(suppliers)


def _lead_id(session: Session, user_id: int, consortium_id: int, today: date) -> int:
    return load_actor(
        session, user_id=user_id, consortium_id=consortium_id, today=today
    ).lead_organisation_id


def _fund(c: _Consortium, start: date) -> None:
    """Two grant instalments of $600 a client, 90% shared out evenly to the envelopes."""
    instalment = max(c.clients_wanted, 10) * 600 * 100
    share = instalment * 9 // 10 // len(PARTNER_CODES)
    for number, day in enumerate((start, start + timedelta(days=182)), 1):
        at = moment(day)

        def work(
            session: Session, day: date = day, at: datetime = at, number: int = number
        ) -> None:
            fin, pm = c.actor(session, c.email("fin")), c.actor(session, c.email("pm"))
            label = f"Grant instalment {number}"
            receive_grant(
                session,
                fin,
                amount_cents=instalment,
                on=day,
                memo=label,
                key=f"grant:{c.code}:{number}",
                now=at,
            )
            for org in PARTNER_CODES:
                allocate(
                    session,
                    pm,
                    organisation=org,
                    amount_cents=share,
                    on=day,
                    memo=f"Allocation to {org}",
                    key=None,
                    now=at + timedelta(hours=1),
                )

        c.unit(work)


def _enrol(c: _Consortium, start: date) -> None:
    letters = "ABCDEFGHJKLMNPRSTW"
    domains = sorted(set(DOMAINS.values()))
    plan: list[tuple[str, str, str, str, date]] = []
    for number in range(1, c.clients_wanted + 1):
        org = PARTNER_CODES[(number - 1) % len(PARTNER_CODES)]
        sfs = c.sfs[org]
        sf = sfs[((number - 1) // len(PARTNER_CODES)) % len(sfs)]
        day = start + timedelta(days=c.rng.randint(0, 60))
        initials = c.rng.choice(letters) + c.rng.choice(letters)
        plan.append((f"C-{number:05d}", org, sf, initials, day))
    for first in range(0, len(plan), ENROL_BATCH):
        batch = plan[first : first + ENROL_BATCH]

        def work(session: Session, batch: list[tuple[str, str, str, str, date]] = batch) -> None:
            for code, org, sf, initials, day in batch:
                at = moment(day, 14)
                actor = c.actor(session, sf)
                client = enrol_client(
                    session,
                    actor,
                    code=code,
                    initials=initials,
                    organisation_id=c.organisations[org],
                    support_facilitator_id=c.users[sf],
                    now=at,
                )
                change_status(session, actor, client.id, ClientStatus.ACTIVE, now=at)
                need = add_need(
                    session,
                    actor,
                    client.id,
                    domain=c.rng.choice(domains),
                    goal="Keep a stable, well-supported life at home",
                    now=at,
                )
                c.clients.append((client.id, org, need.id, sf))

        c.unit(work)


# -- a year of requests ---------------------------------------------------------------------


def _history(c: _Consortium, start: date) -> None:
    """Each business day's new requests, each taken as far as its age allows, in one unit."""
    day = start + timedelta(days=62)  # after enrolments: ≈ 216 business days to today
    per_day = len(c.clients) * REQUESTS_PER_CLIENT_YEAR / 216
    while day <= c.today:
        if day.weekday() < 5:
            wanted = per_day * c.rng.uniform(0.5, 1.5)
            count = int(wanted) + (1 if c.rng.random() < wanted - int(wanted) else 0)
            if count:
                c.unit(lambda s, d=day, n=count: _one_day(c, s, d, n))  # type: ignore[misc]
        day += timedelta(days=1)
        if day.day == 1:
            print(
                f"  {c.code}: {day - timedelta(days=1):%b %Y} done, {c.requests} requests",
                file=sys.stderr,
                flush=True,
            )


def _one_day(c: _Consortium, session: Session, day: date, count: int) -> None:
    for _ in range(count):
        made = _new_request(c, session, day)
        if made is not None:
            c.requests += 1
            _story(c, session, made, day)


def _new_request(c: _Consortium, session: Session, day: date) -> tuple[int, str, str] | None:
    client_id, org, need_id, sf = c.rng.choice(c.clients)
    category = c.rng.choices(list(CATEGORY_WEIGHTS), weights=list(CATEGORY_WEIGHTS.values()))[0]
    typical = CATEGORIES[category][3] * 100
    amount = c.rng.randint(typical // 2, typical * 3 // 2)
    data = demo_request(
        c.categories,
        c.suppliers,
        client_id=client_id,
        need_id=need_id,
        category=category,
        amount_cents=amount,
        needed_by=day + timedelta(days=c.rng.randint(5, 25)),
    )
    at = moment(day, 9)
    request_id = c.attempt(session, sf, lambda s, a: create_request(s, a, data, now=at).id)
    return None if request_id is None else (request_id, sf, c.email("tl", org))


def _act(
    c: _Consortium,
    session: Session,
    who: str,
    request_id: int,
    action: Action,
    at: datetime,
    **extra: object,
) -> FundRequest | None:
    return c.attempt(
        session,
        who,
        lambda s, a: transition(s, a, request_id, action, now=at, **extra),  # type: ignore[arg-type]
    )


def _approve_all(c: _Consortium, session: Session, request_id: int, at: datetime) -> bool:
    """Walk the chain: each step decided by one of its approvers who has not decided yet."""
    emails = {user_id: email for email, user_id in c.users.items()}
    decided: set[int] = set()
    request = session.get_one(FundRequest, request_id)
    for _ in range(8):
        if request.state != "pending":
            return request.state == "approved"
        choices = sorted(current_approvers(session, request) - decided - {request.requester_id})
        if not choices or choices[0] not in emails:
            return False
        acted = _act(c, session, emails[choices[0]], request_id, Action.APPROVE, at)
        if acted is None:
            return False
        decided.add(choices[0])
        request = acted
        at += timedelta(hours=3)
    return False


def _story(c: _Consortium, session: Session, made: tuple[int, str, str], day: date) -> None:
    """The demo's mix of endings, by age: drafts and pending work near today, paid before."""
    request_id, owner, tl = made
    age = (c.today - day).days
    rng = c.rng
    first = moment(day, 10)
    if age < 2:
        if rng.random() < 0.5:
            _act(c, session, owner, request_id, Action.SUBMIT, first)
        return
    roll = rng.random()
    if roll < 0.04:
        _act(c, session, owner, request_id, Action.WITHDRAW, first)
        return
    _act(c, session, owner, request_id, Action.SUBMIT, first)
    decide = moment(day + timedelta(days=1), 11)
    if roll < 0.10:
        _act(c, session, tl, request_id, Action.REJECT, decide, reason="Another program can help")
        return
    if roll < 0.15:
        _act(c, session, tl, request_id, Action.SEND_BACK, decide, reason="Attach a quote")
        if age <= 10:
            return
        _act(c, session, owner, request_id, Action.RESUBMIT, decide + timedelta(days=2))
        decide += timedelta(days=3)
    elif roll < 0.20:
        _act(c, session, tl, request_id, Action.REQUEST_INFO, decide, reason="Housing fund?")
        if age <= 7:
            return
        _act(
            c,
            session,
            owner,
            request_id,
            Action.RESPOND,
            decide + timedelta(days=1),
            reason="Declined last month",
        )
        decide += timedelta(days=2)
    if age < 5 and rng.random() < 0.5:
        return  # still with its approvers
    if not _approve_all(c, session, request_id, decide):
        return
    pay_at = decide + timedelta(days=rng.randint(2, 6))
    if pay_at.astimezone(ZONE).date() >= c.today:
        return
    if roll > 0.975:
        _act(c, session, c.email("pm"), request_id, Action.CANCEL, pay_at, reason="Moved away")
    elif roll > 0.955 or age < 8:
        pass  # approved, waiting for an invoice (the older ones expire on the timer)
    elif roll > 0.935:
        _pay(c, session, request_id, pay_at, part=True)
        if age > 30:
            close_at = pay_at + timedelta(days=14)
            _act(c, session, c.email("fin"), request_id, Action.CLOSE, close_at, reason="Done")
    elif _pay(c, session, request_id, pay_at) and age > 40 and rng.random() < 0.02:
        _refund(c, session, request_id, pay_at + timedelta(days=10))


def _pay(
    c: _Consortium, session: Session, request_id: int, at: datetime, *, part: bool = False
) -> bool:
    request = session.get_one(FundRequest, request_id)
    amount, gst = request.amount_cents, request.gst_cents
    if part:
        amount, gst = amount // 2, gst // 2
    payment = PaymentInput(
        f"INV-{c.code}-{request.number:05d}{'-1' if part else ''}",
        amount,
        gst,
        at.astimezone(ZONE).date(),
        final=not part,
    )
    return _act(c, session, c.email("fin"), request_id, Action.PAY, at, payment=payment) is not None


def _refund(c: _Consortium, session: Session, request_id: int, at: datetime) -> None:
    payment = (
        session.execute(select(Payment).where(Payment.request_id == request_id)).scalars().first()
    )
    if payment is None or at.astimezone(ZONE).date() > c.today:
        return
    amount = max(payment.charged_cents // 4, 100)
    c.attempt(
        session,
        c.email("fin"),
        lambda s, a: record_refund(
            s,
            a,
            payment.id,
            amount_cents=amount,
            received_on=at.astimezone(ZONE).date(),
            reference=f"Credit note CN-{request_id}",
            now=at,
        ),
    )


# -- the command ----------------------------------------------------------------------------


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
        c = _Consortium(factory, job.today, job.index, job.clients, rng)
        start = job.today - timedelta(days=364)
        with cheap_password_hashing():
            _set_up(c, start)
            _fund(c, start)
            _enrol(c, start)
            _history(c, start)
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
    parser = argparse.ArgumentParser(prog="bench.generate", description=__doc__.split("\n")[0])
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
                "The database already holds data; bench.generate fills only an empty database "
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
