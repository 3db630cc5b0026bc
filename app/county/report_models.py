"""The quarterly report as issued: one row per (year, quarter, version), its figures frozen in a
JSON snapshot (``app.county.report_snapshot``) with who issued it and when.

Rows are never updated: a correction is a new version. The issuer's name is copied at issue time
so the report keeps saying who signed it off even if the account is renamed or removed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.kit.models import Base, IdMixin


class QuarterlyReport(IdMixin, Base):
    __tablename__ = "quarterly_reports"
    __table_args__ = (
        # Two admins issuing at once get versions 1 and 2, never two 1s (the service also locks).
        UniqueConstraint("year", "quarter", "version", name="uq_quarterly_reports_year_quarter_version"),
        CheckConstraint("quarter BETWEEN 1 AND 4", name="quarter_range"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    year: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    quarter: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    # SET NULL: erasing an account must not erase the county's record of what was reported.
    issued_by_user_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    issued_by_name: Mapped[str] = mapped_column(String(100), nullable=False)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
