"""Capacities carry when they closed (a pre-sale wave allocated or cancelled), instead of the
orders' queries looking at the pre-sale table to know

Revision ID: 0040_capacity_closed
Revises: 0039_events
Create Date: 2026-12-20 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0040_capacity_closed"
down_revision: str | None = "0039_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("capacities", sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    # Waves closed before this revision: their capacities are closed from now on.
    op.execute(
        "UPDATE capacities c SET closed_at = now() FROM presale_waves w"
        " WHERE w.capacity_id = c.id AND w.status IN ('allocated', 'cancelled')"
    )


def downgrade() -> None:
    op.drop_column("capacities", "closed_at")
