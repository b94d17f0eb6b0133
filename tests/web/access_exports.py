"""Who may use the exports pages: finance runs them; finance and the auditor download them.

Read by the central authorization-matrix test; ``SAMPLE_VALUES`` gives it a finished run.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import select

from approvals.models import Consortium
from reports.models import ExportKind
from reports.runs import ExportOrder, run_export
from tests.support.clock import CLOCK
from web.session import session_factory

FINANCE = {"fin@lead.demo", "finmgr@lead.demo"}
READERS = FINANCE | {"auditor@lead.demo"}

ACCESS: dict[str, set[str]] = {
    "exports.home": READERS,
    "exports.run": FINANCE,
    "exports.download": READERS,
    "exports.close": FINANCE,
}


def _run(app: Flask) -> int:
    factory = session_factory(app)
    with factory() as session:
        code = session.execute(select(Consortium.code)).scalars().first()
    assert code is not None
    order = ExportOrder(
        code,
        ExportKind.JOURNAL,
        None,
        Path(app.config["FLEXPOOL"].exports_dir),
        "user:matrix",
    )
    done = run_export(factory, order, now=CLOCK.now)
    assert done is not None
    return done.id


SAMPLE_VALUES = {"run_id": _run}
