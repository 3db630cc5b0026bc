"""The quarterly report's figures from the platform's own records: the plan's targets
(:func:`app.county.targets.target_progress`), the funds (:func:`app.county.funds.fund_usage`) and
the performance figures the dashboard shows (:func:`app.county.performance.performance`), each
turned into its section of the snapshot (:mod:`app.county.report_snapshot`).

Performance is computed from the raw rows (``live=True``), not the dashboard's summary tables: a
report is issued a few times a quarter, and it must hold what was recorded up to the moment it is
issued, not what the last minute's refresh had seen. Cross-border sales are in USD and stay beside
the CNY figures (``crossborder_usd_cents``): the channel table and the monthly figures hold the CNY
channels only, so no total adds yuan to dollars.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.county import funds, performance, targets
from app.county.report_snapshot import Evidence, FundRow, MonthFigures, Performance, ProgressRow

CNY = "CNY"


class PlatformSources:
    """:class:`app.county.reports.ReportSources` reading this platform's records (the app's
    ``state.report_sources``)."""

    async def progress(self, session: AsyncSession, start: date, end: date) -> list[ProgressRow]:
        rows = await targets.target_progress(session, start, end)
        return [
            {
                "code": row.code,
                "section": row.section,
                "title": row.title,
                "unit": row.unit,
                "planned": row.planned,
                "period_start": row.period_start.isoformat(),
                "period_end": row.period_end.isoformat(),
                "done_quarter": row.done_in_range,
                "done_to_date": row.done_to_date,
                "met": row.met,
                "source": "computed" if row.source == "computed" else "evidence",
                "evidence": [_evidence(item) for item in row.evidence],
            }
            for row in rows
        ]

    async def funds(self, session: AsyncSession, start: date, end: date) -> list[FundRow]:
        lines = await funds.fund_usage(session, start, end)
        return [
            {
                "code": line.code,
                "category": line.category,
                "title": line.title,
                "budget_central_fen": line.budget_central_fen,
                "budget_total_fen": line.budget_total_fen,
                "spent_quarter_fen": line.spent_in_range_fen,
                "spent_to_date_fen": line.spent_to_date_fen,
            }
            for line in lines
        ]

    async def performance(self, session: AsyncSession, start: date, end: date) -> Performance:
        figures = await performance.performance(session, start, end, live=True)
        days = await performance.daily_series(session, start, end, live=True)
        cny = [channel for channel in figures.channels if channel.currency == CNY]
        return {
            "channels": [
                {
                    "channel": channel.channel.value,
                    "label": channel.label_zh,
                    "orders": channel.orders,
                    "sales_fen": channel.sales_minor,
                }
                for channel in cny
            ],
            "online_retail_agri_fen": figures.online_retail_minor,
            "upward_kg": str(figures.upward_kg),
            "upward_value_fen": figures.upward_value_minor,
            "parcels_to_stations": figures.parcels_to_stations,
            "villages_served": figures.villages_served,
            "people_served": figures.people_served,
            "crossborder_orders": figures.crossborder_orders,
            "crossborder_usd_cents": figures.crossborder_sales_usd_minor,
            "wholesale_kg": str(figures.wholesale_kg),
            "wholesale_fen": figures.wholesale_minor,
            "monthly": _monthly(days, [channel.channel.value for channel in cny]),
        }


def _evidence(item: targets.EvidenceEntry) -> Evidence:
    return {
        "date": item.date.isoformat(),
        "title": item.title,
        "place": item.place,
        "participants": item.participants,
        "link": item.link or None,
    }


def _monthly(days: list[performance.DayPoint], channels: list[str]) -> list[MonthFigures]:
    """Sales per CNY channel per calendar month (China time) of the days given."""
    months: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(channels, 0))
    for point in days:
        month = months[point.day.strftime("%Y-%m")]
        for channel in channels:
            month[channel] += point.sales_minor.get(channel, 0)
    return [{"month": key, "sales_fen": months[key]} for key in sorted(months)]
