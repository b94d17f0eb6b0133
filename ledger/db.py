"""Engines, sessions and the unit of work, the same for SQLite and PostgreSQL.

Service functions take a ``Session``, flush, and never commit; whoever calls them owns the
transaction through :func:`run_in_transaction`. That function is also where the ledger's locking
policy lives: READ COMMITTED with ``SELECT … FOR UPDATE`` and a bounded retry on PostgreSQL,
``BEGIN IMMEDIATE`` (one writer at a time) on SQLite.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import (
    BigInteger,
    DateTime,
    Dialect,
    Engine,
    Integer,
    MetaData,
    create_engine,
    event,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from ledger.errors import ConcurrencyError

DEFAULT_DATABASE_URL = "sqlite:///instance/flexpool.db"

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets 64-bit ids.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on both databases."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware UTC datetime is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def database_url() -> str:
    return os.environ.get("FLEXPOOL_DATABASE_URL", DEFAULT_DATABASE_URL)


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    url = url or database_url()
    if url.startswith("sqlite"):
        _ensure_sqlite_directory(url)
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("isolation_level", "READ COMMITTED")
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _ensure_sqlite_directory(url: str) -> None:
    path = url.split(":///", 1)[-1]
    if path and path != ":memory:" and "/" in path:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)


def _configure_sqlite(engine: Engine) -> None:
    """Foreign keys on, WAL, and BEGIN IMMEDIATE so a writer never upgrades a read lock."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let us emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Straight to the driver: this runs before every transaction, reads included, unless
        # the engine was made by ``read_only`` (WAL readers then never wait for the writer).
        deferred = connection.get_execution_options().get(READ_ONLY_OPTION, False)
        connection.connection.driver_connection.execute("BEGIN" if deferred else "BEGIN IMMEDIATE")


READ_ONLY_OPTION = "flexpool_read_only"


def read_only(engine: Engine) -> Engine:
    """The same engine for sessions that only read: on SQLite they take no write lock.

    A web request reads through one of these while its writes run in their own short
    transactions; with ``BEGIN IMMEDIATE`` on both, the request would wait on itself.
    """
    return engine.execution_options(**{READ_ONLY_OPTION: True})


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


T = TypeVar("T")

RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock
MAX_ATTEMPTS = 5


def is_retryable(error: DBAPIError) -> bool:
    sqlstate = getattr(error.orig, "sqlstate", None)
    return sqlstate in RETRYABLE_SQLSTATES


def run_in_transaction(
    factory: sessionmaker[Session],
    work: Callable[[Session], T],
    *,
    attempts: int = MAX_ATTEMPTS,
) -> T:
    """Run ``work`` in one transaction and commit, retrying a deadlock a bounded number of times.

    Any other error rolls the whole transaction back: nothing is half-written.
    """
    for attempt in range(1, attempts + 1):
        with factory() as session:
            try:
                with session.begin():
                    return work(session)
            except DBAPIError as error:
                if not is_retryable(error) or attempt == attempts:
                    if is_retryable(error):
                        raise ConcurrencyError(
                            "The ledger is busy; the change was not made. Please try again."
                        ) from error
                    raise
            time.sleep(random.uniform(0, 0.01 * 2**attempt))  # noqa: S311 - jitter, not crypto
    raise AssertionError("unreachable")
