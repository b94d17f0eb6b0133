"""Net spend of a financial year, by category and by NGO: payments charged to funds less refunds.

The PM's home and its charts ask for it on every view, and summing a year of payments is the
most expensive thing those pages do. The answer only changes when money moves, and every payment
and refund posts to the consortium's ledger book in the same transaction as its own row, so the
book's head (``last_sequence`` and the hash-chain ``last_hash``, which also tells two databases
apart) names the state the figures were computed from: each process keeps the latest figures per
(consortium, year) and recomputes when the head has moved. Names are looked up fresh each time,
so a renamed category shows its new name at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from approvals.fiscal import Period
from approvals.models import Category, Consortium, FundRequest, Organisation, Payment, Refund
from ledger.models import books


@dataclass(frozen=True)
class SpendLine:
    category_id: int
    organisation_id: int
    cents: int


@dataclass(frozen=True)
class Spend:
    by_category: list[tuple[str, int]]  # (category name, net cents), largest first
    by_organisation: list[tuple[str, int]]  # (organisation code, net cents), largest first

    @property
    def total(self) -> int:
        return sum(cents for _, cents in self.by_category)


_LATEST: dict[tuple[int, date], tuple[tuple[int, str], tuple[SpendLine, ...]]] = {}


def spend_lines(session: Session, consortium_id: int, year: Period) -> tuple[SpendLine, ...]:
    """Net cents per (category, organisation) in the year; remembered until the book moves.

    The head is read *before* the sums: a payment committed in between makes the sums newer
    than the key, which only costs a recomputation on the next view, never a stale answer."""
    sequence, chain = session.execute(
        select(books.c.last_sequence, books.c.last_hash)
        .select_from(Consortium)
        .join(books, books.c.code == Consortium.code)
        .where(Consortium.id == consortium_id)
    ).one()
    head = (int(sequence), str(chain))
    remembered = _LATEST.get((consortium_id, year.start))
    if remembered is not None and remembered[0] == head:
        return remembered[1]
    lines = _sum_lines(session, consortium_id, year)
    _LATEST[(consortium_id, year.start)] = (head, lines)
    return lines


def _sum_lines(session: Session, consortium_id: int, year: Period) -> tuple[SpendLine, ...]:
    paid = (
        select(
            FundRequest.category_id.label("category_id"),
            FundRequest.organisation_id.label("organisation_id"),
            Payment.charged_cents.label("cents"),
        )
        .join(FundRequest, FundRequest.id == Payment.request_id)
        .where(
            FundRequest.consortium_id == consortium_id,
            Payment.paid_on.between(year.start, year.end),
        )
    )
    refunded = (
        select(FundRequest.category_id, FundRequest.organisation_id, (-Refund.amount_cents))
        .join(Payment, Payment.id == Refund.payment_id)
        .join(FundRequest, FundRequest.id == Payment.request_id)
        .where(
            FundRequest.consortium_id == consortium_id,
            Refund.received_on.between(year.start, year.end),
        )
    )
    both = paid.union_all(refunded).subquery()
    rows = session.execute(
        select(both.c.category_id, both.c.organisation_id, func.sum(both.c.cents))
        .group_by(both.c.category_id, both.c.organisation_id)
        .order_by(both.c.category_id, both.c.organisation_id)
    ).all()
    return tuple(
        SpendLine(category, organisation, int(cents)) for category, organisation, cents in rows
    )


def net_spend(session: Session, consortium_id: int, year: Period) -> Spend:
    """The year's spend rolled up by category and by organisation, with their current names."""
    lines = spend_lines(session, consortium_id, year)
    categories = dict(
        session.execute(
            select(Category.id, Category.name).where(Category.consortium_id == consortium_id)
        ).all()
    )
    organisations = dict(
        session.execute(
            select(Organisation.id, Organisation.code).where(
                Organisation.consortium_id == consortium_id
            )
        ).all()
    )
    return Spend(
        _rolled_up([(line.category_id, line.cents) for line in lines], categories),
        _rolled_up([(line.organisation_id, line.cents) for line in lines], organisations),
    )


def _rolled_up(amounts: list[tuple[int, int]], names: dict[int, str]) -> list[tuple[str, int]]:
    """Summed per id (two categories may share a name), largest first, zero totals left out."""
    totals: dict[int, int] = {}
    for key, cents in amounts:
        totals[key] = totals.get(key, 0) + cents
    return sorted(
        ((names[key], cents) for key, cents in totals.items() if cents),
        key=lambda pair: (-pair[1], pair[0]),
    )
