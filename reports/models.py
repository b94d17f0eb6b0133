"""What was exported, when, by whom, and the checksum of the file it wrote.

INVARIANT: a scheduled run happens once per (consortium, kind, period): a partial unique index
makes a second scheduler's claim fail in the database, whoever wins the race. Manual runs
(``flexpool export run``, the finance page) are never blocked: they regenerate the file, and the
checksum shows whether it still matches what was exported before.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ledger.db import Base, BigId, UTCDateTime


class ExportKind(StrEnum):
    RECONCILIATION = "reconciliation"
    XERO = "xero"
    MYOB = "myob"
    JOURNAL = "journal"
    ACQUITTAL = "acquittal"


class RunStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ExportRun(Base):
    __tablename__ = "export_runs"
    __table_args__ = (
        CheckConstraint(
            f"kind IN ({', '.join(repr(k.value) for k in ExportKind)})", name="kind_known"
        ),
        CheckConstraint("status IN ('running', 'done', 'failed')", name="status_known"),
        CheckConstraint(
            "status != 'done' OR (sha256 IS NOT NULL AND file_name IS NOT NULL)",
            name="done_has_file",
        ),
        Index(
            "uq_export_runs_scheduled",
            "consortium_id",
            "kind",
            "period",
            unique=True,
            sqlite_where=text("scheduled"),
            postgresql_where=text("scheduled"),
        ),
        Index("ix_export_runs_newest", "consortium_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortia.id"))
    kind: Mapped[str] = mapped_column(String(20))
    period: Mapped[str] = mapped_column(String(20))  # 2026-10, FY2025-26 or "all"
    scheduled: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(10))
    requested_by: Mapped[str] = mapped_column(String(120))  # "user:12" or "scheduler"
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    file_name: Mapped[str | None] = mapped_column(String(200))
    sha256: Mapped[str | None] = mapped_column(String(64))
    row_counts: Mapped[str | None] = mapped_column(Text)  # JSON, e.g. {"entries": 503}
    ledger_sequence: Mapped[int | None] = mapped_column(BigInteger)
    ledger_hash: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)


class LineStatus(StrEnum):
    UNMATCHED = "unmatched"
    MATCHED = "matched"
    EXPLAINED = "explained"


class BankStatement(Base):
    """One imported statement file. The same file (by checksum) is never imported twice."""

    __tablename__ = "bank_statements"
    __table_args__ = (UniqueConstraint("consortium_id", "sha256", name="uq_bank_statements_file"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortia.id"))
    file_name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    line_count: Mapped[int] = mapped_column(Integer)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    imported_by: Mapped[str] = mapped_column(String(120))  # "user:12" or "cli:alice"
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)


MATCH_TARGETS = ("payment", "refund", "transaction")


def _matched_once(target: str) -> Index:
    """At most one line names a given payment, refund or transaction."""
    column = f"{target}_id"
    return Index(
        f"uq_bank_lines_{target}",
        column,
        unique=True,
        sqlite_where=text(f"{column} IS NOT NULL"),
        postgresql_where=text(f"{column} IS NOT NULL"),
    )


class BankLine(Base):
    """A statement line and what it was matched to, or why it needs no match.

    INVARIANT: a matched line names exactly one payment, refund or ledger transaction; an
    explained line carries its explanation; an unmatched line names nothing. A payment or refund
    is matched by at most one line (partial unique indexes), so money is never counted twice.
    """

    __tablename__ = "bank_lines"
    __table_args__ = (
        CheckConstraint("status IN ('unmatched', 'matched', 'explained')", name="status_known"),
        CheckConstraint(
            "(status = 'matched') = ("
            "(CASE WHEN payment_id IS NULL THEN 0 ELSE 1 END"
            " + CASE WHEN refund_id IS NULL THEN 0 ELSE 1 END"
            " + CASE WHEN transaction_id IS NULL THEN 0 ELSE 1 END) = 1)",
            name="matched_names_one",
        ),
        CheckConstraint(
            "status = 'matched' OR (payment_id IS NULL AND refund_id IS NULL"
            " AND transaction_id IS NULL)",
            name="only_matched_names",
        ),
        CheckConstraint(
            "(status = 'explained') = (explanation IS NOT NULL)", name="explained_has_reason"
        ),
        CheckConstraint("amount_cents != 0", name="amount_not_zero"),
        *(_matched_once(target) for target in MATCH_TARGETS),
        Index("ix_bank_lines_open", "consortium_id", "status", "on"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("bank_statements.id"), index=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortia.id"))
    line_number: Mapped[int] = mapped_column(Integer)  # in the file, header = line 1
    on: Mapped[date] = mapped_column(Date)
    amount_cents: Mapped[int] = mapped_column(BigInteger)  # negative = money out
    payee: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(500))
    reference: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refunds.id"))
    transaction_id: Mapped[int | None] = mapped_column(BigInteger)  # a grant or GST refund
    explanation: Mapped[str | None] = mapped_column(String(500))
    resolved_by: Mapped[str | None] = mapped_column(String(120))  # "auto", "user:12"
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class JobRun(Base):
    """A scheduled job's run for one key (a consortium and a day or period): at most once.

    Exports have their own ``ExportRun``; this covers the nightly verify, the timers and the
    financial-year close, so two scheduler processes never both do them.
    """

    __tablename__ = "job_runs"
    __table_args__ = (
        UniqueConstraint("job", "key", name="uq_job_runs_job_key"),
        CheckConstraint("status IN ('running', 'done', 'failed')", name="status_known"),
        Index("ix_job_runs_latest", "consortium_id", "job", "id"),  # a job's latest run
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortia.id"))
    job: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(10))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    detail: Mapped[str | None] = mapped_column(Text)


class MonthSignOff(Base):
    """Finance's sign-off of a month after a clean reconciliation; the ledger is locked with it.

    The ledger's own ``ledger_period_closes`` says the books are closed through a date; this row
    says why it was safe: which reconciliation run it rests on and the ledger state that run was
    built from, so an auditor can regenerate the workbook and compare its checksum. Append-only.
    """

    __tablename__ = "month_sign_offs"
    __table_args__ = (
        UniqueConstraint("consortium_id", "period", name="uq_month_sign_offs_period"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortia.id"))
    period: Mapped[str] = mapped_column(String(20))
    export_run_id: Mapped[int] = mapped_column(ForeignKey("export_runs.id"))
    ledger_sequence: Mapped[int] = mapped_column(BigInteger)
    ledger_hash: Mapped[str] = mapped_column(String(64))
    closed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime)
