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

from collections.abc import Callable, Sequence

from alembic import op
from sqlalchemy import text
from sqlalchemy.sql.elements import conv

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
    _rebuild_sqlite(lambda sql: sql.rstrip().removesuffix(")").rstrip() + SQLITE_CLAUSE + "\n)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(conv(NAME), "export_runs", type_="check")
        return
    _rebuild_sqlite(lambda sql: sql.replace(SQLITE_CLAUSE, ""))


def _rebuild_sqlite(change: Callable[[str], str]) -> None:
    """``export_runs`` built again from its own CREATE TABLE, changed, with its rows, indexes and
    triggers; the tables that point at it, by name, point at the new one."""
    bind = op.get_bind()
    table = bind.execute(
        text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'export_runs'")
    ).scalar_one()
    attached = (
        bind.execute(
            text(
                "SELECT sql FROM sqlite_master WHERE tbl_name = 'export_runs'"
                " AND type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY type, name"
            )
        )
        .scalars()
        .all()
    )
    changed = change(str(table))
    if changed == table:
        raise RuntimeError("export_runs is not as this revision expects it")
    op.execute("CREATE TEMP TABLE export_runs_rows AS SELECT * FROM main.export_runs")
    # Dropping the table leaves the month sign-offs that point at its rows dangling until the
    # same rows are back: the check waits for the commit (the setting ends with it).
    op.execute("PRAGMA defer_foreign_keys = ON")
    op.execute("DROP TABLE main.export_runs")
    op.execute(changed)
    op.execute("INSERT INTO main.export_runs SELECT * FROM export_runs_rows")
    op.execute("DROP TABLE export_runs_rows")
    for sql in attached:
        op.execute(str(sql))
