"""One name for a policy rule's amount band, and a CHECK that agrees with the validator.

``policy_rules.min_cents`` / ``max_cents`` become ``above_cents`` / ``up_to_cents``, the names the
rules, the editor and the docs use (a request matches when its amount is more than
``above_cents`` and at most ``up_to_cents``). The old CHECK allowed ``min = max``, a band no
amount falls in, which ``check_rules`` refuses; the new ones refuse it, and negative ends, too.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

import re
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from alembic import op
from sqlalchemy.sql.elements import conv

from migrations.sqlite_rebuild import rebuild_table

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Full names, so the models' naming convention is not applied to them twice.
ORDERED = conv("ck_policy_rules_band_ordered")
NOT_NEGATIVE = conv("ck_policy_rules_band_not_negative")
NOT_NEGATIVE_SQL = (
    "(above_cents IS NULL OR above_cents >= 0) AND (up_to_cents IS NULL OR up_to_cents >= 0)"
)
OLD_ORDER = "min_cents IS NULL OR max_cents IS NULL OR min_cents <= max_cents"
NEW_ORDER = "above_cents IS NULL OR up_to_cents IS NULL OR above_cents < up_to_cents"


@contextmanager
def _quiet_reflection() -> Iterator[None]:
    """SQLite's batch copy reflects ``policy_rules`` and the tables its keys point to, ``users``
    among them, whose expression index SQLAlchemy cannot reflect and says so; that index is not
    copied or touched here."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based")
        yield


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # Policy steps point at the rules: with foreign keys on, a batch copy cannot drop the
        # table under them (migrations/sqlite_rebuild.py).
        rebuild_table("policy_rules", _renamed_up)
        return
    with _quiet_reflection():
        _upgrade()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        rebuild_table("policy_rules", _renamed_down)
        return
    with _quiet_reflection():
        _downgrade()


def _renamed_up(create: str) -> str:
    create = create.replace(OLD_ORDER, NEW_ORDER)
    create = re.sub(r"\bmin_cents\b", "above_cents", create)
    create = re.sub(r"\bmax_cents\b", "up_to_cents", create)
    ordered = f"CONSTRAINT {ORDERED} CHECK ({NEW_ORDER})"
    return create.replace(
        ordered, f"{ordered}, \n\tCONSTRAINT {NOT_NEGATIVE} CHECK ({NOT_NEGATIVE_SQL})"
    )


def _renamed_down(create: str) -> str:
    create = create.replace(f", \n\tCONSTRAINT {NOT_NEGATIVE} CHECK ({NOT_NEGATIVE_SQL})", "")
    create = create.replace(
        NEW_ORDER, OLD_ORDER.replace("min_cents", "above_cents").replace("max_cents", "up_to_cents")
    )
    create = re.sub(r"\babove_cents\b", "min_cents", create)
    return re.sub(r"\bup_to_cents\b", "max_cents", create)


def _upgrade() -> None:
    with op.batch_alter_table("policy_rules", schema=None) as batch_op:
        batch_op.drop_constraint(ORDERED, type_="check")
        batch_op.alter_column("min_cents", new_column_name="above_cents")
        batch_op.alter_column("max_cents", new_column_name="up_to_cents")
    with op.batch_alter_table("policy_rules", schema=None) as batch_op:
        batch_op.create_check_constraint(ORDERED, NEW_ORDER)
        batch_op.create_check_constraint(NOT_NEGATIVE, NOT_NEGATIVE_SQL)


def _downgrade() -> None:
    with op.batch_alter_table("policy_rules", schema=None) as batch_op:
        batch_op.drop_constraint(NOT_NEGATIVE, type_="check")
        batch_op.drop_constraint(ORDERED, type_="check")
        batch_op.alter_column("above_cents", new_column_name="min_cents")
        batch_op.alter_column("up_to_cents", new_column_name="max_cents")
    with op.batch_alter_table("policy_rules", schema=None) as batch_op:
        batch_op.create_check_constraint(ORDERED, OLD_ORDER)
