"""Everything verify checks for one consortium, in one place for the nightly job and the CLI.

The ledger recomputed from its transfers (``ledger.verify``), the audit chain
(``approvals.audit.verify_trail``), the records beside them (``approvals.lifecycle.records``) and,
when
there is an anchor file, the chain heads anchored outside the database (``reports.anchors``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from approvals.audit import verify_trail
from approvals.lifecycle.records import verify_records
from approvals.models import Consortium
from ledger.values import Finding
from ledger.verify import verify
from reports import anchors


@dataclass(frozen=True)
class Verdict:
    findings: list[Finding]
    anchored: anchors.AnchorCheck | None  # None: no folder to look in

    def anchor_line(self, *, where: bool = True) -> str:
        """What the CLI, the job and the auditor's page say about the anchors (the page without
        the server's file path: ``where=False``)."""
        if self.anchored is None:
            return "Anchors: not compared (no exports folder)."
        place = f" at {self.anchored.path}" if where else " in the exports folder"
        if not self.anchored.path.exists():
            return f"Anchors: none yet{place}; nothing to compare with."
        return f"Anchors: compared {self.anchored.compared} anchored chain head(s){place}."


def verify_consortium(
    session: Session, code: str, folder: Path | None, key: bytes | None
) -> Verdict:
    findings = list(verify(session, code))
    consortium_id = session.execute(select(Consortium.id).where(Consortium.code == code)).scalar()
    if consortium_id is not None:
        findings += [
            Finding("audit", item.message, book=code)
            for item in verify_trail(session, consortium_id)
        ]
        findings += verify_records(session, consortium_id)
    anchored = None if folder is None else anchors.check(session, code, folder, key)
    if anchored is not None:
        findings += anchored.findings
    return Verdict(findings, anchored)


def consortium_codes(session: Session) -> list[str]:
    return list(session.execute(select(Consortium.code).order_by(Consortium.code)).scalars())
