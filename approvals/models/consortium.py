"""A consortium (one region's pool), its organisations, and the settings its rules read."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from ledger.db import Base, BigId, UTCDateTime


class OrgKind(StrEnum):
    LEAD = "lead"
    PARTNER = "partner"


class CapMode(StrEnum):
    STOP = "stop"
    WARN = "warn"


class Consortium(Base):
    """Its ``code`` is also its ledger book's code."""

    __tablename__ = "consortia"
    __table_args__ = (
        CheckConstraint(
            "state IN ('ACT','NSW','NT','QLD','SA','TAS','VIC','WA')", name="state_known"
        ),
        CheckConstraint("gst_basis IN ('claims_credits','no_credits')", name="gst_basis_known"),
        CheckConstraint("cap_mode IN ('stop','warn')", name="cap_mode_known"),
        CheckConstraint(
            "client_fy_cap_cents > 0 AND approval_expiry_days > 0 AND needed_by_grace_days >= 0 "
            "AND payment_tolerance_basis_points >= 0 AND payment_tolerance_min_cents >= 0 "
            "AND duplicate_window_days >= 0 AND draft_archive_days > 0",
            name="settings_sane",
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(3))
    timezone: Mapped[str] = mapped_column(String(64), server_default="Australia/Sydney")
    gst_basis: Mapped[str] = mapped_column(String(20), server_default="claims_credits")
    client_fy_cap_cents: Mapped[int] = mapped_column(Integer, server_default="500000")
    cap_mode: Mapped[str] = mapped_column(String(4), server_default="stop")
    approval_expiry_days: Mapped[int] = mapped_column(Integer, server_default="30")
    needed_by_grace_days: Mapped[int] = mapped_column(Integer, server_default="14")
    payment_tolerance_basis_points: Mapped[int] = mapped_column(Integer, server_default="500")
    payment_tolerance_min_cents: Mapped[int] = mapped_column(Integer, server_default="2000")
    duplicate_window_days: Mapped[int] = mapped_column(Integer, server_default="14")
    draft_archive_days: Mapped[int] = mapped_column(Integer, server_default="90")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Organisation(Base):
    __tablename__ = "organisations"
    __table_args__ = (
        UniqueConstraint("consortium_id", "code"),
        CheckConstraint("kind IN ('lead','partner')", name="kind_known"),
        CheckConstraint("abn IS NULL OR length(abn) = 11", name="abn_digits"),
        # INVARIANT: one lead agency per consortium; it holds the pool and the bank account.
        Index(
            "uq_organisations_one_lead",
            "consortium_id",
            unique=True,
            postgresql_where=text("kind = 'lead'"),
            sqlite_where=text("kind = 'lead'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortia.id"))
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(8))
    abn: Mapped[str | None] = mapped_column(String(11))
    active: Mapped[bool] = mapped_column(Boolean, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
