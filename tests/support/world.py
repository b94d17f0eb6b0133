"""A small consortium, built through the services, with a user for every role, and a desk ready
for requests (policy, categories, a verified supplier, a funded envelope)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from approvals.consortium.actors import Actor, load_actor
from approvals.consortium.catalogue import add_category, add_supplier, verify_supplier
from approvals.consortium.clients import add_need, change_status, enrol_client
from approvals.consortium.people import create_user, grant_role
from approvals.consortium.setup import add_partner, create_consortium
from approvals.lifecycle.payments import PaymentInput
from approvals.lifecycle.requests import RequestInput, create_request
from approvals.lifecycle.states import Action
from approvals.lifecycle.transitions import transition
from approvals.models import ClientStatus, FundRequest, Organisation, Payment, Role, User
from approvals.policy.rules import default_rules
from approvals.policy.versions import publish, save_draft
from ledger import Transfer, TransferKind, get_balance, post_entry
from ledger.db import make_engine, make_session_factory, run_in_transaction
from ledger.values import JournalEntry
from tests.support.databases import unique_code

T = TypeVar("T")


PASSWORD = "correct horse battery"


A = Action


@dataclass
class World:
    factory: sessionmaker[Session]
    now: datetime
    consortium_id: int
    code: str
    organisations: dict[str, int] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)

    @property
    def today(self) -> date:
        return self.now.date()

    def actor(self, session: Session, who: str) -> Actor:
        return load_actor(
            session, user_id=self.users[who], consortium_id=self.consortium_id, today=self.today
        )


# who -> (organisation, role)
CAST = {
    "pm": ("LEAD", Role.PM),
    "fin": ("LEAD", Role.FIN),
    "finmgr": ("LEAD", Role.FIN_MGR),
    "ceo": ("LEAD", Role.CEO),
    "auditor": ("LEAD", Role.AUDITOR),
    "tl1": ("NGO1", Role.TL),
    "sf1": ("NGO1", Role.SF),
    "sf1b": ("NGO1", Role.SF),
    "tl2": ("NGO2", Role.TL),
    "sf2": ("NGO2", Role.SF),
}


def build_world(factory: sessionmaker[Session], now: datetime) -> World:
    code = unique_code("C")

    def setup(session: Session) -> World:
        consortium, admin = create_consortium(
            session,
            code=code,
            name="North Coast",
            state="NSW",
            lead_code="LEAD",
            lead_name="Lead Agency",
            lead_abn="51 824 753 556",
            admin_email=f"admin@{code}.test",
            admin_name="Admin",
            admin_password=PASSWORD,
            now=now,
        )
        world = World(factory, now, consortium.id, code, users={"admin": admin.id})
        world.organisations["LEAD"] = (
            session.query(Organisation).filter_by(consortium_id=consortium.id).one().id
        )
        admin_actor = world.actor(session, "admin")
        for org in ("NGO1", "NGO2"):
            world.organisations[org] = add_partner(
                session, admin_actor, code=org, name=f"{org} Services", abn=None, now=now
            ).id
        for who, (org, role) in CAST.items():
            user = create_user(
                session,
                admin_actor,
                email=f"{who}@{code}.test",
                display_name=who.upper(),
                password=PASSWORD,
                now=now,
            )
            grant_role(
                session,
                admin_actor,
                user_id=user.id,
                organisation_id=world.organisations[org],
                role=role,
                valid_from=date(2020, 1, 1),
                now=now,
            )
            world.users[who] = user.id
        return world

    return run_in_transaction(factory, setup)


def user_of(session: Session, world: World, who: str) -> User:
    return session.get_one(User, world.users[who])


@dataclass
class Desk:
    """A world ready for requests: policy, categories, a verified supplier, a funded envelope."""

    world: World
    client_id: int
    need_id: int
    categories: dict[str, int]
    supplier_id: int

    def new(
        self,
        who: str = "sf1",
        amount: int = 10_000,
        gst: int = 0,
        category: str = "groceries",
        needed_by: date = date(2026, 12, 1),
        at: datetime | None = None,
    ) -> int:
        data = RequestInput(
            client_id=self.client_id,
            need_id=self.need_id,
            category_id=self.categories[category],
            amount_cents=amount,
            gst_cents=gst,
            supplier_id=self.supplier_id,
            purpose="Weekly groceries",
            no_other_channel="Centrelink payment delayed",
            needed_by=needed_by,
        )
        when = at or self.world.now
        return as_(self.world, who, lambda s, a: create_request(s, a, data, now=when).id)  # type: ignore[arg-type]

    def act(
        self,
        who: str,
        request_id: int,
        action: Action,
        *,
        at: datetime | None = None,
        **extra: object,
    ) -> FundRequest:
        when = at or self.world.now
        return as_(
            self.world, who, lambda s, a: transition(s, a, request_id, action, now=when, **extra)
        )  # type: ignore[arg-type]

    def submitted(self, amount: int = 10_000, **kwargs: object) -> int:
        request_id = self.new(amount=amount, **kwargs)  # type: ignore[arg-type]
        self.act("sf1", request_id, A.SUBMIT)
        return request_id

    def paid(self, cents: int, invoice: str = "INV-9") -> int:
        """A request of ``cents`` approved by its TL and paid in full; the payment's id."""
        request_id = self.submitted(amount=cents)
        self.act("tl1", request_id, A.APPROVE)
        paying = PaymentInput(invoice, cents, 0, date(2026, 11, 20))
        self.act("fin", request_id, A.PAY, payment=paying)
        with self.world.factory() as session:
            return session.execute(
                select(Payment.id).where(Payment.request_id == request_id)
            ).scalar_one()

    def state(self, request_id: int) -> str:
        with self.world.factory() as session:
            return session.get_one(FundRequest, request_id).state

    def envelope(self) -> tuple[int, int]:
        with self.world.factory() as session:
            balance = get_balance(session, self.world.code, "org:NGO1")
        return balance.available, balance.held_out


def as_(world: World, who: str, work: Callable[[Session, Actor], T]) -> T:
    """Run one unit of work as one of the world's people."""
    return run_in_transaction(
        world.factory, lambda session: work(session, world.actor(session, who))
    )


def fund(world: World, envelope_dollars: int) -> None:
    def work(session: Session) -> None:
        for leg in (
            Transfer("bank", "pool", 10_000_000, TransferKind.GRANT_RECEIPT),
            Transfer("pool", "org:NGO1", envelope_dollars * 100, TransferKind.ALLOCATION),
        ):
            post_entry(
                session,
                JournalEntry(world.code, world.today, "funding", "test", (leg,)),
                now=world.now,
            )

    run_in_transaction(world.factory, work)


def build_desk(world: World) -> Desk:
    """The default policy, three categories, a verified supplier, one active client, $3,000."""
    draft = as_(world, "admin", lambda s, a: save_draft(s, a, default_rules(), now=world.now))
    as_(world, "admin", lambda s, a: publish(s, a, draft.id, now=world.now))
    categories = {}
    for code in ("groceries", "bond", "furniture"):
        categories[code] = as_(
            world,
            "admin",
            lambda s, a, code=code: (
                add_category(  # type: ignore[misc]
                    s,
                    a,
                    code=code,
                    name=code.title(),
                    gl_code="6-1000",
                    tax_code="GST on Expenses",
                    now=world.now,
                ).id
            ),
        )
    supplier_id = as_(
        world,
        "fin",
        lambda s, a: (
            add_supplier(
                s, a, name="Corner Store", abn="53 004 085 616", gst_registered=True, now=world.now
            ).id
        ),
    )
    as_(world, "finmgr", lambda s, a: verify_supplier(s, a, supplier_id, now=world.now))
    client_id = as_(
        world,
        "sf1",
        lambda s, a: (
            enrol_client(
                s,
                a,
                code="C-0001",
                initials="AB",
                organisation_id=world.organisations["NGO1"],
                support_facilitator_id=world.users["sf1"],
                now=world.now,
            ).id
        ),
    )
    as_(
        world,
        "sf1",
        lambda s, a: change_status(s, a, client_id, ClientStatus.ACTIVE, now=world.now),
    )
    need_id = as_(
        world,
        "sf1",
        lambda s, a: (
            add_need(s, a, client_id, domain="daily_living", goal="Food security", now=world.now).id
        ),
    )
    fund(world, 3_000)
    return Desk(world, client_id, need_id, categories, supplier_id)


def race(url: str, works: list[Callable[[Session], T]]) -> list[T | Exception]:
    """Each unit of work in its own thread, on its own connection, released together.

    Returns each one's result or the exception it ended with (the outcome under test)."""
    engines = [make_engine(url, poolclass=NullPool) for _ in works]
    barrier = threading.Barrier(len(works), timeout=30)
    outcomes: list[T | Exception | None] = [None] * len(works)

    def run(i: int) -> None:
        factory = make_session_factory(engines[i])
        barrier.wait()
        try:
            outcomes[i] = run_in_transaction(factory, works[i])
        except Exception as error:  # the outcome under test
            outcomes[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(works))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        for engine in engines:
            engine.dispose()
    assert all(outcome is not None for outcome in outcomes), "a racer never finished"
    return outcomes  # type: ignore[return-value]
