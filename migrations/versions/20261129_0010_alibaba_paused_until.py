"""alibaba connection: a long gateway ban pauses every run until it ends

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 10:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('alibaba_connections', sa.Column('paused_until', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('alibaba_connections', 'paused_until')
