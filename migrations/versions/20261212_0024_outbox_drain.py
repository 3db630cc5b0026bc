"""Outbox drain: failed attempts, back-off and the last error per message; an index of the
unprocessed rows (the worker's queue)

Revision ID: 0024_outbox_drain
Revises: 0023_pos_sales
Create Date: 2026-12-12 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024_outbox_drain"
down_revision: str | None = "0023_pos_sales"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox_messages", sa.Column("process_attempts", sa.Integer(), server_default="0", nullable=False))
    op.add_column("outbox_messages", sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("outbox_messages", sa.Column("last_error", sa.String(length=500), nullable=True))
    op.create_index(
        "ix_outbox_messages_unprocessed",
        "outbox_messages",
        ["id"],
        unique=False,
        postgresql_where=sa.text("processed_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_messages_unprocessed", table_name="outbox_messages")
    op.drop_column("outbox_messages", "last_error")
    op.drop_column("outbox_messages", "next_attempt_at")
    op.drop_column("outbox_messages", "process_attempts")
