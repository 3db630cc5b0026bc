"""Outbox request id: each message keeps the X-Request-ID of the request that wrote it, so the
task's log lines carry the same id as the request's

Revision ID: 0029_outbox_request_id
Revises: 0028_account_erasures
Create Date: 2026-12-15 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029_outbox_request_id"
down_revision: str | None = "0028_account_erasures"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable without a default: PostgreSQL adds the column without rewriting the table.
    op.add_column("outbox_messages", sa.Column("request_id", sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_column("outbox_messages", "request_id")
