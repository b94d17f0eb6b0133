"""Running an export: claim the run, write the file atomically, record what it holds.

Why this shape: finance hands these files to auditors and the funder, so each one must be
traceable (who asked, from which ledger state, with which checksum) and never half-written. The
run is claimed in its own committed transaction first (a second scheduler's claim for the same
period fails on the unique index and does nothing); the file is written beside its final name
and renamed into place only when complete; the run is then marked done with the file's SHA-256,
or failed with the reason, and a failed run leaves no file behind.

A file is a pure function of the ledger and the period: running it again on the same state
writes the same bytes, which is how a closed period is checked at a later date.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from approvals.errors import InvalidInputError
from approvals.fiscal import Period, parse_financial_year, parse_month
from approvals.models import Consortium
from ledger.db import run_in_transaction
from reports.accounting import write_myob, write_xero
from reports.acquittal import write_acquittal
from reports.journal import write_journal
from reports.models import ExportKind, ExportRun, RunStatus
from reports.reconciliation import write_reconciliation
from reports.written import Written

ALL_HISTORY = "all"


Writer = Callable[[Session, str, BinaryIO, Period | None], Written]


def _journal(session: Session, book: str, out: BinaryIO, period: Period | None) -> Written:
    text = io.TextIOWrapper(out, encoding="utf-8", newline="\n")
    summary = write_journal(session, book, text, period)
    text.flush()
    text.detach()
    return Written(
        {"entries": summary.entries, "pending": summary.pending},
        summary.through_sequence,
        summary.through_hash,
    )


MONTH, YEAR = "month", "year"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV, TEXT = "text/csv", "text/plain"


@dataclass(frozen=True)
class Exporter:
    label: str  # what finance calls it
    suffix: str  # the file's extension
    media_type: str  # what a download says it is (text files are UTF-8)
    write: Writer
    spans: frozenset[str] = frozenset({MONTH, YEAR})  # the periods it covers
    whole_history: bool = False  # may run without a period (covering everything so far)


# INVARIANT: one entry per kind that can run; the CLI and the exports page offer exactly these.
EXPORTERS: dict[ExportKind, Exporter] = {
    ExportKind.JOURNAL: Exporter("hledger journal", "journal", TEXT, _journal, whole_history=True),
    ExportKind.RECONCILIATION: Exporter(
        "reconciliation workbook", "xlsx", XLSX, write_reconciliation
    ),
    ExportKind.XERO: Exporter("Xero manual journal", "csv", CSV, write_xero),
    ExportKind.MYOB: Exporter("MYOB general journal", "txt", TEXT, write_myob),
    ExportKind.ACQUITTAL: Exporter(
        "financial-year acquittal", "xlsx", XLSX, write_acquittal, spans=frozenset({YEAR})
    ),
}


def media_types() -> list[str]:
    return sorted({exporter.media_type for exporter in EXPORTERS.values()})


def available_kinds() -> list[ExportKind]:
    return [kind for kind in ExportKind if kind in EXPORTERS]


def parse_period(label: str | None, kind: ExportKind) -> Period | None:
    """``2026-10``, ``FY2025-26``, or nothing where the kind allows all history."""
    if not label:
        if EXPORTERS[kind].whole_history:
            return None
        raise InvalidInputError(
            f"A {kind.value} export needs a period.",
            fields={"period": "Use YYYY-MM or FY2025-26."},
        )
    text = label.strip()
    is_year = text.upper().startswith("FY")
    span = YEAR if is_year else MONTH
    if span not in EXPORTERS[kind].spans:
        expected = "FY2025-26" if YEAR in EXPORTERS[kind].spans else "YYYY-MM"
        raise InvalidInputError(
            f"A {EXPORTERS[kind].label} covers a {'month' if is_year else 'financial year'}.",
            fields={"period": f"Use {expected}."},
        )
    return parse_financial_year(text) if is_year else parse_month(text)


@dataclass(frozen=True)
class ExportOrder:
    consortium: str
    kind: ExportKind
    period: Period | None
    out_dir: Path
    requested_by: str  # "user:12", "cli:alice" or "scheduler"
    scheduled: bool = False


def file_name(order: ExportOrder) -> str:
    label = order.period.label if order.period else ALL_HISTORY
    return f"{order.consortium}-{order.kind.value}-{label}.{EXPORTERS[order.kind].suffix}"


def run_export(
    factory: sessionmaker[Session], order: ExportOrder, *, now: Callable[[], datetime]
) -> ExportRun | None:
    """The finished run (done or failed), or ``None`` if this scheduled period already ran."""
    run_id = _claim(factory, order, now())
    if run_id is None:
        return None
    target = order.out_dir / file_name(order)
    try:
        with factory() as session:
            written, digest = _write_atomically(session, order, target)
    except Exception as error:  # noqa: BLE001 - every failure is recorded, then re-raised
        _finish(factory, run_id, now(), error=f"{type(error).__name__}: {error}")
        raise
    return _finish(factory, run_id, now(), written=written, digest=digest, name=target.name)


def _claim(factory: sessionmaker[Session], order: ExportOrder, at: datetime) -> int | None:
    def claim(session: Session) -> int:
        consortium_id = session.execute(
            select(Consortium.id).where(Consortium.code == order.consortium)
        ).scalar()
        if consortium_id is None:
            raise InvalidInputError(
                f"There is no consortium {order.consortium!r}.",
                fields={"consortium": "Use a consortium code."},
            )
        run = ExportRun(
            consortium_id=consortium_id,
            kind=order.kind.value,
            period=order.period.label if order.period else ALL_HISTORY,
            scheduled=order.scheduled,
            status=RunStatus.RUNNING.value,
            requested_by=order.requested_by,
            requested_at=at,
        )
        session.add(run)
        session.flush()
        return run.id

    try:
        return run_in_transaction(factory, claim)
    except IntegrityError:
        if order.scheduled:
            return None  # another scheduler claimed this period first
        raise


def _write_atomically(session: Session, order: ExportOrder, target: Path) -> tuple[Written, str]:
    """Write beside the target, flush to disk, then rename over it: never a partial file."""
    order.out_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    writer = EXPORTERS[order.kind].write
    try:
        with open(partial, "wb") as raw:
            written = writer(session, order.consortium, raw, order.period)
            raw.flush()
            os.fsync(raw.fileno())
        digest = sha256_of(partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    _sync_directory(order.out_dir)
    return written, digest


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _sync_directory(folder: Path) -> None:
    """Make the rename itself durable (POSIX); harmless where directories cannot be opened."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _finish(
    factory: sessionmaker[Session],
    run_id: int,
    at: datetime,
    *,
    written: Written | None = None,
    digest: str | None = None,
    name: str | None = None,
    error: str | None = None,
) -> ExportRun:
    def finish(session: Session) -> ExportRun:
        run = session.get_one(ExportRun, run_id)
        run.finished_at = at
        if written is None:
            run.status = RunStatus.FAILED.value
            run.error = (error or "failed")[:2000]
        else:
            run.status = RunStatus.DONE.value
            run.file_name = name
            run.sha256 = digest
            run.row_counts = json.dumps(written.row_counts, sort_keys=True)
            run.ledger_sequence = written.ledger_sequence
            run.ledger_hash = written.ledger_hash
        session.flush()
        return run

    return run_in_transaction(factory, finish)
