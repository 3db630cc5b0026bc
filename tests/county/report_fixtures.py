"""A :class:`ReportSources` for tests: fixed answers the test can change between two issues (a
"correction" of the underlying data), and a count of how often each section was asked for."""

from __future__ import annotations

import calendar
import copy
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.county.report_snapshot import FundRow, Performance, ProgressRow


def progress_rows() -> list[ProgressRow]:
    return [
        {
            "code": "T01", "section": "三（一）", "title": "公共服务中心培训与活动", "unit": "场", "planned": 12,
            "period_start": "2026-01-01", "period_end": "2026-12-31", "done_quarter": 4, "done_to_date": 13,
            "met": True, "source": "evidence",
            "evidence": [
                {"date": "2026-10-12", "title": "直播带货培训", "place": "太平镇", "participants": 46, "link": None},
                {"date": "2026-11-03", "title": "跨境电商实务", "place": "县电商中心", "participants": 30,
                 "link": "https://example.org/news/1"},
            ],
        },
        {
            "code": "T05", "section": "三（二）", "title": "新建村级电商服务站", "unit": "个", "planned": 30,
            "period_start": "2026-01-01", "period_end": "2026-12-31", "done_quarter": 3, "done_to_date": 21,
            "met": False, "source": "computed", "evidence": [],
        },
        {
            "code": "T08", "section": "三（三）", "title": "珠三角供应链 SKU", "unit": "个", "planned": 10,
            "period_start": "2026-01-01", "period_end": "2026-12-31", "done_quarter": 0, "done_to_date": 10,
            "met": True, "source": "computed", "evidence": [],
        },
    ]  # fmt: skip


def fund_rows() -> list[FundRow]:
    return [
        {"code": "F01", "category": "公共服务体系", "title": "县级电商公共服务中心改造",
         "budget_central_fen": 150_000_00, "budget_total_fen": 180_000_00, "spent_quarter_fen": 12_345_67,
         "spent_to_date_fen": 98_765_43},
        {"code": "F02", "category": "物流体系", "title": "村级服务站点建设", "budget_central_fen": 90_000_00,
         "budget_total_fen": None, "spent_quarter_fen": 0, "spent_to_date_fen": 45_000_00},
    ]  # fmt: skip


def _month(shop: int, wholesale: int, pos: int) -> dict[str, int]:
    return {"shop": shop, "wholesale": wholesale, "pos": pos}


def performance_section() -> Performance:
    return {
        "channels": [
            {"channel": "shop", "label": "网店", "orders": 1234, "sales_fen": 8_765_432},
            {"channel": "wholesale", "label": "珠三角批发", "orders": 56, "sales_fen": 45_678_900},
            {"channel": "pos", "label": "品牌门店", "orders": 789, "sales_fen": 1_234_500},
        ],
        "online_retail_agri_fen": 9_098_732,
        "upward_kg": "12345.678",
        "upward_value_fen": 23_456_789,
        "parcels_to_stations": 4321,
        "villages_served": 36,
        "people_served": 2468,
        "crossborder_orders": 7,
        "crossborder_usd_cents": 333_300,
        "wholesale_kg": "34567.500",
        "wholesale_fen": 45_678_900,
        "monthly": [
            {"month": "2026-10", "sales_fen": _month(3_000_000, 15_000_000, 400_000)},
            {"month": "2026-11", "sales_fen": _month(2_765_432, 16_000_000, 434_500)},
            {"month": "2026-12", "sales_fen": _month(3_000_000, 14_678_900, 400_000)},
        ],
    }  # fmt: skip


# The answers above are written for 2026-Q4; asked about another quarter, they are moved into it.
WRITTEN_FOR = date(2026, 10, 1)


def _moved(day: str, start: date) -> str:
    """``day`` (a date of the quarter the answers are written for) at the same place in the quarter
    beginning ``start``: the same month of the quarter and day of the month (the last day when
    that month is shorter)."""
    written = date.fromisoformat(day)
    month_index = (written.year - WRITTEN_FOR.year) * 12 + written.month - WRITTEN_FOR.month
    year, month = divmod(start.year * 12 + start.month - 1 + month_index, 12)
    month += 1
    return date(year, month, min(written.day, calendar.monthrange(year, month)[1])).isoformat()


@dataclass
class FixtureSources:
    """Answers as given, for the quarter asked (the evidence dates and the months of the monthly
    figures moved into it); ``asked`` records (section, start, end) of every call."""

    progress_answer: list[ProgressRow] = field(default_factory=progress_rows)
    funds_answer: list[FundRow] = field(default_factory=fund_rows)
    performance_answer: Performance = field(default_factory=performance_section)
    asked: list[tuple[str, date, date]] = field(default_factory=list)

    async def progress(self, session: AsyncSession, start: date, end: date) -> list[ProgressRow]:
        self.asked.append(("progress", start, end))
        rows = copy.deepcopy(self.progress_answer)
        for row in rows:
            for item in row.get("evidence", []):
                item["date"] = _moved(item["date"], start)
        return rows

    async def funds(self, session: AsyncSession, start: date, end: date) -> list[FundRow]:
        self.asked.append(("funds", start, end))
        return copy.deepcopy(self.funds_answer)

    async def performance(self, session: AsyncSession, start: date, end: date) -> Performance:
        self.asked.append(("performance", start, end))
        section = copy.deepcopy(self.performance_answer)
        for month in section.get("monthly", []):
            month["month"] = _moved(f"{month['month']}-01", start)[:7]
        return section
