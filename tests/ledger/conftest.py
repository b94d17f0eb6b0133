"""The ``kit`` fixture: one fresh book (the kit itself is in tests/support/ledger.py)."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.support.ledger import LedgerKit, open_kit


@pytest.fixture
def kit(session_factory: sessionmaker[Session], now: datetime) -> LedgerKit:
    return open_kit(session_factory, now)
