"""Importing a bank statement file: all its lines in the caller's transaction, then auto-matching.

A file is identified by its SHA-256: the same file is imported once per consortium (checked
here with a clear message, and by a unique constraint should two imports race). A file that
fails to parse writes nothing at all (see :mod:`reports.bank.statement_csv`). Imports are made
by finance (FIN or FIN_MGR of the lead agency) on the web, or by an operator with ``flexpool
bank import``, recorded as ``cli:<login>`` with no user, since a shell account is not a flexpool
person.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from approvals import audit
from approvals.consortium.actors import Actor
from approvals.errors import DuplicateError, NotFoundError
from approvals.models import Consortium
from approvals.models.people import FINANCE
from approvals.zone import local_day
from reports.bank.match import auto_match
from reports.bank.statement_csv import StatementLine, parse_statement
from reports.models import BankLine, BankStatement, LineStatus


@dataclass(frozen=True)
class Importer:
    """Who imports: a finance person (``user:12``) or an operator at the shell (``cli:alice``)."""

    consortium_id: int
    label: str
    user_id: int | None


def finance_importer(actor: Actor) -> Importer:
    actor.require_lead(*FINANCE, doing="import bank statements")
    return Importer(actor.consortium_id, actor.label, actor.user_id)


def cli_importer(session: Session, consortium_code: str, login: str) -> Importer:
    found = session.execute(
        select(Consortium.id).where(Consortium.code == consortium_code)
    ).scalar()
    if found is None:
        raise NotFoundError(f"There is no consortium {consortium_code!r}.")
    return Importer(found, f"cli:{login}"[:120], None)


@dataclass(frozen=True)
class ImportResult:
    statement_id: int
    lines: int
    matched: int

    @property
    def unmatched(self) -> int:
        return self.lines - self.matched


def import_statement(
    session: Session, importer: Importer, *, file_name: str, data: bytes, now: datetime
) -> ImportResult:
    """Parse (refusing a bad file whole), store every line, then match what is certain."""
    parsed = parse_statement(data, today=now.date())
    digest = hashlib.sha256(data).hexdigest()
    _refuse_reimport(session, importer.consortium_id, digest)
    statement = _add_statement(session, importer, _safe_name(file_name), digest, len(parsed), now)
    lines = [_line(statement, parsed_line) for parsed_line in parsed]
    session.add_all(lines)
    session.flush()
    matched = auto_match(
        session, importer.consortium_id, lines, reconciler_id=importer.user_id, now=now
    )
    _audit(session, importer, statement, matched, now)
    return ImportResult(statement.id, len(lines), len(matched))


def _add_statement(
    session: Session, importer: Importer, name: str, digest: str, count: int, now: datetime
) -> BankStatement:
    statement = BankStatement(
        consortium_id=importer.consortium_id,
        file_name=name,
        sha256=digest,
        line_count=count,
        imported_by_id=importer.user_id,
        imported_by=importer.label,
        imported_at=now,
    )
    try:
        with session.begin_nested():
            session.add(statement)
            session.flush()
    except IntegrityError as error:  # the same file, imported at the same moment
        raise DuplicateError("This file is being imported by someone else right now.") from error
    return statement


def _refuse_reimport(session: Session, consortium_id: int, digest: str) -> None:
    before = session.execute(
        select(BankStatement).where(
            BankStatement.consortium_id == consortium_id, BankStatement.sha256 == digest
        )
    ).scalar()
    if before is not None:
        imported_on = local_day(session.get_one(Consortium, consortium_id), before.imported_at)
        raise DuplicateError(
            f"This file was already imported on {imported_on:%d/%m/%Y} "
            f"as statement "
            f"#{before.id} ({before.file_name}); nothing was written.",
            fields={"file": "Already imported."},
        )


def _safe_name(file_name: str) -> str:
    """Only the file's own name: a browser or shell may send a whole path."""
    name = PurePath((file_name or "").replace("\\", "/")).name.strip()
    return name[:200] or "statement.csv"


def _line(statement: BankStatement, parsed: StatementLine) -> BankLine:
    return BankLine(
        statement_id=statement.id,
        consortium_id=statement.consortium_id,
        line_number=parsed.line_number,
        on=parsed.on,
        amount_cents=parsed.amount_cents,
        payee=parsed.payee,
        description=parsed.description,
        reference=parsed.reference,
        status=LineStatus.UNMATCHED.value,
    )


def _audit(
    session: Session,
    importer: Importer,
    statement: BankStatement,
    matched: list[BankLine],
    now: datetime,
) -> None:
    audit.record(
        session,
        consortium_id=importer.consortium_id,
        actor_id=importer.user_id,
        action="bank.imported",
        subject_type="bank_statement",
        subject_id=statement.id,
        now=now,
        by=importer.label,
        sha256=statement.sha256,
        lines=statement.line_count,
        auto_matched=[[line.line_number, *_named(line)] for line in matched],
    )


def _named(line: BankLine) -> list[str | int]:
    """``["payment", 12]``: what a matched line names, for the audit trail."""
    for kind, value in (
        ("payment", line.payment_id),
        ("refund", line.refund_id),
        ("transaction", line.transaction_id),
    ):
        if value is not None:
            return [kind, value]
    return []
