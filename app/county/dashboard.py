"""The operations dashboard's periods and attention lists (figures: ``app.county.performance``).

An order is "stuck" when it has been in a waiting state longer than ``STUCK_AFTER`` says for that
state (data, shown on the page): an unpaid order should have been paid or expired by then (the
expiry task may not be running), a confirmed one packed and sent, one on a station shelf collected
(its parcel is returned after the station's retention days anyway).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.county import dashboard_queries as queries
from app.kit import clock
from app.orders.models import OrderStatus

ATTENTION_LIMIT = 20
EXPIRY_HORIZON_DAYS = 7
SYNC_PROBLEM_WINDOW = timedelta(hours=24)

# How long an order may wait in a state before the dashboard lists it.
STUCK_AFTER: dict[OrderStatus, timedelta] = {
    OrderStatus.pending_payment: timedelta(hours=2),
    OrderStatus.confirmed: timedelta(days=2),
    OrderStatus.ready_for_pickup: timedelta(days=7),
}


def stuck_after_zh(wait: timedelta) -> str:
    hours = int(wait.total_seconds()) // 3600
    return f"{hours // 24} 天" if hours % 24 == 0 else f"{hours} 小时"


@dataclass(frozen=True)
class Period:
    key: str
    label_zh: str
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


PERIODS: dict[str, tuple[str, int]] = {"today": ("今天", 1), "7d": ("近 7 天", 7), "30d": ("近 30 天", 30)}
DEFAULT_PERIOD = "today"


def period(key: str | None, today: date | None = None) -> Period:
    """Today, or the last 7 / 30 China-time days ending today (an unknown key: today)."""
    today = today or clock.today()
    key = key if key in PERIODS else DEFAULT_PERIOD
    label, days = PERIODS[key]
    return Period(key, label, today - timedelta(days=days - 1), today)


@dataclass(frozen=True)
class AttentionList:
    key: str
    title_zh: str
    count: int
    rows: list[dict[str, Any]]


# The attention lists by the key their full page is addressed with (``/admin/county/attention/{key}``).
ATTENTION_TITLES: dict[str, str] = {
    "overdue-parcels": "超过保管期仍在架的包裹",
    "expiring-lots": f"{EXPIRY_HORIZON_DAYS} 天内到期的批次",
    "below-reorder": "低于补货点的规格",
    "stuck-orders": "状态停留过久的订单",
}
ALIBABA_KEY = "alibaba-sync"
ALIBABA_TITLE = "国际站同步问题"


async def attention_list(
    session: AsyncSession, key: str, *, now: datetime | None = None, limit: int = ATTENTION_LIMIT, offset: int = 0
) -> AttentionList:
    """One attention list (``ATTENTION_TITLES`` keys): its total count and ``limit`` rows from ``offset``."""
    now = now or clock.now()
    today = clock.local_date(now)
    if key == "overdue-parcels":
        found = await queries.overdue_parcels(session, now, limit, offset)
    elif key == "expiring-lots":
        until = today + timedelta(days=EXPIRY_HORIZON_DAYS)
        found = await queries.expiring_lots(session, today, until, limit, offset)
    elif key == "below-reorder":
        found = await queries.below_reorder_point(session, today, limit, offset)
    elif key == "stuck-orders":
        found = await queries.stuck_orders(
            session,
            pending_before=now - STUCK_AFTER[OrderStatus.pending_payment],
            confirmed_before=now - STUCK_AFTER[OrderStatus.confirmed],
            ready_before=now - STUCK_AFTER[OrderStatus.ready_for_pickup],
            limit=limit,
            offset=offset,
        )
    else:
        raise KeyError(key)
    return AttentionList(key, ATTENTION_TITLES[key], *found)


async def alibaba_sync(
    session: AsyncSession, *, now: datetime | None = None, limit: int = ATTENTION_LIMIT, offset: int = 0
) -> dict[str, Any]:
    """Alibaba.com sync problems: the connection when it needs re-authorising, listings in error,
    rejected or retrying, and calls failed in the last ``SYNC_PROBLEM_WINDOW`` (``limit`` of them
    from ``offset``, newest first). ``problems`` = listings + failed calls + 1 for the connection."""
    now = now or clock.now()
    found = await queries.alibaba_problems(session, now - SYNC_PROBLEM_WINDOW, limit, offset)
    problems = found["listing_count"] + found["failed_count"]
    connection = found["connection"]
    if connection is not None and connection["status"] != "connected":
        problems += 1
    return {**found, "problems": problems}


async def attention(session: AsyncSession, *, now: datetime | None = None) -> dict[str, Any]:
    """What needs someone's attention now: each list's total count and its first rows."""
    now = now or clock.now()
    alibaba = await alibaba_sync(session, now=now)
    return {
        "overdue_parcels": await attention_list(session, "overdue-parcels", now=now),
        "expiring_lots": await attention_list(session, "expiring-lots", now=now),
        "below_reorder": await attention_list(session, "below-reorder", now=now),
        "stuck_orders": await attention_list(session, "stuck-orders", now=now),
        "alibaba": alibaba,
        "alibaba_problems": alibaba["problems"],
        "stuck_after": stuck_after_zh_all(),
    }


def stuck_after_zh_all() -> list[tuple[str, str]]:
    return [(status.label_zh, stuck_after_zh(wait)) for status, wait in STUCK_AFTER.items()]
