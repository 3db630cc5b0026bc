"""The county operations dashboard on ``/admin`` (figures, charts, attention lists) and the lists
behind its figures (``/admin/county/...``). Admins and the read-only county official
(``CountyReader``) read them; the official sees names and phones masked and no write links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.access import CountyReader, Principal
from app.accounts.models import Role
from app.channels import CHANNEL_LABELS_ZH, SalesChannel
from app.config import get_settings
from app.county import dashboard, performance
from app.county import performance_queries as queries
from app.county.performance import CHANNELS, DEFINITIONS_ZH
from app.crossborder.orders import STATUS_ZH as TRADE_STATUS_ZH
from app.db import DbSession
from app.kit import clock
from app.kit.errors import InvalidInput, NotFound
from app.kit.money import format_minor
from app.kit.personal import mask_name
from app.kit.phones import mask_phone
from app.kit.quantities import format_quantity
from app.kit.svg_charts import Series, bar_chart, line_chart
from app.orders.models import ORDER_STATUS_ZH
from app.supply.models import SupplierKind
from app.supply.trace import public_grower_name
from app.web.templating import render

router = APIRouter(prefix="/admin/county", include_in_schema=False)

LIST_ROWS_SHOWN = 500
LONGEST_LIST_DAYS = 92  # a quarter


def sees_personal_data(principal: Principal) -> bool:
    """Only the centre's admins see customers' names and phones; the county official never does."""
    return principal.role is Role.admin


def _yuan(value: Any) -> str:
    return format_minor(int(value))


def _kg(value: Any) -> str:
    return f"{format_quantity(Decimal(value))} kg"


def list_url(kind: str, start: date, end: date, **extra: str | list[str]) -> str:
    query = urlencode({**extra, "from": start.isoformat(), "to": end.isoformat()}, doseq=True)
    return f"/admin/county/{kind}?{query}"


async def dashboard_context(session: AsyncSession, principal: Principal, period_key: str | None) -> dict[str, Any]:
    """Everything the county part of ``/admin`` shows for the chosen period."""
    period = dashboard.period(period_key)
    # Today alone has no trend: the chart then shows the week up to today.
    trend_start = period.start if period.days > 1 else period.end - timedelta(days=6)
    figures, series = await performance.performance_and_series(session, period.start, period.end, trend_start)
    labels = [f"{p.day:%m-%d}" for p in series]
    cny = [c for c in CHANNELS if c is not SalesChannel.crossborder]
    charts = {
        "sales": bar_chart(
            [(c.label_zh, Decimal(figures.channel(c).sales_minor) / 100) for c in cny],
            title=f"{period.label_zh}各渠道销售额（元）",
            fmt=lambda v: f"¥{Decimal(v):,.2f}",
        ),
        "orders": bar_chart(
            [(c.label_zh, figures.channel(c).orders) for c in CHANNELS], title=f"{period.label_zh}各渠道订单数"
        ),
        "trend": line_chart(
            labels,
            [Series(c.label_zh, [Decimal(p.sales_minor.get(c.value, 0)) / 100 for p in series]) for c in cny],
            title="每日销售额（元）",
            fmt=lambda v: f"{Decimal(v):,.0f}",
        ),
        "flows": line_chart(
            labels,
            [
                Series("上行（kg）", [p.upward_kg for p in series]),
                Series("下行包裹（件）", [p.parcels for p in series]),
            ],
            title="每日上行重量与下行包裹",
            fmt=lambda v: f"{Decimal(v):,.0f}",
        ),
    }
    return {
        "period": period,
        "periods": dashboard.PERIODS,
        "figures": figures,
        "series": series,
        "trend_start": trend_start,
        "charts": charts,
        "channels": CHANNELS,
        "cny_channels": cny,
        "online_channels": [c.value for c in performance.ONLINE_CHANNELS],
        "cny_channel_values": [c.value for c in cny],
        "definitions": DEFINITIONS_ZH,
        "attention": await dashboard.attention(session),
        "sees_personal": sees_personal_data(principal),
        "is_admin": principal.role is Role.admin,
        "list_url": list_url,
        "show_name": _shown_name(principal),
        "show_phone": _shown_phone(principal),
        "kg": _kg,
        "channel_labels": CHANNEL_LABELS_ZH,
        "status_labels": ORDER_STATUS_ZH,
    }


def _shown_name(principal: Principal) -> Any:
    return (lambda name: name or "—") if sees_personal_data(principal) else (lambda name: mask_name(name or ""))


def _shown_phone(principal: Principal) -> Any:
    return (lambda phone: phone or "—") if sees_personal_data(principal) else (lambda phone: mask_phone(phone or ""))


def shown_supplier(principal: Principal, name: str, kind: str) -> str:
    """A supplier as the caller may see it: in full for an admin; for the county official a
    household grower (a private person) only by family name, the rule of the public trace page."""
    if sees_personal_data(principal):
        return name
    return public_grower_name(name, SupplierKind(kind))


def _with_supplier_shown(rows: list[dict[str, Any]], principal: Principal) -> list[dict[str, Any]]:
    return [{**row, "supplier": shown_supplier(principal, row["supplier"], row["supplier_kind"])} for row in rows]


def _tz() -> str:
    return get_settings().business_timezone


def _span(start: date | None, end: date | None) -> tuple[date, date]:
    today = clock.today()
    end = end or today
    start = start or end
    if start > end:
        raise InvalidInput("开始日期不能晚于结束日期", detail={"from": start.isoformat(), "to": end.isoformat()})
    if (end - start).days >= LONGEST_LIST_DAYS:
        raise InvalidInput(f"明细一次最多查看 {LONGEST_LIST_DAYS} 天")
    return start, end


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    numeric: bool = False


# What each list shows: its title, columns, and the totals row's figures (column key → total).
ORDER_COLUMNS: dict[str, tuple[Column, ...]] = {
    SalesChannel.shop: (
        Column("number", "订单号"),
        Column("paid_at", "付款时间"),
        Column("contact_name", "顾客"),
        Column("contact_phone", "手机"),
        Column("status", "状态"),
        Column("paid_minor", "实收", True),
        Column("refunded_minor", "退款", True),
        Column("net_minor", "销售额", True),
    ),
    SalesChannel.pos: (
        Column("number", "小票号"),
        Column("sold_at", "销售时间"),
        Column("total_minor", "实收", True),
        Column("refunded_minor", "退款", True),
        Column("net_minor", "销售额", True),
    ),
    SalesChannel.wholesale: (
        Column("number", "结算单"),
        Column("order_number", "订单号"),
        Column("company", "采购商"),
        Column("day", "开具日期"),
        Column("weight_kg", "重量（kg）", True),
        Column("invoiced_minor", "结算金额", True),
        Column("credit_minor", "红字冲减", True),
        Column("net_minor", "销售额", True),
    ),
    SalesChannel.crossborder: (
        Column("trade_id", "国际站订单号"),
        Column("created_remote_at", "下单时间"),
        Column("buyer_country", "买家国家/地区"),
        Column("status", "状态"),
        Column("net_minor", "金额（美元）", True),
    ),
}


def _order_row(kind: str, row: dict[str, Any], principal: Principal) -> dict[str, Any]:
    shown = dict(row)
    if kind == SalesChannel.shop:
        shown["net_minor"] = row["paid_minor"] - row["refunded_minor"]
        shown["contact_name"] = _shown_name(principal)(row["contact_name"])
        shown["contact_phone"] = _shown_phone(principal)(row["contact_phone"])
        shown["status"] = ORDER_STATUS_ZH.get(row["status"], row["status"])
    elif kind == SalesChannel.pos:
        shown["net_minor"] = row["total_minor"] - row["refunded_minor"]
    elif kind == SalesChannel.wholesale:
        shown["net_minor"] = row["invoiced_minor"] + row["credit_minor"]
    else:
        shown["net_minor"] = row["amount_minor"] or 0
        shown["status"] = TRADE_STATUS_ZH.get(row["status"], row["status"])
    return shown


@dataclass(frozen=True)
class ChannelList:
    """One channel's rows behind its figures, with the totals row."""

    channel: SalesChannel
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]]
    count: int
    totals: dict[str, Any]
    currency: str
    cancelled: int = 0  # listed (paid, then cancelled) but not counted as orders


async def _channel_list(
    session: AsyncSession, channel: SalesChannel, first: date, last: date, principal: Principal
) -> ChannelList:
    low, high = performance.bounds(first, last)
    rows = await queries.list_rows(session, channel.value, low, high, first, last, _tz())
    shown = [_order_row(channel.value, row, principal) for row in rows]
    columns = ORDER_COLUMNS[channel.value]
    totals = {
        c.key: sum((r[c.key] or 0 for r in shown), Decimal(0) if c.key == "weight_kg" else 0)
        for c in columns
        if c.numeric
    }
    currency = performance.CHANNEL_CURRENCY.get(channel, "CNY")
    # An order paid and then cancelled is listed (its money is in the sales) but not counted.
    counted = sum(1 for r in shown if r.get("counted", True))
    return ChannelList(
        channel, columns, shown[:LIST_ROWS_SHOWN], counted, totals, currency, cancelled=len(shown) - counted
    )


# The dashboard's figures made of several channels, and the title of the list behind each.
CHANNEL_GROUPS: dict[frozenset[SalesChannel], str] = {
    frozenset(performance.ONLINE_CHANNELS): "农产品网络零售额（网店 + 批发）明细",
    frozenset(c for c in CHANNELS if c is not SalesChannel.crossborder): "人民币渠道合计明细",
}


@router.get("/orders")
async def orders_list(
    request: Request,
    session: DbSession,
    principal: CountyReader,
    channel: Annotated[list[SalesChannel], Query(max_length=len(CHANNELS))] = [SalesChannel.shop],  # noqa: B006
) -> Response:
    """The orders behind a channel's orders and sales figures (``?channel=&from=&to=``); with
    ``channel`` repeated, the orders behind a figure that adds channels up (online retail = shop +
    wholesale, the CNY total): one table per channel and the grand total, which is the figure.
    Channels of different currencies are never added (422)."""
    first, last = _span(_date_param(request, "from", None), _date_param(request, "to", None))
    chosen = [c for c in CHANNELS if c in set(channel)]
    currencies = {performance.CHANNEL_CURRENCY.get(c, "CNY") for c in chosen}
    if len(currencies) > 1:
        raise InvalidInput("跨境（美元）不能与人民币渠道相加", detail={"channel": [c.value for c in chosen]})
    lists = [await _channel_list(session, c, first, last, principal) for c in chosen]
    single = lists[0] if len(lists) == 1 else None
    title = f"{chosen[0].label_zh}订单明细" if single else CHANNEL_GROUPS.get(frozenset(chosen), "多渠道订单明细")
    return render(
        request,
        "admin/county_list.html",
        {
            "title": title,
            "kind": "orders",
            "lists": lists,
            "count": sum(part.count for part in lists),
            "rows_count": sum(part.count + part.cancelled for part in lists),
            "net_total": sum(part.totals["net_minor"] for part in lists),
            "currency": lists[0].currency,
            "first": first,
            "last": last,
            "channels": CHANNELS,
            "channel": chosen[0] if single else None,
            "chosen": chosen,
            "shown_limit": LIST_ROWS_SHOWN,
            "definitions": DEFINITIONS_ZH,
        },
    )


def _date_param(request: Request, name: str, given: date | None) -> date | None:
    """``from`` / ``to`` are Python keywords: read them from the query string (ISO dates)."""
    raw = request.query_params.get(name)
    if not raw:
        return given
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise InvalidInput(f"日期格式应为 YYYY-MM-DD：{name}", detail={name: raw}) from exc


@router.get("/upward")
async def upward_list(request: Request, session: DbSession, principal: CountyReader) -> Response:
    """The consignments and supplier lots behind the upward-flow figures (a household grower, a
    private person, named only by family name for the county official)."""
    first, last = _span(_date_param(request, "from", None), _date_param(request, "to", None))
    low, high = performance.bounds(first, last)
    tz = _tz()
    consignments = _with_supplier_shown(
        await queries.list_rows(session, "consignments", low, high, first, last, tz), principal
    )
    lots = _with_supplier_shown(await queries.list_rows(session, "lots", low, high, first, last, tz), principal)
    return render(
        request,
        "admin/county_upward.html",
        {
            "title": "上行明细",
            "kind": "upward",
            "count": len(consignments) + len(lots),
            "shown_limit": len(consignments) + len(lots),
            "consignments": consignments,
            "lots": lots,
            "station_kg": sum((r["weight_kg"] for r in consignments), Decimal(0)),
            "station_value": sum(r["value_minor"] for r in consignments),
            "supplier_kg": sum((r["kg"] for r in lots), Decimal(0)),
            "supplier_value": sum(r["value_minor"] for r in lots),
            "first": first,
            "last": last,
            "kg": _kg,
            "definitions": DEFINITIONS_ZH,
        },
    )


@router.get("/downward")
async def downward_list(request: Request, session: DbSession, _: CountyReader) -> Response:
    """The parcels behind "parcels to stations"."""
    first, last = _span(_date_param(request, "from", None), _date_param(request, "to", None))
    low, high = performance.bounds(first, last)
    tz = _tz()
    parcels = await queries.list_rows(session, "parcels", low, high, first, last, tz)
    return render(
        request,
        "admin/county_downward.html",
        {
            "title": "下行明细：到站包裹",
            "kind": "downward",
            "parcels": parcels[:LIST_ROWS_SHOWN],
            "count": len(parcels),
            "first": first,
            "last": last,
            "shown_limit": LIST_ROWS_SHOWN,
            "definitions": DEFINITIONS_ZH,
        },
    )


@router.get("/served")
async def served_list(request: Request, session: DbSession, principal: CountyReader) -> Response:
    """The people (by phone) and villages behind "people / villages served"."""
    first, last = _span(_date_param(request, "from", None), _date_param(request, "to", None))
    low, high = performance.bounds(first, last)
    people = await queries.served_people(session, low, high)
    villages, count = await queries.distinct_served(session, low, high)
    show_name, show_phone = _shown_name(principal), _shown_phone(principal)
    shown = [{**p, "name": show_name(p["name"]) if p["name"] else "—", "phone": show_phone(p["phone"])} for p in people]
    return render(
        request,
        "admin/county_served.html",
        {
            "title": "服务村数与服务人数",
            "kind": "served",
            "people": shown[:LIST_ROWS_SHOWN],
            "count": count,
            "villages": villages,
            "first": first,
            "last": last,
            "shown_limit": LIST_ROWS_SHOWN,
            "definitions": DEFINITIONS_ZH,
        },
    )


ATTENTION_PAGE_SIZE = 50


@router.get("/attention/{key}")
async def attention_page(
    request: Request,
    session: DbSession,
    principal: CountyReader,
    key: str,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """The whole of one attention list behind its count on the dashboard, ``ATTENTION_PAGE_SIZE``
    rows a page (the dashboard shows the first ``dashboard.ATTENTION_LIMIT``). The official sees
    names and phones masked and no link to a page that writes."""
    offset = (page - 1) * ATTENTION_PAGE_SIZE
    now = clock.now()
    context: dict[str, Any] = {
        "key": key,
        "page": page,
        "page_size": ATTENTION_PAGE_SIZE,
        "is_admin": principal.role is Role.admin,
        "show_name": _shown_name(principal),
        "show_phone": _shown_phone(principal),
        "channel_labels": CHANNEL_LABELS_ZH,
        "status_labels": ORDER_STATUS_ZH,
        "stuck_after": dashboard.stuck_after_zh_all(),
    }
    if key == dashboard.ALIBABA_KEY:
        alibaba = await dashboard.alibaba_sync(session, now=now, limit=ATTENTION_PAGE_SIZE, offset=offset)
        context |= {"title": dashboard.ALIBABA_TITLE, "alibaba": alibaba, "count": alibaba["problems"]}
        paged = alibaba["failed_count"]
    elif key in dashboard.ATTENTION_TITLES:
        listed = await dashboard.attention_list(session, key, now=now, limit=ATTENTION_PAGE_SIZE, offset=offset)
        context |= {"title": listed.title_zh, "listed": listed, "count": listed.count}
        paged = listed.count
    else:
        raise NotFound("没有这个关注清单", detail={"key": key})
    context["pages"] = max(1, -(-paged // ATTENTION_PAGE_SIZE))
    if page > context["pages"]:
        # Not "the list is empty": the list has fewer pages (a stale link, a hand-typed number).
        raise NotFound(
            f"这个清单只有 {context['pages']} 页", detail={"key": key, "page": page, "pages": context["pages"]}
        )
    return render(request, "admin/county_attention.html", context)
