"""Gateway pacing: the next start of a call to the Alibaba.com gateway, shared by every process

Revision ID: 0027_gateway_pacing
Revises: 0026_backup_runs
Create Date: 2026-12-15 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027_gateway_pacing"
down_revision: str | None = "0026_backup_runs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gateway_pacing",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("next_start", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_gateway_pacing")),
    )


def downgrade() -> None:
    op.drop_table("gateway_pacing")
