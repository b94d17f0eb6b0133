"""The Program Manager's figures: the pool and envelopes, the year's use, recent movements.

Read straight from the ledger's counters and transfers; the PM pages (web/pages/pm.py) show them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from approvals.consortium.actors import Actor
from approvals.consortium.setup import envelope_account
from approvals.fiscal import Period, financial_year
from approvals.lifecycle.queries import names_by_label
from approvals.models import Consortium, Organisation, OrgKind
from approvals.spend import Spend, net_spend
from ledger.models import accounts, books, transactions, transfers
from ledger.queries import get_balances, totals
from ledger.values import AccountType, Balance
from web.session import local_today

POOL = "pool"
RECENT = 20


@dataclass(frozen=True)
class Envelope:
    code: str  # the organisation's code, or "" for the pool itself
    name: str
    account: str
    balance: Balance


def _book(session: Session, who: Actor) -> str:
    return session.get_one(Consortium, who.consortium_id).code


def partners_of(session: Session, who: Actor) -> list[Organisation]:
    return list(
        session.execute(
            select(Organisation)
            .where(
                Organisation.consortium_id == who.consortium_id,
                Organisation.kind == OrgKind.PARTNER.value,
            )
            .order_by(Organisation.code)
        ).scalars()
    )


def envelopes(
    session: Session, who: Actor, partners: list[Organisation] | None = None
) -> tuple[Envelope, list[Envelope]]:
    """The pool and every partner's envelope, straight from the ledger's counters."""
    partners = partners_of(session, who) if partners is None else partners
    codes = {org.code: envelope_account(org.code) for org in partners}
    balances = get_balances(session, _book(session, who), [POOL, *codes.values()])
    pool = Envelope("", "Unallocated pool", POOL, balances[POOL])
    found = [
        Envelope(org.code, org.name, codes[org.code], balances[codes[org.code]]) for org in partners
    ]
    return pool, found


@dataclass(frozen=True)
class PoolUse:
    year: Period
    today: date
    spent: int  # this financial year, net of refunds
    held: int  # reserved for approved requests not yet paid
    unspent: int  # every fund account's posted balance now (pool, envelopes, clients)

    @property
    def total(self) -> int:
        """What the year has had to spend: what it spent plus what is still there."""
        return self.spent + self.unspent

    @property
    def elapsed_percent(self) -> float:
        days = (self.year.end - self.year.start).days + 1
        return 100.0 * ((self.today - self.year.start).days + 1) / days

    @property
    def spent_percent(self) -> float:
        return 100.0 * self.spent / self.total if self.total > 0 else 0.0

    @property
    def committed_percent(self) -> float:
        return 100.0 * (self.spent + self.held) / self.total if self.total > 0 else 0.0


def pool_use(
    session: Session, who: Actor, found: list[Envelope] | None = None
) -> tuple[PoolUse, Spend]:
    """The year's use of the pool; ``found`` saves reading the envelopes twice on the home."""
    today = local_today(session, who.consortium_id)
    year = financial_year(today)
    spent = net_spend(session, who.consortium_id, year)
    unspent = totals(session, _book(session, who), AccountType.FUND).balance(AccountType.FUND)
    if found is None:
        _pool, found = envelopes(session, who)
    held = sum(envelope.balance.held_out for envelope in found)
    return PoolUse(year, today, spent.total, held, unspent), spent


@dataclass(frozen=True)
class Movement:
    on: date
    source: str
    target: str
    amount: int
    memo: str
    kind: str
    by: str


def recent_movements(
    session: Session,
    who: Actor,
    limit: int = RECENT,
    partners: list[Organisation] | None = None,
) -> list[Movement]:
    """Allocations, moves between envelopes and their reversals, newest first."""
    partners = partners_of(session, who) if partners is None else partners
    names = {envelope_account(org.code): org.code for org in partners}
    names[POOL] = "Pool"
    # The fund accounts first (a unique-index seek), then their transfers: a five-way join
    # cost more to plan than to run, on every view of the home.
    funds = dict(
        session.execute(
            select(accounts.c.id, accounts.c.code)
            .join(books, books.c.id == accounts.c.book_id)
            .where(books.c.code == _book(session, who), accounts.c.code.in_(names))
        ).all()
    )
    rows = session.execute(
        select(
            transactions.c.effective_date,
            transactions.c.memo,
            transactions.c.actor,
            transfers.c.amount,
            transfers.c.kind,
            transfers.c.debit_account_id,
            transfers.c.credit_account_id,
        )
        .join(transactions, transactions.c.id == transfers.c.transaction_id)
        .where(
            transfers.c.debit_account_id.in_(funds),
            transfers.c.credit_account_id.in_(funds),
            transfers.c.phase == "single",
            transfers.c.kind.in_(("allocation", "reversal")),
        )
        .order_by(transfers.c.id.desc())
        .limit(limit)
    ).all()
    people = names_by_label(session, {row.actor for row in rows})
    return [
        Movement(
            row.effective_date,
            names[funds[row.debit_account_id]],
            names[funds[row.credit_account_id]],
            row.amount,
            row.memo,
            row.kind,
            people.get(row.actor, row.actor),
        )
        for row in rows
    ]
