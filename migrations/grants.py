"""The application's database role: what it may do, generated from the tables, not written out.

The owner role runs migrations; the app connects as a role that owns nothing, so it can neither
switch a trigger off (``ALTER TABLE … DISABLE TRIGGER`` needs ownership) nor TRUNCATE, nor set
``session_replication_role`` (superuser only), nor UPDATE or DELETE what is append-only
(docs/operations.md). ``flexpool db grant-app-role ROLE`` runs these statements.
"""

from __future__ import annotations

import re

from ledger.db import Base

# INVARIANT: the same tables the append-only triggers guard (migrations 0001, 0002 and 0011);
# tests/ledger/test_append_only_postgres.py compares the two.
INSERT_ONLY = frozenset(
    {
        "ledger_transactions",
        "ledger_transfers",
        "ledger_period_closes",
        "decisions",
        "audit_events",
        "refunds",
        "request_exceptions",
        "month_sign_offs",
        "client_status_changes",
        "bank_statements",
    }
)
NO_DELETE = frozenset({"payments", "audit_heads", "export_runs", "job_runs"})
ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def privileges(table: str) -> str:
    if table in INSERT_ONLY:
        return "SELECT, INSERT"
    if table in NO_DELETE:
        return "SELECT, INSERT, UPDATE"
    return "SELECT, INSERT, UPDATE, DELETE"


def grant_statements(role: str) -> list[str]:
    """PostgreSQL statements, run by the owner, that let ``role`` do the app's work and no more."""
    from migrations import load_models

    if not ROLE_NAME.fullmatch(role):
        raise ValueError(f"{role!r} is not a plain role name (lower case letters, digits, _).")
    load_models()
    statements = [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}",
        f"REVOKE CREATE ON SCHEMA public FROM {role}",
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT ON alembic_version TO {role}",
    ]
    for table in sorted(Base.metadata.tables):
        statements.append(f"GRANT {privileges(table)} ON {table} TO {role}")
    statements.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
    return statements
