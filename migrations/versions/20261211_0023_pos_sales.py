"""POS sales: shifts, cash movements, sales with their lines and tenders, returns, stock exceptions,
replenishment requests; a counter discount on orders

Revision ID: 0023_pos_sales
Revises: 0022_pos_scanning
Create Date: 2026-12-11 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0023_pos_sales"
down_revision: str | None = "0022_pos_scanning"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pos_shifts",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("store_id", sa.BigInteger(), nullable=False),
        sa.Column("till_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("opened_by_id", sa.BigInteger(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("float_minor", sa.BigInteger(), nullable=False),
        sa.Column("closed_by_id", sa.BigInteger(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_offline", sa.Boolean(), nullable=False),
        sa.Column("counted_denominations", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("counted_cash_minor", sa.BigInteger(), nullable=True),
        sa.Column("expected_cash_minor", sa.BigInteger(), nullable=True),
        sa.Column("variance_minor", sa.BigInteger(), nullable=True),
        sa.Column("variance_status", sa.String(length=10), nullable=False),
        sa.Column("variance_approved_by_id", sa.BigInteger(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.CheckConstraint("status = 'open' OR closed_at IS NOT NULL", name=op.f("ck_pos_shifts_closed_has_time")),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_pos_shifts_status_known")),
        sa.CheckConstraint(
            "variance_status IN ('none', 'approved', 'pending')", name=op.f("ck_pos_shifts_variance_status_known")
        ),
        sa.CheckConstraint("float_minor >= 0", name=op.f("ck_pos_shifts_float_non_negative")),
        sa.ForeignKeyConstraint(["closed_by_id"], ["users.id"], name=op.f("fk_pos_shifts_closed_by_id_users")),
        sa.ForeignKeyConstraint(["opened_by_id"], ["users.id"], name=op.f("fk_pos_shifts_opened_by_id_users")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_pos_shifts_store_id_stores")),
        sa.ForeignKeyConstraint(["till_id"], ["tills.id"], name=op.f("fk_pos_shifts_till_id_tills")),
        sa.ForeignKeyConstraint(
            ["variance_approved_by_id"], ["users.id"], name=op.f("fk_pos_shifts_variance_approved_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pos_shifts")),
        sa.UniqueConstraint("client_id", name=op.f("uq_pos_shifts_client_id")),
    )
    op.create_index(op.f("ix_pos_shifts_store_id"), "pos_shifts", ["store_id"], unique=False)
    op.create_index(op.f("ix_pos_shifts_till_id"), "pos_shifts", ["till_id"], unique=False)
    op.create_index(
        "uq_pos_shifts_one_open_per_till",
        "pos_shifts",
        ["till_id"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "pos_cash_movements",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("shift_id", sa.BigInteger(), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("approved_by_id", sa.BigInteger(), nullable=True),
        sa.Column("moved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.CheckConstraint("direction IN ('in', 'out')", name=op.f("ck_pos_cash_movements_direction_known")),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_pos_cash_movements_amount_positive")),
        sa.ForeignKeyConstraint(
            ["approved_by_id"], ["users.id"], name=op.f("fk_pos_cash_movements_approved_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["shift_id"], ["pos_shifts.id"], name=op.f("fk_pos_cash_movements_shift_id_pos_shifts")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_pos_cash_movements_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pos_cash_movements")),
        sa.UniqueConstraint("client_id", name=op.f("uq_pos_cash_movements_client_id")),
    )
    op.create_index(op.f("ix_pos_cash_movements_shift_id"), "pos_cash_movements", ["shift_id"], unique=False)
    op.create_table(
        "pos_replenishment_requests",
        sa.Column("number", sa.String(length=24), nullable=False),
        sa.Column("store_id", sa.BigInteger(), nullable=False),
        sa.Column("requested_by_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("transfer_id", sa.BigInteger(), nullable=True),
        sa.Column("decided_by_id", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decline_reason", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "status <> 'shipped' OR transfer_id IS NOT NULL",
            name=op.f("ck_pos_replenishment_requests_shipped_has_transfer"),
        ),
        sa.CheckConstraint(
            "status IN ('requested', 'shipped', 'declined')", name=op.f("ck_pos_replenishment_requests_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_pos_replenishment_requests_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["users.id"], name=op.f("fk_pos_replenishment_requests_requested_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_pos_replenishment_requests_store_id_stores")
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"], ["transfers.id"], name=op.f("fk_pos_replenishment_requests_transfer_id_transfers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pos_replenishment_requests")),
        sa.UniqueConstraint("number", name=op.f("uq_pos_replenishment_requests_number")),
    )
    op.create_index(
        op.f("ix_pos_replenishment_requests_store_id"), "pos_replenishment_requests", ["store_id"], unique=False
    )
    op.create_table(
        "pos_sales",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("store_id", sa.BigInteger(), nullable=False),
        sa.Column("till_id", sa.BigInteger(), nullable=False),
        sa.Column("shift_id", sa.BigInteger(), nullable=False),
        sa.Column("clerk_id", sa.BigInteger(), nullable=False),
        sa.Column("sold_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("made_offline", sa.Boolean(), nullable=False),
        sa.Column("subtotal_minor", sa.BigInteger(), nullable=False),
        sa.Column("discount_minor", sa.BigInteger(), nullable=False),
        sa.Column("discount_reason", sa.String(length=100), nullable=False),
        sa.Column("discount_approved_by_id", sa.BigInteger(), nullable=True),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("tendered_minor", sa.BigInteger(), nullable=False),
        sa.Column("change_minor", sa.BigInteger(), nullable=False),
        sa.Column("refunded_minor", sa.BigInteger(), nullable=False),
        sa.Column("price_differs", sa.Boolean(), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "change_minor >= 0 AND tendered_minor - change_minor = total_minor",
            name=op.f("ck_pos_sales_fully_tendered"),
        ),
        sa.CheckConstraint(
            "discount_minor >= 0 AND discount_minor <= subtotal_minor",
            name=op.f("ck_pos_sales_discount_within_subtotal"),
        ),
        sa.CheckConstraint(
            "refunded_minor >= 0 AND refunded_minor <= total_minor", name=op.f("ck_pos_sales_refund_within_total")
        ),
        sa.CheckConstraint("total_minor = subtotal_minor - discount_minor", name=op.f("ck_pos_sales_total_adds_up")),
        sa.ForeignKeyConstraint(["clerk_id"], ["users.id"], name=op.f("fk_pos_sales_clerk_id_users")),
        sa.ForeignKeyConstraint(
            ["discount_approved_by_id"], ["users.id"], name=op.f("fk_pos_sales_discount_approved_by_id_users")
        ),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_pos_sales_order_id_orders")),
        sa.ForeignKeyConstraint(["shift_id"], ["pos_shifts.id"], name=op.f("fk_pos_sales_shift_id_pos_shifts")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_pos_sales_store_id_stores")),
        sa.ForeignKeyConstraint(["till_id"], ["tills.id"], name=op.f("fk_pos_sales_till_id_tills")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pos_sales")),
        sa.UniqueConstraint("client_id", name=op.f("uq_pos_sales_client_id")),
        sa.UniqueConstraint("number", name=op.f("uq_pos_sales_number")),
        sa.UniqueConstraint("order_id", name=op.f("uq_pos_sales_order_id")),
    )
    op.create_index(op.f("ix_pos_sales_shift_id"), "pos_sales", ["shift_id"], unique=False)
    op.create_index(op.f("ix_pos_sales_store_id"), "pos_sales", ["store_id"], unique=False)
    op.create_index(op.f("ix_pos_sales_till_id"), "pos_sales", ["till_id"], unique=False)
    op.create_table(
        "pos_replenishment_lines",
        sa.Column("request_id", sa.BigInteger(), nullable=False),
        sa.Column("variant_id", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_pos_replenishment_lines_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["pos_replenishment_requests.id"],
            name=op.f("fk_pos_replenishment_lines_request_id_pos_replenishment_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["variant_id"], ["variants.id"], name=op.f("fk_pos_replenishment_lines_variant_id_variants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pos_replenishment_lines")),
    )
    op.create_index(
        op.f("ix_pos_replenishment_lines_request_id"), "pos_replenishment_lines", ["request_id"], unique=False
    )
    op.create_table(
        "pos_returns",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=24), nullable=False),
        sa.Column("sale_id", sa.BigInteger(), nullable=False),
        sa.Column("store_id", sa.BigInteger(), nullable=False),
        sa.Column("till_id", sa.BigInteger(), nullable=False),
        sa.Column("shift_id", sa.BigInteger(), nullable=False),
        sa.Column("clerk_id", sa.BigInteger(), nullable=False),
        sa.Column("approved_by_id", sa.BigInteger(), nullable=True),
        sa.Column("refund_minor", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("returned_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.CheckConstraint("refund_minor > 0", name=op.f("ck_pos_returns_refund_positive")),
        sa.ForeignKeyConstraint(["approved_by_id"], ["users.id"], name=op.f("fk_pos_returns_approved_by_id_users")),
        sa.ForeignKeyConstraint(["clerk_id"], ["users.id"], name=op.f("fk_pos_returns_clerk_id_users")),
        sa.ForeignKeyConstraint(["sale_id"], ["pos_sales.id"], name=op.f("fk_pos_returns_sale_id_pos_sales")),
        sa.ForeignKeyConstraint(["shift_id"], ["pos_shifts.id"], name=op.f("fk_pos_returns_shift_id_pos_shifts")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_pos_returns_store_id_stores")),
        sa.ForeignKeyConstraint(["till_id"], ["tills.id"], name=op.f("fk_pos_returns_till_id_tills")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pos_returns")),
        sa.UniqueConstraint("client_id", name=op.f("uq_pos_returns_client_id")),
        sa.UniqueConstraint("number", name=op.f("uq_pos_returns_number")),
    )
    op.create_index(op.f("ix_pos_returns_sale_id"), "pos_returns", ["sale_id"], unique=False)
    op.create_index(op.f("ix_pos_returns_shift_id"), "pos_returns", ["shift_id"], unique=False)
    op.create_index(op.f("ix_pos_returns_store_id"), "pos_returns", ["store_id"], unique=False)
    op.create_table(
        "pos_sale_lines",
        sa.Column("order_line_id", sa.BigInteger(), nullable=False),
        sa.Column("sale_id", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=True),
        sa.Column("grams", sa.Integer(), nullable=True),
        sa.Column("list_unit_price_minor", sa.BigInteger(), nullable=True),
        sa.Column("list_line_total_minor", sa.BigInteger(), nullable=True),
        sa.Column("returned_quantity", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("short_quantity", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.CheckConstraint(
            "source IN ('product', 'weight_label', 'price_label', 'plu_key', 'search')",
            name=op.f("ck_pos_sale_lines_source_known"),
        ),
        sa.CheckConstraint(
            "returned_quantity >= 0 AND short_quantity >= 0", name=op.f("ck_pos_sale_lines_quantities_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["order_line_id"], ["order_lines.id"], name=op.f("fk_pos_sale_lines_order_line_id_order_lines")
        ),
        sa.ForeignKeyConstraint(["sale_id"], ["pos_sales.id"], name=op.f("fk_pos_sale_lines_sale_id_pos_sales")),
        sa.PrimaryKeyConstraint("order_line_id", name=op.f("pk_pos_sale_lines")),
    )
    op.create_index(op.f("ix_pos_sale_lines_sale_id"), "pos_sale_lines", ["sale_id"], unique=False)
    op.create_table(
        "pos_stock_exceptions",
        sa.Column("store_id", sa.BigInteger(), nullable=False),
        sa.Column("location_id", sa.BigInteger(), nullable=False),
        sa.Column("sale_id", sa.BigInteger(), nullable=False),
        sa.Column("variant_id", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("resolution", sa.String(length=20), nullable=True),
        sa.Column("resolution_ref", sa.String(length=40), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("resolved_by_id", sa.BigInteger(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "status = 'open' OR resolution IS NOT NULL", name=op.f("ck_pos_stock_exceptions_resolved_has_resolution")
        ),
        sa.CheckConstraint("status IN ('open', 'resolved')", name=op.f("ck_pos_stock_exceptions_status_known")),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_pos_stock_exceptions_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_pos_stock_exceptions_location_id_locations")
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"], ["users.id"], name=op.f("fk_pos_stock_exceptions_resolved_by_id_users")
        ),
        sa.ForeignKeyConstraint(["sale_id"], ["pos_sales.id"], name=op.f("fk_pos_stock_exceptions_sale_id_pos_sales")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_pos_stock_exceptions_store_id_stores")),
        sa.ForeignKeyConstraint(
            ["variant_id"], ["variants.id"], name=op.f("fk_pos_stock_exceptions_variant_id_variants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pos_stock_exceptions")),
    )
    op.create_index(
        "ix_pos_stock_exceptions_open",
        "pos_stock_exceptions",
        ["store_id"],
        unique=False,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index(op.f("ix_pos_stock_exceptions_sale_id"), "pos_stock_exceptions", ["sale_id"], unique=False)
    op.create_index(op.f("ix_pos_stock_exceptions_store_id"), "pos_stock_exceptions", ["store_id"], unique=False)
    op.create_table(
        "pos_tenders",
        sa.Column("sale_id", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("wallet", sa.String(length=10), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("reference_tail", sa.String(length=12), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "method = 'cash' OR wallet IN ('wechat', 'alipay')", name=op.f("ck_pos_tenders_qr_has_wallet")
        ),
        sa.CheckConstraint("method IN ('cash', 'qr')", name=op.f("ck_pos_tenders_method_known")),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_pos_tenders_amount_positive")),
        sa.ForeignKeyConstraint(["sale_id"], ["pos_sales.id"], name=op.f("fk_pos_tenders_sale_id_pos_sales")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pos_tenders")),
    )
    op.create_index(op.f("ix_pos_tenders_sale_id"), "pos_tenders", ["sale_id"], unique=False)
    op.create_table(
        "pos_return_lines",
        sa.Column("return_id", sa.BigInteger(), nullable=False),
        sa.Column("order_line_id", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("refund_minor", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.CheckConstraint("quantity > 0 AND refund_minor >= 0", name=op.f("ck_pos_return_lines_amounts_valid")),
        sa.ForeignKeyConstraint(
            ["order_line_id"], ["order_lines.id"], name=op.f("fk_pos_return_lines_order_line_id_order_lines")
        ),
        sa.ForeignKeyConstraint(
            ["return_id"], ["pos_returns.id"], name=op.f("fk_pos_return_lines_return_id_pos_returns")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pos_return_lines")),
    )
    op.create_index(op.f("ix_pos_return_lines_order_line_id"), "pos_return_lines", ["order_line_id"], unique=False)
    op.create_index(op.f("ix_pos_return_lines_return_id"), "pos_return_lines", ["return_id"], unique=False)
    op.add_column("orders", sa.Column("discount_minor", sa.BigInteger(), server_default="0", nullable=False))
    op.drop_constraint(op.f("ck_orders_total_adds_up"), "orders", type_="check")
    op.create_check_constraint(
        op.f("ck_orders_total_adds_up"), "orders", "total_minor = subtotal_minor - discount_minor + delivery_fee_minor"
    )
    op.create_check_constraint(
        op.f("ck_orders_discount_within_subtotal"), "orders", "discount_minor >= 0 AND discount_minor <= subtotal_minor"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_orders_discount_within_subtotal"), "orders", type_="check")
    op.drop_constraint(op.f("ck_orders_total_adds_up"), "orders", type_="check")
    op.create_check_constraint(
        op.f("ck_orders_total_adds_up"), "orders", "total_minor = subtotal_minor + delivery_fee_minor"
    )
    op.drop_column("orders", "discount_minor")
    op.drop_index(op.f("ix_pos_return_lines_return_id"), table_name="pos_return_lines")
    op.drop_index(op.f("ix_pos_return_lines_order_line_id"), table_name="pos_return_lines")
    op.drop_table("pos_return_lines")
    op.drop_index(op.f("ix_pos_tenders_sale_id"), table_name="pos_tenders")
    op.drop_table("pos_tenders")
    op.drop_index(op.f("ix_pos_stock_exceptions_store_id"), table_name="pos_stock_exceptions")
    op.drop_index(op.f("ix_pos_stock_exceptions_sale_id"), table_name="pos_stock_exceptions")
    op.drop_index(
        "ix_pos_stock_exceptions_open", table_name="pos_stock_exceptions", postgresql_where=sa.text("status = 'open'")
    )
    op.drop_table("pos_stock_exceptions")
    op.drop_index(op.f("ix_pos_sale_lines_sale_id"), table_name="pos_sale_lines")
    op.drop_table("pos_sale_lines")
    op.drop_index(op.f("ix_pos_returns_store_id"), table_name="pos_returns")
    op.drop_index(op.f("ix_pos_returns_shift_id"), table_name="pos_returns")
    op.drop_index(op.f("ix_pos_returns_sale_id"), table_name="pos_returns")
    op.drop_table("pos_returns")
    op.drop_index(op.f("ix_pos_replenishment_lines_request_id"), table_name="pos_replenishment_lines")
    op.drop_table("pos_replenishment_lines")
    op.drop_index(op.f("ix_pos_sales_till_id"), table_name="pos_sales")
    op.drop_index(op.f("ix_pos_sales_store_id"), table_name="pos_sales")
    op.drop_index(op.f("ix_pos_sales_shift_id"), table_name="pos_sales")
    op.drop_table("pos_sales")
    op.drop_index(op.f("ix_pos_replenishment_requests_store_id"), table_name="pos_replenishment_requests")
    op.drop_table("pos_replenishment_requests")
    op.drop_index(op.f("ix_pos_cash_movements_shift_id"), table_name="pos_cash_movements")
    op.drop_table("pos_cash_movements")
    op.drop_index(
        "uq_pos_shifts_one_open_per_till", table_name="pos_shifts", postgresql_where=sa.text("status = 'open'")
    )
    op.drop_index(op.f("ix_pos_shifts_till_id"), table_name="pos_shifts")
    op.drop_index(op.f("ix_pos_shifts_store_id"), table_name="pos_shifts")
    op.drop_table("pos_shifts")
