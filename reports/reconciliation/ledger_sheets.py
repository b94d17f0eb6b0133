"""The workbook's ledger sheets: the trial balance of the period and budget against actual.

The trial balance is built from two as-of trial balances (the day before the period and its last
day), so the period's debits and credits are the difference of two cumulative sums. Each closing
balance is then compared with the ledger's balance-after index (``net_as_of``), a second and
independent path to the same figure: a counter or index that drifted shows as a mismatch here.

Budget against actual is read from the ledger too, for the financial year to the period's end
(budgets are annual): on an envelope, a transfer that carries a need category is spend (posted
to or refunded from a client), one without is funding (allocations, moves, corrections). So
"allocated" is what the envelope had to spend this year (brought forward plus funding), "paid"
the net spend, "committed" the holds still open at the period's end, and "available" the rest.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.models import accounts, transfers
from ledger.queries import TrialBalanceLine, find_account, net_as_of, trial_balance
from reports.reconciliation.scope import CategoryInfo, Scope, open_at_end, posted_between, share
from reports.xlsx import Money, Percent, SheetWriter

ENVELOPE_PREFIX = "org:"
TRIAL_HEADERS = (
    "Account",
    "Name",
    "Type",
    "Opening (Dr +)",
    "Debits",
    "Credits",
    "Closing (Dr +)",
    "Balance-after index",
)
BUDGET_HEADERS = (
    "Envelope",
    "Category",
    "GL code",
    "Allocated",
    "Paid",
    "Committed",
    "Available",
    "% used",
    "% of year elapsed",
)


@dataclass(frozen=True)
class TrialTotals:
    accounts: int
    opening: int  # debit-positive sums: each is zero in a balanced book
    debits: int
    credits: int
    closing: int
    disagreeing: int  # accounts whose closing differs from the balance-after index


@dataclass(frozen=True)
class BudgetTotals:
    allocated: int
    paid: int
    committed: int
    available: int


def write_trial_balance(session: Session, book: Workbook, scope: Scope) -> TrialTotals:
    sheet = SheetWriter(book, "Trial balance", TRIAL_HEADERS, [26, 34, 8, 16, 16, 16, 16, 18])
    period = scope.period
    opening = {
        line.account: line
        for line in trial_balance(session, scope.book, as_of=period.start - timedelta(days=1))
    }
    accounts_by_code = _accounts(session, scope)
    sums, disagreeing = (0, 0, 0, 0), 0
    closing = trial_balance(session, scope.book, as_of=period.end)
    for line in closing:
        account_id, name = accounts_by_code[line.account]
        values = _values(line, opening.get(line.account))
        indexed = net_as_of(session, account_id, period.end) == line.balance
        disagreeing += not indexed
        sums = (sums[0] + values[0], sums[1] + values[1], sums[2] + values[2], sums[3] + values[3])
        sheet.row(
            [line.account, name, line.type.value, *map(Money, values)]
            + ["OK" if indexed else "MISMATCH"]
        )
    sheet.blank()
    sheet.row(["Total", "", "", *map(Money, sums)], bold=True)
    return TrialTotals(len(closing), *sums, disagreeing)


def _accounts(session: Session, scope: Scope) -> dict[str, tuple[int, str]]:
    """Each account's id and name by its code."""
    rows = session.execute(
        select(accounts.c.code, accounts.c.id, accounts.c.name).where(
            accounts.c.book_id == scope.book_id
        )
    )
    return {code: (account_id, name) for code, account_id, name in rows}


def _values(line: TrialBalanceLine, before: TrialBalanceLine | None) -> tuple[int, int, int, int]:
    """The period's debits and credits are the cumulative sums at its end less at its start."""
    if before is None:
        return 0, line.debits, line.credits, line.balance
    return before.balance, line.debits - before.debits, line.credits - before.credits, line.balance


def write_budget(
    session: Session, book: Workbook, scope: Scope, categories: dict[str, CategoryInfo]
) -> BudgetTotals:
    sheet = SheetWriter(book, "Budget vs actual", BUDGET_HEADERS, [30, 30, 10] + [16] * 6)
    envelopes = session.execute(
        select(accounts.c.id, accounts.c.code)
        .where(accounts.c.book_id == scope.book_id, accounts.c.code.startswith(ENVELOPE_PREFIX))
        .order_by(accounts.c.code)
    ).all()
    year = scope.year
    elapsed = scope.year_elapsed
    funding, paid = _year_flows(session, scope)
    committed = _committed(session, scope)
    allocated = spent = held = 0
    for account_id, code in envelopes:
        opening = -net_as_of(session, account_id, year.start - timedelta(days=1))
        envelope = Envelope(code, opening + funding[account_id], paid[account_id])
        envelope.write(sheet, committed[account_id], categories, elapsed)
        allocated += envelope.allocated
        spent += sum(envelope.paid.values())
        held += sum(committed[account_id].values())
    sheet.blank()
    _total_row(sheet, "All envelopes", "", (allocated, spent, held), elapsed)
    pool = -net_as_of(session, find_account(session, scope.book, "pool").id, scope.period.end)
    sheet.row(["pool", "Not yet allocated", "", Money(pool), None, None, Money(pool)])
    return BudgetTotals(allocated, spent, held, allocated - spent - held)


@dataclass(frozen=True)
class Envelope:
    code: str
    allocated: int
    paid: dict[str, int]  # net spend by category code

    def write(
        self,
        sheet: SheetWriter,
        held: dict[str, int],
        categories: dict[str, CategoryInfo],
        elapsed: Percent | None,
    ) -> None:
        """A row per category it spent or holds money in, then its own total."""
        for category in sorted(set(self.paid) | set(held)):
            info = categories.get(category)
            spent, holding = self.paid.get(category, 0), held.get(category, 0)
            sheet.row(
                [self.code, info.name if info else category, info.gl_code if info else "", None]
                + [Money(spent), Money(holding), None, share(spent + holding, self.allocated)]
                + [elapsed]
            )
        totals = (self.allocated, sum(self.paid.values()), sum(held.values()))
        _total_row(sheet, self.code, "All categories", totals, elapsed)


def _total_row(
    sheet: SheetWriter, label: str, detail: str, row: tuple[int, int, int], elapsed: Percent | None
) -> None:
    allocated, spent, held = row
    available = allocated - spent - held
    sheet.row(
        [label, detail, ""]
        + [Money(allocated), Money(spent), Money(held), Money(available)]
        + [share(spent + held, allocated), elapsed],
        bold=True,
    )


def _year_flows(
    session: Session, scope: Scope
) -> tuple[defaultdict[int, int], defaultdict[int, defaultdict[str, int]]]:
    """Per envelope: funding (credit-positive) and net spend per category, year to date."""
    funding: defaultdict[int, int] = defaultdict(int)
    paid: defaultdict[int, defaultdict[str, int]] = defaultdict(lambda: defaultdict(int))
    window = posted_between(scope, scope.year.start, scope.period.end)
    envelope = accounts.alias("envelope")
    for side, sign in ((transfers.c.debit_account_id, 1), (transfers.c.credit_account_id, -1)):
        rows = session.execute(
            select(side, transfers.c.category, func.sum(transfers.c.amount))
            .join(envelope, envelope.c.id == side)
            .where(window, envelope.c.code.startswith(ENVELOPE_PREFIX))
            .group_by(side, transfers.c.category)
        ).all()
        for account_id, category, amount in rows:
            if category is None:
                funding[account_id] -= sign * int(amount)
            else:
                paid[account_id][category] += sign * int(amount)
    return funding, paid


def _committed(session: Session, scope: Scope) -> defaultdict[int, defaultdict[str, int]]:
    """Per envelope and category: what approvals still held at the period's end."""
    held: defaultdict[int, defaultdict[str, int]] = defaultdict(lambda: defaultdict(int))
    rows = session.execute(
        select(transfers.c.debit_account_id, transfers.c.category, func.sum(transfers.c.amount))
        .where(open_at_end(scope))
        .group_by(transfers.c.debit_account_id, transfers.c.category)
    ).all()
    for account_id, category, amount in rows:
        held[account_id][category or ""] += int(amount)
    return held
