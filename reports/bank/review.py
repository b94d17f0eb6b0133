"""A person resolving statement lines: match one to a chosen item, explain it, or undo either.

Only finance (FIN or FIN_MGR of the lead agency) does this; the auditor reads. Each action is
written to the audit trail. The rules a database constraint cannot express live here:

- a match has the line's exact amount and direction, and the item belongs to this consortium;
- **segregation of duties** ("the reconciler ≠ the payer", docs/approvals.md#segregation-of-duties):
  whoever recorded a payment, refund or grant may not match it to the bank by hand; someone else
  must;
- an explanation (a bank fee, interest, a transfer between the agency's own accounts) says why
  the line needs no match, in 1-500 characters;
- a line dated in a closed month keeps its resolution: the month was signed off on it.

A payment, refund or transaction matched twice is refused by the partial unique indexes on
``bank_lines`` too, so two people matching at the same moment cannot both succeed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from approvals import audit
from approvals.consortium.actors import Actor
from approvals.errors import ConflictError, InvalidInputError, NotAllowedError, NotFoundError
from approvals.models import Consortium
from approvals.models.people import FINANCE
from ledger.models import books
from ledger.money import format_cents
from reports.bank.match import (
    REVIEW_WINDOW_DAYS,
    Candidate,
    LineView,
    auto_match,
    candidates_for,
    matched_targets,
    set_matched,
)
from reports.bank.targets import Target, TargetKind, matched_column, targets_by_id
from reports.models import BankLine, BankStatement, LineStatus

REASON_LIMIT = 500


def match_line(
    session: Session, actor: Actor, line_id: int, kind: TargetKind, target_id: int, *, now: datetime
) -> BankLine:
    actor.require_lead(*FINANCE, doing="match bank statement lines")
    line = _line(session, actor, line_id, LineStatus.UNMATCHED)
    target = _matchable(session, actor, line, kind, target_id)
    set_matched(line, target, resolved_by=actor.label, now=now)
    _flush_once(session, kind)
    _audit(session, actor, line, "bank.matched", now, **{f"{kind.value}_id": target_id})
    return line


def rematch_open_lines(session: Session, actor: Actor, *, now: datetime) -> list[BankLine]:
    """Try automatic matching again on every open line: a statement often arrives before the
    payments it shows are recorded. The same certainty rules as an import; never the actor's own
    payments (the reconciler is not the payer)."""
    actor.require_lead(*FINANCE, doing="match bank statement lines")
    lines = list(
        session.execute(
            select(BankLine).where(
                BankLine.consortium_id == actor.consortium_id,
                BankLine.status == LineStatus.UNMATCHED.value,
            )
        ).scalars()
    )
    try:
        with session.begin_nested():
            matched = auto_match(
                session, actor.consortium_id, lines, reconciler_id=actor.user_id, now=now
            )
    except IntegrityError as error:  # someone matched one of them a moment ago
        raise ConflictError("Lines were being matched at the same moment; try again.") from error
    for line in matched:
        _audit(session, actor, line, "bank.matched", now, **{"automatic": True})
    return matched


def _matchable(
    session: Session, actor: Actor, line: BankLine, kind: TargetKind, target_id: int
) -> Target:
    target = targets_by_id(session, actor.consortium_id, kind, [target_id]).get(target_id)
    if target is None:
        raise NotFoundError(f"There is no such {kind.value} to match.")
    if target.amount_cents != line.amount_cents:
        raise InvalidInputError(
            f"The line is {format_cents(line.amount_cents)} but the {kind.value} is "
            f"{format_cents(target.amount_cents)} as the bank sees it; amounts must be equal.",
            fields={"target": "A different amount."},
        )
    if target.recorded_by_id == actor.user_id:
        raise NotAllowedError(
            f"You recorded this {kind.value}, so someone else must match it to the bank "
            "(segregation of duties: the reconciler is not the payer)."
        )
    taken = session.execute(select(BankLine.id).where(matched_column(kind) == target_id)).scalar()
    if taken is not None:
        raise ConflictError(f"This {kind.value} is already matched to statement line #{taken}.")
    return target


def explain_line(
    session: Session, actor: Actor, line_id: int, reason: str, *, now: datetime
) -> BankLine:
    actor.require_lead(*FINANCE, doing="explain bank statement lines")
    text = " ".join((reason or "").split())
    if not 0 < len(text) <= REASON_LIMIT:
        raise InvalidInputError(
            "Say why this line needs no match (a bank fee, interest, a transfer…).",
            fields={"reason": f"1-{REASON_LIMIT} characters."},
        )
    line = _line(session, actor, line_id, LineStatus.UNMATCHED)
    line.status = LineStatus.EXPLAINED.value
    line.explanation = text
    line.resolved_by = actor.label
    line.resolved_at = now
    session.flush()
    _audit(session, actor, line, "bank.explained", now)
    return line


def unmatch_line(session: Session, actor: Actor, line_id: int, *, now: datetime) -> BankLine:
    """Back to unmatched, from matched or explained (the audit trail keeps what it was)."""
    actor.require_lead(*FINANCE, doing="unmatch bank statement lines")
    line = _line(session, actor, line_id, None)
    if line.status == LineStatus.UNMATCHED.value:
        raise ConflictError("This line is not matched or explained.")
    _refuse_closed(session, actor, line)
    was = {
        "was": line.status,
        "payment_id": line.payment_id,
        "refund_id": line.refund_id,
        "transaction_id": line.transaction_id,
        "resolved_by": line.resolved_by,
    }
    line.status = LineStatus.UNMATCHED.value
    line.payment_id = line.refund_id = line.transaction_id = None
    line.explanation = line.resolved_by = None
    line.resolved_at = None
    session.flush()
    _audit(session, actor, line, "bank.unmatched", now, **was)
    return line


def _line(session: Session, actor: Actor, line_id: int, status: LineStatus | None) -> BankLine:
    line = session.execute(
        select(BankLine).where(BankLine.id == line_id).with_for_update()
    ).scalar()
    if line is None or line.consortium_id != actor.consortium_id:
        raise NotFoundError("There is no such statement line.")
    if status is not None and line.status != status.value:
        raise ConflictError(f"This line is already {line.status}; unmatch it first.")
    return line


def _refuse_closed(session: Session, actor: Actor, line: BankLine) -> None:
    closed = session.execute(
        select(books.c.closed_through)
        .join(Consortium, Consortium.code == books.c.code)
        .where(Consortium.id == actor.consortium_id)
    ).scalar()
    if closed is not None and line.on <= closed:
        raise ConflictError(
            f"This line is dated {line.on:%d/%m/%Y}, in a month already closed on its "
            "reconciliation; it cannot be reopened."
        )


def _flush_once(session: Session, kind: TargetKind) -> None:
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as error:  # someone matched it a moment ago
        raise ConflictError(f"This {kind.value} was just matched to another line.") from error


def _audit(
    session: Session, actor: Actor, line: BankLine, action: str, now: datetime, **details: object
) -> None:
    audit.record(
        session,
        consortium_id=actor.consortium_id,
        actor_id=actor.user_id,
        action=action,
        subject_type="bank_line",
        subject_id=line.id,
        now=now,
        statement_id=line.statement_id,
        amount_cents=line.amount_cents,
        **details,
    )


# -- what the review page shows ---------------------------------------------------------------


@dataclass(frozen=True)
class OpenLine:
    line: BankLine
    candidates: list[Candidate]


def open_lines(session: Session, consortium_id: int, *, limit: int) -> list[OpenLine]:
    """Unmatched lines, oldest first, each with what it could be (wider window than auto)."""
    lines = list(
        session.execute(
            select(BankLine)
            .where(
                BankLine.consortium_id == consortium_id,
                BankLine.status == LineStatus.UNMATCHED.value,
            )
            .order_by(BankLine.on, BankLine.id)
            .limit(limit)
        ).scalars()
    )
    found = candidates_for(session, consortium_id, lines, window=REVIEW_WINDOW_DAYS)
    return [OpenLine(line, found[line.id]) for line in lines]


def recently_resolved(session: Session, consortium_id: int, *, limit: int) -> list[LineView]:
    lines = list(
        session.execute(
            select(BankLine)
            .where(
                BankLine.consortium_id == consortium_id,
                BankLine.status != LineStatus.UNMATCHED.value,
            )
            .order_by(BankLine.resolved_at.desc(), BankLine.id.desc())
            .limit(limit)
        ).scalars()
    )
    targets = matched_targets(session, consortium_id, lines)
    return [LineView(line, targets.get(line.id)) for line in lines]


def statements(session: Session, consortium_id: int, *, limit: int) -> list[BankStatement]:
    return list(
        session.execute(
            select(BankStatement)
            .where(BankStatement.consortium_id == consortium_id)
            .order_by(BankStatement.id.desc())
            .limit(limit)
        ).scalars()
    )
