"""buyer companies: the applicant's account waits on the application until approval

Revision ID: 0011_applicant_account
Revises: 0010
Create Date: 2026-11-29 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011_applicant_account'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('buyer_companies', sa.Column('applicant_username', sa.String(length=50), nullable=True))
    op.add_column('buyer_companies', sa.Column('applicant_password_hash', sa.String(length=200), nullable=True))


def downgrade() -> None:
    op.drop_column('buyer_companies', 'applicant_password_hash')
    op.drop_column('buyer_companies', 'applicant_username')
