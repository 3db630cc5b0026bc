"""security: a random pickup secret per parcel with its shelf slot apart; shared rate-limit counters

Revision ID: 0012
Revises: 0011_applicant_account
Create Date: 2026-12-05 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011_applicant_account'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('parcels', sa.Column('shelf_slot', sa.String(length=10), nullable=True))
    # Codes of parcels still on a shelf were "shelf-layer-serial": keep the slot, and keep the old
    # code working until those parcels leave (the customer already received it by SMS).
    op.execute(
        "UPDATE parcels SET shelf_slot = split_part(pickup_code, '-', 1) || '-' || split_part(pickup_code, '-', 2) "
        "WHERE pickup_code LIKE '%-%-%'"
    )
    op.drop_column('stations', 'pickup_serial')
    op.create_table(
        'rate_limit_counters',
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('window_start', sa.BigInteger(), nullable=False),
        sa.Column('hits', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('key', 'window_start', name=op.f('pk_rate_limit_counters')),
    )


def downgrade() -> None:
    op.drop_table('rate_limit_counters')
    op.add_column(
        'stations', sa.Column('pickup_serial', sa.Integer(), nullable=False, server_default='1000')
    )
    op.drop_column('parcels', 'shelf_slot')
