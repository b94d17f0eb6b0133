"""One generated region's consortium: its people, catalogue, funding and clients.

``demo/national.py`` builds many of these (``demo/region_year.py`` writes each one's year of
requests). Every row goes through the same services as ``flexpool demo``; a region differs from
the demo only in how it commits: a unit of work per set-up step, batch of enrolments or business
day, each service call in a savepoint (``Region.attempt``), so a refused call leaves nothing.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TypeVar

from argon2 import PasswordHasher
from sqlalchemy.orm import Session, sessionmaker

from approvals.consortium import people
from approvals.consortium.actors import Actor, load_actor
from approvals.consortium.catalogue import add_category, add_supplier, verify_supplier
from approvals.consortium.clients import add_need, change_status, enrol_client
from approvals.consortium.people import create_user, grant_role
from approvals.consortium.setup import add_partner, create_consortium
from approvals.funds import allocate, receive_grant
from approvals.models import ClientStatus, Role
from approvals.policy.rules import default_rules
from approvals.policy.versions import publish, save_draft
from demo.base import CATEGORIES, DOMAINS, PASSWORD, SUPPLIERS, made_up_abn, moment
from ledger.db import run_in_transaction
from ledger.errors import DomainError

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
class Region:
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


def set_up(c: Region, start: date) -> None:
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


def fund(c: Region, start: date) -> None:
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


def enrol(c: Region, start: date) -> None:
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
