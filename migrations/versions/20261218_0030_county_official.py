"""County official: a read-only role for the county's leading group (dashboard and reports)

Revision ID: 0030_county_official
Revises: 0029_outbox_request_id
Create Date: 2026-12-18 06:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0030_county_official"
down_revision: str | None = "0029_outbox_request_id"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute("ALTER TYPE user_role ADD VALUE IF NOT EXISTS 'county_official'")


def downgrade() -> None:
    # PostgreSQL cannot drop an enum value; a user with the role must be removed first.
    op.execute("DELETE FROM users WHERE role = 'county_official'")
