"""Every append-only table refuses TRUNCATE, read from the database itself so none is forgotten."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from migrations.grants import INSERT_ONLY, NO_DELETE

# Tables with a row trigger that fires BEFORE DELETE (pg_trigger.tgtype: 1 row, 2 before, 8 delete).
NO_DELETE_TRIGGERS = """
    SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    WHERE NOT t.tgisinternal AND (t.tgtype & 11) = 11
"""


@pytest.fixture
def append_only(postgres_migrated: str) -> tuple[str, set[str]]:
    engine = create_engine(postgres_migrated)
    with engine.connect() as conn:
        tables = set(conn.execute(text(NO_DELETE_TRIGGERS)).scalars())
    engine.dispose()
    return postgres_migrated, tables


def test_every_table_with_a_no_delete_trigger_refuses_truncate(
    append_only: tuple[str, set[str]],
) -> None:
    url, tables = append_only
    assert {"decisions", "audit_events", "payments", "refunds", "audit_heads"} <= tables
    engine = create_engine(url)
    try:
        for table in sorted(tables):
            with engine.connect() as conn, conn.begin():
                # CASCADE, or a table that others reference is refused for that reason instead.
                with pytest.raises(DBAPIError, match=f"{table} is append-only: TRUNCATE refused"):
                    conn.execute(text(f"TRUNCATE {table} CASCADE"))
    finally:
        engine.dispose()


def test_the_app_roles_grants_know_every_append_only_table(
    append_only: tuple[str, set[str]],
) -> None:
    _url, tables = append_only
    assert INSERT_ONLY | NO_DELETE == tables
