"""standing orders: a company's weekly repeat orders and one row per week generated, skipped or failed

Revision ID: 0020_standing_orders
Revises: 0019_wholesale_invoices
Create Date: 2026-12-09 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0020_standing_orders"
down_revision: str | None = "0019_wholesale_invoices"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wholesale_standing_orders",
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("created_by_id", sa.BigInteger(), nullable=False),
        sa.Column("delivery_address_id", sa.BigInteger(), nullable=False),
        sa.Column("weekday", sa.SmallInteger(), nullable=False),
        sa.Column("lines", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("skipped_dates", postgresql.ARRAY(sa.Date()), nullable=False),
        sa.Column("source_order_number", sa.String(length=40), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("weekday BETWEEN 1 AND 7", name=op.f("ck_wholesale_standing_orders_weekday_iso")),
        sa.ForeignKeyConstraint(
            ["company_id"], ["buyer_companies.id"], name=op.f("fk_wholesale_standing_orders_company_id_buyer_companies")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_wholesale_standing_orders_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["delivery_address_id"],
            ["company_delivery_addresses.id"],
            name=op.f("fk_wholesale_standing_orders_delivery_address_id_company_delivery_addresses"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wholesale_standing_orders")),
    )
    op.create_index("ix_wholesale_standing_orders_company", "wholesale_standing_orders", ["company_id"])
    op.create_table(
        "wholesale_standing_occurrences",
        sa.Column("standing_order_id", sa.BigInteger(), nullable=False),
        sa.Column("trip_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=True),
        sa.Column("order_number", sa.String(length=40), nullable=True),
        sa.Column("total_minor", sa.BigInteger(), nullable=True),
        sa.Column("reason_zh", sa.String(length=1000), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "status IN ('placed', 'failed', 'skipped')", name=op.f("ck_wholesale_standing_occurrences_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_wholesale_standing_occurrences_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["standing_order_id"],
            ["wholesale_standing_orders.id"],
            name=op.f("fk_wholesale_standing_occurrences_standing_order_id_wholesale_standing_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wholesale_standing_occurrences")),
        sa.UniqueConstraint("standing_order_id", "trip_date", name="uq_wholesale_standing_occurrences_week"),
    )


def downgrade() -> None:
    op.drop_table("wholesale_standing_occurrences")
    op.drop_index("ix_wholesale_standing_orders_company", table_name="wholesale_standing_orders")
    op.drop_table("wholesale_standing_orders")
