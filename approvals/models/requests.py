"""Fund requests, their snapshotted approval chain, decisions, payments and attachments.

The chain a request follows is copied onto it at submit (``RequestStep`` rows with their
resolved approvers): editing the policy later never re-routes a request already in flight.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from approvals.models.policy import QUORUM_SQL
from ledger.db import Base, BigId, UTCDateTime

_STATES = (
    "'draft','pending','info_requested','returned','approved','part_paid','paid',"
    "'rejected','withdrawn','cancelled','expired'"
)
# A decision's action: every transition Action, and "amend" (a changed amount, which moves no
# state; approvals/lifecycle/amending.py). tests/test_enums_match_database.py holds both to them.
_DECISION_ACTIONS = (
    "'submit','approve','request_info','respond','send_back','resubmit','withdraw','reject',"
    "'cancel','expire','pay','close','amend'"
)


class FundRequest(Base):
    __tablename__ = "fund_requests"
    __table_args__ = (
        UniqueConstraint("consortium_id", "number"),
        CheckConstraint(f"state IN ({_STATES})", name="state_known"),
        CheckConstraint(
            "amount_cents > 0 AND gst_cents >= 0 AND gst_cents < amount_cents", name="amounts"
        ),
        CheckConstraint("paid_cents >= 0", name="paid_non_negative"),
        # INVARIANT: a request that holds or has spent money was approved, with a reservation.
        CheckConstraint(
            "state NOT IN ('approved','part_paid','paid') OR (approved_at IS NOT NULL "
            "AND approved_cents IS NOT NULL AND reservation_id IS NOT NULL)",
            name="approved_has_reservation",
        ),
        CheckConstraint("approved_cents IS NULL OR approved_cents > 0", name="approved_positive"),
        Index("ix_fund_requests_state", "consortium_id", "state"),
        Index("ix_fund_requests_newest", "consortium_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortia.id"))
    number: Mapped[int] = mapped_column(Integer)  # shown as R-0042
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id"))
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"))
    amount_cents: Mapped[int] = mapped_column(BigInteger)  # inc-GST, as quoted
    gst_cents: Mapped[int] = mapped_column(BigInteger)
    purpose: Mapped[str] = mapped_column(String(500))
    no_other_channel: Mapped[str] = mapped_column(String(1000))
    needed_by: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16))
    round: Mapped[int] = mapped_column(Integer, server_default="0")
    current_step: Mapped[int | None] = mapped_column(Integer)
    approved_cents: Mapped[int | None] = mapped_column(BigInteger)  # charged to funds
    paid_cents: Mapped[int] = mapped_column(BigInteger, server_default="0")
    reservation_id: Mapped[int | None] = mapped_column(BigInteger)  # the ledger's pending transfer
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    carried_over: Mapped[bool] = mapped_column(Boolean, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StepStatus(StrEnum):
    """A step of a request's chain waits its turn, is active (approvers may decide), then is done
    or cancelled (the request left the chain before reaching it)."""

    WAITING = "waiting"
    ACTIVE = "active"
    DONE = "done"
    CANCELLED = "cancelled"


class RequestStep(Base):
    __tablename__ = "request_steps"
    __table_args__ = (
        UniqueConstraint("request_id", "round", "position"),
        CheckConstraint(QUORUM_SQL, name="quorum_known"),
        CheckConstraint(
            f"status IN ({', '.join(repr(s.value) for s in StepStatus)})", name="status_known"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("fund_requests.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    approvers: Mapped[list[Any]] = mapped_column(JSON)
    quorum: Mapped[str] = mapped_column(String(8))
    quorum_n: Mapped[int | None] = mapped_column(Integer)
    sla_business_days: Mapped[int] = mapped_column(Integer)
    escalate_to: Mapped[str | None] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(10))
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_on: Mapped[date | None] = mapped_column(Date)
    paused_business_days: Mapped[int] = mapped_column(Integer, server_default="0")
    reminded_half_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_breach_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StepApprover(Base):
    """Who may decide a step, resolved when it activates (plus anyone added by escalation)."""

    __tablename__ = "step_approvers"
    __table_args__ = (UniqueConstraint("step_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("request_steps.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    via: Mapped[str] = mapped_column(String(20))  # the spec that named them, or "escalation"


class Decision(Base):
    """Every action on a request, who took it and for whom. Append-only."""

    __tablename__ = "decisions"
    __table_args__ = (
        # "Recently decided by you" on every approver's inbox.
        Index("ix_decisions_actor", "actor_id", "id"),
        CheckConstraint(f"action IN ({_DECISION_ACTIONS})", name="action_known"),
        CheckConstraint(f"from_state IN ({_STATES})", name="from_state_known"),
        CheckConstraint(f"to_state IN ({_STATES})", name="to_state_known"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("fund_requests.id"), index=True)
    step_id: Mapped[int | None] = mapped_column(ForeignKey("request_steps.id"))
    round: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(String(1000))
    amount_cents: Mapped[int | None] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class RequestException(Base):
    """What an auditor must see: overrides, paid above approved, duplicate flags, escalations."""

    __tablename__ = "request_exceptions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("fund_requests.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    detail: Mapped[str] = mapped_column(String(1000))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Payment(Base):
    """A supplier payment against a request; its ledger transaction posts the reservation."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("supplier_id", "invoice_number"),  # the duplicate-invoice guard
        CheckConstraint(
            "inc_gst_cents > 0 AND gst_cents >= 0 AND gst_cents < inc_gst_cents", name="amounts"
        ),
        CheckConstraint("charged_cents > 0", name="charged_positive"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("fund_requests.id"), index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"))
    invoice_number: Mapped[str] = mapped_column(String(40))
    inc_gst_cents: Mapped[int] = mapped_column(BigInteger)
    gst_cents: Mapped[int] = mapped_column(BigInteger)
    charged_cents: Mapped[int] = mapped_column(BigInteger)
    paid_on: Mapped[date] = mapped_column(Date)
    ledger_transaction_id: Mapped[int] = mapped_column(BigInteger)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Refund(Base):
    """Money a supplier gave back on a payment; never more, in all, than the payment charged.

    INVARIANT: one refund row is one ledger transaction, recorded once per reference; the
    database refuses refunds beyond their payment (trigger ``refunds_within_payment``, 0009).
    """

    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        Index("uq_refunds_payment_id_reference", "payment_id", "reference", unique=True),
        Index("uq_refunds_ledger_transaction_id", "ledger_transaction_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    received_on: Mapped[date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(100))
    ledger_transaction_id: Mapped[int] = mapped_column(BigInteger)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Attachment(Base):
    """A quote, invoice or receipt; the bytes live outside the database, named by their hash."""

    __tablename__ = "attachments"
    __table_args__ = (
        CheckConstraint("kind IN ('quote','invoice','receipt','other')", name="kind_known"),
        CheckConstraint("size_bytes > 0", name="size_positive"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("fund_requests.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(60))  # sniffed from the bytes, not trusted
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
