"""wholesale invoices: stored invoices, credit notes and pro-formas, staff-recorded payments and their
allocations, proof of delivery per trip stop, and the packed (weighed) quantity of an order line

Revision ID: 0019_wholesale_invoices
Revises: 0018_wholesale_orders
Create Date: 2026-12-08 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0019_wholesale_invoices"
down_revision: str | None = "0018_wholesale_orders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wholesale_payments",
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(length=60), nullable=False),
        sa.Column("allocated_minor", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.Column("recorded_by_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "allocated_minor >= 0 AND allocated_minor <= amount_minor",
            name=op.f("ck_wholesale_payments_allocated_within_amount"),
        ),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_wholesale_payments_amount_positive")),
        sa.ForeignKeyConstraint(
            ["company_id"], ["buyer_companies.id"], name=op.f("fk_wholesale_payments_company_id_buyer_companies")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_wholesale_payments_recorded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wholesale_payments")),
        sa.UniqueConstraint("company_id", "reference", name="uq_wholesale_payments_company_reference"),
    )
    op.create_index(op.f("ix_wholesale_payments_company_id"), "wholesale_payments", ["company_id"], unique=False)
    op.create_table(
        "wholesale_invoices",
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("against_invoice_id", sa.BigInteger(), nullable=True),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("tax_minor", sa.BigInteger(), nullable=False),
        sa.Column("tax_rate_percent", sa.SmallInteger(), nullable=False),
        sa.Column("settled_minor", sa.BigInteger(), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("buyer", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.Column("issued_by_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "(kind = 'credit_note') = (against_invoice_id IS NOT NULL)",
            name=op.f("ck_wholesale_invoices_credit_note_has_invoice"),
        ),
        sa.CheckConstraint(
            "kind <> 'credit_note' OR total_minor < 0", name=op.f("ck_wholesale_invoices_credit_total_negative")
        ),
        sa.CheckConstraint(
            "kind = 'credit_note' OR total_minor >= 0", name=op.f("ck_wholesale_invoices_debit_total_not_negative")
        ),
        sa.CheckConstraint(
            "kind IN ('invoice', 'credit_note', 'proforma')", name=op.f("ck_wholesale_invoices_kind_known")
        ),
        sa.CheckConstraint(
            "settled_minor >= 0 AND settled_minor <= abs(total_minor)",
            name=op.f("ck_wholesale_invoices_settled_within_total"),
        ),
        sa.ForeignKeyConstraint(
            ["against_invoice_id"],
            ["wholesale_invoices.id"],
            name=op.f("fk_wholesale_invoices_against_invoice_id_wholesale_invoices"),
        ),
        sa.ForeignKeyConstraint(
            ["company_id"], ["buyer_companies.id"], name=op.f("fk_wholesale_invoices_company_id_buyer_companies")
        ),
        sa.ForeignKeyConstraint(["issued_by_id"], ["users.id"], name=op.f("fk_wholesale_invoices_issued_by_id_users")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_wholesale_invoices_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wholesale_invoices")),
        sa.UniqueConstraint("number", name=op.f("uq_wholesale_invoices_number")),
    )
    op.create_index(op.f("ix_wholesale_invoices_company_id"), "wholesale_invoices", ["company_id"], unique=False)
    op.create_index(
        "ix_wholesale_invoices_open",
        "wholesale_invoices",
        ["company_id", "due_date"],
        unique=False,
        postgresql_where=sa.text("kind = 'invoice' AND settled_minor < total_minor"),
    )
    op.create_index(op.f("ix_wholesale_invoices_order_id"), "wholesale_invoices", ["order_id"], unique=False)
    op.create_index(
        "uq_wholesale_invoices_order_kind",
        "wholesale_invoices",
        ["order_id", "kind"],
        unique=True,
        postgresql_where=sa.text("kind <> 'credit_note'"),
    )
    op.create_table(
        "wholesale_allocations",
        sa.Column("invoice_id", sa.BigInteger(), nullable=False),
        sa.Column("payment_id", sa.BigInteger(), nullable=True),
        sa.Column("credit_note_id", sa.BigInteger(), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("allocated_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "(payment_id IS NULL) <> (credit_note_id IS NULL)", name=op.f("ck_wholesale_allocations_one_source")
        ),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_wholesale_allocations_amount_positive")),
        sa.ForeignKeyConstraint(
            ["credit_note_id"],
            ["wholesale_invoices.id"],
            name=op.f("fk_wholesale_allocations_credit_note_id_wholesale_invoices"),
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["wholesale_invoices.id"],
            name=op.f("fk_wholesale_allocations_invoice_id_wholesale_invoices"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["wholesale_payments.id"],
            name=op.f("fk_wholesale_allocations_payment_id_wholesale_payments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wholesale_allocations")),
    )
    op.create_index(
        op.f("ix_wholesale_allocations_credit_note_id"), "wholesale_allocations", ["credit_note_id"], unique=False
    )
    op.create_index(op.f("ix_wholesale_allocations_invoice_id"), "wholesale_allocations", ["invoice_id"], unique=False)
    op.create_index(op.f("ix_wholesale_allocations_payment_id"), "wholesale_allocations", ["payment_id"], unique=False)
    op.create_table(
        "wholesale_invoice_lines",
        sa.Column("invoice_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("order_line_id", sa.BigInteger(), nullable=True),
        sa.Column("sku", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=10), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("unit_price_minor", sa.BigInteger(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["wholesale_invoices.id"],
            name=op.f("fk_wholesale_invoice_lines_invoice_id_wholesale_invoices"),
        ),
        sa.ForeignKeyConstraint(
            ["order_line_id"], ["order_lines.id"], name=op.f("fk_wholesale_invoice_lines_order_line_id_order_lines")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wholesale_invoice_lines")),
        sa.UniqueConstraint("invoice_id", "position", name="uq_wholesale_invoice_lines_position"),
    )
    op.create_index(
        op.f("ix_wholesale_invoice_lines_invoice_id"), "wholesale_invoice_lines", ["invoice_id"], unique=False
    )
    op.create_table(
        "wholesale_stop_deliveries",
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("trip_id", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("receiver_name", sa.String(length=50), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.Column("recorded_by_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_wholesale_stop_deliveries_order_id_orders")),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_wholesale_stop_deliveries_recorded_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["trip_id"], ["wholesale_trips.id"], name=op.f("fk_wholesale_stop_deliveries_trip_id_wholesale_trips")
        ),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_wholesale_stop_deliveries")),
    )
    op.create_index(
        op.f("ix_wholesale_stop_deliveries_trip_id"), "wholesale_stop_deliveries", ["trip_id"], unique=False
    )
    op.create_table(
        "wholesale_delivery_issues",
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("order_line_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("photo_path", sa.String(length=200), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "kind <> 'damage' OR photo_path IS NOT NULL", name=op.f("ck_wholesale_delivery_issues_damage_has_photo")
        ),
        sa.CheckConstraint("kind IN ('shortage', 'damage')", name=op.f("ck_wholesale_delivery_issues_kind_known")),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_wholesale_delivery_issues_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["wholesale_stop_deliveries.order_id"],
            name=op.f("fk_wholesale_delivery_issues_order_id_wholesale_stop_deliveries"),
        ),
        sa.ForeignKeyConstraint(
            ["order_line_id"], ["order_lines.id"], name=op.f("fk_wholesale_delivery_issues_order_line_id_order_lines")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wholesale_delivery_issues")),
    )
    op.create_index(
        op.f("ix_wholesale_delivery_issues_order_id"), "wholesale_delivery_issues", ["order_id"], unique=False
    )
    op.add_column("order_lines", sa.Column("packed_quantity", sa.Numeric(precision=12, scale=3), nullable=True))
    op.create_check_constraint(
        op.f("ck_order_lines_packed_quantity_not_negative"),
        "order_lines",
        "packed_quantity IS NULL OR packed_quantity >= 0",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_order_lines_packed_quantity_not_negative"), "order_lines", type_="check")
    op.drop_column("order_lines", "packed_quantity")
    op.drop_index(op.f("ix_wholesale_delivery_issues_order_id"), table_name="wholesale_delivery_issues")
    op.drop_table("wholesale_delivery_issues")
    op.drop_index(op.f("ix_wholesale_stop_deliveries_trip_id"), table_name="wholesale_stop_deliveries")
    op.drop_table("wholesale_stop_deliveries")
    op.drop_index(op.f("ix_wholesale_invoice_lines_invoice_id"), table_name="wholesale_invoice_lines")
    op.drop_table("wholesale_invoice_lines")
    op.drop_index(op.f("ix_wholesale_allocations_payment_id"), table_name="wholesale_allocations")
    op.drop_index(op.f("ix_wholesale_allocations_invoice_id"), table_name="wholesale_allocations")
    op.drop_index(op.f("ix_wholesale_allocations_credit_note_id"), table_name="wholesale_allocations")
    op.drop_table("wholesale_allocations")
    op.drop_index(
        "uq_wholesale_invoices_order_kind",
        table_name="wholesale_invoices",
        postgresql_where=sa.text("kind <> 'credit_note'"),
    )
    op.drop_index(op.f("ix_wholesale_invoices_order_id"), table_name="wholesale_invoices")
    op.drop_index(
        "ix_wholesale_invoices_open",
        table_name="wholesale_invoices",
        postgresql_where=sa.text("kind = 'invoice' AND settled_minor < total_minor"),
    )
    op.drop_index(op.f("ix_wholesale_invoices_company_id"), table_name="wholesale_invoices")
    op.drop_table("wholesale_invoices")
    op.drop_index(op.f("ix_wholesale_payments_company_id"), table_name="wholesale_payments")
    op.drop_table("wholesale_payments")
