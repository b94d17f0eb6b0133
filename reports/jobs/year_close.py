"""The financial-year close, run by the scheduler once per consortium and year, after 30 June.

What closing a year means here (docs/exports.md#the-year-close): every approval of the year that is
still unpaid lapses unless finance marked it carried over, releasing its reservation; finance is
told what lapsed and what they carried over; the audit log records the close; and the acquittal
workbook for the year is exported once, when that exporter exists. The ledger's lock date is not
moved: months are locked by finance's sign-off after reconciliation, never by a clock.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from approvals import audit
from approvals.consortium.actors import system_actor
from approvals.fiscal import Period, financial_year
from approvals.lifecycle.requests import request_label
from approvals.lifecycle.states import HOLDS_FUNDS
from approvals.lifecycle.timers import TimerReport, expire_approvals
from approvals.models import Consortium, Decision, FundRequest
from approvals.models.people import FINANCE
from approvals.notify import notify
from approvals.zone import local_day_bounds
from reports.jobs.tasks import SCHEDULER, YEAR_CLOSE_JOB, Clock, Outcome, once, people
from reports.models import ExportKind, RunStatus
from reports.runs import EXPORTERS, ExportOrder, run_export

log = logging.getLogger("flexpool.scheduler")

LISTED = 8  # request labels named in the notification before "and N more"


def financial_year_close(
    factory: sessionmaker[Session],
    consortium_code: str,
    year: Period,
    out_dir: Path,
    *,
    now: Clock,
    acquittal: ExportKind = ExportKind.ACQUITTAL,
) -> Outcome:
    """Close ``year``; the lapse is the 30 June rule of ``approvals.lifecycle.timers``, run here
    too.

    Running the rule here means the close never reports on a year whose approvals the 15-minute
    tick has not reached yet. The acquittal runs only after a close this process completed: a
    failed close must not be followed by a year's figures that still hold lapsed approvals.
    """

    def work(session: Session, consortium_id: int) -> tuple[RunStatus, str]:
        return _close(session, consortium_id, year, now())

    outcome = once(factory, YEAR_CLOSE_JOB, consortium_code, year.label, now, work)
    if outcome.status == RunStatus.DONE.value and acquittal in EXPORTERS:
        order = ExportOrder(consortium_code, acquittal, year, out_dir, SCHEDULER, scheduled=True)
        try:
            run_export(factory, order, now=now)
        except Exception:  # noqa: BLE001 - recorded as a failed export run; the close stands
            log.exception("%s export for %s %s failed", acquittal.value, consortium_code, year)
    return outcome


def _close(
    session: Session, consortium_id: int, year: Period, at: datetime
) -> tuple[RunStatus, str]:
    expire_approvals(session, consortium_id, at, TimerReport())
    lapsed = _lapsed_at_year_end(session, consortium_id, year)
    carried = _carried_over(session, consortium_id, year)
    notify(
        session,
        people(session, consortium_id, FINANCE, at),
        kind="year_closed",
        message=_year_message(year, lapsed, carried),
        request_id=None,
        now=at,
    )
    audit.record(
        session,
        consortium_id=consortium_id,
        actor_id=system_actor(session, consortium_id).user_id,
        action="financial_year.closed",
        subject_type="consortium",
        subject_id=consortium_id,
        now=at,
        year=year.label,
        lapsed=len(lapsed),
        carried_over=len(carried),
    )
    return RunStatus.DONE, json.dumps({"lapsed": lapsed, "carried_over": carried}, sort_keys=True)


def _lapsed_at_year_end(session: Session, consortium_id: int, year: Period) -> list[str]:
    """Whoever lapsed them (this close or the 15-minute tick), the reason names the year."""
    requests = session.execute(
        select(FundRequest)
        .join(Decision, Decision.request_id == FundRequest.id)
        .where(
            FundRequest.consortium_id == consortium_id,
            Decision.action.in_(("expire", "close")),
            Decision.reason == f"{year.label} ended",  # as approvals.lifecycle.timers words it
        )
        .order_by(FundRequest.number)
    ).scalars()
    return [request_label(request) for request in requests]


def _carried_over(session: Session, consortium_id: int, year: Period) -> list[str]:
    consortium = session.get_one(Consortium, consortium_id)
    _, next_year_starts = local_day_bounds(consortium, year.start, year.end)
    requests = session.execute(
        select(FundRequest)
        .where(
            FundRequest.consortium_id == consortium_id,
            FundRequest.carried_over.is_(True),
            FundRequest.state.in_(HOLDS_FUNDS),
            FundRequest.approved_at < next_year_starts,
        )
        .order_by(FundRequest.number)
    ).scalars()
    return [request_label(request) for request in requests]


def _year_message(year: Period, lapsed: list[str], carried: list[str]) -> str:
    following = financial_year(year.end + timedelta(days=1)).label
    return (
        f"{year.label} is closed: {len(lapsed)} unpaid approval(s) lapsed at year end"
        f"{_listed(lapsed)}; {len(carried)} carried over into {following}{_listed(carried)}."
    )


def _listed(labels: list[str]) -> str:
    if not labels:
        return ""
    more = f" and {len(labels) - LISTED} more" if len(labels) > LISTED else ""
    return f" ({', '.join(labels[:LISTED])}{more})"
