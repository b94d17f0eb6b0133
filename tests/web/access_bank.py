"""Who may use the bank pages: finance imports and resolves lines; the auditor reads them.

Read by the central authorization-matrix test; ``SAMPLE_VALUES`` gives it an unmatched line.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from approvals.models import Consortium
from ledger.db import run_in_transaction
from reports.bank.statement_import import cli_importer, import_statement
from reports.models import BankLine
from tests.support.clock import CLOCK
from web.session import session_factory

FINANCE = {"fin@lead.demo", "finmgr@lead.demo"}

ACCESS: dict[str, set[str]] = {
    "bank.home": FINANCE | {"auditor@lead.demo"},
    "bank.upload": FINANCE,
    "bank.match": FINANCE,
    "bank.explain": FINANCE,
    "bank.unmatch": FINANCE,
    "bank.rematch": FINANCE,
}


def _line(app: Flask) -> int:
    def work(session: Session) -> int:
        code = session.execute(select(Consortium.code)).scalars().first()
        assert code is not None
        data = b"date,amount,payee,description,reference\n01/07/2026,-1.23,Matrix,,\n"
        done = import_statement(
            session,
            cli_importer(session, code, "matrix"),
            file_name="matrix.csv",
            data=data,
            now=CLOCK.now(),
        )
        return session.execute(
            select(BankLine.id).where(BankLine.statement_id == done.statement_id)
        ).scalar_one()

    return run_in_transaction(session_factory(app), work)


SAMPLE_VALUES = {"line_id": _line}
