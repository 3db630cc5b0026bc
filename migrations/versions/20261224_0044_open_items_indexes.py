"""Partial indexes of the open items that each order reads, so that the reading does not grow with
the history: a company's credit notes not yet applied and payments not yet allocated, and a
station's pickup orders held or expected

- The credit check of a wholesale order runs under the company's turn (one order at a time per
  company); its sums read every invoice, credit note and payment the company ever had through the
  company's index, more with each delivery. The open invoices already had an index
  (``ix_wholesale_invoices_open``).
- Routing a shop order to a pickup station counts the station's orders that hold or will hold a
  shelf slot: through the station's index it read every order the station ever had.

The statements write the predicates' values into their SQL (``app.kit.models.in_statement``), so
the generic plans of asyncpg's prepared statements can use these indexes.

Revision ID: 0044_open_items_indexes
Revises: 0043_open_owed_locks_order
Create Date: 2026-12-24 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0044_open_items_indexes"
down_revision: str | None = "0043_open_owed_locks_order"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_wholesale_invoices_open_credit",
        "wholesale_invoices",
        ["company_id"],
        postgresql_where=sa.text("kind = 'credit_note' AND settled_minor < -total_minor"),
    )
    op.create_index(
        "ix_wholesale_payments_unallocated",
        "wholesale_payments",
        ["company_id"],
        postgresql_where=sa.text("allocated_minor < amount_minor"),
    )

    op.create_index(
        "ix_orders_station_holding",
        "orders",
        ["station_id"],
        postgresql_where=sa.text(
            "delivery_method = 'station_pickup' AND status IN ('pending_payment', 'confirmed', 'ready_for_pickup')"
        ),
    )


def downgrade() -> None:
    op.drop_index("ix_orders_station_holding", table_name="orders")
    op.drop_index("ix_wholesale_payments_unallocated", table_name="wholesale_payments")
    op.drop_index("ix_wholesale_invoices_open_credit", table_name="wholesale_invoices")
