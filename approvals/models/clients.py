"""Clients, held by an SF at a partner NGO, and their Action Plan needs.

APP 3: only what the program needs. A pseudonymous code and initials; no names, no diagnoses,
no health notes, anywhere.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ledger.db import Base, BigId, UTCDateTime


class ClientStatus(StrEnum):
    REFERRED = "referred"
    ACTIVE = "active"
    INACTIVE = "inactive"
    EXITED = "exited"


CLIENT_MOVES: dict[ClientStatus, frozenset[ClientStatus]] = {
    ClientStatus.REFERRED: frozenset({ClientStatus.ACTIVE, ClientStatus.EXITED}),
    ClientStatus.ACTIVE: frozenset({ClientStatus.INACTIVE, ClientStatus.EXITED}),
    ClientStatus.INACTIVE: frozenset({ClientStatus.ACTIVE, ClientStatus.EXITED}),
    ClientStatus.EXITED: frozenset({ClientStatus.ACTIVE}),  # re-activation is allowed
}


class NeedDomain(StrEnum):
    HOUSING = "housing"
    PHYSICAL_HEALTH = "physical_health"
    SOCIAL_CONNECTION = "social_connection"
    TRANSPORT = "transport"
    EDUCATION_EMPLOYMENT = "education_employment"
    DAILY_LIVING = "daily_living"


class NeedStatus(StrEnum):
    OPEN = "open"
    MET = "met"
    CLOSED = "closed"


_STATUSES = "'referred','active','inactive','exited'"


class Client(Base):
    __tablename__ = "clients"
    __table_args__ = (
        UniqueConstraint("consortium_id", "code"),
        CheckConstraint(f"status IN ({_STATUSES})", name="status_known"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortia.id"))
    code: Mapped[str] = mapped_column(String(20))
    initials: Mapped[str] = mapped_column(String(3))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    support_facilitator_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ClientStatusChange(Base):
    __tablename__ = "client_status_changes"
    __table_args__ = (CheckConstraint(f"to_status IN ({_STATUSES})", name="status_known"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(10))
    to_status: Mapped[str] = mapped_column(String(10))
    changed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Need(Base):
    """One Action Plan need: a domain and a short goal in the client's own terms."""

    __tablename__ = "needs"
    __table_args__ = (
        CheckConstraint(
            "domain IN ('housing','physical_health','social_connection','transport',"
            "'education_employment','daily_living')",
            name="domain_known",
        ),
        CheckConstraint("status IN ('open','met','closed')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    domain: Mapped[str] = mapped_column(String(24))
    goal: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
