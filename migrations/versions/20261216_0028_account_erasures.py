"""Account erasures: a customer's deletion of their account (PIPL), who asked and when

Revision ID: 0028_account_erasures
Revises: 0027_gateway_pacing
Create Date: 2026-12-15 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028_account_erasures"
down_revision: str | None = "0027_gateway_pacing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "account_erasures",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("actor_user_id", sa.BigInteger(), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("orders_anonymised", sa.Integer(), nullable=False),
        sa.Column("messages_anonymised", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_account_erasures_user_id_users")),
        sa.ForeignKeyConstraint(["actor_user_id"], ["users.id"], name=op.f("fk_account_erasures_actor_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_erasures")),
        sa.UniqueConstraint("user_id", name=op.f("uq_account_erasures_user_id")),
    )


def downgrade() -> None:
    op.drop_table("account_erasures")
