"""A partial index of the wholesale trips that have not left, for the truck-room sweep

The beat's sweep gives an ended order's truck room back (``order_queries.ended_with_booked_load``).
It read every wholesale order not marked released, and a delivered order is never marked: the set
grew with every delivery. It now reads the trips still planned or loading, through this index, and
their orders by the trip's index.

Revision ID: 0045_trips_taking_load_index
Revises: 0044_open_items_indexes
Create Date: 2026-12-25 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0045_trips_taking_load_index"
down_revision: str | None = "0044_open_items_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_wholesale_trips_taking_load",
        "wholesale_trips",
        ["id"],
        postgresql_where=sa.text("status IN ('planned', 'loading')"),
    )


def downgrade() -> None:
    op.drop_index("ix_wholesale_trips_taking_load", table_name="wholesale_trips")
