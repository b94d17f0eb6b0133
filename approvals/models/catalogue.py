"""What money is spent on (categories with their GL codes) and who is paid (suppliers)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    String,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from ledger.db import Base, BigId, UTCDateTime


class Category(Base):
    """Data, set by ADMIN; never deleted, only made inactive (payments keep pointing at it)."""

    __tablename__ = "categories"
    __table_args__ = (
        UniqueConstraint("consortium_id", "code"),
        CheckConstraint(
            "client_fy_cap_cents IS NULL OR client_fy_cap_cents > 0", name="cap_positive"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortia.id"))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    gl_code: Mapped[str] = mapped_column(String(20))
    tax_code: Mapped[str] = mapped_column(String(40))
    # What one client may receive in this category in a financial year (none: no category cap).
    client_fy_cap_cents: Mapped[int | None] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(Boolean, server_default=true())


class Supplier(Base):
    """INVARIANT (SoD 5): whoever last changed the ABN or bank details is not who verified them."""

    __tablename__ = "suppliers"
    __table_args__ = (
        CheckConstraint("abn IS NULL OR length(abn) = 11", name="abn_digits"),
        CheckConstraint(
            "verified_by_id IS NULL OR verified_by_id <> changed_by_id",
            name="second_person_verifies",
        ),
        CheckConstraint(
            "(verified_by_id IS NULL) = (verified_at IS NULL)", name="verified_together"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortia.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    abn: Mapped[str | None] = mapped_column(String(11))
    gst_registered: Mapped[bool] = mapped_column(Boolean)
    bsb: Mapped[str | None] = mapped_column(String(6))
    account_number: Mapped[str | None] = mapped_column(String(10))
    changed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
