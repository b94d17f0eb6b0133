"""The posting hot path's statements, compiled once per database and run on the driver's cursor.

SQLAlchemy Core builds and compiles these statements (one source of truth for the SQL, the
schema's own column names, ``FOR UPDATE`` only where the database has it), but executing a
compiled statement through a ``Session`` still costs some 20 µs of bookkeeping per call, which
is most of a posting's time on SQLite. So the few statements every posting runs are compiled
once per dialect and executed directly on the DBAPI connection that the session's transaction
already holds. Parameters are converted here to what the driver stores for SQLAlchemy's types,
so rows written this way read back through SQLAlchemy unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql.expression import Executable

_SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's SQLite DATETIME storage format


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).strftime(_SQLITE_DATETIME)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def sqlite_date(value: Any) -> date | None:
    """A DATE column as read from SQLite's driver (text) or PostgreSQL's (a date)."""
    return date.fromisoformat(value) if isinstance(value, str) else value


class HotStatement:
    """One Core statement, compiled per dialect on first use."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[str, tuple[str, Sequence[str] | None]] = {}

    def _sql(self, conn: Connection) -> tuple[str, Sequence[str] | None]:
        found = self._compiled.get(conn.dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=conn.dialect)  # type: ignore[attr-defined]
            positions = compiled.positiontup if conn.dialect.name == "sqlite" else None
            found = (compiled.string, positions)
            self._compiled[conn.dialect.name] = found
        return found

    def _params(self, positions: Sequence[str] | None, params: Mapping[str, Any]) -> Any:
        if positions is None:
            return params
        return tuple(_sqlite_value(params[name]) for name in positions)

    def execute(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        """Run once; returns the DBAPI cursor (fetch from it for SELECT or RETURNING)."""
        sql, positions = self._sql(conn)
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(sql, self._params(positions, params))
        return cursor

    def execute_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        sql, positions = self._sql(conn)
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.executemany(sql, [self._params(positions, row) for row in rows])
        cursor.close()

    def returning_each(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        """Run once per row and return each row's first RETURNING value, in order.

        On PostgreSQL the statements go in one pipeline: one round trip, not one per row.
        """
        sql, positions = self._sql(conn)
        raw = conn.connection.driver_connection
        if positions is not None:
            return [raw.execute(sql, self._params(positions, row)).fetchone()[0] for row in rows]  # type: ignore[union-attr]
        with raw.pipeline():  # type: ignore[union-attr]
            cursors = [raw.execute(sql, row) for row in rows]  # type: ignore[union-attr]
        return [cursor.fetchone()[0] for cursor in cursors]


class HotStatementFamily:
    """Statements that differ only in how many values their ``IN`` lists hold, built per shape."""

    def __init__(self, build: Callable[..., Executable]) -> None:
        self._build = build
        self._by_shape: dict[tuple[int, ...], HotStatement] = {}

    def for_counts(self, *counts: int) -> HotStatement:
        statement = self._by_shape.get(counts)
        if statement is None:
            statement = self._by_shape[counts] = HotStatement(self._build(*counts))
        return statement
