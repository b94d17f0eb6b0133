"""Approval policies: versioned data, published once a fallback rule exists
(docs/approvals.md#policy)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ledger.db import Base, BigId, UTCDateTime

QUORUM_SQL = "quorum IN ('any','all','n_of_m')"
# The amount band, as check_rules() has it (docs/approvals.md#policy): more than above_cents and
# at most up_to_cents, neither negative, and a band that holds at least one amount.
BAND_ORDERED_SQL = "above_cents IS NULL OR up_to_cents IS NULL OR above_cents < up_to_cents"
BAND_NOT_NEGATIVE_SQL = (
    "(above_cents IS NULL OR above_cents >= 0) AND (up_to_cents IS NULL OR up_to_cents >= 0)"
)


class PolicyStatus(StrEnum):
    """A policy version is edited as a draft, published once, and retired by the next one."""

    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


class ApprovalPolicy(Base):
    __tablename__ = "approval_policies"
    __table_args__ = (
        UniqueConstraint("consortium_id", "version"),
        CheckConstraint(
            f"status IN ({', '.join(repr(s.value) for s in PolicyStatus)})", name="status_known"
        ),
        # INVARIANT: at most one published policy per consortium.
        Index(
            "uq_approval_policies_published",
            "consortium_id",
            unique=True,
            postgresql_where=text("status = 'published'"),
            sqlite_where=text("status = 'published'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortia.id"))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PolicyRule(Base):
    """When it matches (every set condition holds) its steps join the chain."""

    __tablename__ = "policy_rules"
    __table_args__ = (
        UniqueConstraint("policy_id", "position"),
        CheckConstraint(BAND_ORDERED_SQL, name="band_ordered"),
        CheckConstraint(BAND_NOT_NEGATIVE_SQL, name="band_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("approval_policies.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(120))
    is_fallback: Mapped[bool] = mapped_column(Boolean, server_default=false())
    organisation_codes: Mapped[list[Any] | None] = mapped_column(JSON)
    category_codes: Mapped[list[Any] | None] = mapped_column(JSON)
    above_cents: Mapped[int | None] = mapped_column(BigInteger)  # amount more than this
    up_to_cents: Mapped[int | None] = mapped_column(BigInteger)  # amount at most this
    client_fy_total_above_cents: Mapped[int | None] = mapped_column(BigInteger)
    supplier_unverified: Mapped[bool] = mapped_column(Boolean, server_default=false())


class PolicyStep(Base):
    """An approver ``role@scope`` (or ``user:<id>``) with a quorum, an SLA and an escalation."""

    __tablename__ = "policy_steps"
    __table_args__ = (
        UniqueConstraint("rule_id", "position"),
        CheckConstraint(QUORUM_SQL, name="quorum_known"),
        CheckConstraint("(quorum = 'n_of_m') = (quorum_n IS NOT NULL)", name="n_given"),
        CheckConstraint("quorum_n IS NULL OR quorum_n >= 1", name="n_positive"),
        CheckConstraint("sla_business_days >= 1", name="sla_positive"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("policy_rules.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    approvers: Mapped[list[Any]] = mapped_column(JSON)  # e.g. ["FIN_MGR@lead", "CEO@lead"]
    quorum: Mapped[str] = mapped_column(String(8))
    quorum_n: Mapped[int | None] = mapped_column(Integer)
    sla_business_days: Mapped[int] = mapped_column(Integer)
    escalate_to: Mapped[str | None] = mapped_column(String(60))
