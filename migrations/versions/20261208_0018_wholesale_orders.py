"""wholesale orders: an order's company, trip (and why), delivery address, load and credit state

Revision ID: 0018_wholesale_orders
Revises: 0017_wholesale_companies
Create Date: 2026-12-08 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_wholesale_orders"
down_revision: str | None = "0017_wholesale_companies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wholesale_orders",
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("trip_id", sa.BigInteger(), nullable=False),
        sa.Column("delivery_address_id", sa.BigInteger(), nullable=False),
        sa.Column("requested_date", sa.Date(), nullable=True),
        sa.Column("trip_reason_code", sa.String(length=30), nullable=False),
        sa.Column("trip_reason_zh", sa.String(length=300), nullable=False),
        sa.Column("weight_kg", sa.Numeric(12, 3), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("credit_state", sa.String(length=20), nullable=False),
        sa.Column("exposure_minor", sa.BigInteger(), nullable=False),
        sa.Column("credit_hold_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("trip_released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("cases >= 0 AND weight_kg >= 0", name=op.f("ck_wholesale_orders_load_non_negative")),
        sa.CheckConstraint(
            "credit_state <> 'held' OR credit_hold_until IS NOT NULL",
            name=op.f("ck_wholesale_orders_held_has_deadline"),
        ),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_wholesale_orders_order_id_orders")),
        sa.ForeignKeyConstraint(
            ["company_id"], ["buyer_companies.id"], name=op.f("fk_wholesale_orders_company_id_buyer_companies")
        ),
        sa.ForeignKeyConstraint(
            ["trip_id"], ["wholesale_trips.id"], name=op.f("fk_wholesale_orders_trip_id_wholesale_trips")
        ),
        sa.ForeignKeyConstraint(
            ["delivery_address_id"],
            ["company_delivery_addresses.id"],
            name=op.f("fk_wholesale_orders_delivery_address_id_company_delivery_addresses"),
        ),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_wholesale_orders")),
    )
    op.create_index(op.f("ix_wholesale_orders_company_id"), "wholesale_orders", ["company_id"])
    op.create_index(op.f("ix_wholesale_orders_trip_id"), "wholesale_orders", ["trip_id"])
    op.create_index(
        "ix_wholesale_orders_held",
        "wholesale_orders",
        ["credit_hold_until"],
        postgresql_where=sa.text("credit_state = 'held'"),
    )


def downgrade() -> None:
    op.drop_index("ix_wholesale_orders_held", table_name="wholesale_orders")
    op.drop_index(op.f("ix_wholesale_orders_trip_id"), table_name="wholesale_orders")
    op.drop_index(op.f("ix_wholesale_orders_company_id"), table_name="wholesale_orders")
    op.drop_table("wholesale_orders")
