"""What the funds met: spend and request counts per Action Plan need domain, de-identified.

This is the program-evaluation view, so it counts people, and docs/exports.md#privacy says an
aggregated report hides every group of fewer than 5 clients. A domain whose distinct-client count
is 1 to 4 is *suppressed*: its row says so and its numbers are left blank. A domain with no
clients at all shows its zeros (there is no one in it to identify).

Hiding the row is not enough on its own: the workbook also states the year's total spend (the
Summary), so a single hidden spend would be that total less the domains shown. So the rule is
applied to the hidden rows together: while the clients in the hidden domains number 1 to 4, the
shown domain with the fewest clients is withheld as well (complementary suppression). What can
then be worked out by subtraction is only the hidden domains' combined figures, a group of at
least 5 clients. The sheet's total row counts only the domains shown, so within the sheet
nothing hidden can be recovered at all. If every client of the year would still be in a group
under 5, every domain is hidden (the Summary's money figures stay: they are the acquittal).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from sqlalchemy import Select, literal, select
from sqlalchemy.orm import Session

from approvals.fiscal import Period
from approvals.lifecycle.states import RequestState
from approvals.models import Consortium, Decision, FundRequest, Need, NeedDomain, Payment, Refund
from approvals.zone import local_day_bounds
from reports.xlsx import Money, SheetWriter

SMALLEST_GROUP = 5
LABELS = {
    NeedDomain.HOUSING: "Housing",
    NeedDomain.PHYSICAL_HEALTH: "Physical health",
    NeedDomain.SOCIAL_CONNECTION: "Social connection",
    NeedDomain.TRANSPORT: "Transport",
    NeedDomain.EDUCATION_EMPLOYMENT: "Education and employment",
    NeedDomain.DAILY_LIVING: "Daily living",
}
_ORDER = {domain: index for index, domain in enumerate(NeedDomain)}


@dataclass(frozen=True)
class DomainFigures:
    """One need domain's year. The ids are for counting distinct people and requests only."""

    domain: NeedDomain
    clients: frozenset[int]
    approved: frozenset[int]
    paid: frozenset[int]
    spent: int


def _local_bounds(period: Period, zone: str) -> tuple[datetime, datetime]:
    """The year as UTC instants: local midnight on 1 July to local midnight after 30 June."""
    return local_day_bounds(zone, period.start, period.end)


def domain_figures(session: Session, consortium: Consortium, period: Period) -> list[DomainFigures]:
    """Per need domain, in the enum's order: who was supported, what was approved, paid, spent.

    A client counts in a domain when a request of theirs for a need in it was finally approved
    in the year, or paid, or refunded (a refund changes that domain's spend)."""
    clients: dict[str, set[int]] = defaultdict(set)
    requests: dict[tuple[str, str], set[int]] = defaultdict(set)
    spent: dict[str, int] = defaultdict(int)
    for what, query in _domain_queries(consortium, period):
        for request_id, client_id, domain, cents in session.execute(query):
            clients[domain].add(client_id)
            requests[(domain, what)].add(request_id)
            spent[domain] += int(cents)
    return [
        DomainFigures(
            domain,
            frozenset(clients[domain.value]),
            frozenset(requests[(domain.value, "approved")]),
            frozenset(requests[(domain.value, "paid")]),
            spent[domain.value],
        )
        for domain in NeedDomain
    ]


def _domain_queries(consortium: Consortium, period: Period) -> tuple[tuple[str, Select[Any]], ...]:
    """Each yields (request id, client id, need domain, cents it adds to the domain's spend)."""
    start, end = _local_bounds(period, consortium.timezone)
    requests = (
        select(FundRequest.id, FundRequest.client_id, Need.domain)
        .join(Need, Need.id == FundRequest.need_id)
        .where(FundRequest.consortium_id == consortium.id)
    )
    approved = (
        requests.add_columns(literal(0))
        .join(Decision, Decision.request_id == FundRequest.id)
        .where(
            Decision.to_state == RequestState.APPROVED,
            Decision.from_state != RequestState.APPROVED,
            Decision.at >= start,
            Decision.at < end,
        )
    )
    paid = (
        requests.add_columns(Payment.charged_cents)
        .join(Payment, Payment.request_id == FundRequest.id)
        .where(Payment.paid_on.between(period.start, period.end))
    )
    refunded = (
        requests.add_columns(-Refund.amount_cents)
        .join(Payment, Payment.request_id == FundRequest.id)
        .join(Refund, Refund.payment_id == Payment.id)
        .where(Refund.received_on.between(period.start, period.end))
    )
    return ("approved", approved), ("paid", paid), ("refunded", refunded)


def hidden_domains(domains: Sequence[DomainFigures]) -> frozenset[NeedDomain]:
    """The domains to withhold: every group under 5, then complements until the hidden
    domains together hold at least 5 clients (or nothing is left to add)."""
    hidden = {d.domain for d in domains if 0 < len(d.clients) < SMALLEST_GROUP}
    while hidden and len(clients_of(domains, hidden)) < SMALLEST_GROUP:
        shown = [d for d in domains if d.domain not in hidden and d.clients]
        if not shown:
            break
        hidden.add(min(shown, key=lambda d: (len(d.clients), _ORDER[d.domain])).domain)
    return frozenset(hidden)


def clients_of(
    domains: Sequence[DomainFigures], chosen: set[NeedDomain] | frozenset[NeedDomain]
) -> set[int]:
    """Distinct clients across the chosen domains (one client may have needs in several)."""
    found: set[int] = set()
    for figures in domains:
        if figures.domain in chosen:
            found |= figures.clients
    return found


_DOMAIN_HEADERS = ("Need domain", "Clients", "Requests approved", "Requests paid", "Spent (net)")


def domains_sheet(
    workbook: Workbook,
    domains: Sequence[DomainFigures],
    hidden: frozenset[NeedDomain],
    period: Period,
) -> int:
    """The evaluation view: hidden rows say why and show no numbers; the total is of the rest."""
    sheet = SheetWriter(workbook, "Outcomes by need domain", _DOMAIN_HEADERS, [28, 44, 18, 16, 18])
    for domain in domains:
        if 0 < len(domain.clients) < SMALLEST_GROUP:
            sheet.row([LABELS[domain.domain], f"fewer than {SMALLEST_GROUP} clients"])
        elif domain.domain in hidden:
            sheet.row([LABELS[domain.domain], "withheld: it would reveal a smaller group"])
        else:
            sheet.row([LABELS[domain.domain], *_domain_figures(domain)])
    shown = [domain for domain in domains if domain.domain not in hidden]
    clients = len(clients_of(shown, {domain.domain for domain in shown}))
    sheet.row(
        ["Total of the domains shown", clients]
        + [sum(len(d.approved) for d in shown), sum(len(d.paid) for d in shown)]
        + [Money(sum(d.spent for d in shown))],
        bold=True,
    )
    sheet.blank()
    for note in _notes(period, bool(hidden)):
        sheet.row([note])
    return sheet.rows


def _domain_figures(domain: DomainFigures) -> list[Any]:
    return [len(domain.clients), len(domain.approved), len(domain.paid), Money(domain.spent)]


def _notes(period: Period, anything_hidden: bool) -> list[str]:
    notes = [
        f"Groups of fewer than {SMALLEST_GROUP} clients are not shown (de-identified report).",
        "Clients: distinct clients with a request for a need in the domain approved, paid or "
        f"refunded in {period.label}; a client with needs in two domains counts in each.",
        "Requests approved: given final approval in the year. Requests paid: with a payment "
        "dated in the year. Spent: payments charged to funds less refunds, dated in the year.",
    ]
    if anything_hidden:
        notes.append(
            "The total counts only the domains shown. Where a hidden domain's figures could be "
            "worked out from the year's total spend (Summary), the next smallest domain is "
            f"withheld too, so that only groups of {SMALLEST_GROUP} or more can be derived."
        )
    return notes
