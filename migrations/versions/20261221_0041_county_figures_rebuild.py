"""The county summary tables are rebuilt: order counts now leave out orders paid and then cancelled
or expired (``app.county.performance_queries``), and the incremental refresh recomputes only days
touched since its last run, so the days already summed would keep the old counts. Forgetting the
watermark makes the next refresh (the beat's, within a minute) a full rebuild.

Revision ID: 0041_county_figures_rebuild
Revises: 0040_capacity_closed
Create Date: 2026-12-21 07:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0041_county_figures_rebuild"
down_revision: str | None = "0040_capacity_closed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DELETE FROM county_figures_state")


def downgrade() -> None:
    op.execute("DELETE FROM county_figures_state")  # the older definition rebuilds likewise
