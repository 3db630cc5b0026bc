"""SQL of the county's performance figures (rules and definitions: ``app.county.performance``).

Every figure is computed from the raw rows grouped by China-time day (``day_*`` functions: what
the summary refresh stores and what "today" is computed from live), read back from the summary
tables (``summary_*``), or counted distinct over a whole period (``distinct_served``). The list
functions return the rows behind a figure, with the same filters, so a list adds up to its figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.channels import SalesChannel
from app.county.figures_models import DailyFlows, DailySales, FiguresState

# Alibaba.com trade statuses of an order the buyer has paid (Trade Assurance), reference §8:
# before payment (to_be_audited, unpay, paying), closed or disputed ones do not count.
PAID_TRADE_STATUSES: tuple[str, ...] = (
    "paid",
    "captured",
    "undeliver",
    "delivering",
    "wait_confirm_receipt",
    "trade_success",
)

# ---- per day, from the raw rows -----------------------------------------------------------------

# Shop orders: the order counts on the China date of its first successful payment; its sales are
# what was paid minus what was refunded (the order's running totals, moved only by settled
# payments and refunds). An order never paid (a cancelled or expired one) has no payment: nowhere.
# An order paid and later cancelled, or expired with a late payment refunded
# (``orders.payments``), is not counted as an order (``counted``), while its sales stay
# paid minus refunded on its payment day (0 once the cancellation's refund has settled; until then
# the money is still held). Cancelling changes the order row, so the refresh recomputes that day.
_SHOP_PAID = """
    SELECT o.id, o.number, o.status, o.contact_name, o.contact_phone, o.paid_minor, o.refunded_minor,
           o.status NOT IN ('cancelled', 'expired') AS counted,
           first.paid_at, (first.paid_at AT TIME ZONE :tz)::date AS day
    FROM (
        SELECT p.order_id, min(p.succeeded_at) AS paid_at
        FROM payments p
        WHERE p.state = 'succeeded' AND p.succeeded_at >= :start AND p.succeeded_at < :end
        GROUP BY p.order_id
    ) first
    JOIN orders o ON o.id = first.order_id AND o.channel = 'shop'
    WHERE NOT EXISTS (
        SELECT 1 FROM payments e
        WHERE e.order_id = first.order_id AND e.state = 'succeeded' AND e.succeeded_at < :start
    )
"""

# Counter sales: paid as they are made (sold_at, the till's clock); returns refund from the drawer.
_POS_SOLD = """
    SELECT s.id, s.number, s.sold_at, s.total_minor, s.refunded_minor, (s.sold_at AT TIME ZONE :tz)::date AS day
    FROM pos_sales s
    WHERE s.sold_at >= :start AND s.sold_at < :end
"""

# Wholesale is sold on account: an order counts on its invoice's issue date (a China business
# date), its sales are the invoice less the credit notes against it (shortages, damage). An order
# cancelled after its invoice (buyers cannot: only before packing) is not counted as an order,
# like a shop order; its money is the invoice less its credit notes, as ever.
_WHOLESALE_INVOICED = """
    SELECT i.id, i.number, i.order_id, o.number AS order_number, c.name AS company, i.issue_date AS day,
           o.status NOT IN ('cancelled', 'expired') AS counted,
           i.total_minor AS invoiced_minor, coalesce(cn.credit_minor, 0) AS credit_minor, w.weight_kg
    FROM wholesale_invoices i
    JOIN orders o ON o.id = i.order_id
    JOIN wholesale_orders w ON w.order_id = i.order_id
    JOIN buyer_companies c ON c.id = i.company_id
    LEFT JOIN (
        SELECT against_invoice_id, sum(total_minor)::bigint AS credit_minor
        FROM wholesale_invoices WHERE kind = 'credit_note' GROUP BY against_invoice_id
    ) cn ON cn.against_invoice_id = i.id
    WHERE i.kind = 'invoice' AND i.issue_date >= :first_day AND i.issue_date <= :last_day
"""

# Cross-border orders as Alibaba.com reports them (USD), by the China date they were placed.
_CROSSBORDER_PAID = """
    SELECT a.id, a.trade_id, a.status, a.amount_minor, a.currency, a.buyer_country, a.created_remote_at,
           (a.created_remote_at AT TIME ZONE :tz)::date AS day
    FROM alibaba_orders a
    WHERE a.status = ANY(:statuses) AND a.currency = 'USD'
      AND a.created_remote_at >= :start AND a.created_remote_at < :end
"""

_CONSIGNMENTS = """
    SELECT u.id, u.number, u.created_at, u.weight_kg, u.value_minor, s.name AS station, s.village,
           su.name AS supplier, su.kind::text AS supplier_kind, (u.created_at AT TIME ZONE :tz)::date AS day
    FROM upstream_consignments u
    JOIN stations s ON s.id = u.station_id
    JOIN suppliers su ON su.id = u.supplier_id
    WHERE u.created_at >= :start AND u.created_at < :end
"""

# Lots received from suppliers (origin 'receipt'; a consignment's lot is counted as the
# consignment). Kilograms from the variant's net weight per unit (none recorded: 0 kg); value =
# the purchase price recorded on the lot × quantity, rounded once to the fen (none: 0).
_SUPPLIER_LOTS = """
    SELECT l.id, l.code, l.created_at, l.quantity_received, l.purchase_price_minor, v.sku, v.unit,
           su.name AS supplier, su.kind::text AS supplier_kind,
           round(l.quantity_received * coalesce(v.net_weight_grams, 0) / 1000.0, 3) AS kg,
           round(l.quantity_received * coalesce(l.purchase_price_minor, 0))::bigint AS value_minor,
           (l.created_at AT TIME ZONE :tz)::date AS day
    FROM lots l
    JOIN variants v ON v.id = l.variant_id
    JOIN suppliers su ON su.id = l.supplier_id
    WHERE l.origin = 'receipt' AND l.created_at >= :start AND l.created_at < :end
"""

_PARCELS_ARRIVED = """
    SELECT p.id, p.tracking_number, p.arrived_at, p.status, s.name AS station, s.village, o.number AS order_number,
           (p.arrived_at AT TIME ZONE :tz)::date AS day
    FROM parcels p
    JOIN stations s ON s.id = p.station_id
    JOIN orders o ON o.id = p.order_id
    WHERE p.arrived_at >= :start AND p.arrived_at < :end
"""

Row = dict[str, Any]


def _params(start: datetime, end: datetime, tz: str) -> dict[str, Any]:
    return {"start": start, "end": end, "tz": tz}


async def _rows(session: AsyncSession, sql: str, params: dict[str, Any]) -> list[Row]:
    result = await session.execute(text(sql), params)
    return [dict(row) for row in result.mappings()]


async def day_sales(
    session: AsyncSession, start: datetime, end: datetime, first_day: date, last_day: date, tz: str
) -> list[Row]:
    """``{day, channel, currency, orders, sales_minor, weight_kg}`` per day and channel with any
    sale in ``[start, end)`` (``first_day``–``last_day`` the same span as business dates)."""
    params = {**_params(start, end, tz), "first_day": first_day, "last_day": last_day}
    params["statuses"] = list(PAID_TRADE_STATUSES)
    sql = f"""
        SELECT day, '{SalesChannel.shop.value}' AS channel, 'CNY' AS currency,
               count(*) FILTER (WHERE counted) AS orders,
               sum(paid_minor - refunded_minor)::bigint AS sales_minor, 0::numeric AS weight_kg
        FROM ({_SHOP_PAID}) shop GROUP BY day
        UNION ALL
        SELECT day, '{SalesChannel.pos.value}', 'CNY', count(*), sum(total_minor - refunded_minor)::bigint, 0::numeric
        FROM ({_POS_SOLD}) pos GROUP BY day
        UNION ALL
        SELECT day, '{SalesChannel.wholesale.value}', 'CNY', count(*) FILTER (WHERE counted),
               sum(invoiced_minor + credit_minor)::bigint, sum(weight_kg)
        FROM ({_WHOLESALE_INVOICED}) wholesale GROUP BY day
        UNION ALL
        SELECT day, '{SalesChannel.crossborder.value}', 'USD', count(*),
               sum(coalesce(amount_minor, 0))::bigint, 0::numeric
        FROM ({_CROSSBORDER_PAID}) crossborder GROUP BY day
    """
    return await _rows(session, sql, params)


async def day_flows(session: AsyncSession, start: datetime, end: datetime, tz: str) -> list[Row]:
    """``{day, station_kg, station_value_minor, consignments, supplier_kg, supplier_value_minor,
    lots, parcels}`` per day with any flow in ``[start, end)``."""
    sql = f"""
        SELECT day,
               sum(station_kg) AS station_kg, sum(station_value_minor)::bigint AS station_value_minor,
               sum(consignments)::int AS consignments,
               sum(supplier_kg) AS supplier_kg, sum(supplier_value_minor)::bigint AS supplier_value_minor,
               sum(lots)::int AS lots, sum(parcels)::int AS parcels
        FROM (
            SELECT day, weight_kg AS station_kg, value_minor AS station_value_minor, 1 AS consignments,
                   0 AS supplier_kg, 0 AS supplier_value_minor, 0 AS lots, 0 AS parcels
            FROM ({_CONSIGNMENTS}) c
            UNION ALL
            SELECT day, 0, 0, 0, kg, value_minor, 1, 0 FROM ({_SUPPLIER_LOTS}) l
            UNION ALL
            SELECT day, 0, 0, 0, 0, 0, 0, 1 FROM ({_PARCELS_ARRIVED}) p
        ) flows
        GROUP BY day
    """
    return await _rows(session, sql, _params(start, end, tz))


async def distinct_served(session: AsyncSession, start: datetime, end: datetime) -> tuple[int, int]:
    """(villages, people) served at stations in ``[start, end)``: the villages of stations that
    handed over a parcel or sent a consignment up; distinct phones of customers who collected a
    parcel and of people a station served (service cases)."""
    sql = """
        SELECT
          (SELECT count(DISTINCT village) FROM (
              SELECT s.village FROM parcels p JOIN stations s ON s.id = p.station_id
              WHERE p.handed_over_at >= :start AND p.handed_over_at < :end
              UNION
              SELECT s.village FROM upstream_consignments u JOIN stations s ON s.id = u.station_id
              WHERE u.created_at >= :start AND u.created_at < :end
          ) v) AS villages,
          (SELECT count(DISTINCT phone) FROM (
              SELECT o.contact_phone AS phone FROM parcels p JOIN orders o ON o.id = p.order_id
              WHERE p.handed_over_at >= :start AND p.handed_over_at < :end
              UNION
              SELECT c.person_phone FROM service_cases c
              WHERE c.person_phone IS NOT NULL AND c.created_at >= :start AND c.created_at < :end
          ) people) AS people
    """
    row = (await session.execute(text(sql), {"start": start, "end": end})).one()
    return int(row.villages), int(row.people)


# ---- the rows behind a figure -------------------------------------------------------------------

LIST_SQL: dict[str, str] = {
    SalesChannel.shop: _SHOP_PAID + " ORDER BY first.paid_at, o.id",
    SalesChannel.pos: _POS_SOLD + " ORDER BY s.sold_at, s.id",
    SalesChannel.wholesale: _WHOLESALE_INVOICED + " ORDER BY i.issue_date, i.id",
    SalesChannel.crossborder: _CROSSBORDER_PAID + " ORDER BY a.created_remote_at, a.id",
    "consignments": _CONSIGNMENTS + " ORDER BY u.created_at, u.id",
    "lots": _SUPPLIER_LOTS + " ORDER BY l.created_at, l.id",
    "parcels": _PARCELS_ARRIVED + " ORDER BY p.arrived_at, p.id",
}


async def list_rows(
    session: AsyncSession, kind: str, start: datetime, end: datetime, first_day: date, last_day: date, tz: str
) -> list[Row]:
    """Every row behind one figure (``LIST_SQL`` kinds) for ``[start, end)``."""
    params = {**_params(start, end, tz), "first_day": first_day, "last_day": last_day}
    if kind == SalesChannel.crossborder:
        params["statuses"] = list(PAID_TRADE_STATUSES)
    sql = LIST_SQL[kind]
    # asyncpg rejects parameters a statement does not use.
    used = {name: value for name, value in params.items() if f":{name}" in sql}
    return await _rows(session, sql, used)


async def served_people(session: AsyncSession, start: datetime, end: datetime) -> list[Row]:
    """The people behind "people served": one row per phone, with its village(s) and visits."""
    sql = """
        SELECT phone, min(name) AS name, string_agg(DISTINCT village, '、') AS villages, count(*) AS visits
        FROM (
            SELECT o.contact_phone AS phone, o.contact_name AS name, s.village
            FROM parcels p JOIN orders o ON o.id = p.order_id JOIN stations s ON s.id = p.station_id
            WHERE p.handed_over_at >= :start AND p.handed_over_at < :end
            UNION ALL
            SELECT c.person_phone, '', s.village FROM service_cases c JOIN stations s ON s.id = c.station_id
            WHERE c.person_phone IS NOT NULL AND c.created_at >= :start AND c.created_at < :end
        ) people
        GROUP BY phone ORDER BY phone
    """
    return await _rows(session, sql, {"start": start, "end": end})


# ---- the summary tables -------------------------------------------------------------------------


async def summary_sales(session: AsyncSession, first_day: date, last_day: date) -> list[DailySales]:
    rows = await session.scalars(
        select(DailySales).where(DailySales.day >= first_day, DailySales.day <= last_day).order_by(DailySales.day)
    )
    return list(rows)


async def summary_flows(session: AsyncSession, first_day: date, last_day: date) -> list[DailyFlows]:
    rows = await session.scalars(
        select(DailyFlows).where(DailyFlows.day >= first_day, DailyFlows.day <= last_day).order_by(DailyFlows.day)
    )
    return list(rows)


async def replace_days(
    session: AsyncSession, first_day: date, last_day: date, sales: Sequence[Row], flows: Sequence[Row]
) -> None:
    """The summary rows of ``first_day``–``last_day`` become exactly ``sales`` and ``flows``."""
    await session.execute(delete(DailySales).where(DailySales.day >= first_day, DailySales.day <= last_day))
    await session.execute(delete(DailyFlows).where(DailyFlows.day >= first_day, DailyFlows.day <= last_day))
    if sales:
        await session.execute(insert(DailySales), [dict(row) for row in sales])
    if flows:
        await session.execute(insert(DailyFlows), [dict(row) for row in flows])


async def clear_summary(session: AsyncSession) -> None:
    await session.execute(delete(DailySales))
    await session.execute(delete(DailyFlows))


async def lock_refresh(session: AsyncSession) -> None:
    """One refresh at a time (two workers' beats, a manual rebuild): a transaction-scoped lock."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('county_daily_figures'))"))


async def database_now(session: AsyncSession) -> datetime:
    """The database's clock (the one ``updated_at`` / ``created_at`` stamps are written with)."""
    value = await session.scalar(text("SELECT statement_timestamp()"))
    assert isinstance(value, datetime)
    return value


async def refreshed_at(session: AsyncSession) -> datetime | None:
    return await session.scalar(select(FiguresState.refreshed_at).where(FiguresState.id == 1))


async def set_refreshed(session: AsyncSession, at: datetime, days: int) -> None:
    statement = pg_insert(FiguresState).values(id=1, refreshed_at=at, days_refreshed=days)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[FiguresState.id],
            set_={"refreshed_at": at, "days_refreshed": days, "updated_at": text("now()")},
        )
    )


async def all_days(session: AsyncSession, tz: str) -> list[date]:
    """Every China date with a row any figure reads (a full rebuild's days)."""
    return await _days(session, _ALL_DAYS, {"tz": tz})


async def touched_days(session: AsyncSession, since: datetime, tz: str) -> list[date]:
    """The China dates whose figures a row written or changed after ``since`` may have moved: the
    payment day of an order paid or refunded since, the sale day of a counter sale or return, the
    issue date of an invoice (or of the invoice a credit note reduces), the day a cross-border order
    pulled since was placed, a consignment's, a lot's and a parcel's day."""
    return await _days(session, _TOUCHED_DAYS, {"since": since, "tz": tz})


async def _days(session: AsyncSession, sql: str, params: dict[str, Any]) -> list[date]:
    result = await session.scalars(text(sql), params)
    return sorted(day for day in result if day is not None)


_ALL_DAYS = """
    SELECT DISTINCT day FROM (
        SELECT (succeeded_at AT TIME ZONE :tz)::date AS day FROM payments WHERE state = 'succeeded'
        UNION SELECT (sold_at AT TIME ZONE :tz)::date FROM pos_sales
        UNION SELECT issue_date FROM wholesale_invoices WHERE kind = 'invoice'
        UNION SELECT (created_remote_at AT TIME ZONE :tz)::date FROM alibaba_orders
        UNION SELECT (created_at AT TIME ZONE :tz)::date FROM upstream_consignments
        UNION SELECT (created_at AT TIME ZONE :tz)::date FROM lots
        UNION SELECT (arrived_at AT TIME ZONE :tz)::date FROM parcels
    ) d
"""

_TOUCHED_DAYS = """
    SELECT DISTINCT day FROM (
        SELECT (p.succeeded_at AT TIME ZONE :tz)::date AS day
        FROM orders o JOIN payments p ON p.order_id = o.id AND p.state = 'succeeded'
        WHERE o.updated_at > :since
        UNION SELECT (succeeded_at AT TIME ZONE :tz)::date FROM payments
        WHERE updated_at > :since AND succeeded_at IS NOT NULL
        UNION SELECT (sold_at AT TIME ZONE :tz)::date FROM pos_sales WHERE recorded_at > :since
        UNION SELECT (s.sold_at AT TIME ZONE :tz)::date
        FROM pos_returns r JOIN pos_sales s ON s.id = r.sale_id WHERE r.returned_at > :since
        UNION SELECT i.issue_date FROM wholesale_invoices i WHERE i.kind = 'invoice' AND i.created_at > :since
        UNION SELECT a.issue_date
        FROM wholesale_invoices c JOIN wholesale_invoices a ON a.id = c.against_invoice_id
        WHERE c.created_at > :since
        UNION SELECT i.issue_date
        FROM orders o JOIN wholesale_invoices i ON i.order_id = o.id AND i.kind = 'invoice'
        WHERE o.channel = 'wholesale' AND o.updated_at > :since
        UNION SELECT (created_remote_at AT TIME ZONE :tz)::date FROM alibaba_orders WHERE pulled_at > :since
        UNION SELECT (created_at AT TIME ZONE :tz)::date FROM upstream_consignments WHERE created_at > :since
        UNION SELECT (created_at AT TIME ZONE :tz)::date FROM lots WHERE updated_at > :since
        UNION SELECT (arrived_at AT TIME ZONE :tz)::date FROM parcels WHERE updated_at > :since
    ) d
"""
