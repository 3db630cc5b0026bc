"""After-sales claims for spoiled produce (坏果包赔): claims, their lines and lots, photos, and the
cash refunds stations hand back

Revision ID: 0037_claims
Revises: 0036_capacity
Create Date: 2026-12-20 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0037_claims"
down_revision: str | None = "0036_capacity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "claims",
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("submitted", "approved", "partly_approved", "refused", name="claim_status"),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("filed_by_id", sa.BigInteger(), nullable=True),
        sa.Column("filed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("claimed_minor", sa.BigInteger(), nullable=False),
        sa.Column("approved_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by_id", sa.BigInteger(), nullable=True),
        sa.Column("review_note", sa.String(length=300), nullable=False),
        sa.Column("refund_id", sa.BigInteger(), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "approved_minor >= 0 AND approved_minor <= claimed_minor", name=op.f("ck_claims_approved_within_claim")
        ),
        sa.CheckConstraint("claimed_minor > 0", name=op.f("ck_claims_claimed_positive")),
        sa.ForeignKeyConstraint(["filed_by_id"], ["users.id"], name=op.f("fk_claims_filed_by_id_users")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_claims_order_id_orders")),
        sa.ForeignKeyConstraint(["refund_id"], ["refunds.id"], name=op.f("fk_claims_refund_id_refunds")),
        sa.ForeignKeyConstraint(["reviewed_by_id"], ["users.id"], name=op.f("fk_claims_reviewed_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claims")),
        sa.UniqueConstraint("refund_id", name=op.f("uq_claims_refund_id")),
    )
    op.create_index(op.f("ix_claims_order_id"), "claims", ["order_id"], unique=False)
    op.create_table(
        "claim_lines",
        sa.Column("claim_id", sa.BigInteger(), nullable=False),
        sa.Column("order_line_id", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("approved_quantity", sa.Numeric(precision=12, scale=3), nullable=True),
        sa.Column("approved_minor", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "approved_quantity IS NULL OR (approved_quantity >= 0 AND approved_quantity <= quantity)",
            name=op.f("ck_claim_lines_approved_within_line"),
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_claim_lines_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claims.id"], name=op.f("fk_claim_lines_claim_id_claims"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["order_line_id"], ["order_lines.id"], name=op.f("fk_claim_lines_order_line_id_order_lines")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_lines")),
    )
    op.create_index(op.f("ix_claim_lines_claim_id"), "claim_lines", ["claim_id"], unique=False)
    op.create_index(op.f("ix_claim_lines_order_line_id"), "claim_lines", ["order_line_id"], unique=False)
    op.create_table(
        "claim_photos",
        sa.Column("claim_id", sa.BigInteger(), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("thumb_path", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=30), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claims.id"], name=op.f("fk_claim_photos_claim_id_claims"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_photos")),
        sa.UniqueConstraint("path", name=op.f("uq_claim_photos_path")),
    )
    op.create_index(op.f("ix_claim_photos_claim_id"), "claim_photos", ["claim_id"], unique=False)
    op.create_table(
        "station_cash_refunds",
        sa.Column("station_id", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("refund_id", sa.BigInteger(), nullable=False),
        sa.Column("claim_id", sa.BigInteger(), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("recorded_by_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_station_cash_refunds_cash_refund_positive")),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_station_cash_refunds_claim_id_claims")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_station_cash_refunds_order_id_orders")),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_station_cash_refunds_recorded_by_id_users")
        ),
        sa.ForeignKeyConstraint(["refund_id"], ["refunds.id"], name=op.f("fk_station_cash_refunds_refund_id_refunds")),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_station_cash_refunds_station_id_stations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_station_cash_refunds")),
        sa.UniqueConstraint("refund_id", name=op.f("uq_station_cash_refunds_refund_id")),
    )
    op.create_index("ix_station_cash_refunds_created_at", "station_cash_refunds", ["created_at"], unique=False)
    op.create_index(op.f("ix_station_cash_refunds_station_id"), "station_cash_refunds", ["station_id"], unique=False)
    op.create_table(
        "claim_line_lots",
        sa.Column("claim_line_id", sa.BigInteger(), nullable=False),
        sa.Column("lot_id", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("approved_quantity", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_line_id"],
            ["claim_lines.id"],
            name=op.f("fk_claim_line_lots_claim_line_id_claim_lines"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"], name=op.f("fk_claim_line_lots_lot_id_lots")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_line_lots")),
    )
    op.create_index(op.f("ix_claim_line_lots_claim_line_id"), "claim_line_lots", ["claim_line_id"], unique=False)
    op.create_index(op.f("ix_claim_line_lots_lot_id"), "claim_line_lots", ["lot_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_claim_line_lots_lot_id"), table_name="claim_line_lots")
    op.drop_index(op.f("ix_claim_line_lots_claim_line_id"), table_name="claim_line_lots")
    op.drop_table("claim_line_lots")
    op.drop_index(op.f("ix_station_cash_refunds_station_id"), table_name="station_cash_refunds")
    op.drop_index("ix_station_cash_refunds_created_at", table_name="station_cash_refunds")
    op.drop_table("station_cash_refunds")
    op.drop_index(op.f("ix_claim_photos_claim_id"), table_name="claim_photos")
    op.drop_table("claim_photos")
    op.drop_index(op.f("ix_claim_lines_order_line_id"), table_name="claim_lines")
    op.drop_index(op.f("ix_claim_lines_claim_id"), table_name="claim_lines")
    op.drop_table("claim_lines")
    op.drop_index(op.f("ix_claims_order_id"), table_name="claims")
    op.drop_table("claims")
    sa.Enum(name="claim_status").drop(op.get_bind(), checkfirst=True)
