"""A realistic demonstration consortium, built through the same services people use.

One lead agency and three partner NGOs, a login for every role (password ``flexpool-demo``),
sixty clients and twelve months of requests up to today in every state: paid with and without
GST, part-paid, refunded, returned and resubmitted, rejected, withdrawn, cancelled, expired,
carried through a delegation. Deterministic for a given day (seeded), so two runs on the same
day tell the same story. The year of requests is ``demo/stories.py``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from approvals.consortium.actors import Actor, load_actor
from approvals.consortium.catalogue import add_category, add_supplier, verify_supplier
from approvals.consortium.clients import add_need, change_status, enrol_client
from approvals.consortium.people import create_user, grant_role
from approvals.consortium.setup import add_partner, create_consortium
from approvals.funds import allocate, move_between_envelopes, receive_grant
from approvals.lifecycle.timers import run_timers
from approvals.models import ClientStatus, Consortium, FundRequest
from approvals.policy.rules import default_rules
from approvals.policy.versions import publish, save_draft
from demo.base import (
    CATEGORIES,
    CODE,
    DOMAINS,
    LOGINS,
    PARTNERS,
    PASSWORD,
    SUPPLIERS,
    Demo,
    made_up_abn,
    moment,
)
from demo.stories import history, this_week
from ledger.db import run_in_transaction
from ledger.models import books


def database_is_empty(session: Session) -> bool:
    return session.execute(select(books.c.id).limit(1)).first() is None and (
        session.execute(select(Consortium.id).limit(1)).first() is None
    )


@dataclass(frozen=True)
class DemoSummary:
    consortium: str
    requests_by_state: dict[str, int]
    logins: tuple[str, ...]


def load_demo(factory: sessionmaker[Session], *, today: date) -> DemoSummary:
    """Build the demo consortium; the caller has checked the database is empty."""
    rng = random.Random(today.toordinal())  # noqa: S311 - demo data, not secrets
    start = today - timedelta(days=364)
    demo = Demo(factory, today)
    _set_up(demo, rng, start)
    _fund(demo, start)
    _enrol(demo, rng, start)
    history(demo, rng, start)
    this_week(demo, rng)
    run_in_transaction(factory, lambda s: run_timers(s, demo.consortium_id, moment(today, 8)))
    with factory() as session:
        states = session.execute(select(FundRequest.state)).scalars().all()
    counts: dict[str, int] = {}
    for state in states:
        counts[state] = counts.get(state, 0) + 1
    return DemoSummary(CODE, dict(sorted(counts.items())), tuple(LOGINS))


def _set_up(demo: Demo, rng: random.Random, start: date) -> None:
    at = moment(start - timedelta(days=30), 9)

    def bootstrap(session: Session) -> int:
        consortium, admin = create_consortium(
            session,
            code=CODE,
            name="North Coast PIR Consortium",
            state="NSW",
            lead_code="LEAD",
            lead_name="North Coast Primary Health Network",
            lead_abn="51 824 753 556",
            admin_email="admin@lead.demo",
            admin_name="Avery Admin",
            admin_password=PASSWORD,
            now=at,
        )
        demo.users["admin@lead.demo"] = admin.id
        return consortium.id

    demo.consortium_id = run_in_transaction(demo.factory, bootstrap)
    for code, (name, abn) in PARTNERS.items():
        demo.organisations[code] = demo.run(
            "admin@lead.demo",
            at,
            lambda s, a, c=code, n=name, b=abn: (  # type: ignore[misc]
                add_partner(s, a, code=c, name=n, abn=b or made_up_abn(rng), now=at).id
            ),
        )
    with demo.factory() as session:
        demo.organisations["LEAD"] = load_actor(
            session,
            user_id=demo.users["admin@lead.demo"],
            consortium_id=demo.consortium_id,
            today=at.date(),
        ).lead_organisation_id
    for email, (org, role, name) in LOGINS.items():
        if email == "admin@lead.demo":
            continue

        def add(
            s: Session,
            a: Actor,
            email: str = email,
            org: str = org,
            role: str = role,
            name: str = name,
        ) -> int:
            from approvals.models import Role

            user = create_user(s, a, email=email, display_name=name, password=PASSWORD, now=at)
            grant_role(
                s,
                a,
                user_id=user.id,
                organisation_id=demo.organisations[org],
                role=Role(role),
                valid_from=start - timedelta(days=60),
                now=at,
            )
            return user.id

        demo.users[email] = demo.run("admin@lead.demo", at, add)
    for code, (name, gl, tax, _typical) in CATEGORIES.items():
        demo.categories[code] = demo.run(
            "admin@lead.demo",
            at,
            lambda s, a, c=code, n=name, g=gl, t=tax: (  # type: ignore[misc]
                add_category(s, a, code=c, name=n, gl_code=g, tax_code=t, now=at).id
            ),
        )
    for name, registered, category in SUPPLIERS:
        supplier_id = demo.run(
            "fin@lead.demo",
            at,
            lambda s, a, n=name, r=registered: (  # type: ignore[misc]
                add_supplier(
                    s, a, name=n, abn=made_up_abn(rng) if r else None, gst_registered=r, now=at
                ).id
            ),
        )
        demo.run(
            "finmgr@lead.demo",
            at,
            lambda s, a, i=supplier_id: verify_supplier(s, a, i, now=at),  # type: ignore[misc]
        )
        demo.suppliers[category] = (supplier_id, registered)
    policy = demo.run("admin@lead.demo", at, lambda s, a: save_draft(s, a, default_rules(), now=at))
    demo.run("admin@lead.demo", at, lambda s, a: publish(s, a, policy.id, now=at))


def _fund(demo: Demo, start: date) -> None:
    def grant(day: date, dollars: int, label: str) -> None:
        demo.run(
            "fin@lead.demo",
            moment(day),
            lambda s, a: receive_grant(
                s,
                a,
                amount_cents=dollars * 100,
                on=day,
                memo=label,
                key=f"grant:{label}",
                now=moment(day),
            ),
        )

    def share(day: date, org: str, dollars: int) -> int:
        return demo.run(
            "pm@lead.demo",
            moment(day, 11),
            lambda s, a: (
                allocate(
                    s,
                    a,
                    organisation=org,
                    amount_cents=dollars * 100,
                    on=day,
                    memo=f"Allocation to {org}",
                    key=None,
                    now=moment(day, 11),
                ).transaction_id
            ),
        )

    grant(start, 250_000, "Grant instalment 1")
    for org, dollars in (("NGO1", 70_000), ("NGO2", 55_000), ("NGO3", 55_000)):
        share(start, org, dollars)
    mistake = share(start + timedelta(days=2), "NGO2", 5_000)
    fix_day = start + timedelta(days=3)
    from approvals.funds import reverse

    demo.run(
        "finmgr@lead.demo",
        moment(fix_day),
        lambda s, a: reverse(
            s,
            a,
            transaction_id=mistake,
            on=fix_day,
            memo="Allocation keyed twice",
            key=None,
            now=moment(fix_day),
        ),
    )
    middle = start + timedelta(days=182)
    grant(middle, 150_000, "Grant instalment 2")
    for org, dollars in (("NGO1", 40_000), ("NGO2", 35_000), ("NGO3", 35_000)):
        share(middle, org, dollars)
    demo.run(
        "pm@lead.demo",
        moment(middle + timedelta(days=30)),
        lambda s, a: move_between_envelopes(
            s,
            a,
            source="NGO3",
            target="NGO1",
            amount_cents=800_000,
            on=middle + timedelta(days=30),
            memo="Rebalance to demand",
            key=None,
            now=moment(middle + timedelta(days=30)),
        ),
    )


def _enrol(demo: Demo, rng: random.Random, start: date) -> None:
    letters = "ABCDEFGHJKLMNPRSTW"
    for number in range(1, 61):
        org = ("NGO1", "NGO2", "NGO3")[(number - 1) % 3]
        sf = {
            "NGO1": ("sf@ngo1.demo", "sf2@ngo1.demo")[number % 2],
            "NGO2": "sf@ngo2.demo",
            "NGO3": "sf@ngo3.demo",
        }[org]
        day = start + timedelta(days=rng.randint(0, 60))
        at = moment(day, 14)
        code, initials = f"C-{number:04d}", rng.choice(letters) + rng.choice(letters)

        def enrol(
            s: Session,
            a: Actor,
            org: str = org,
            sf: str = sf,
            code: str = code,
            initials: str = initials,
            at: datetime = at,
        ) -> tuple[int, int]:
            client = enrol_client(
                s,
                a,
                code=code,
                initials=initials,
                organisation_id=demo.organisations[org],
                support_facilitator_id=demo.users[sf],
                now=at,
            )
            change_status(s, a, client.id, ClientStatus.ACTIVE, now=at)
            need = add_need(
                s,
                a,
                client.id,
                domain=rng.choice(sorted(set(DOMAINS.values()))),
                goal="Keep a stable, well-supported life at home",
                now=at,
            )
            return client.id, need.id

        client_id, need_id = demo.run(sf, at, enrol)
        demo.clients.append((client_id, org, need_id, sf))
