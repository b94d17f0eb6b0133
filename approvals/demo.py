"""A realistic demonstration consortium, built through the same services people use.

One lead agency and three partner NGOs, a login for every role (password ``flexpool-demo``),
sixty clients and twelve months of requests up to today in every state: paid with and without
GST, part-paid, refunded, returned and resubmitted, rejected, withdrawn, cancelled, expired,
carried through a delegation. Deterministic for a given day (seeded), so two runs on the same
day tell the same story.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from stdnum.au import abn as stdnum_abn

from approvals.actors import Actor, load_actor
from approvals.catalogue import add_category, add_supplier, verify_supplier
from approvals.clients import add_need, change_status, enrol_client
from approvals.delegations import delegate
from approvals.errors import ApprovalError
from approvals.fiscal import financial_year
from approvals.funds import allocate, move_between_envelopes, receive_grant
from approvals.gst import gst_in_inclusive
from approvals.models import ClientStatus, Consortium, FundRequest, Payment
from approvals.payments import PaymentInput
from approvals.people import create_user, grant_role
from approvals.policies import publish, save_draft
from approvals.policy import default_rules
from approvals.refunds import record_refund
from approvals.requests import RequestInput, create_request
from approvals.setup import add_partner, create_consortium
from approvals.states import Action, RequestState
from approvals.timers import mark_carried_over, run_timers
from approvals.transitions import transition
from ledger.db import run_in_transaction
from ledger.errors import LedgerError
from ledger.models import books

T = TypeVar("T")
PASSWORD = "flexpool-demo"  # noqa: S105 - the documented demo login, never a real one
CODE = "NORTHCOAST"
ZONE = ZoneInfo("Australia/Sydney")
LOGINS = {
    "admin@lead.demo": ("LEAD", "ADMIN", "Avery Admin"),
    "pm@lead.demo": ("LEAD", "PM", "Priya Manager"),
    "fin@lead.demo": ("LEAD", "FIN", "Finn Officer"),
    "finmgr@lead.demo": ("LEAD", "FIN_MGR", "Fatima Finance"),
    "ceo@lead.demo": ("LEAD", "CEO", "Casey Chief"),
    "auditor@lead.demo": ("LEAD", "AUDITOR", "Aud Itor"),
    "tl@ngo1.demo": ("NGO1", "TL", "Tom Lead"),
    "sf@ngo1.demo": ("NGO1", "SF", "Sam Facilitator"),
    "sf2@ngo1.demo": ("NGO1", "SF", "Sasha Facilitator"),
    "tl@ngo2.demo": ("NGO2", "TL", "Tara Lead"),
    "sf@ngo2.demo": ("NGO2", "SF", "Sid Facilitator"),
    "tl@ngo3.demo": ("NGO3", "TL", "Theo Lead"),
    "sf@ngo3.demo": ("NGO3", "SF", "Suki Facilitator"),
}
PARTNERS = {
    "NGO1": ("Harbour Mental Health Services", "53 004 085 616"),
    "NGO2": ("Northside Community Care", None),
    "NGO3": ("Valley Wellbeing Collective", None),
}
# code: (name, GL code, tax code, typical amount in dollars)
CATEGORIES = {
    "groceries": ("Groceries and essentials", "6-1100", "GST Free Expenses", 120),
    "bond": ("Rental bond", "6-1200", "BAS Excluded", 1_600),
    "furniture": ("Furniture and whitegoods", "6-1300", "GST on Expenses", 700),
    "travel": ("Travel to appointments", "6-1400", "GST on Expenses", 90),
    "education": ("Course fees", "6-1500", "GST Free Expenses", 450),
    "health_gap": ("Health gap payments", "6-1600", "GST Free Expenses", 160),
    "utilities": ("Utility arrears", "6-1700", "GST on Expenses", 300),
    "social": ("Social connection activities", "6-1800", "GST on Expenses", 60),
}
SUPPLIERS = [
    ("Coastal Fresh Foods", True, "groceries"),
    ("Harbour Real Estate Trust", False, "bond"),
    ("Northside Appliances", True, "furniture"),
    ("Valley Taxi Co-op", True, "travel"),
    ("North Coast TAFE", True, "education"),
    ("Harbour Allied Health", True, "health_gap"),
    ("Coastal Energy", True, "utilities"),
    ("Community Arts Hub", False, "social"),
]
DOMAINS = {
    "groceries": "daily_living",
    "bond": "housing",
    "furniture": "housing",
    "travel": "transport",
    "education": "education_employment",
    "health_gap": "physical_health",
    "utilities": "daily_living",
    "social": "social_connection",
}


@dataclass
class _Demo:
    factory: sessionmaker[Session]
    today: date
    consortium_id: int = 0
    users: dict[str, int] = field(default_factory=dict)
    organisations: dict[str, int] = field(default_factory=dict)
    categories: dict[str, int] = field(default_factory=dict)
    suppliers: dict[str, tuple[int, bool]] = field(default_factory=dict)
    clients: list[tuple[int, str, int, str]] = field(
        default_factory=list
    )  # id, org, need, sf email

    def run(self, who: str, at: datetime, work: Callable[[Session, Actor], T]) -> T:
        def unit(session: Session) -> T:
            actor = load_actor(
                session,
                user_id=self.users[who],
                consortium_id=self.consortium_id,
                today=at.astimezone(ZONE).date(),
            )
            return work(session, actor)

        return run_in_transaction(self.factory, unit)


def made_up_abn(rng: random.Random) -> str:
    """A checksum-valid ABN (made up: the demo never names a real business's ABN)."""
    body = "".join(str(rng.randint(0, 9)) for _ in range(9))
    return str(stdnum_abn.calc_check_digits(body)) + body


def database_is_empty(session: Session) -> bool:
    return session.execute(select(books.c.id).limit(1)).first() is None and (
        session.execute(select(Consortium.id).limit(1)).first() is None
    )


def moment(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=ZONE).astimezone(UTC)


@dataclass(frozen=True)
class DemoSummary:
    consortium: str
    requests_by_state: dict[str, int]
    logins: tuple[str, ...]


def load_demo(factory: sessionmaker[Session], *, today: date) -> DemoSummary:
    """Build the demo consortium; the caller has checked the database is empty."""
    rng = random.Random(today.toordinal())  # noqa: S311 - demo data, not secrets
    start = today - timedelta(days=364)
    demo = _Demo(factory, today)
    _set_up(demo, rng, start)
    _fund(demo, start)
    _enrol(demo, rng, start)
    _history(demo, rng, start)
    _this_week(demo, rng)
    run_in_transaction(factory, lambda s: run_timers(s, demo.consortium_id, moment(today, 8)))
    with factory() as session:
        states = session.execute(select(FundRequest.state)).scalars().all()
    counts: dict[str, int] = {}
    for state in states:
        counts[state] = counts.get(state, 0) + 1
    return DemoSummary(CODE, dict(sorted(counts.items())), tuple(LOGINS))


def _set_up(demo: _Demo, rng: random.Random, start: date) -> None:
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


def _fund(demo: _Demo, start: date) -> None:
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


def _enrol(demo: _Demo, rng: random.Random, start: date) -> None:
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


def _history(demo: _Demo, rng: random.Random, start: date) -> None:
    """About five requests a week for a year, each taken as far as its age allows."""
    delegation_from = start + timedelta(days=120)
    demo.run(
        "tl@ngo2.demo",
        moment(delegation_from),
        lambda s, a: delegate(
            s,
            a,
            to_user_id=demo.users["tl@ngo3.demo"],
            starts_on=delegation_from,
            ends_on=delegation_from + timedelta(days=13),
            now=moment(delegation_from),
        ),
    )
    day, refunded = start + timedelta(days=62), False
    while day <= demo.today:
        if day.weekday() < 5:
            for _ in range(rng.choice((0, 1, 1, 1, 2))):
                request_id = _new_request(demo, rng, day)
                if request_id is not None:
                    refunded = _story(demo, rng, request_id, day, refunded)
        day += timedelta(days=1)


def demo_request(
    categories: dict[str, int],
    suppliers: dict[str, tuple[int, bool]],
    *,
    client_id: int,
    need_id: int,
    category: str,
    amount_cents: int,
    needed_by: date,
) -> RequestInput:
    """A request as an SF would write it: the category's supplier, GST as the invoice states it."""
    supplier_id, registered = suppliers[category]
    return RequestInput(
        client_id=client_id,
        need_id=need_id,
        category_id=categories[category],
        amount_cents=amount_cents,
        gst_cents=gst_in_inclusive(amount_cents) if registered else 0,
        supplier_id=supplier_id,
        purpose=CATEGORIES[category][0],
        no_other_channel="No other program covers this in time",
        needed_by=needed_by,
    )


def _new_request(demo: _Demo, rng: random.Random, day: date) -> int | None:
    client_id, _org, need_id, sf = rng.choice(demo.clients)
    category = rng.choice(list(CATEGORIES))
    typical = CATEGORIES[category][3] * 100
    data = demo_request(
        demo.categories,
        demo.suppliers,
        client_id=client_id,
        need_id=need_id,
        category=category,
        amount_cents=rng.randint(typical // 2, typical * 3 // 2),
        needed_by=day + timedelta(days=rng.randint(5, 25)),
    )
    try:
        return demo.run(
            sf, moment(day, 9), lambda s, a: create_request(s, a, data, now=moment(day, 9)).id
        )
    except (ApprovalError, LedgerError):
        return None


def _act(
    demo: _Demo, who: str, request_id: int, action: Action, at: datetime, **extra: object
) -> bool:
    try:
        demo.run(who, at, lambda s, a: transition(s, a, request_id, action, now=at, **extra))  # type: ignore[arg-type]
        return True
    except (ApprovalError, LedgerError):
        return False  # short funds, a cap: it stays where it is, as it would in real life


def _approve_all(demo: _Demo, request_id: int, at: datetime) -> bool:
    """Walk the chain: each step decided by one of its approvers (or their delegate)."""
    from approvals.models import RequestStep, StepApprover

    emails = {user_id: email for email, user_id in demo.users.items()}
    for _ in range(8):
        with demo.factory() as session:
            request = session.get_one(FundRequest, request_id)
            if request.state != RequestState.PENDING:
                return request.state == RequestState.APPROVED
            approvers = (
                session.execute(
                    select(StepApprover.user_id)
                    .join(RequestStep, RequestStep.id == StepApprover.step_id)
                    .where(
                        RequestStep.request_id == request_id,
                        RequestStep.round == request.round,
                        RequestStep.position == request.current_step,
                    )
                    .order_by(StepApprover.user_id)
                )
                .scalars()
                .all()
            )
            decided = {d for d in session.execute(select(_decider_ids(request_id))).scalars()}
        choices = [emails[user] for user in approvers if user not in decided and user in emails]
        if not choices:
            return False
        who = choices[0]
        day = at.astimezone(ZONE).date()
        in_leave = start_of_leave(demo) <= day <= start_of_leave(demo) + timedelta(days=13)
        if who == "tl@ngo2.demo" and in_leave:
            who = "tl@ngo3.demo"  # approves on Tara's behalf while she is away
        if not _act(demo, who, request_id, Action.APPROVE, at):
            return False
        at += timedelta(hours=3)
    return False


def _decider_ids(request_id: int):  # type: ignore[no-untyped-def]
    from approvals.models import Decision

    return (
        select(Decision.actor_id)
        .where(Decision.request_id == request_id, Decision.action == "approve")
        .subquery()
        .c.actor_id
    )


def start_of_leave(demo: _Demo) -> date:
    return demo.today - timedelta(days=364) + timedelta(days=120)


def _pay(demo: _Demo, request_id: int, at: datetime, *, part: bool = False) -> bool:
    with demo.factory() as session:
        request = session.get_one(FundRequest, request_id)
        amount, gst, number = request.amount_cents, request.gst_cents, request.number
    if part:
        amount, gst = amount // 2, gst // 2
    payment = PaymentInput(
        f"INV-{number:04d}{'-1' if part else ''}",
        amount,
        gst,
        at.astimezone(ZONE).date(),
        final=not part,
    )
    return _act(demo, "fin@lead.demo", request_id, Action.PAY, at, payment=payment)


def _story(demo: _Demo, rng: random.Random, request_id: int, day: date, refunded: bool) -> bool:
    """Take one request as far as its age allows; returns whether the demo's refund happened."""
    age = (demo.today - day).days
    first = moment(day, 10)
    if age < 2:
        if rng.random() < 0.5:
            _act(
                demo, "sf@ngo1.demo", request_id, Action.SUBMIT, first
            )  # may not be theirs: stays a draft
        return refunded
    owner = _owner(demo, request_id)
    roll = rng.random()
    if roll < 0.04:
        _act(demo, owner, request_id, Action.WITHDRAW, first)
        return refunded
    _act(demo, owner, request_id, Action.SUBMIT, first)
    decide = moment(day + timedelta(days=1), 11)
    tl = _team_leader(demo, request_id)
    if roll < 0.10:
        _act(
            demo, tl, request_id, Action.REJECT, decide, reason="Another program can meet this need"
        )
        return refunded
    if roll < 0.16:
        _act(demo, tl, request_id, Action.SEND_BACK, decide, reason="Please attach a written quote")
        if age > 10:
            _act(demo, owner, request_id, Action.RESUBMIT, decide + timedelta(days=2))
            decide += timedelta(days=3)
        else:
            return refunded
    elif roll < 0.22:
        _act(
            demo,
            tl,
            request_id,
            Action.REQUEST_INFO,
            decide,
            reason="Has the client applied to the housing fund?",
        )
        if age > 7:
            _act(
                demo,
                owner,
                request_id,
                Action.RESPOND,
                decide + timedelta(days=1),
                reason="Yes: declined last month",
            )
            decide += timedelta(days=2)
        else:
            return refunded
    if age < 5 and rng.random() < 0.5:
        return refunded  # still with its approvers
    if not _approve_all(demo, request_id, decide):
        return refunded
    pay_at = decide + timedelta(days=rng.randint(2, 6))
    if roll > 0.97:
        _act(
            demo,
            "pm@lead.demo",
            request_id,
            Action.CANCEL,
            pay_at,
            reason="Client moved out of the region",
        )
    elif roll > 0.93 or age < 8:
        pass  # approved, waiting for an invoice (older ones expire)
    elif roll > 0.90:
        _pay(demo, request_id, pay_at, part=True)
        if age > 30:
            _act(
                demo,
                "fin@lead.demo",
                request_id,
                Action.CLOSE,
                pay_at + timedelta(days=14),
                reason="Balance not needed",
            )
    elif _pay(demo, request_id, pay_at) and not refunded and age > 40 and rng.random() < 0.2:
        refunded = _refund(demo, request_id, pay_at + timedelta(days=10))
    return refunded


def _refund(demo: _Demo, request_id: int, at: datetime) -> bool:
    with demo.factory() as session:
        payment = (
            session.execute(select(Payment).where(Payment.request_id == request_id))
            .scalars()
            .first()
        )
    if payment is None:
        return False
    amount = max(payment.charged_cents // 4, 100)
    demo.run(
        "fin@lead.demo",
        at,
        lambda s, a: record_refund(
            s,
            a,
            payment.id,
            amount_cents=amount,
            received_on=at.astimezone(ZONE).date(),
            reference="Credit note CN-100",
            now=at,
        ),
    )
    return True


def _owner(demo: _Demo, request_id: int) -> str:
    with demo.factory() as session:
        requester = session.get_one(FundRequest, request_id).requester_id
    return next(email for email, user_id in demo.users.items() if user_id == requester)


def _team_leader(demo: _Demo, request_id: int) -> str:
    with demo.factory() as session:
        organisation = session.get_one(FundRequest, request_id).organisation_id
    code = next(code for code, org_id in demo.organisations.items() if org_id == organisation)
    return f"tl@{code.lower()}.demo"


def _this_week(demo: _Demo, rng: random.Random) -> None:
    """Work in hand today, so every screen has something in every state."""
    day = demo.today - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    at = moment(day, 9)
    stories: list[tuple[str, int]] = [
        ("draft", 8_000),
        ("pending", 9_500),
        ("pending_pm", 78_000),
        ("info", 12_000),
        ("returned", 6_500),
        ("approved", 14_000),
        ("part_paid", 30_000),
    ]
    for index, (story, amount) in enumerate(stories):
        client_id, _org, need_id, sf = demo.clients[(index * 7) % len(demo.clients)]
        category = (
            "groceries",
            "travel",
            "furniture",
            "utilities",
            "social",
            "health_gap",
            "education",
        )[index]
        data = demo_request(
            demo.categories,
            demo.suppliers,
            client_id=client_id,
            need_id=need_id,
            category=category,
            amount_cents=amount,
            needed_by=demo.today + timedelta(days=14),
        )
        request_id = demo.run(sf, at, lambda s, a, d=data: create_request(s, a, d, now=at).id)  # type: ignore[misc]
        if story == "draft":
            continue
        _act(demo, sf, request_id, Action.SUBMIT, at)
        tl = _team_leader(demo, request_id)
        later = at + timedelta(hours=2)
        if story == "pending_pm":
            _act(demo, tl, request_id, Action.APPROVE, later)
        elif story == "info":
            _act(
                demo,
                tl,
                request_id,
                Action.REQUEST_INFO,
                later,
                reason="Is there a quote from a second store?",
            )
        elif story == "returned":
            _act(
                demo,
                tl,
                request_id,
                Action.SEND_BACK,
                later,
                reason="Please choose a cheaper option",
            )
        elif story in (RequestState.APPROVED, RequestState.PART_PAID):
            _approve_all(demo, request_id, later)
            if story == "part_paid":
                _pay(demo, request_id, later + timedelta(hours=3), part=True)
            _carry_into_this_year(demo, request_id, later + timedelta(hours=4))


def _carry_into_this_year(demo: _Demo, request_id: int, at: datetime) -> None:
    """Work in hand at 30 June stays in hand on 1 July: finance carries it over the year end
    (an approval not carried over lapses when its year ends; see approvals/timers.py)."""
    if financial_year(at.astimezone(ZONE).date()) == financial_year(demo.today):
        return
    try:
        demo.run("finmgr@lead.demo", at, lambda s, a: mark_carried_over(s, a, request_id, now=at))
    except ApprovalError:
        pass  # not approved after all (a cap): nothing to carry
