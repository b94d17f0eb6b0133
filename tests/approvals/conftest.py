"""A small consortium, built through the services, with a user for every role."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from approvals.actors import Actor, load_actor
from approvals.models import Organisation, Role, User
from approvals.people import create_user, grant_role
from approvals.setup import add_partner, create_consortium
from ledger.db import run_in_transaction
from tests.conftest import unique_code

PASSWORD = "correct horse battery"


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


@pytest.fixture
def world(session_factory: sessionmaker[Session], now: datetime) -> World:
    return build_world(session_factory, now)


def user_of(session: Session, world: World, who: str) -> User:
    return session.get_one(User, world.users[who])


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id, with test-sized cost: a world has a dozen users to hash."""
    from argon2 import PasswordHasher

    import approvals.people

    monkeypatch.setattr(
        approvals.people, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
