"""Finding what each statement line is, and matching it only when there is no doubt.

A candidate has the line's exact amount (cents, same direction) and is dated within
``MATCH_WINDOW_DAYS`` (7) of the line: banks clear a payment a few days after it is recorded.
A reference (or description) that quotes the candidate's invoice number, its request number
(``R-0042``) or a refund's reference ranks it first. A line is matched automatically only when
exactly one candidate is best (the only one quoted, or the only one at all) and no other line
of the batch wants the same one, unless this line alone quotes it. Anything less certain stays
unmatched, with its candidates shown, for a person to decide. The window is a module constant
rather than a consortium setting: the settings table is shared and no consortium has asked to
change it yet.

Segregation of duties ("the reconciler is not the payer", docs/approvals.md#segregation-of-duties):
when a person imports a file, lines whose best candidate that person recorded are left for someone
else to match.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from reports.bank.targets import Target, TargetKind, matched_column, open_targets, targets_by_id
from reports.models import BankLine, LineStatus

MATCH_WINDOW_DAYS = 7
REVIEW_WINDOW_DAYS = 31  # what a person is shown: wider, since they judge the dates themselves
AUTO = "auto"


@dataclass(frozen=True)
class Candidate:
    target: Target
    by_reference: bool
    days_apart: int


def candidates_for(
    session: Session,
    consortium_id: int,
    lines: Sequence[BankLine],
    *,
    window: int = MATCH_WINDOW_DAYS,
) -> dict[int, list[Candidate]]:
    """Each line's unmatched candidates, quoted ones first, then the nearest in date."""
    if not lines:
        return {}
    reach = timedelta(days=window)
    start = min(line.on for line in lines) - reach
    end = max(line.on for line in lines) + reach
    amounts = {line.amount_cents for line in lines}
    by_amount: dict[int, list[Target]] = {}
    for target in open_targets(session, consortium_id, amounts, start, end):
        by_amount.setdefault(target.amount_cents, []).append(target)
    found: dict[int, list[Candidate]] = {}
    for line in lines:
        near = [
            Candidate(t, _quoted(line, t), abs((t.on - line.on).days))
            for t in by_amount.get(line.amount_cents, [])
            if abs((t.on - line.on).days) <= window
        ]
        near.sort(key=lambda c: (not c.by_reference, c.days_apart, c.target.kind, c.target.id))
        found[line.id] = near
    return found


def best(candidates: Sequence[Candidate]) -> Candidate | None:
    """The one candidate beyond doubt, if there is one."""
    quoted = [c for c in candidates if c.by_reference]
    pool = quoted or list(candidates)
    return pool[0] if len(pool) == 1 else None


def auto_match(
    session: Session,
    consortium_id: int,
    lines: Sequence[BankLine],
    *,
    reconciler_id: int | None,
    now: datetime,
) -> list[BankLine]:
    """Match the unmatched ``lines`` that have one certain candidate; return those matched."""
    open_lines = [line for line in lines if line.status == LineStatus.UNMATCHED.value]
    found = candidates_for(session, consortium_id, open_lines)
    claims: dict[str, list[tuple[BankLine, Candidate]]] = {}
    for line in open_lines:
        pick = best(found[line.id])
        if pick is not None:
            claims.setdefault(pick.target.token, []).append((line, pick))
    matched = []
    for claimants in claims.values():
        winner = _uncontested(claimants)
        if winner is None:
            continue
        line, pick = winner
        if reconciler_id is not None and pick.target.recorded_by_id == reconciler_id:
            continue  # the payer never reconciles their own payment, not even by import
        set_matched(line, pick.target, resolved_by=AUTO, now=now)
        matched.append(line)
    session.flush()
    return sorted(matched, key=lambda line: line.line_number)


def _uncontested(
    claimants: list[tuple[BankLine, Candidate]],
) -> tuple[BankLine, Candidate] | None:
    """Several lines want one item: only a line that alone quotes it may have it."""
    if len(claimants) == 1:
        return claimants[0]
    quoted = [claim for claim in claimants if claim[1].by_reference]
    return quoted[0] if len(quoted) == 1 else None


def set_matched(line: BankLine, target: Target, *, resolved_by: str, now: datetime) -> None:
    line.status = LineStatus.MATCHED.value
    line.payment_id = target.id if target.kind is TargetKind.PAYMENT else None
    line.refund_id = target.id if target.kind is TargetKind.REFUND else None
    line.transaction_id = target.id if target.kind is TargetKind.TRANSACTION else None
    line.explanation = None
    line.resolved_by = resolved_by
    line.resolved_at = now


def _quoted(line: BankLine, target: Target) -> bool:
    said = f"{line.reference} {line.description}"
    return any(
        _mentions(said, key) or _mentions(key, line.reference, needs_digit=True)
        for key in target.keys
    )


def _mentions(text: str, key: str, *, needs_digit: bool = False) -> bool:
    """``key`` appears in ``text`` as a whole token ("INV-12" is not in "INV-123")."""
    key = key.strip().lower()
    if len(key) < 3 or (needs_digit and not any(ch.isdigit() for ch in key)):
        return False
    pattern = rf"(?<![0-9a-z]){re.escape(key)}(?![0-9a-z])"
    return re.search(pattern, text.lower()) is not None


@dataclass(frozen=True)
class LineView:
    line: BankLine
    matched: Target | None  # what a matched line names; None for unmatched and explained


def matched_targets(
    session: Session, consortium_id: int, lines: Sequence[BankLine]
) -> dict[int, Target]:
    """What each matched line names, keyed by line id, in one query per kind."""
    found: dict[int, Target] = {}
    for kind in TargetKind:
        column = matched_column(kind).key
        wanted = {line.id: getattr(line, column) for line in lines if getattr(line, column)}
        targets = targets_by_id(session, consortium_id, kind, wanted.values())
        found |= {line_id: targets[t] for line_id, t in wanted.items() if t in targets}
    return found


def lines_for_period(
    session: Session, consortium_id: int, start: date, end: date
) -> list[LineView]:
    """Every statement line dated ``start``–``end``, with what it matched (reconciliation)."""
    lines = list(
        session.execute(
            select(BankLine)
            .where(BankLine.consortium_id == consortium_id, BankLine.on.between(start, end))
            .order_by(BankLine.on, BankLine.statement_id, BankLine.line_number)
        ).scalars()
    )
    targets = matched_targets(session, consortium_id, lines)
    return [LineView(line, targets.get(line.id)) for line in lines]
