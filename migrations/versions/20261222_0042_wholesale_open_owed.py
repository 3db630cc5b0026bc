"""Each wholesale order carries what it counts towards its company's credit (``open_owed_minor``),
kept by triggers, so an order's credit check sums one index instead of joining every open order

An order counts while its credit was given (clear or approved), it is open (confirmed, ready or
completed), not paid, and not yet invoiced (from then on its invoice counts): total − paid, else 0.
The value is recomputed from those inputs whenever one of them is written — by any statement, the
application's or a hand-written one — never carried as a delta, so it cannot drift. The values
below are the stored enum and kind values of ``app.wholesale.order_queries.OPEN_STATUSES`` and
``COUNTED_CREDIT``, as of this revision; ``tests/wholesale/test_open_owed.py`` checks the stored
figures against the join they replace.

Revision ID: 0042_wholesale_open_owed
Revises: 0041_county_figures_rebuild
Create Date: 2026-12-22 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0042_wholesale_open_owed"
down_revision: str | None = "0041_county_figures_rebuild"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("wholesale_orders", sa.Column("open_owed_minor", sa.BigInteger(), server_default="0", nullable=False))
    # What one order counts, read from its rows as they stand in the calling statement.
    op.execute(
        """
        CREATE FUNCTION wholesale_open_owed(p_order_id bigint, p_credit_state text) RETURNS bigint
        LANGUAGE sql STABLE AS $$
            SELECT coalesce((
                SELECT o.total_minor - o.paid_minor
                FROM orders o
                WHERE o.id = p_order_id
                  AND p_credit_state IN ('clear', 'approved')
                  AND o.channel = 'wholesale'
                  AND o.status IN ('confirmed', 'ready_for_pickup', 'completed')
                  AND o.payment_status <> 'paid'
                  AND NOT EXISTS (
                      SELECT 1 FROM wholesale_invoices i WHERE i.order_id = o.id AND i.kind = 'invoice'
                  )
            ), 0)
        $$
        """
    )
    # The wholesale row written or changed (its credit state): its own figure, before it is stored.
    op.execute(
        """
        CREATE FUNCTION wholesale_orders_open_owed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.open_owed_minor := wholesale_open_owed(NEW.order_id, NEW.credit_state);
            RETURN NEW;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER wholesale_orders_open_owed BEFORE INSERT OR UPDATE ON wholesale_orders "
        "FOR EACH ROW EXECUTE FUNCTION wholesale_orders_open_owed()"
    )
    # The order's status, payment or amounts changed, or its invoice written or removed: its
    # wholesale row is written again (only when the figure moves), which recomputes it above.
    op.execute(
        """
        CREATE FUNCTION wholesale_open_owed_refresh(p_order_id bigint) RETURNS void LANGUAGE sql AS $$
            UPDATE wholesale_orders w SET open_owed_minor = wholesale_open_owed(w.order_id, w.credit_state)
            WHERE w.order_id = p_order_id
              AND w.open_owed_minor IS DISTINCT FROM wholesale_open_owed(w.order_id, w.credit_state)
        $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION orders_wholesale_open_owed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM wholesale_open_owed_refresh(NEW.id);
            RETURN NULL;
        END
        $$
        """
    )
    # Shop and till orders never reach the function: the WHEN is evaluated before it is called.
    op.execute(
        "CREATE TRIGGER orders_wholesale_open_owed "
        "AFTER UPDATE OF status, payment_status, total_minor, paid_minor ON orders FOR EACH ROW "
        "WHEN (NEW.channel = 'wholesale' AND (OLD.status, OLD.payment_status, OLD.total_minor, OLD.paid_minor) "
        "IS DISTINCT FROM (NEW.status, NEW.payment_status, NEW.total_minor, NEW.paid_minor)) "
        "EXECUTE FUNCTION orders_wholesale_open_owed()"
    )
    op.execute(
        """
        CREATE FUNCTION wholesale_invoices_open_owed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP <> 'INSERT' THEN
                PERFORM wholesale_open_owed_refresh(OLD.order_id);
            END IF;
            IF TG_OP <> 'DELETE' THEN
                PERFORM wholesale_open_owed_refresh(NEW.order_id);
            END IF;
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER wholesale_invoices_open_owed "
        "AFTER INSERT OR DELETE OR UPDATE OF order_id, kind ON wholesale_invoices "
        "FOR EACH ROW EXECUTE FUNCTION wholesale_invoices_open_owed()"
    )
    # Orders written before this revision: the BEFORE UPDATE trigger computes each one's figure.
    op.execute("UPDATE wholesale_orders SET open_owed_minor = 0")
    op.create_index(
        "ix_wholesale_orders_open_owed",
        "wholesale_orders",
        ["company_id"],
        postgresql_include=["open_owed_minor"],
        postgresql_where=sa.text("open_owed_minor <> 0"),
    )


def downgrade() -> None:
    op.drop_index("ix_wholesale_orders_open_owed", table_name="wholesale_orders")
    op.execute("DROP TRIGGER wholesale_invoices_open_owed ON wholesale_invoices")
    op.execute("DROP FUNCTION wholesale_invoices_open_owed()")
    op.execute("DROP TRIGGER orders_wholesale_open_owed ON orders")
    op.execute("DROP FUNCTION orders_wholesale_open_owed()")
    op.execute("DROP FUNCTION wholesale_open_owed_refresh(bigint)")
    op.execute("DROP TRIGGER wholesale_orders_open_owed ON wholesale_orders")
    op.execute("DROP FUNCTION wholesale_orders_open_owed()")
    op.execute("DROP FUNCTION wholesale_open_owed(bigint, text)")
    op.drop_column("wholesale_orders", "open_owed_minor")
