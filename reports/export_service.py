"""What the exports page and the API share: who may run and download, the order a manual run
makes, the newest runs of a consortium, and handing a file out.

Why one place: a download must be re-checked against the checksum recorded when it was written,
and written to the audit trail, whichever door it leaves by; two copies of that check would
drift. The folder is passed in, so nothing here knows about Flask.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from approvals import audit
from approvals.consortium.actors import Actor
from approvals.errors import ConflictError, NotFoundError
from approvals.fiscal import Period
from approvals.models import Consortium, Role
from approvals.models.people import FINANCE
from reports.models import ExportKind, ExportRun, RunStatus
from reports.runs import EXPORTERS, ExportOrder, sha256_of

RUNNERS = FINANCE
READERS = (*FINANCE, Role.AUDITOR)


@dataclass(frozen=True)
class Download:
    """A checked file, ready to send: where it is, what to call it, what it is."""

    path: Path
    name: str
    media_type: str


def order_now(
    session: Session, who: Actor, kind: ExportKind, period: Period | None, folder: Path
) -> ExportOrder:
    """A manual run for the actor's own consortium, recorded as theirs (finance only)."""
    who.require_lead(*RUNNERS, doing="run exports")
    code = session.get_one(Consortium, who.consortium_id).code
    return ExportOrder(code, kind, period, folder, who.label)


def newest_runs(session: Session, who: Actor, *, before: int | None, limit: int) -> list[ExportRun]:
    """Up to ``limit + 1`` runs older than ``before``, newest first: the extra one says more."""
    who.require_lead(*READERS, doing="see the exports")
    query = select(ExportRun).where(ExportRun.consortium_id == who.consortium_id)
    if before is not None:
        query = query.where(ExportRun.id < before)
    return list(session.execute(query.order_by(ExportRun.id.desc()).limit(limit + 1)).scalars())


def take_download(
    session: Session, who: Actor, run_id: int, folder: Path, *, now: datetime
) -> Download:
    """The run's file if it is still what was exported, its taking written to the audit trail.

    A file edited or replaced after its export is refused, not served: what finance hands the
    auditor must be what the run recorded.
    """
    who.require_lead(*READERS, doing="download exports")
    found = _finished(session, who, run_id)
    path = folder / str(found.file_name)
    if not path.is_file() or sha256_of(path) != found.sha256:
        raise ConflictError(
            "The file on disk no longer matches this export's checksum; run it again."
        )
    audit.record(
        session,
        consortium_id=who.consortium_id,
        actor_id=who.user_id,
        action="export.downloaded",
        subject_type="export_run",
        subject_id=run_id,
        now=now,
        kind=found.kind,
        period=found.period,
    )
    return Download(path, path.name, EXPORTERS[ExportKind(found.kind)].media_type)


def _finished(session: Session, who: Actor, run_id: int) -> ExportRun:
    """Another consortium's run is as unknown as a missing one."""
    found = session.get(ExportRun, run_id)
    if found is None or found.consortium_id != who.consortium_id:
        raise NotFoundError("There is no such export.")
    if found.status != RunStatus.DONE.value or not found.file_name:
        raise ConflictError("This export did not finish; there is no file to download.")
    return found
