"""A refund is one ledger transaction, recorded once per reference, never beyond its payment.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

Refunds raced on one payment could together exceed it, and the same refund recorded again made a
second row over one ledger transaction. The application now locks the payment first
(docs/concurrency.md); here the database refuses both as well. A database that already holds
such refunds is refused with their payments named: they need a finance officer, not a guess.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNSOUND = """
SELECT p.id FROM payments p JOIN refunds r ON r.payment_id = p.id
GROUP BY p.id, p.charged_cents
HAVING SUM(r.amount_cents) > p.charged_cents
    OR COUNT(*) > COUNT(DISTINCT r.reference)
    OR COUNT(*) > COUNT(DISTINCT r.ledger_transaction_id)
ORDER BY p.id
"""

POSTGRES_TRIGGER = """
CREATE FUNCTION refund_within_payment() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    paid bigint;
    refunded bigint;
BEGIN
    -- The payment's row orders its refunds even when the caller took no lock.
    SELECT charged_cents INTO paid FROM payments WHERE id = NEW.payment_id FOR NO KEY UPDATE;
    SELECT COALESCE(SUM(amount_cents), 0) INTO refunded FROM refunds
        WHERE payment_id = NEW.payment_id;
    IF refunded + NEW.amount_cents > paid THEN
        RAISE EXCEPTION 'refunds on payment % would exceed the % cents it charged',
            NEW.payment_id, paid USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$
"""

SQLITE_TRIGGER = """
CREATE TRIGGER refunds_within_payment BEFORE INSERT ON refunds
WHEN NEW.amount_cents + (SELECT COALESCE(SUM(amount_cents), 0) FROM refunds
                         WHERE payment_id = NEW.payment_id)
     > (SELECT charged_cents FROM payments WHERE id = NEW.payment_id)
BEGIN SELECT RAISE(ABORT, 'refunds would exceed the payment they refund'); END
"""


def upgrade() -> None:
    unsound = op.get_bind().execute(sa.text(UNSOUND)).scalars().all()
    if unsound:
        raise RuntimeError(
            "Refunds above their payment, or recorded twice, on payments "
            f"{', '.join(map(str, unsound))}: resolve them before upgrading."
        )
    # Unique indexes, not constraints: SQLite adds them without rebuilding the table.
    op.create_index(
        "uq_refunds_payment_id_reference", "refunds", ["payment_id", "reference"], unique=True
    )
    op.create_index(
        "uq_refunds_ledger_transaction_id", "refunds", ["ledger_transaction_id"], unique=True
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_TRIGGER)
        op.execute(
            "CREATE TRIGGER refunds_within_payment BEFORE INSERT ON refunds "
            "FOR EACH ROW EXECUTE FUNCTION refund_within_payment()"
        )
    else:
        op.execute(SQLITE_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER refunds_within_payment ON refunds")
        op.execute("DROP FUNCTION refund_within_payment()")
    else:
        op.execute("DROP TRIGGER refunds_within_payment")
    op.drop_index("uq_refunds_ledger_transaction_id", table_name="refunds")
    op.drop_index("uq_refunds_payment_id_reference", table_name="refunds")
