"""The database knows the export kinds: ``export_runs.kind`` gets its CHECK like every other list.

Until now only ``ExportKind`` said which kinds there are; a run of a misspelt kind could be
stored, then never found by the scheduler's once-per-period claim or the month sign-off. Every
kind the application has written is a member, so existing rows pass.

SQLite cannot add a constraint to a table: the table is built again with it, from its own
CREATE TABLE, and its rows, indexes and triggers (the append-only ones of 0011) are put back as
they were. Month sign-offs point at export runs: their foreign-key check waits for the commit,
when the rows they point at are back (a rename would make them point at the old table).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy.sql.elements import conv

from migrations.sqlite_rebuild import rebuild_table

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ck_export_runs_kind_known"
# ExportKind as of this revision; a new kind needs a migration of its own.
KINDS = ("reconciliation", "xero", "myob", "journal", "acquittal")
CHECK = "kind IN ({})".format(", ".join(f"'{kind}'" for kind in KINDS))
SQLITE_CLAUSE = f",\n\tCONSTRAINT {NAME} CHECK ({CHECK})"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # The full name, so the models' naming convention is not applied to it twice.
        op.create_check_constraint(conv(NAME), "export_runs", CHECK)
        return
    rebuild_table(
        "export_runs", lambda sql: sql.rstrip().removesuffix(")").rstrip() + SQLITE_CLAUSE + "\n)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(conv(NAME), "export_runs", type_="check")
        return
    rebuild_table("export_runs", lambda sql: sql.replace(SQLITE_CLAUSE, ""))
