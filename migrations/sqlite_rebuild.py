"""Changing a SQLite table's constraints in place: SQLite has no ALTER for them.

Alembic's batch mode copies the table into a new one and renames it, which loses what it does not
reflect (the append-only triggers of 0011) and, with foreign keys on, cannot drop a table that
other rows point at. Here the table is built again from its own ``CREATE TABLE`` text, changed by
the caller, and its rows, indexes and triggers are put back as they were. The rows that point at
it are checked at the commit, once its rows are back (``PRAGMA defer_foreign_keys``).
"""

from __future__ import annotations

from collections.abc import Callable

from alembic import op
from sqlalchemy import text


def rebuild_table(table: str, change: Callable[[str], str]) -> None:
    """Build ``table`` again from ``change(its CREATE TABLE)``; its columns keep their order, so
    the rows go back as they are."""
    if not table.isidentifier():
        raise ValueError(f"not a table name: {table!r}")
    bind = op.get_bind()
    create = str(
        bind.execute(
            text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"), {"t": table}
        ).scalar_one()
    )
    attached = [
        str(sql)
        for sql in bind.execute(
            text(
                "SELECT sql FROM sqlite_master WHERE tbl_name = :t"
                " AND type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY type, name"
            ),
            {"t": table},
        ).scalars()
    ]
    changed = change(create)
    if changed == create:
        raise RuntimeError(f"{table} is not as this revision expects it")
    op.execute(f"CREATE TEMP TABLE {table}_rows AS SELECT * FROM main.{table}")  # noqa: S608 - a checked name
    op.execute("PRAGMA defer_foreign_keys = ON")  # ends with the transaction
    op.execute(f"DROP TABLE main.{table}")
    op.execute(changed)
    op.execute(f"INSERT INTO main.{table} SELECT * FROM {table}_rows")  # noqa: S608 - a checked name
    op.execute(f"DROP TABLE {table}_rows")
    for sql in attached:
        op.execute(sql)
