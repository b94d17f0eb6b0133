"""Payments, refunds, approvals and decisions, recomputed from the records they must agree with.

The ledger's chain covers its own rows and the audit chain its events; the rows beside them
(a payment's figures, an approved amount, who decided what) are checked here against those
chained records, so changing one underneath the application, with its triggers off, is found:

- a payment matches its ledger transaction (key naming request, supplier and invoice; date;
  what left the bank; what the client's funds were charged), and a request's payments add up to
  what it says was paid;
- a refund matches its own transaction (date, amount back into the bank), no transaction
  records two refunds, and the refunds of a payment never exceed it;
- an approved amount equals the hold its final approval reserved;
- every decision is the one its audit event recorded (``audit.decision_digest``), and every
  decision the audit trail recorded still exists; a decision from before events carried a
  digest must still have its event (request, action, actor and moment).

Every disagreement is listed (``Finding`` with check ``records``), none stops the walk.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, aliased

from approvals.audit import decision_digest
from approvals.lifecycle.amending import AMEND
from approvals.lifecycle.payments import payment_key
from approvals.lifecycle.requests import request_label
from approvals.lifecycle.states import CHARGED_STATES
from approvals.models import AuditEvent, Consortium, Decision, FundRequest, Payment, Refund
from ledger.models import accounts, books, transactions, transfers
from ledger.money import format_cents
from ledger.values import Finding

CHECK = "records"


def verify_records(session: Session, consortium_id: int) -> list[Finding]:
    """Every disagreement between a consortium's records and its ledger and audit chains."""
    code = session.get_one(Consortium, consortium_id).code
    findings: list[Finding] = []

    def add(message: str, **where: Any) -> None:
        findings.append(Finding(CHECK, message, book=code, **where))

    _payments(session, consortium_id, code, add)
    _refunds(session, consortium_id, code, add)
    _approvals(session, consortium_id, code, add)
    _decisions(session, consortium_id, add)
    return findings


def _moved(tx_column: Any) -> Any:
    """Per transaction: what left the bank, what left client funds for it, and what came back."""
    debit, credit = aliased(accounts), aliased(accounts)
    return (
        select(
            transfers.c.transaction_id,
            func.sum(case((credit.c.code == "bank", transfers.c.amount), else_=0)).label("out"),
            func.sum(
                case((and_(credit.c.code == "bank", _client(debit)), transfers.c.amount), else_=0)
            ).label("charged"),
            func.sum(
                case((and_(debit.c.code == "bank", _client(credit)), transfers.c.amount), else_=0)
            ).label("back"),
        )
        .join(debit, debit.c.id == transfers.c.debit_account_id)
        .join(credit, credit.c.id == transfers.c.credit_account_id)
        .where(transfers.c.transaction_id.in_(tx_column))
        .group_by(transfers.c.transaction_id)
        .subquery()
    )


def _cents(total: Any) -> int | None:
    """A SUM: PostgreSQL gives a Decimal, SQLite an int, and NULL when nothing moved."""
    return None if total is None else int(total)


def _client(table: Any) -> Any:
    return table.c.code.like("client:%")


def _payments(session: Session, consortium_id: int, code: str, add: Any) -> None:
    ids = (
        select(Payment.ledger_transaction_id)
        .join(FundRequest, FundRequest.id == Payment.request_id)
        .where(FundRequest.consortium_id == consortium_id)
    )
    moved = _moved(ids)
    rows = session.execute(
        select(Payment, FundRequest.number, transactions.c.idempotency_key,
               transactions.c.effective_date, books.c.code.label("book"), moved.c.out,
               moved.c.charged)
        .join(FundRequest, FundRequest.id == Payment.request_id)
        .outerjoin(transactions, transactions.c.id == Payment.ledger_transaction_id)
        .outerjoin(books, books.c.id == transactions.c.book_id)
        .outerjoin(moved, moved.c.transaction_id == Payment.ledger_transaction_id)
        .where(FundRequest.consortium_id == consortium_id)
        .order_by(Payment.id)
    ).all()  # fmt: skip
    paid: dict[int, int] = defaultdict(int)
    for payment, number, key, on, book, out_sum, charged_sum in rows:
        out, charged = _cents(out_sum), _cents(charged_sum)
        paid[payment.request_id] += payment.charged_cents
        label = f"Payment {payment.id} ({request_label(number)}, invoice {payment.invoice_number})"
        expected = payment_key(payment.request_id, payment.supplier_id, payment.invoice_number)
        if book != code or key != expected:
            add(f"{label} does not match its ledger transaction {payment.ledger_transaction_id}.")
        elif on != payment.paid_on:
            add(f"{label} says paid on {payment.paid_on}, its transaction is dated {on}.")
        elif (out, charged) != (payment.inc_gst_cents, payment.charged_cents):
            add(
                f"{label} says {format_cents(payment.inc_gst_cents)} paid, "
                f"{format_cents(payment.charged_cents)} charged; its transaction moved "
                f"{format_cents(out or 0)} and {format_cents(charged or 0)}."
            )
    requests = session.execute(
        select(FundRequest.id, FundRequest.number, FundRequest.paid_cents).where(
            FundRequest.consortium_id == consortium_id
        )
    ).all()
    for request_id, number, paid_cents in requests:
        if paid_cents != paid[request_id]:
            add(
                f"{request_label(number)} says {format_cents(paid_cents)} paid; its payments add "
                f"up to {format_cents(paid[request_id])}."
            )


def _refunds(session: Session, consortium_id: int, code: str, add: Any) -> None:
    ids = (
        select(Refund.ledger_transaction_id)
        .join(Payment, Payment.id == Refund.payment_id)
        .join(FundRequest, FundRequest.id == Payment.request_id)
        .where(FundRequest.consortium_id == consortium_id)
    )
    moved = _moved(ids)
    rows = session.execute(
        select(Refund, Payment.charged_cents, transactions.c.effective_date,
               books.c.code.label("book"), moved.c.back)
        .join(Payment, Payment.id == Refund.payment_id)
        .join(FundRequest, FundRequest.id == Payment.request_id)
        .outerjoin(transactions, transactions.c.id == Refund.ledger_transaction_id)
        .outerjoin(books, books.c.id == transactions.c.book_id)
        .outerjoin(moved, moved.c.transaction_id == Refund.ledger_transaction_id)
        .where(FundRequest.consortium_id == consortium_id)
        .order_by(Refund.id)
    ).all()  # fmt: skip
    refunded: dict[int, int] = defaultdict(int)
    seen: dict[int, int] = {}
    for refund, charged, on, book, back_sum in rows:
        back = _cents(back_sum)
        label = f"Refund {refund.id} ({refund.reference})"
        refunded[refund.payment_id] += refund.amount_cents
        if refund.ledger_transaction_id in seen:
            add(
                f"{label} and refund {seen[refund.ledger_transaction_id]} share one ledger "
                "transaction: one of them moved no money."
            )
        seen[refund.ledger_transaction_id] = refund.id
        if book != code or on != refund.received_on or back != refund.amount_cents:
            add(
                f"{label} of {format_cents(refund.amount_cents)} does not match its ledger "
                f"transaction {refund.ledger_transaction_id}."
            )
        if refunded[refund.payment_id] > charged:
            add(
                f"Payment {refund.payment_id}'s refunds reach "
                f"{format_cents(refunded[refund.payment_id])}, more than the "
                f"{format_cents(charged)} it charged."
            )


def _approvals(session: Session, consortium_id: int, code: str, add: Any) -> None:
    """An approved amount is the hold its final approval reserved (key ``…:reserve:<round>``)."""
    reserved = (
        select(transfers.c.request_id, transactions.c.idempotency_key, transfers.c.amount)
        .join(transactions, transactions.c.id == transfers.c.transaction_id)
        .join(books, books.c.id == transactions.c.book_id)
        .where(books.c.code == code, transfers.c.phase == "pending")
        .where(transactions.c.idempotency_key.like("request:%:reserve:%"))
    )
    holds = {(row.request_id, row.idempotency_key): row.amount for row in session.execute(reserved)}
    rows = session.execute(
        select(FundRequest.id, FundRequest.number, FundRequest.round, FundRequest.approved_cents)
        .where(FundRequest.consortium_id == consortium_id)
        .where(FundRequest.state.in_(CHARGED_STATES))
        .order_by(FundRequest.id)
    ).all()
    for request_id, number, round_, approved in rows:
        held = holds.get((request_id, f"request:{request_id}:reserve:{round_}"))
        if held != approved:
            add(
                f"{request_label(number)} says {format_cents(approved or 0)} approved; its "
                f"approval reserved {format_cents(held or 0)}."
            )


def _decisions(session: Session, consortium_id: int, add: Any) -> None:
    """Each decision against its event's digest; one from before digests, against its event."""
    recorded: dict[int, str] = {}
    legacy: Counter[tuple[Any, ...]] = Counter()
    events = session.execute(
        select(AuditEvent.subject_id, AuditEvent.action, AuditEvent.actor_id, AuditEvent.at,
               AuditEvent.details)
        .where(AuditEvent.consortium_id == consortium_id, AuditEvent.subject_type == "request")
    )  # fmt: skip
    for subject_id, action, actor_id, at, details in events:
        if isinstance(details, dict) and "decision" in details:
            recorded[int(details["decision"])] = str(details.get("decision_hash"))
        else:
            legacy[(subject_id, action, actor_id, at)] += 1
    decisions = session.execute(
        select(Decision, FundRequest.number)
        .join(FundRequest, FundRequest.id == Decision.request_id)
        .where(FundRequest.consortium_id == consortium_id)
        .order_by(Decision.id)
    ).all()
    for decision, number in decisions:
        label = f"Decision {decision.id} ({decision.action} on {request_label(number)})"
        digest = recorded.pop(decision.id, None)
        if digest is None and _legacy_event(legacy, decision):
            continue
        if digest is None:
            add(f"{label} is not in the audit trail.")
        elif digest != decision_digest(decision):
            add(f"{label} is not what the audit trail recorded (who, what, amount or when).")
    for missing in sorted(recorded):
        add(f"The audit trail records decision {missing}, which is no longer there.")


def _legacy_event(legacy: Counter[tuple[Any, ...]], decision: Decision) -> bool:
    """A decision recorded before events carried digests: its event names request, action,
    actor and moment (nothing more can be checked for it)."""
    action = "request.amended" if decision.action == AMEND else f"request.{decision.action}"
    key = (decision.request_id, action, decision.actor_id, decision.at)
    if legacy[key] == 0:
        return False
    legacy[key] -= 1
    return True
