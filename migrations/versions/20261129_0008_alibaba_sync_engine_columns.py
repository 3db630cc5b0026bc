"""alibaba sync engine: inventory figure, photo bank, read-back, back-off

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 09:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('alibaba_listings', sa.Column('inventory_quantity', sa.Integer(), nullable=True))
    op.add_column('alibaba_listings', sa.Column(
        'photobank', postgresql.JSONB(astext_type=sa.Text()), nullable=False, server_default=sa.text("'{}'::jsonb")))
    op.alter_column('alibaba_listings', 'photobank', server_default=None)
    op.add_column('alibaba_listings', sa.Column('remote_status', sa.String(length=20), nullable=False, server_default=''))
    op.alter_column('alibaba_listings', 'remote_status', server_default=None)
    op.add_column('alibaba_listings', sa.Column(
        'remote_audit_status', sa.String(length=20), nullable=False, server_default=''))
    op.alter_column('alibaba_listings', 'remote_audit_status', server_default=None)
    op.add_column('alibaba_listings', sa.Column(
        'failed_attempts', sa.SmallInteger(), nullable=False, server_default='0'))
    op.alter_column('alibaba_listings', 'failed_attempts', server_default=None)
    op.create_check_constraint(
        op.f('ck_alibaba_listings_inventory_not_negative'), 'alibaba_listings',
        'inventory_quantity IS NULL OR inventory_quantity >= 0')
    op.add_column('alibaba_orders', sa.Column('modified_remote_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('alibaba_orders', 'modified_remote_at')
    op.drop_constraint(op.f('ck_alibaba_listings_inventory_not_negative'), 'alibaba_listings', type_='check')
    for column in ('failed_attempts', 'remote_audit_status', 'remote_status', 'photobank', 'inventory_quantity'):
        op.drop_column('alibaba_listings', column)
