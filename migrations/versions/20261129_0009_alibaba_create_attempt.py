"""alibaba listings: the create that may be in flight

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 10:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('alibaba_listings', sa.Column(
        'create_attempt', postgresql.JSONB(astext_type=sa.Text()), nullable=True))


def downgrade() -> None:
    op.drop_column('alibaba_listings', 'create_attempt')
