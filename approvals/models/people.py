"""Users, their roles per organisation (memberships), and delegations of approvals."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from ledger.db import Base, BigId, UTCDateTime


class Role(StrEnum):
    SF = "SF"
    TL = "TL"
    PM = "PM"
    FIN = "FIN"
    FIN_MGR = "FIN_MGR"
    CEO = "CEO"
    ADMIN = "ADMIN"
    AUDITOR = "AUDITOR"


# INVARIANT (SoD 4): these roles never approve, whatever a policy says.
NEVER_APPROVE = frozenset({Role.ADMIN, Role.AUDITOR})
# Finance at the lead agency: payments, refunds, suppliers, grants, bank statements, exports, the
# month close. Every check of "is this finance" reads this one pair.
FINANCE = (Role.FIN, Role.FIN_MGR)
# The roles that decide steps: a delegation goes only to someone holding one, they have an
# approvals inbox, and nobody holds one beside ADMIN (SoD 4). Who takes part in which decision is
# approvals/lifecycle/permissions.py's table, which reads these groups.
APPROVING = (Role.TL, Role.PM, Role.FIN_MGR, Role.CEO)
ROLES_SQL = "role IN ('SF','TL','PM','FIN','FIN_MGR','CEO','ADMIN','AUDITOR')"


class User(Base):
    __tablename__ = "users"
    __table_args__ = (Index("uq_users_email_lower", func.lower("email"), unique=True),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Raised at every sign-out and password change: a session carries the value it was made with,
    # so every older session (a copied cookie too) ends at once.
    session_epoch: Mapped[int] = mapped_column(Integer, server_default="0")


class Membership(Base):
    """A user's role in one organisation, for a date range (``valid_to`` open-ended if null)."""

    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("user_id", "organisation_id", "role", "valid_from"),
        CheckConstraint(ROLES_SQL, name="role_known"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="dates_ordered"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    role: Mapped[str] = mapped_column(String(8))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)


class Delegation(Base):
    """B decides for A between two dates; decisions record "by B on behalf of A"."""

    __tablename__ = "delegations"
    __table_args__ = (
        CheckConstraint("from_user_id <> to_user_id", name="not_self"),
        CheckConstraint("ends_on >= starts_on", name="dates_ordered"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortia.id"))
    from_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    to_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SignInFailure(Base):
    """A password that was wrong (or is still being checked), kept for the longest throttling
    window: counting these per account and per address throttles sign-in across every worker."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (
        Index("ix_sign_in_failures_account_at", "account", "at"),
        Index("ix_sign_in_failures_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
