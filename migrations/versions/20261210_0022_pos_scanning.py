"""POS scanning: a PLU (scale / till key number) on variants sold loose by weight

Revision ID: 0022_pos_scanning
Revises: 0021_pos_tills
Create Date: 2026-12-10 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_pos_scanning"
down_revision: str | None = "0021_pos_tills"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("variants", sa.Column("plu", sa.Integer(), nullable=True))
    op.create_unique_constraint(op.f("uq_variants_plu"), "variants", ["plu"])
    op.create_check_constraint(op.f("ck_variants_plu_range"), "variants", "plu IS NULL OR plu BETWEEN 1 AND 999999")


def downgrade() -> None:
    op.drop_constraint(op.f("ck_variants_plu_range"), "variants", type_="check")
    op.drop_constraint(op.f("uq_variants_plu"), "variants", type_="unique")
    op.drop_column("variants", "plu")
