"""SQL of the quarterly report: versions of a quarter, the lock that numbers them, the listing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.county.report_models import QuarterlyReport

# First key of the two-key advisory lock that serialises issuing one quarter's report (any constant
# unique to this use; the second key is the quarter, year * 10 + quarter).
ISSUE_LOCK_KEY = 0x5152  # "QR"


async def lock_quarter(session: AsyncSession, year: int, quarter: int) -> None:
    """Hold, until the transaction ends, the lock on numbering this quarter's versions: a second
    issue of the same quarter waits here and then sees the first one's row."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(:key, :quarter)"), {"key": ISSUE_LOCK_KEY, "quarter": year * 10 + quarter}
    )


async def latest_version(session: AsyncSession, year: int, quarter: int) -> int:
    """The highest issued version of the quarter, 0 when none."""
    found = await session.scalar(
        select(func.coalesce(func.max(QuarterlyReport.version), 0)).where(
            QuarterlyReport.year == year, QuarterlyReport.quarter == quarter
        )
    )
    return int(found or 0)


async def report_version(session: AsyncSession, year: int, quarter: int, version: int | None) -> QuarterlyReport | None:
    """One issued version (``None``: the latest), or ``None`` when there is no such version."""
    query = select(QuarterlyReport).where(QuarterlyReport.year == year, QuarterlyReport.quarter == quarter)
    if version is not None:
        query = query.where(QuarterlyReport.version == version)
    found = await session.scalars(query.order_by(QuarterlyReport.version.desc()).limit(1))
    return found.first()


async def versions_of(session: AsyncSession, year: int, quarter: int) -> Sequence[Any]:
    """(version, issued_by_name, issued_at) of every issued version of a quarter, newest first
    (the snapshots stay in the database)."""
    rows = await session.execute(
        select(QuarterlyReport.version, QuarterlyReport.issued_by_name, QuarterlyReport.issued_at)
        .where(QuarterlyReport.year == year, QuarterlyReport.quarter == quarter)
        .order_by(QuarterlyReport.version.desc())
    )
    return rows.all()


async def issued_quarters(session: AsyncSession) -> Sequence[Any]:
    """Per issued quarter: (year, quarter, versions, latest version, its issuer, its time)."""
    latest = (
        select(
            QuarterlyReport.year,
            QuarterlyReport.quarter,
            QuarterlyReport.version,
            QuarterlyReport.issued_by_name,
            QuarterlyReport.issued_at,
            func.count().over(partition_by=(QuarterlyReport.year, QuarterlyReport.quarter)).label("versions"),
            func.row_number()
            .over(
                partition_by=(QuarterlyReport.year, QuarterlyReport.quarter),
                order_by=QuarterlyReport.version.desc(),
            )
            .label("rank"),
        )
    ).subquery()
    rows = await session.execute(
        select(
            latest.c.year, latest.c.quarter, latest.c.versions, latest.c.version, latest.c.issued_by_name,
            latest.c.issued_at,
        )
        .where(latest.c.rank == 1)
        .order_by(latest.c.year.desc(), latest.c.quarter.desc())
    )
    return rows.all()

