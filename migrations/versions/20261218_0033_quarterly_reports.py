"""Quarterly reports: each issued version of a quarter's report with its frozen JSON snapshot

Revision ID: 0033_quarterly_reports
Revises: 0032_county_plan
Create Date: 2026-12-18 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0033_quarterly_reports"
down_revision: str | None = "0032_county_plan"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "quarterly_reports",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("quarter", sa.SmallInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("snapshot", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("issued_by_user_id", sa.BigInteger(), nullable=True),
        sa.Column("issued_by_name", sa.String(length=100), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("quarter BETWEEN 1 AND 4", name=op.f("ck_quarterly_reports_quarter_range")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_quarterly_reports_version_positive")),
        sa.ForeignKeyConstraint(
            ["issued_by_user_id"],
            ["users.id"],
            name=op.f("fk_quarterly_reports_issued_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarterly_reports")),
        sa.UniqueConstraint("year", "quarter", "version", name="uq_quarterly_reports_year_quarter_version"),
    )


def downgrade() -> None:
    op.drop_table("quarterly_reports")
