"""Live-stream sellers (主播): sellers, per-product commission rules, order attributions, and the
``streamer`` role

Revision ID: 0035_streamers
Revises: 0034_county_dashboard
Create Date: 2026-12-19 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0035_streamers"
down_revision: str | None = "0034_county_dashboard"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute("ALTER TYPE user_role ADD VALUE IF NOT EXISTS 'streamer'")
    op.create_table(
        "streamer_sellers",
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("commission_bps", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.CheckConstraint("commission_bps BETWEEN 0 AND 10000", name=op.f("ck_streamer_sellers_bps_in_range")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_streamer_sellers_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_streamer_sellers")),
        sa.UniqueConstraint("code", name=op.f("uq_streamer_sellers_code")),
        sa.UniqueConstraint("user_id", name=op.f("uq_streamer_sellers_user_id")),
    )
    op.create_table(
        "streamer_product_rules",
        sa.Column("seller_id", sa.BigInteger(), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("commission_bps", sa.Integer(), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "commission_bps BETWEEN 0 AND 10000", name=op.f("ck_streamer_product_rules_rule_bps_in_range")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_streamer_product_rules_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["streamer_sellers.id"],
            name=op.f("fk_streamer_product_rules_seller_id_streamer_sellers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_streamer_product_rules")),
        sa.UniqueConstraint("seller_id", "product_id", name=op.f("uq_streamer_product_rules_seller_id")),
    )
    op.create_table(
        "order_attributions",
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("seller_id", sa.BigInteger(), nullable=False),
        sa.Column("via", sa.String(length=10), nullable=False),
        sa.Column("touched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.CheckConstraint("via IN ('code', 'link')", name=op.f("ck_order_attributions_via_known")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_order_attributions_order_id_orders")),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["streamer_sellers.id"], name=op.f("fk_order_attributions_seller_id_streamer_sellers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_attributions")),
        sa.UniqueConstraint("order_id", name=op.f("uq_order_attributions_order_id")),
    )
    op.create_index(op.f("ix_order_attributions_seller_id"), "order_attributions", ["seller_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_order_attributions_seller_id"), table_name="order_attributions")
    op.drop_table("order_attributions")
    op.drop_table("streamer_product_rules")
    op.drop_table("streamer_sellers")
    # PostgreSQL cannot drop an enum value; a user with the role must be removed first.
    op.execute("DELETE FROM users WHERE role = 'streamer'")
