"""Fixtures the report tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from ledger.db import make_engine, make_session_factory


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def demo(request: pytest.FixtureRequest) -> Iterator[sessionmaker[Session]]:
    """The demo consortium, read only (so the session-wide copy is shared, not copied)."""
    if request.param == "postgresql":
        url = str(request.getfixturevalue("demo_postgres"))
    else:
        url = f"sqlite:///{request.getfixturevalue('demo_sqlite')}"
    engine = make_engine(url)
    yield make_session_factory(engine)
    engine.dispose()
