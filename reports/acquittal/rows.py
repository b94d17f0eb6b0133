"""The figures of a financial-year acquittal, from the ledger and from the payments register.

Why two sources: what the funder asks first (received, spent, committed, unspent) is answered
from the ledger, the book of record; the breakdowns (by category and NGO, by need domain) come
from the payments and refunds those postings were made for, because only they know a request's
category, NGO and Action Plan need. The workbook checks that the two agree on what was spent.

"Funds" are the fund accounts together: the pool, the NGO envelopes and the client accounts.
Allocations, moves and reservations shift money among them and change nothing here; only a
transfer between a fund account and an asset account (bank, gst_receivable) changes the funds:
grant receipts in, payments out, supplier refunds in, returns to the funder out, and anything
else that crosses (a reversal, an adjustment) on its own line, never netted into another.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from approvals.fiscal import Period
from approvals.models import (
    Category,
    Consortium,
    FundRequest,
    Organisation,
    Payment,
    Refund,
)
from ledger.models import accounts, books, transfers
from ledger.queries import hold_open_on, trial_balance
from ledger.values import POSTED_PHASES, AccountType, TransferKind, rule_for

POOL, ENVELOPE, CLIENT = "pool", "org:", "client:"
_Named = TypeVar("_Named", Category, Organisation)
# The line of the acquittal a movement between the funds and the assets lands on, per transfer
# kind: (into the funds, out of the funds). Every kind is here (a test walks the enum through
# it); "other" is said out loud, never a default, so a new kind must be placed before it counts.
FLOW_LINES: dict[TransferKind, tuple[str, str]] = {
    TransferKind.GRANT_RECEIPT: ("received", "other"),
    TransferKind.REFUND: ("refunds", "other"),
    TransferKind.PAYMENT: ("other", "payments"),
    TransferKind.RETURN_TO_FUNDER: ("other", "returned"),
    TransferKind.REVERSAL: ("other", "other"),
    TransferKind.ADJUSTMENT: ("other", "other"),
    TransferKind.ALLOCATION: ("other", "other"),  # these four stay within the funds,
    TransferKind.RESERVATION: ("other", "other"),  # so the query never meets them
    TransferKind.POST: ("other", "other"),
    TransferKind.VOID: ("other", "other"),
}


@dataclass(frozen=True)
class Flows:
    """The year's movement of the funds, in cents; ``other`` is positive into the funds."""

    opening: int
    received: int
    payments: int
    refunds: int
    returned: int
    other: int
    closing: int

    @property
    def spent(self) -> int:
        return self.payments - self.refunds

    @property
    def worked_out_closing(self) -> int:
        return self.opening + self.received - self.spent - self.returned + self.other


def fund_balances(session: Session, book: str, day: date) -> dict[str, int]:
    """Each fund account's posted balance (credits less debits) at the end of ``day``."""
    return {
        line.account: line.credits - line.debits
        for line in trial_balance(session, book, as_of=day)
        if line.type is AccountType.FUND
    }


def fund_flows(session: Session, book: str, period: Period) -> Flows:
    debit, credit = accounts.alias("debit"), accounts.alias("credit")
    query = (
        select(transfers.c.kind, debit.c.type, func.sum(transfers.c.amount))
        .join(books, books.c.id == transfers.c.book_id)
        .join(debit, debit.c.id == transfers.c.debit_account_id)
        .join(credit, credit.c.id == transfers.c.credit_account_id)
        .where(
            books.c.code == book,
            transfers.c.phase.in_([phase.value for phase in POSTED_PHASES]),
            transfers.c.effective_date.between(period.start, period.end),
            debit.c.type != credit.c.type,  # crosses between the funds and the assets
        )
        .group_by(transfers.c.kind, debit.c.type)
    )
    moved = dict.fromkeys(("received", "refunds", "payments", "returned", "other"), 0)
    for kind, debit_type, amount in session.execute(query):
        into_funds = debit_type == AccountType.ASSET.value
        named = rule_for(FLOW_LINES, kind, "The acquittal")[0 if into_funds else 1]
        if named != "other":
            moved[named] += int(amount)
        else:
            moved["other"] += int(amount) if into_funds else -int(amount)
    opening = sum(fund_balances(session, book, period.start - timedelta(days=1)).values())
    closing = sum(fund_balances(session, book, period.end).values())
    return Flows(opening=opening, closing=closing, **moved)


def open_holds(session: Session, book: str, through: date) -> dict[str, int]:
    """Reserved cents per account drawn on, for holds made by ``through`` and still open then."""
    query = (
        select(accounts.c.code, func.sum(transfers.c.amount))
        .join(books, books.c.id == transfers.c.book_id)
        .join(accounts, accounts.c.id == transfers.c.debit_account_id)
        .where(
            books.c.code == book,
            hold_open_on(through),
        )
        .group_by(accounts.c.code)
    )
    return {str(code): int(amount) for code, amount in session.execute(query)}


@dataclass(frozen=True)
class Holder:
    """Who holds part of the funds: the pool, one NGO's envelope, or all clients together."""

    label: str
    opening: int
    closing: int
    committed: int

    @property
    def unspent(self) -> int:
        return self.closing - self.committed


def holder_key(code: str) -> tuple[int, str]:
    """Sort and group fund accounts; every client account falls into one group, unnamed."""
    if code == POOL:
        return 0, code
    if code.startswith(ENVELOPE):
        return 1, code
    if code.startswith(CLIENT):
        return 2, CLIENT
    return 3, code


def holders(
    session: Session, consortium: Consortium, period: Period, holds: dict[str, int]
) -> list[Holder]:
    book = consortium.code
    opening = fund_balances(session, book, period.start - timedelta(days=1))
    closing = fund_balances(session, book, period.end)
    sums: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for code in closing:
        figures = sums[holder_key(code)]
        figures[0] += opening.get(code, 0)
        figures[1] += closing[code]
        figures[2] += holds.get(code, 0)
    named = select(Organisation.code, Organisation.name).where(
        Organisation.consortium_id == consortium.id
    )
    names = {str(code): str(name) for code, name in session.execute(named)}
    return [Holder(_label(key, names), *sums[key]) for key in sorted(sums)]


def _label(key: tuple[int, str], names: dict[str, str]) -> str:
    group, code = key
    if group == 0:
        return "Pool (not yet allocated to an NGO)"
    if group == 1:
        organisation = code.removeprefix(ENVELOPE)
        return f"Envelope {organisation}: {names.get(organisation, 'unknown organisation')}"
    if group == 2:
        return "Client accounts (all clients together)"
    return f"Other fund account {code}"


@dataclass(frozen=True)
class SpendLine:
    category: str
    category_name: str
    gl_code: str
    organisation: str
    organisation_name: str
    payments: int
    charged: int
    refunds: int
    refunded: int

    @property
    def net(self) -> int:
        return self.charged - self.refunded


def spend_lines(session: Session, consortium_id: int, period: Period) -> list[SpendLine]:
    """Payments and refunds dated in the year, per category and NGO, ordered by their codes."""
    figures = _spend_figures(session, consortium_id, period)
    categories = _by_id(session, Category, {category for category, _ in figures})
    organisations = _by_id(session, Organisation, {organisation for _, organisation in figures})
    lines = [
        SpendLine(
            categories[c].code,
            categories[c].name,
            categories[c].gl_code,
            organisations[o].code,
            organisations[o].name,
            *figures[(c, o)],
        )
        for c, o in figures
    ]
    return sorted(lines, key=lambda line: (line.category, line.organisation))


def _spend_figures(
    session: Session, consortium_id: int, period: Period
) -> dict[tuple[int, int], list[int]]:
    """(category id, organisation id) -> [payments, charged, refunds, refunded]."""
    group = (FundRequest.category_id, FundRequest.organisation_id)
    paid = (
        select(*group, func.count(Payment.id), func.sum(Payment.charged_cents))
        .join(FundRequest, FundRequest.id == Payment.request_id)
        .where(Payment.paid_on.between(period.start, period.end))
    )
    refunded = (
        select(*group, func.count(Refund.id), func.sum(Refund.amount_cents))
        .join(Payment, Payment.id == Refund.payment_id)
        .join(FundRequest, FundRequest.id == Payment.request_id)
        .where(Refund.received_on.between(period.start, period.end))
    )
    figures: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for offset, query in ((0, paid), (2, refunded)):
        mine = query.where(FundRequest.consortium_id == consortium_id).group_by(*group)
        for category_id, organisation_id, count, cents in session.execute(mine):
            figures[(category_id, organisation_id)][offset : offset + 2] = [int(count), int(cents)]
    return figures


def _by_id(session: Session, model: type[_Named], ids: set[int]) -> dict[int, _Named]:
    found = session.scalars(select(model).where(model.id.in_(sorted(ids))))
    return {row.id: row for row in found}
