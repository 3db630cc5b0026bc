"""SQL of the dashboard's attention lists (rules and thresholds: ``app.county.dashboard``).

Each list reads through an index made for it (migration 0034): parcels held past retention
(``ix_parcels_retention``), lots by best-before (``ix_lots_best_before``), orders in a waiting state
(``ix_orders_waiting``), recent failed Alibaba.com calls (``ix_alibaba_sync_log_failures``); the
reorder list reads the variants that have a reorder point and their stock rows.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

Row = dict[str, Any]


async def _rows(session: AsyncSession, sql: str, params: dict[str, Any]) -> list[Row]:
    result = await session.execute(text(sql), params)
    return [dict(row) for row in result.mappings()]


async def _listed(
    session: AsyncSession, sql: str, order_by: str, params: dict[str, Any], limit: int, offset: int = 0
) -> tuple[int, list[Row]]:
    """(how many rows ``sql`` has, ``limit`` of its rows from ``offset`` in ``order_by``): one
    statement, the count taken by a window over the whole result before the limit (a page past
    the end has no row to carry it: counted apart)."""
    rows = await _rows(
        session,
        f"SELECT *, count(*) OVER () AS total_count FROM ({sql}) listed ORDER BY {order_by} "
        "LIMIT :limit OFFSET :offset",
        {**params, "limit": limit, "offset": offset},
    )
    if rows:
        return int(rows[0]["total_count"]), rows
    if not offset:
        return 0, rows
    return int(await session.scalar(text(f"SELECT count(*) FROM ({sql}) listed"), params) or 0), rows


_OVERDUE_PARCELS = """
    SELECT p.id, p.tracking_number, p.arrived_at, p.retention_until, s.name AS station, s.village,
           o.number AS order_number, o.contact_name, o.contact_phone
    FROM parcels p JOIN stations s ON s.id = p.station_id JOIN orders o ON o.id = p.order_id
    WHERE p.status = 'at_station' AND p.retention_until < :now
"""


async def overdue_parcels(session: AsyncSession, now: datetime, limit: int, offset: int = 0) -> tuple[int, list[Row]]:
    """Parcels still on a station shelf after their retention ended (longest overdue first)."""
    return await _listed(session, _OVERDUE_PARCELS, "retention_until, id", {"now": now}, limit, offset)


_EXPIRING_LOTS = """
    SELECT l.id, l.code, l.best_before, v.sku, v.name_zh AS variant, pr.name_zh AS product, v.unit,
           sum(sl.on_hand) AS on_hand
    FROM lots l
    JOIN stock_levels sl ON sl.lot_id = l.id
    JOIN variants v ON v.id = l.variant_id
    JOIN products pr ON pr.id = v.product_id
    WHERE l.best_before >= :today AND l.best_before <= :until
    GROUP BY l.id, v.id, pr.id
    HAVING sum(sl.on_hand) > 0
"""


async def expiring_lots(
    session: AsyncSession, today: date, until: date, limit: int, offset: int = 0
) -> tuple[int, list[Row]]:
    """Lots with stock on hand whose best-before falls between today and ``until`` (soonest first)."""
    params = {"today": today, "until": until}
    return await _listed(session, _EXPIRING_LOTS, "best_before, id", params, limit, offset)


_BELOW_REORDER = """
    SELECT v.id, v.sku, v.name_zh AS variant, pr.name_zh AS product, pr.id AS product_id, v.unit,
           v.reorder_point, coalesce(sum(sl.on_hand - sl.reserved), 0) AS available
    FROM variants v
    JOIN products pr ON pr.id = v.product_id
    LEFT JOIN stock_levels sl ON sl.variant_id = v.id AND sl.best_before >= :today
    WHERE v.reorder_point IS NOT NULL AND v.is_active
    GROUP BY v.id, pr.id
    HAVING coalesce(sum(sl.on_hand - sl.reserved), 0) < v.reorder_point
"""


async def below_reorder_point(session: AsyncSession, today: date, limit: int, offset: int = 0) -> tuple[int, list[Row]]:
    """Active variants whose sellable stock (unexpired lots, every location) is below their reorder point."""
    return await _listed(session, _BELOW_REORDER, "sku, id", {"today": today}, limit, offset)


# Since when an order is in its state: the last event that moved it there (placed_at when none).
_STUCK_ORDERS = """
    SELECT o.id, o.number, o.channel, o.status, o.contact_name, o.contact_phone, o.total_minor, since.at AS since
    FROM orders o
    CROSS JOIN LATERAL (
        SELECT coalesce(max(e.created_at), o.placed_at) AS at
        FROM order_events e WHERE e.order_id = o.id AND e.to_status = o.status::text
    ) since
    WHERE o.status IN ('pending_payment', 'confirmed', 'ready_for_pickup')
      -- A paid event-ticket order (nothing to deliver) waits for its event, not for packing.
      AND NOT (o.status = 'confirmed' AND o.delivery_method = 'none')
      -- A paid pre-sale order waits for its harvest (weeks) until its wave is allocated: nothing to
      -- pack yet, so not stuck. Once allocated (stock reserved) or on a cancelled wave it counts again.
      AND NOT (o.status = 'confirmed' AND o.reservation_reference IS NULL AND EXISTS (
          SELECT 1 FROM presale_orders po JOIN presale_waves w ON w.id = po.wave_id
          WHERE po.order_id = o.id AND w.status IN ('draft', 'open')))
      AND since.at < CASE o.status
          WHEN 'pending_payment' THEN CAST(:pending_before AS timestamptz)
          WHEN 'confirmed' THEN CAST(:confirmed_before AS timestamptz)
          ELSE CAST(:ready_before AS timestamptz) END
"""


async def stuck_orders(
    session: AsyncSession,
    *,
    pending_before: datetime,
    confirmed_before: datetime,
    ready_before: datetime,
    limit: int,
    offset: int = 0,
) -> tuple[int, list[Row]]:
    """Orders in a waiting state since before that state's cut-off (oldest first)."""
    params = {"pending_before": pending_before, "confirmed_before": confirmed_before, "ready_before": ready_before}
    return await _listed(session, _STUCK_ORDERS, "since, id", params, limit, offset)


_PROBLEM_LISTINGS = """
    SELECT id, model_number, title_en, state, state_message, failed_attempts, next_attempt_at
    FROM alibaba_listings
    WHERE state IN ('error', 'rejected') OR failed_attempts > 0
"""


async def alibaba_problems(session: AsyncSession, since: datetime, limit: int, offset: int = 0) -> dict[str, Any]:
    """The connection's state; the first ``limit`` listings in error or rejected or retrying (the
    platform runs a handful of listings: never paged) and their count; ``limit`` of the calls
    failed since ``since`` from ``offset`` (newest first) and their count."""
    connection = (
        (await session.execute(text("SELECT status, last_error, paused_until FROM alibaba_connections WHERE id = 1")))
        .mappings()
        .first()
    )
    listing_count, listings = await _listed(session, _PROBLEM_LISTINGS, "id", {}, limit)
    failed_count, failed = await _listed(
        session,
        """
        SELECT id, created_at, api, code, msg_code, message FROM alibaba_sync_log
        WHERE NOT ok AND created_at >= :since
        """,
        "created_at DESC, id DESC",
        {"since": since},
        limit,
        offset,
    )
    return {
        "connection": dict(connection) if connection is not None else None,
        "listings": listings,
        "listing_count": listing_count,
        "failed_calls": failed,
        "failed_count": failed_count,
    }
