"""The database knows what a decision can say: its action and both its states.

``decisions`` is the request's history, append-only since 0002; its action and states were free
text, so only the application kept them to ``Action`` (plus ``amend``) and ``RequestState``. A
decision naming a state that does not exist could be stored, and verify would then compare the
request with a history it cannot replay. Every row the application has written passes.

SQLite cannot add a constraint to a table: it is built again with them
(migrations/sqlite_rebuild.py), its append-only triggers put back as they were.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy.sql.elements import conv

from migrations.sqlite_rebuild import rebuild_table

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As of this revision; a new action or state needs a migration of its own.
ACTIONS = (
    "submit", "approve", "request_info", "respond", "send_back", "resubmit", "withdraw",
    "reject", "cancel", "expire", "pay", "close", "amend",
)  # fmt: skip
STATES = (
    "draft", "pending", "info_requested", "returned", "approved", "part_paid", "paid",
    "rejected", "withdrawn", "cancelled", "expired",
)  # fmt: skip


def _in(column: str, values: tuple[str, ...]) -> str:
    return "{} IN ({})".format(column, ", ".join(f"'{value}'" for value in values))


CHECKS = {
    "ck_decisions_action_known": _in("action", ACTIONS),
    "ck_decisions_from_state_known": _in("from_state", STATES),
    "ck_decisions_to_state_known": _in("to_state", STATES),
}
SQLITE_CLAUSES = "".join(f",\n\tCONSTRAINT {name} CHECK ({sql})" for name, sql in CHECKS.items())


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, sql in CHECKS.items():
            # The full name, so the models' naming convention is not applied to it twice.
            op.create_check_constraint(conv(name), "decisions", sql)
        return
    rebuild_table(
        "decisions", lambda sql: sql.rstrip().removesuffix(")").rstrip() + SQLITE_CLAUSES + "\n)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in CHECKS:
            op.drop_constraint(conv(name), "decisions", type_="check")
        return
    rebuild_table("decisions", lambda sql: sql.replace(SQLITE_CLAUSES, ""))
