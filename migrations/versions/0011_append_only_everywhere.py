"""Append-only everywhere the record of money and decisions lives; TRUNCATE refused on each.

0001 refused TRUNCATE on the ledger tables only; decisions and audit events could be emptied in
one statement. Refunds, request exceptions, month sign-offs, client status changes and bank
statements are never rewritten by the application, so now the database refuses it too. A
payment keeps its figures (later columns, such as what has been refunded so far, may still
change) and is never deleted; the audit head moves with every event but is never deleted; an
export or job run is fixed once it has finished (a run still ``running`` may be finished or
released).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Append-only since 0002: only the TRUNCATE refusal is new.
TRUNCATE_ONLY = ("decisions", "audit_events")
# Newly append-only: no UPDATE, no DELETE, no TRUNCATE.
APPEND_ONLY = (
    "refunds",
    "request_exceptions",
    "month_sign_offs",
    "client_status_changes",
    "bank_statements",
)
# Runs are written while running and fixed once finished (done or failed).
FIXED_ONCE_FINISHED = ("export_runs", "job_runs")
# Rows that change in part, but are never deleted or emptied.
NO_DELETE = ("payments", "audit_heads", *FIXED_ONCE_FINISHED)
PAYMENT_FIGURES = (
    "request_id, supplier_id, invoice_number, inc_gst_cents, gst_cents, charged_cents, "
    "paid_on, ledger_transaction_id, recorded_by_id, recorded_at"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _postgres_up()
    else:
        _sqlite_up()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in (*TRUNCATE_ONLY, *APPEND_ONLY, *NO_DELETE):
            op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
        for table in NO_DELETE:
            op.execute(f"DROP TRIGGER {table}_no_delete ON {table}")
        op.execute("DROP TRIGGER payments_figures_fixed ON payments")
        for table in FIXED_ONCE_FINISHED:
            op.execute(f"DROP TRIGGER {table}_finished_fixed ON {table}")
        return
    for table in APPEND_ONLY:
        op.execute(f"DROP TRIGGER {table}_no_update")
    for table in (*APPEND_ONLY, *NO_DELETE):
        op.execute(f"DROP TRIGGER {table}_no_delete")
    op.execute("DROP TRIGGER payments_figures_fixed")
    for table in FIXED_ONCE_FINISHED:
        op.execute(f"DROP TRIGGER {table}_finished_fixed")


def _postgres_up() -> None:
    """INVARIANT: every table with a no-delete trigger also refuses TRUNCATE (docs/operations.md).

    ``ledger_refuse_change()`` comes from revision 0001."""
    refuse = "EXECUTE FUNCTION ledger_refuse_change()"
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW {refuse}"
        )
    for table in NO_DELETE:
        op.execute(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} FOR EACH ROW {refuse}"
        )
    op.execute(
        f"CREATE TRIGGER payments_figures_fixed BEFORE UPDATE OF {PAYMENT_FIGURES} ON payments "
        f"FOR EACH ROW {refuse}"
    )
    for table in FIXED_ONCE_FINISHED:
        op.execute(
            f"CREATE TRIGGER {table}_finished_fixed BEFORE UPDATE ON {table} FOR EACH ROW "
            f"WHEN (OLD.status <> 'running') {refuse}"
        )
    for table in (*TRUNCATE_ONLY, *APPEND_ONLY, *NO_DELETE):
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT {refuse}"
        )


def _sqlite_up() -> None:
    """SQLite has no TRUNCATE (DELETE without WHERE is refused by the delete trigger)."""

    def refuse(name: str, event: str, table: str, what: str, when: str = "") -> None:
        op.execute(
            f"CREATE TRIGGER {name} BEFORE {event} ON {table}{when} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {what} refused'); END"
        )

    for table in APPEND_ONLY:
        refuse(f"{table}_no_update", "UPDATE", table, "UPDATE")
    for table in (*APPEND_ONLY, *NO_DELETE):
        refuse(f"{table}_no_delete", "DELETE", table, "DELETE")
    refuse("payments_figures_fixed", f"UPDATE OF {PAYMENT_FIGURES}", "payments", "UPDATE")
    for table in FIXED_ONCE_FINISHED:
        finished = " WHEN OLD.status <> 'running'"
        refuse(f"{table}_finished_fixed", "UPDATE", table, "UPDATE of a finished run", finished)
