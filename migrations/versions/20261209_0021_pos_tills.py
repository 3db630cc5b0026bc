"""brand-store POS foundation: store managers, tills, till and clerk-session tokens, PINs

Revision ID: 0021_pos_tills
Revises: 0020_standing_orders
Create Date: 2026-12-09 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_pos_tills"
down_revision: str | None = "0020_standing_orders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute("ALTER TYPE user_role ADD VALUE IF NOT EXISTS 'store_manager'")
        op.execute("ALTER TYPE token_kind ADD VALUE IF NOT EXISTS 'pos_clerk'")
    op.create_table(
        "tills",
        sa.Column("store_id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("sale_prefix", sa.String(length=8), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_tills_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tills")),
        sa.UniqueConstraint("sale_prefix", name=op.f("uq_tills_sale_prefix")),
        sa.UniqueConstraint("store_id", "code", name="uq_tills_store_code"),
    )
    op.create_index(op.f("ix_tills_store_id"), "tills", ["store_id"], unique=False)
    op.create_table(
        "store_managers",
        sa.Column("store_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_store_managers_store_id_stores"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_store_managers_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("store_id", "user_id", name=op.f("pk_store_managers")),
    )
    op.create_index(op.f("ix_store_managers_user_id"), "store_managers", ["user_id"], unique=False)
    op.add_column("users", sa.Column("pin_hash", sa.String(length=200), nullable=True))

    op.add_column("api_tokens", sa.Column("till_id", sa.BigInteger(), nullable=True))
    op.add_column("api_tokens", sa.Column("device_token_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(op.f("fk_api_tokens_till_id_tills"), "api_tokens", "tills", ["till_id"], ["id"])
    op.create_foreign_key(
        op.f("fk_api_tokens_device_token_id_api_tokens"), "api_tokens", "api_tokens", ["device_token_id"], ["id"]
    )
    op.create_index(op.f("ix_api_tokens_till_id"), "api_tokens", ["till_id"], unique=False)
    op.create_index(op.f("ix_api_tokens_device_token_id"), "api_tokens", ["device_token_id"], unique=False)
    # Till tokens (and their codes) used to belong to a clerk, with no till: none can be kept — a
    # till is now a device of its own that clerks sign in on. No till was ever in use.
    op.execute("DELETE FROM device_enrolments WHERE kind = 'pos_till'")
    op.execute("DELETE FROM api_tokens WHERE kind = 'pos_till'")
    op.create_check_constraint(
        op.f("ck_api_tokens_till_token_has_till"),
        "api_tokens",
        "kind <> 'pos_till' OR (till_id IS NOT NULL AND store_id IS NOT NULL)",
    )
    op.add_column("device_enrolments", sa.Column("till_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(op.f("fk_device_enrolments_till_id_tills"), "device_enrolments", "tills", ["till_id"], ["id"])
    op.create_index(op.f("ix_device_enrolments_till_id"), "device_enrolments", ["till_id"], unique=False)
    op.create_check_constraint(
        op.f("ck_device_enrolments_till_enrolment_has_till"),
        "device_enrolments",
        "kind <> 'pos_till' OR till_id IS NOT NULL",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_device_enrolments_till_enrolment_has_till"), "device_enrolments", type_="check")
    op.drop_index(op.f("ix_device_enrolments_till_id"), table_name="device_enrolments")
    op.drop_constraint(op.f("fk_device_enrolments_till_id_tills"), "device_enrolments", type_="foreignkey")
    op.drop_column("device_enrolments", "till_id")
    op.drop_constraint(op.f("ck_api_tokens_till_token_has_till"), "api_tokens", type_="check")
    # Clerk sessions at tills cannot exist without tills; a token kind stays (enum values are not
    # dropped), unused.
    op.execute("DELETE FROM api_tokens WHERE device_token_id IS NOT NULL")
    op.drop_index(op.f("ix_api_tokens_device_token_id"), table_name="api_tokens")
    op.drop_index(op.f("ix_api_tokens_till_id"), table_name="api_tokens")
    op.drop_constraint(op.f("fk_api_tokens_device_token_id_api_tokens"), "api_tokens", type_="foreignkey")
    op.drop_constraint(op.f("fk_api_tokens_till_id_tills"), "api_tokens", type_="foreignkey")
    op.drop_column("api_tokens", "device_token_id")
    op.drop_column("api_tokens", "till_id")
    op.drop_column("users", "pin_hash")
    op.drop_index(op.f("ix_store_managers_user_id"), table_name="store_managers")
    op.drop_table("store_managers")
    op.drop_index(op.f("ix_tills_store_id"), table_name="tills")
    op.drop_table("tills")
    # Store managers become clerks-without-a-store cannot hold; they are disabled customers
    # instead, so the old enum's rows stay valid (the value itself stays in the type).
    op.execute("UPDATE users SET role = 'customer', is_active = false WHERE role = 'store_manager'")
