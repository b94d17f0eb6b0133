"""What was exported, when, by whom, and the checksum of the file it wrote.

INVARIANT: a scheduled run happens once per (consortium, kind, period): a partial unique index
makes a second scheduler's claim fail in the database, whoever wins the race. Manual runs
(``flexpool export run``, the finance page) are never blocked: they regenerate the file, and the
checksum shows whether it still matches what was exported before.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, String, Text, text
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
