"""The ``world`` and ``desk`` fixtures; what builds them is in tests/support/world.py."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from ledger.db import make_engine, make_session_factory
from tests.support.world import Desk, World, build_desk, build_world


@pytest.fixture
def world(session_factory: sessionmaker[Session], now: datetime) -> World:
    return build_world(session_factory, now)


@pytest.fixture
def desk(world: World) -> Desk:
    return build_desk(world)


@pytest.fixture
def pg_desk(postgres_migrated: str, now: datetime, request: pytest.FixtureRequest) -> Desk:
    """A desk on the shared PostgreSQL database, for races between real connections."""
    engine = make_engine(postgres_migrated)
    request.addfinalizer(engine.dispose)
    return build_desk(build_world(make_session_factory(engine), now))
