"""County dashboard: daily summary tables (sales by channel, upward / downward flow) and their
refresh watermark; a purchase price on lots (upward value), a reorder point on variants; the
indexes the dashboard's figures and attention lists read through

Revision ID: 0034_county_dashboard
Revises: 0033_quarterly_reports
Create Date: 2026-12-18 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0034_county_dashboard"
down_revision: str | None = "0033_quarterly_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (index, table, columns, partial WHERE or None)
INDEXES: tuple[tuple[str, str, list[str], str | None], ...] = (
    ("ix_orders_waiting", "orders", ["status"], "status IN ('pending_payment', 'confirmed', 'ready_for_pickup')"),
    ("ix_payments_succeeded_at", "payments", ["succeeded_at"], "state = 'succeeded'"),
    ("ix_pos_sales_sold_at", "pos_sales", ["sold_at"], None),
    ("ix_parcels_arrived_at", "parcels", ["arrived_at"], None),
    ("ix_parcels_handed_over_at", "parcels", ["handed_over_at"], None),
    ("ix_upstream_consignments_created_at", "upstream_consignments", ["created_at"], None),
    ("ix_lots_created_at", "lots", ["created_at"], None),
    ("ix_alibaba_orders_created_remote_at", "alibaba_orders", ["created_remote_at"], None),
    ("ix_alibaba_sync_log_failures", "alibaba_sync_log", ["created_at"], "NOT ok"),
    ("ix_wholesale_invoices_issue_date", "wholesale_invoices", ["issue_date"], "kind = 'invoice'"),
)


def upgrade() -> None:
    op.create_table(
        "county_daily_sales",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("sales_minor", sa.BigInteger(), nullable=False),
        sa.Column("weight_kg", sa.Numeric(14, 3), nullable=False),
        sa.PrimaryKeyConstraint("day", "channel", name=op.f("pk_county_daily_sales")),
    )
    op.create_table(
        "county_daily_flows",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("station_kg", sa.Numeric(14, 3), nullable=False),
        sa.Column("station_value_minor", sa.BigInteger(), nullable=False),
        sa.Column("consignments", sa.Integer(), nullable=False),
        sa.Column("supplier_kg", sa.Numeric(14, 3), nullable=False),
        sa.Column("supplier_value_minor", sa.BigInteger(), nullable=False),
        sa.Column("lots", sa.Integer(), nullable=False),
        sa.Column("parcels", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_county_daily_flows")),
    )
    op.create_table(
        "county_figures_state",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("days_refreshed", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_county_figures_state")),
    )
    # Nullable without a default: PostgreSQL adds the columns without rewriting the tables.
    op.add_column("lots", sa.Column("purchase_price_minor", sa.BigInteger(), nullable=True))
    op.create_check_constraint(
        op.f("ck_lots_purchase_price_not_negative"), "lots", "purchase_price_minor IS NULL OR purchase_price_minor >= 0"
    )
    op.add_column("variants", sa.Column("reorder_point", sa.Numeric(12, 3), nullable=True))
    for name, table, columns, where in INDEXES:
        op.create_index(name, table, columns, postgresql_where=sa.text(where) if where else None)


def downgrade() -> None:
    for name, table, _, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_column("variants", "reorder_point")
    op.drop_constraint(op.f("ck_lots_purchase_price_not_negative"), "lots", type_="check")
    op.drop_column("lots", "purchase_price_minor")
    op.drop_table("county_figures_state")
    op.drop_table("county_daily_flows")
    op.drop_table("county_daily_sales")
