"""The county's performance figures (项目绩效) for any span of China-time days: the operations
dashboard shows them for today / 7 / 30 days, the quarterly report for a quarter.

What counts (also written on the dashboard, ``DEFINITIONS_ZH``):

- **Sales** = the amount paid minus refunds, by the China-time date of payment. An order counts
  once, on the day of its first successful payment, with what was paid less what was refunded
  (a later refund lowers that day's figure); a cancelled or expired order never paid counts
  nowhere; an order paid and later cancelled (or expired, a late payment refunded) is not counted
  as an order, its paid less refunded
  money staying on its payment day (0 once the cancellation's refund has settled). Per channel:
  **shop** (网店) orders and their payments; **POS** (门店) counter sales, paid as they are made
  (returns refunded from the drawer); **wholesale** (批发) is sold on account, so an order counts
  on its invoice's issue date with the invoice less its credit notes; **cross-border** (跨境)
  orders are Alibaba.com's, counted on the China date they were placed once the buyer paid
  (statuses ``PAID_TRADE_STATUSES``), in USD cents: no exchange rate is applied.
- **Online retail of agricultural products** (农产品网络零售额, CNY) = shop + wholesale sales: what
  sold over the internet in fen (everything the platform sells is county farm produce or its
  processed specialties). Cross-border online sales are in USD and reported beside it, not added.
- **Upward flow** (上行): farm produce received from village stations' upstream consignments
  (weight and value recorded on the consignment) and from suppliers' lots (kg = quantity × the
  variant's net weight; value = the purchase price recorded on the lot × quantity), by the China
  date received. A consignment's own lot is counted once, as the consignment.
- **Downward flow** (下行): parcels scanned in at a village station, by the China date they arrived.
- **Villages served**: distinct villages of stations that handed over a parcel or sent produce up;
  **people served**: distinct customers by phone who collected a parcel at a station, plus people
  a station served (service cases with a phone). Distinct counts are never added across days.

How figures are kept fresh: additive figures per China date live in summary tables
(``county_daily_sales``, ``county_daily_flows``). :func:`refresh_figures` (Celery beat, every
minute) recomputes only the days touched since its last run — rows written or changed since the
watermark, minus ``OVERLAP`` for transactions still open then — and the first run (or ``full``)
rebuilds every day. Reads take past days from the summary and **compute today live** from the raw
rows, so today's figures are never stale; a correction to an earlier day shows after the next
refresh (a minute). Distinct counts are computed live for the span asked (indexed, small).
A bulk load that writes rows with past timestamps (the volume generator) ends with a full refresh.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.channels import SalesChannel
from app.config import get_settings
from app.county import performance_queries as queries
from app.kit import clock

# The channels in the order the dashboard and the report show them.
CHANNELS: tuple[SalesChannel, ...] = (
    SalesChannel.shop,
    SalesChannel.wholesale,
    SalesChannel.pos,
    SalesChannel.crossborder,
)
ONLINE_CHANNELS = (SalesChannel.shop, SalesChannel.wholesale)
CHANNEL_CURRENCY = {SalesChannel.crossborder: "USD"}
# A transaction that began before a refresh read its watermark and committed after it wrote rows
# stamped before the watermark; re-reading this much before it catches them (days recomputed
# twice are only recomputed, never counted twice).
OVERLAP = timedelta(minutes=10)

DEFINITIONS_ZH: tuple[tuple[str, str], ...] = (
    (
        "销售额",
        "实收金额减退款，按付款时间的北京时间日期计入（一笔订单计在首次付款当天；之后的退款冲减当天）；未付款即取消或过期的订单不计；"
        "付款后取消（或逾期失效、迟到的付款已退）的订单不计入订单数，"
        "其实收减退款仍计在付款当天（退款到账后为 0）。",
    ),
    (
        "各渠道",
        "网店：在线支付或到站付款的订单；门店：收银台销售（当场付款，退货从钱箱退款）；"
        "批发：记账销售，按结算单开具日期计入，金额为结算单减红字结算单；"
        "跨境：阿里巴巴国际站已付款订单，按下单日期计入，以美元计，不折算。",
    ),
    ("农产品网络零售额", "网店 + 批发销售额（人民币）；跨境销售额以美元另列，不相加。"),
    (
        "上行",
        "村站上行寄售（按寄售单记录的重量与价值）及供应商收货批次"
        "（重量 = 数量 × 规格净重；价值 = 批次记录的收购单价 × 数量，未记录收购价的批次只计重量），按收货日期计入。",
    ),
    ("下行", "到达村站（扫码入站）的包裹数，按到站日期计入。"),
    (
        "服务村数 / 服务人数",
        "有包裹取件或上行寄售的村站所在村（去重）；在村站取件的顾客及村站服务记录的人，按手机号去重。",
    ),
    ("数据更新", "今天的数字实时计算；以前各天来自每分钟更新的日汇总表，更正最迟约一分钟后反映。"),
)


@dataclass(frozen=True)
class ChannelFigures:
    channel: SalesChannel
    orders: int
    sales_minor: int  # fen (CNY); cents (USD) for cross-border
    currency: str
    weight_kg: Decimal = Decimal(0)  # the wholesale orders' booked load

    @property
    def label_zh(self) -> str:
        return self.channel.label_zh


@dataclass(frozen=True)
class Flow:
    kg: Decimal
    value_minor: int
    count: int


@dataclass(frozen=True)
class Performance:
    """Figures of ``start``–``end`` (China-time dates, both included)."""

    start: date
    end: date
    channels: tuple[ChannelFigures, ...]
    upward_stations: Flow  # upstream consignments from village stations
    upward_suppliers: Flow  # lots received from suppliers
    parcels_to_stations: int
    villages_served: int
    people_served: int

    def channel(self, channel: SalesChannel | str) -> ChannelFigures:
        return next(c for c in self.channels if c.channel == channel)

    @property
    def orders_total(self) -> int:
        return sum(c.orders for c in self.channels)

    @property
    def sales_cny_minor(self) -> int:
        """Shop + wholesale + POS (the CNY channels)."""
        return sum(c.sales_minor for c in self.channels if c.currency == "CNY")

    @property
    def online_retail_minor(self) -> int:
        """Online retail of agricultural products, CNY fen: shop + wholesale."""
        return sum(self.channel(c).sales_minor for c in ONLINE_CHANNELS)

    @property
    def upward_kg(self) -> Decimal:
        return self.upward_stations.kg + self.upward_suppliers.kg

    @property
    def upward_value_minor(self) -> int:
        return self.upward_stations.value_minor + self.upward_suppliers.value_minor

    @property
    def crossborder_orders(self) -> int:
        return self.channel(SalesChannel.crossborder).orders

    @property
    def crossborder_sales_usd_minor(self) -> int:
        return self.channel(SalesChannel.crossborder).sales_minor

    @property
    def wholesale_kg(self) -> Decimal:
        """Wholesale volume to the Pearl River Delta: the booked load of invoiced orders."""
        return self.channel(SalesChannel.wholesale).weight_kg

    @property
    def wholesale_minor(self) -> int:
        return self.channel(SalesChannel.wholesale).sales_minor


@dataclass(frozen=True)
class DayPoint:
    """One day of the series: orders and sales per channel, upward kg, parcels to stations."""

    day: date
    orders: dict[str, int] = field(default_factory=dict)
    sales_minor: dict[str, int] = field(default_factory=dict)
    upward_kg: Decimal = Decimal(0)
    parcels: int = 0


def _tz() -> str:
    return get_settings().business_timezone


def bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """``[start of start, start of the day after end)`` in China time, as aware instants."""
    return clock.start_of_day(start), clock.start_of_day(end + timedelta(days=1))


async def _day_rows(
    session: AsyncSession, start: date, end: date, *, live: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(sales rows, flow rows) per day for ``start``–``end``: past days from the summary tables,
    today and later computed from the raw rows (everything from the raw rows with ``live``)."""
    sales: list[dict[str, Any]] = []
    flows: list[dict[str, Any]] = []
    if start > end:
        return sales, flows
    today = clock.today()
    summary_end = end if live else min(end, today - timedelta(days=1))
    if not live and start <= summary_end:
        sales += [_sales_row(row) for row in await queries.summary_sales(session, start, summary_end)]
        flows += [_flows_row(row) for row in await queries.summary_flows(session, start, summary_end)]
    raw_start = start if live else max(start, today)
    if raw_start <= end:
        low, high = bounds(raw_start, end)
        sales += await queries.day_sales(session, low, high, raw_start, end, _tz())
        flows += await queries.day_flows(session, low, high, _tz())
    return sales, flows


def _sales_row(row: Any) -> dict[str, Any]:
    return {
        "day": row.day,
        "channel": row.channel,
        "currency": row.currency,
        "orders": row.orders,
        "sales_minor": row.sales_minor,
        "weight_kg": row.weight_kg,
    }


FLOW_COLUMNS = (
    "station_kg",
    "station_value_minor",
    "consignments",
    "supplier_kg",
    "supplier_value_minor",
    "lots",
    "parcels",
)


def _flows_row(row: Any) -> dict[str, Any]:
    return {"day": row.day, **{name: getattr(row, name) for name in FLOW_COLUMNS}}


def _channels(sales: Iterable[dict[str, Any]]) -> tuple[ChannelFigures, ...]:
    orders: dict[str, int] = defaultdict(int)
    amounts: dict[str, int] = defaultdict(int)
    kg: dict[str, Decimal] = defaultdict(Decimal)
    for row in sales:
        orders[row["channel"]] += int(row["orders"])
        amounts[row["channel"]] += int(row["sales_minor"])
        kg[row["channel"]] += Decimal(row["weight_kg"] or 0)
    return tuple(
        ChannelFigures(
            channel=channel,
            orders=orders[channel.value],
            sales_minor=amounts[channel.value],
            currency=CHANNEL_CURRENCY.get(channel, "CNY"),
            weight_kg=kg[channel.value],
        )
        for channel in CHANNELS
    )


def _sum(flows: Sequence[dict[str, Any]], name: str) -> Any:
    return sum((row[name] or 0 for row in flows), Decimal(0) if name.endswith("_kg") else 0)


async def performance(session: AsyncSession, start: date, end: date, *, live: bool = False) -> Performance:
    """The figures of ``start``–``end`` (China-time dates, ``end`` included). ``live``: every day
    from the raw rows instead of the summary tables (the check the tests make; slower)."""
    sales, flows = await _day_rows(session, start, end, live=live)
    return await _performance(session, start, end, sales, flows)


async def daily_series(session: AsyncSession, start: date, end: date, *, live: bool = False) -> list[DayPoint]:
    """One :class:`DayPoint` per day of ``start``–``end``, days without activity included (zeros),
    for the charts: orders and sales per channel (keys: channel values), upward kg, parcels."""
    sales, flows = await _day_rows(session, start, end, live=live)
    return _series(start, end, sales, flows)


async def performance_and_series(
    session: AsyncSession, start: date, end: date, series_start: date
) -> tuple[Performance, list[DayPoint]]:
    """:func:`performance` of ``start``–``end`` and :func:`daily_series` of ``series_start``–``end``
    from one read of the day rows (the dashboard shows both)."""
    first = min(start, series_start)
    sales, flows = await _day_rows(session, first, end, live=False)
    figures = await _performance(
        session,
        start,
        end,
        [row for row in sales if row["day"] >= start],
        [row for row in flows if row["day"] >= start],
    )
    return figures, _series(
        series_start,
        end,
        [row for row in sales if row["day"] >= series_start],
        [row for row in flows if row["day"] >= series_start],
    )


async def _performance(
    session: AsyncSession, start: date, end: date, sales: list[dict[str, Any]], flows: list[dict[str, Any]]
) -> Performance:
    low, high = bounds(start, end)
    villages, people = await queries.distinct_served(session, low, high)
    return Performance(
        start=start,
        end=end,
        channels=_channels(sales),
        upward_stations=Flow(
            kg=_sum(flows, "station_kg"),
            value_minor=int(_sum(flows, "station_value_minor")),
            count=int(_sum(flows, "consignments")),
        ),
        upward_suppliers=Flow(
            kg=_sum(flows, "supplier_kg"),
            value_minor=int(_sum(flows, "supplier_value_minor")),
            count=int(_sum(flows, "lots")),
        ),
        parcels_to_stations=int(_sum(flows, "parcels")),
        villages_served=villages,
        people_served=people,
    )


def _series(start: date, end: date, sales: list[dict[str, Any]], flows: list[dict[str, Any]]) -> list[DayPoint]:
    points = {start + timedelta(days=n): DayPoint(day=start + timedelta(days=n)) for n in range((end - start).days + 1)}
    for row in sales:
        point = points.get(row["day"])
        if point is not None:
            point.orders[row["channel"]] = point.orders.get(row["channel"], 0) + int(row["orders"])
            point.sales_minor[row["channel"]] = point.sales_minor.get(row["channel"], 0) + int(row["sales_minor"])
    result: list[DayPoint] = []
    by_day = {row["day"]: row for row in flows}
    for day, point in points.items():
        flow = by_day.get(day)
        if flow is not None:
            point = DayPoint(
                day=day,
                orders=point.orders,
                sales_minor=point.sales_minor,
                upward_kg=Decimal(flow["station_kg"] or 0) + Decimal(flow["supplier_kg"] or 0),
                parcels=int(flow["parcels"] or 0),
            )
        result.append(point)
    return result


# ---- keeping the summary tables fresh -----------------------------------------------------------


def _runs(days: Sequence[date]) -> list[tuple[date, date]]:
    """Consecutive days grouped into ``(first, last)`` runs: one query per run."""
    runs: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if runs and day == runs[-1][1] + timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


async def refresh_days(session: AsyncSession, days: Sequence[date]) -> int:
    """Recompute the summary rows of ``days`` from the raw rows; returns how many days."""
    for first, last in _runs(days):
        low, high = bounds(first, last)
        sales = await queries.day_sales(session, low, high, first, last, _tz())
        flows = await queries.day_flows(session, low, high, _tz())
        await queries.replace_days(session, first, last, sales, flows)
    return len(set(days))


async def refresh_figures(session: AsyncSession, *, full: bool = False) -> int:
    """Bring the summary tables up to date: the days touched since the last run (all days on the
    first run or with ``full``). Takes a transaction lock so two runs never interleave; the caller
    commits. Returns how many days were recomputed."""
    await queries.lock_refresh(session)
    started = await queries.database_now(session)
    last = None if full else await queries.refreshed_at(session)
    if last is None:
        # A rebuild: days whose rows are gone (data removed since) must not keep old figures.
        await queries.clear_summary(session)
        days = await queries.all_days(session, _tz())
    else:
        days = await queries.touched_days(session, last - OVERLAP, _tz())
    count = await refresh_days(session, days)
    await queries.set_refreshed(session, started, count)
    await session.flush()
    return count
