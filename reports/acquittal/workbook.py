"""The financial-year acquittal workbook: what the funder gave, what it bought, what is left.

Why it looks like this: an acquittal is the consortium's account to its funder for one
financial year, so it must add up on its face and be re-checkable later. *Summary* states the
ledger state it was built from (sequence and chain hash of the last transaction dated in the
year), the year's movement of the funds as one identity (opening + received - spent - returned
+ other = closing; closing - committed = unspent and uncommitted), and a *Checks* block computed
here, each OK or MISMATCH: the identity against the ledger's own balances, no holder committed
beyond its funds, and the payments register agreeing with the ledger on what was spent.
*Funds by holder* splits opening, closing, committed and unspent between the pool, each NGO's
envelope and the clients (together, never one by one). *Spend by category and NGO* is the
register's payments and refunds dated in the year. *Outcomes by need domain* is the de-identified
evaluation view (see :mod:`reports.acquittal.domains` for how small groups are hidden).

No client code or initials appear anywhere. Totals are values, not formulas. The file depends
only on the ledger, the register and the year: its timestamps are 30 June 23:59:59.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from approvals.errors import InvalidInputError
from approvals.fiscal import Period, financial_year
from approvals.gst import GstBasis
from approvals.models import Consortium, NeedDomain
from ledger.money import format_cents
from reports.acquittal.domains import DomainFigures, domain_figures, domains_sheet, hidden_domains
from reports.acquittal.rows import Flows, Holder, SpendLine, fund_flows, holders, open_holds
from reports.acquittal.rows import spend_lines as register_spend
from reports.ledger_state import ledger_head
from reports.written import GST_BASIS, MISMATCHES, Written
from reports.xlsx import Money, Percent, SheetWriter, end_of, new_workbook, save

OK, MISMATCH = "OK", "MISMATCH"


@dataclass(frozen=True)
class Check:
    what: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class _Year:
    """Everything the sheets show, gathered before the first cell is written."""

    consortium: Consortium
    period: Period
    head: tuple[int, str]
    flows: Flows
    holders: list[Holder]
    committed: int  # every hold open at the year's end, whatever account it is drawn on
    spend: list[SpendLine]
    domains: list[DomainFigures]
    hidden: frozenset[NeedDomain]


def write_acquittal(session: Session, book: str, out: BinaryIO, period: Period | None) -> Written:
    """Write the year's workbook to ``out``; says what it holds and the ledger state behind it."""
    year = _gather(session, book, _financial_year(period))
    checks = _checks(year)
    stamp = end_of(year.period.end)
    workbook = new_workbook(f"{book} acquittal {year.period.label}", stamp)
    counts = {
        "summary": _summary(workbook, year, checks),
        "holders": _holders_sheet(workbook, year),
        "spend": _spend_sheet(workbook, year),
        "domains": domains_sheet(workbook, year.domains, year.hidden, year.period),
        "suppressed": len(year.hidden),
        MISMATCHES: sum(not check.ok for check in checks),
    }
    save(workbook, out, stamp)
    return Written(counts, *year.head)


def _financial_year(period: Period | None) -> Period:
    if period is None or period != financial_year(period.start):
        raise InvalidInputError(
            "An acquittal covers one financial year.", fields={"period": "Use FY2025-26."}
        )
    return period


def _one_snapshot(session: Session) -> None:
    """Read every figure from one snapshot, so that a payment committed while the workbook is
    written cannot make its checks disagree. SQLite's transaction already is one; PostgreSQL at
    READ COMMITTED is not, so a fresh session is moved to REPEATABLE READ for its transaction."""
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def _gather(session: Session, book: str, period: Period) -> _Year:
    _one_snapshot(session)
    consortium = session.execute(select(Consortium).where(Consortium.code == book)).scalar_one()
    holds = open_holds(session, book, period.end)
    domains = domain_figures(session, consortium, period)
    return _Year(
        consortium=consortium,
        period=period,
        head=ledger_head(session, book, period.end),
        flows=fund_flows(session, book, period),
        holders=holders(session, consortium, period, holds),
        committed=sum(holds.values()),
        spend=register_spend(session, consortium.id, period),
        domains=domains,
        hidden=hidden_domains(domains),
    )


def _checks(year: _Year) -> list[Check]:
    flows = year.flows
    unspent = sum(holder.unspent for holder in year.holders)
    short = [holder.label for holder in year.holders if holder.unspent < 0]
    return [
        _agree(
            "Opening + received - spent - returned + other = closing funds",
            flows.worked_out_closing,
            flows.closing,
            "worked out from the year's transfers",
            "in the ledger's balances at 30 June",
        ),
        _agree(
            "Closing funds - committed = unspent and uncommitted (all holders)",
            flows.closing - year.committed,
            unspent,
            "closing less every hold open at 30 June",
            "the holders' unspent added up",
        ),
        Check(
            "No holder is committed beyond its funds",
            not short,
            "; ".join(short) or "every holder's commitments are within its funds",
        ),
        _agree(
            "Spend by category and NGO (payments register) = spent (ledger)",
            sum(line.net for line in year.spend),
            flows.spent,
            "payments less refunds in the register",
            "payments less refunds in the ledger",
        ),
        _agree(
            "Spend by need domain, hidden domains included = spent (ledger)",
            sum(domain.spent for domain in year.domains),
            flows.spent,
            "all domains added up",
            "the ledger",
        ),
    ]


def _agree(what: str, left: int, right: int, left_is: str, right_is: str) -> Check:
    detail = f"{format_cents(left)} {left_is}; {format_cents(right)} {right_is}"
    if left != right:
        detail += f"; they differ by {format_cents(left - right)}"
    return Check(what, left == right, detail)


def _summary(workbook: Workbook, year: _Year, checks: list[Check]) -> int:
    sheet = SheetWriter(workbook, "Summary", ["Acquittal", "Value", "Notes"], [62, 22, 90])
    period, consortium = year.period, year.consortium
    sheet.row(["Consortium", consortium.code, consortium.name])
    sheet.row(["Financial year", period.label, "1 July to 30 June"])
    sheet.row(["From", period.start])
    sheet.row(["To", period.end])
    sheet.row(["GST basis", consortium.gst_basis, GST_BASIS[GstBasis(consortium.gst_basis)]])
    sheet.row(["Ledger through sequence", year.head[0], "last transaction dated by 30 June"])
    sheet.row(["Ledger chain hash", year.head[1], "of that transaction"])
    sheet.blank()
    _summary_funds(sheet, year)
    sheet.blank()
    sheet.row(["Checks", "Result", "Detail"], bold=True)
    for check in checks:
        sheet.row([check.what, OK if check.ok else MISMATCH, check.detail])
    return sheet.rows


def _summary_funds(sheet: SheetWriter, year: _Year) -> None:
    flows, end = year.flows, year.period.end.strftime("%d/%m/%Y")
    sheet.row(["Funds: the pool, NGO envelopes and client accounts", "Amount", "How"], bold=True)
    for label, cents, how in (
        ("Opening funds (1 July)", flows.opening, "posted fund balances brought forward"),
        ("Add: received from the funder", flows.received, "grant receipts, bank to pool"),
        ("Less: spent (payments less refunds)", flows.spent, "what the funds paid for"),
        ("    payments charged to funds", flows.payments, "client accounts to bank"),
        ("    refunds from suppliers", flows.refunds, "bank to client accounts"),
        ("Less: returned to the funder", flows.returned, "pool to bank"),
        ("Add: other movements (reversals, adjustments)", flows.other, "in less out"),
        ("Equals: closing funds (30 June)", flows.closing, f"posted fund balances at {end}"),
        ("Less: committed at 30 June", year.committed, "approved, not yet paid or released"),
        ("Equals: unspent and uncommitted", flows.closing - year.committed, "free to use"),
    ):
        sheet.row([label, Money(cents), how])


def _holders_sheet(workbook: Workbook, year: _Year) -> int:
    headers = ["Holder", "Opening (1 July)", "Closing (30 June)", "Committed", "Unspent"]
    sheet = SheetWriter(workbook, "Funds by holder", headers, [48, 18, 18, 18, 18])
    for holder in year.holders:
        sheet.row([holder.label, *_money(holder.opening, holder.closing, holder.committed)])
    total = (sum(getattr(holder, name) for holder in year.holders) for name in _HOLDER_FIGURES)
    sheet.row(["Total", *_money(*total)], bold=True)
    sheet.blank()
    sheet.row(["Committed: holds open at the end of 30 June, drawn on that holder."])
    sheet.row(["Unspent: closing less committed."])
    return sheet.rows


_HOLDER_FIGURES = ("opening", "closing", "committed")


def _money(opening: int, closing: int, committed: int) -> list[Money]:
    return [Money(opening), Money(closing), Money(committed), Money(closing - committed)]


_SPEND_HEADERS = (
    "Category",
    "Category name",
    "GL code",
    "NGO",
    "NGO name",
    "Payments",
    "Charged to funds",
    "Refunds",
    "Refunded",
    "Spent (net)",
    "Share of spent",
)


def _spend_sheet(workbook: Workbook, year: _Year) -> int:
    widths = [14, 30, 10, 10, 34, 10, 18, 10, 16, 18, 14]
    sheet = SheetWriter(workbook, "Spend by category and NGO", _SPEND_HEADERS, widths)
    total = sum(line.net for line in year.spend)
    for line in year.spend:
        sheet.row(
            [
                *(line.category, line.category_name, line.gl_code),
                *(line.organisation, line.organisation_name),
                *(line.payments, Money(line.charged), line.refunds, Money(line.refunded)),
                *(Money(line.net), share(line.net, total)),
            ]
        )
    counts = [sum(getattr(line, name) for line in year.spend) for name in _SPEND_FIGURES]
    sheet.row(
        ["Total", "", "", "", "", counts[0], Money(counts[1]), counts[2], Money(counts[3])]
        + [Money(total), share(total, total)],
        bold=True,
    )
    sheet.blank()
    basis = GST_BASIS[GstBasis(year.consortium.gst_basis)]
    sheet.row([f"Payments and refunds dated in {year.period.label}. {basis}."])
    return sheet.rows


_SPEND_FIGURES = ("payments", "charged", "refunds", "refunded")


def share(part: int, whole: int) -> Percent | None:
    """``part`` of ``whole`` in basis points, half away from zero; none of nothing."""
    if whole == 0:
        return None
    points = (abs(part) * 20_000 + abs(whole)) // (2 * abs(whole))
    return Percent(points if (part < 0) == (whole < 0) else -points)
