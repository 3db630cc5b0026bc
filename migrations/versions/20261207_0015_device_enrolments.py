"""device enrolment: one-time codes (stored as an HMAC) that give a PDA or a till its device token

Revision ID: 0013_device_enrolments
Revises: 0013_supplier_growers
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0013_device_enrolments'
down_revision: str | None = '0013_supplier_growers'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'device_enrolments',
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column(
            'kind',
            postgresql.ENUM('user', 'station_pda', 'pos_till', name='token_kind', create_type=False),
            nullable=False,
        ),
        sa.Column('user_id', sa.BigInteger(), nullable=False),
        sa.Column('station_id', sa.BigInteger(), nullable=True),
        sa.Column('store_id', sa.BigInteger(), nullable=True),
        sa.Column('created_by_id', sa.BigInteger(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('redeemed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('token_id', sa.BigInteger(), nullable=True),
        sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
        sa.CheckConstraint("kind <> 'user'", name=op.f('ck_device_enrolments_device_kind')),
        sa.CheckConstraint(
            "kind <> 'station_pda' OR station_id IS NOT NULL", name=op.f('ck_device_enrolments_pda_has_station')
        ),
        sa.CheckConstraint(
            "kind <> 'pos_till' OR store_id IS NOT NULL", name=op.f('ck_device_enrolments_till_has_store')
        ),
        sa.ForeignKeyConstraint(
            ['created_by_id'], ['users.id'], name=op.f('fk_device_enrolments_created_by_id_users')
        ),
        sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_device_enrolments_station_id_stations')),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_device_enrolments_store_id_stores')),
        sa.ForeignKeyConstraint(['token_id'], ['api_tokens.id'], name=op.f('fk_device_enrolments_token_id_api_tokens')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_device_enrolments_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_device_enrolments')),
        sa.UniqueConstraint('code_hash', name=op.f('uq_device_enrolments_code_hash')),
    )
    op.create_index(op.f('ix_device_enrolments_station_id'), 'device_enrolments', ['station_id'], unique=False)
    op.create_index(op.f('ix_device_enrolments_store_id'), 'device_enrolments', ['store_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_device_enrolments_store_id'), table_name='device_enrolments')
    op.drop_index(op.f('ix_device_enrolments_station_id'), table_name='device_enrolments')
    op.drop_table('device_enrolments')
