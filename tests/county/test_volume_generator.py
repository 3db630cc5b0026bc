"""The bench's year of county activity (bench/county_data.py) at a tiny scale: the counts asked for,
stock levels equal to the ledger's sums, amounts that add up, and orders in China-time hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.demo import seed_demo
from app.kit import clock
from bench.county_data import Report, Scale, generate

# 00:30 China time on 21 May: the UTC date is still the 20th, and loquats are in season.
NOW = datetime(2026, 5, 20, 16, 30, tzinfo=UTC)
TODAY = date(2026, 5, 21)
SCALE = Scale(orders=300, ledger_rows=3_000, crossborder=12)


async def _generated(db_session: AsyncSession, tmp_path: Path) -> tuple[AsyncConnection, Report]:
    with clock.pinned(NOW):
        await seed_demo(db_session, uploads_dir=tmp_path / "uploads")
        await db_session.flush()
        conn = await db_session.connection()
        report = await generate(conn, scale=SCALE, now=NOW)
    return conn, report


async def _rows(conn: AsyncConnection, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    return [tuple(r) for r in await conn.execute(text(sql))]


async def _one(conn: AsyncConnection, sql: str) -> object:
    return (await conn.execute(text(sql))).scalar()


async def test_volume_generator_invariants(db_session: AsyncSession, tmp_path: Path) -> None:
    conn, report = await _generated(db_session, tmp_path)

    # Counts as asked: every order made (the demo has none of its own), the ledger at least the size
    # asked (recount pairs round up by one row at most), cross-border orders stored.
    assert await _one(conn, "SELECT count(*) FROM orders") == SCALE.orders == report.rows["orders"]
    ledger = await _one(conn, "SELECT count(*) FROM stock_ledger")
    demo_ledger = ledger - report.rows["stock_ledger"]  # type: ignore[operator]
    assert SCALE.ledger_rows <= report.rows["stock_ledger"] <= SCALE.ledger_rows + 1
    assert report.ledger_from_activity + report.ledger_recount_rows == report.rows["stock_ledger"]
    assert demo_ledger >= 0
    assert await _one(conn, "SELECT count(*) FROM alibaba_orders") == 12
    channels = dict(await _rows(conn, "SELECT channel::text, count(*) FROM orders GROUP BY 1"))
    assert set(channels) == {"shop", "pos", "wholesale"}
    assert channels["shop"] > channels["pos"] > channels["wholesale"] > 0

    # On hand and reserved per lot and location are the ledger's sums, for every level and every
    # (lot, location) the ledger names; the CHECK constraints' bounds hold.
    mismatched = await _rows(
        conn,
        """
        WITH sums AS (
            SELECT lot_id, location_id, sum(on_hand_delta) AS on_hand, sum(reserved_delta) AS reserved
            FROM stock_ledger GROUP BY lot_id, location_id
        )
        SELECT coalesce(s.lot_id, l.lot_id), coalesce(s.location_id, l.location_id), s.on_hand, l.on_hand,
               s.reserved, l.reserved
        FROM sums s FULL JOIN stock_levels l ON l.lot_id = s.lot_id AND l.location_id = s.location_id
        WHERE s.on_hand IS DISTINCT FROM l.on_hand AND NOT (s.lot_id IS NULL AND l.on_hand = 0 AND l.reserved = 0)
           OR s.reserved IS DISTINCT FROM l.reserved AND NOT (s.lot_id IS NULL AND l.reserved = 0)
        """,
    )
    assert mismatched == []
    assert await _one(conn, "SELECT count(*) FROM stock_levels WHERE reserved < 0 OR reserved > on_hand") == 0
    # What the active reservations hold is what the levels show reserved.
    held = await _rows(
        conn,
        """
        SELECT s.id FROM stock_levels s
        LEFT JOIN (SELECT rl.stock_level_id, sum(rl.quantity) AS q FROM reservation_lines rl
                   JOIN reservations r ON r.id = rl.reservation_id AND r.status = 'active'
                   GROUP BY rl.stock_level_id) h ON h.stock_level_id = s.id
        WHERE coalesce(h.q, 0) <> s.reserved
        """,
    )
    assert held == []
    # A lot's receipt is its quantity received; no lot sold after the day it was written off.
    assert (
        await _one(
            conn,
            """
            SELECT count(*) FROM lots l
            WHERE l.quantity_received <> (SELECT sum(on_hand_delta) FROM stock_ledger g
                                          WHERE g.lot_id = l.id AND g.kind = 'receipt')
            """,
        )
        == 0
    )

    # Amounts: lines add up to the subtotal, the total adds up, refunds within what was paid, and
    # what was paid and refunded are the payments' and refunds' sums.
    assert (
        await _one(
            conn,
            """
            SELECT count(*) FROM orders o
            WHERE o.subtotal_minor <> (SELECT sum(line_total_minor) FROM order_lines l WHERE l.order_id = o.id)
               OR o.total_minor <> o.subtotal_minor - o.discount_minor + o.delivery_fee_minor
               OR o.paid_minor < o.refunded_minor OR o.paid_minor NOT IN (0, o.total_minor)
               OR (o.channel = 'shop' AND o.paid_minor <> coalesce(
                       (SELECT sum(amount_minor) FROM payments p WHERE p.order_id = o.id AND p.state = 'succeeded'), 0))
               OR o.refunded_minor <> coalesce((SELECT sum(amount_minor) FROM refunds r WHERE r.order_id = o.id), 0)
               OR (o.payment_status = 'paid') <> (o.paid_minor > 0 AND o.refunded_minor = 0)
            """,
        )
        == 0
    )
    assert await _one(conn, "SELECT count(*) FROM orders WHERE refunded_minor > 0") > 0  # type: ignore[operator]
    assert await _one(conn, "SELECT count(*) FROM orders WHERE status IN ('cancelled', 'expired')") > 0  # type: ignore[operator]
    # Wholesale: each delivered order invoiced once for its total, its lines for their amounts.
    assert (
        await _one(
            conn,
            """
            SELECT count(*) FROM orders o LEFT JOIN wholesale_invoices i ON i.order_id = o.id AND i.kind = 'invoice'
            WHERE o.channel = 'wholesale' AND (o.status = 'completed') <> (i.id IS NOT NULL)
               OR i.total_minor <> o.total_minor
               OR i.total_minor <> (SELECT sum(amount_minor) FROM wholesale_invoice_lines n WHERE n.invoice_id = i.id)
            """,
        )
        == 0
    )
    # Counter sales: tendered minus change is the total, and one tender each.
    assert (
        await _one(
            conn,
            """
            SELECT count(*) FROM pos_sales s JOIN orders o ON o.id = s.order_id
            WHERE s.total_minor <> o.total_minor OR s.tendered_minor - s.change_minor <> s.total_minor
               OR s.tendered_minor <> (SELECT sum(amount_minor) FROM pos_tenders t WHERE t.sale_id = s.id)
            """,
        )
        == 0
    )
    # Parcels belong to station-pickup orders and agree with their order's fulfilment.
    assert (
        await _one(
            conn,
            """
            SELECT count(*) FROM parcels p JOIN orders o ON o.id = p.order_id
            WHERE o.delivery_method <> 'station_pickup' OR o.station_id <> p.station_id
               OR (p.status = 'handed_over') <> (o.fulfilment_status = 'handed_over')
            """,
        )
        == 0
    )

    # China time: the year ends today in China (the UTC date is yesterday), every order placed in
    # business hours, spread over every month; loquats sold only in their season (March–May).
    china = "placed_at AT TIME ZONE 'Asia/Shanghai'"
    first, last = (await _rows(conn, f"SELECT min(({china})::date), max(({china})::date) FROM orders"))[0]
    assert last <= TODAY and first >= TODAY - timedelta(days=364)
    assert await _one(conn, f"SELECT count(DISTINCT date_trunc('month', {china})) FROM orders") >= 12  # type: ignore[operator]
    assert await _one(conn, "SELECT max(placed_at) FROM orders") <= NOW  # type: ignore[operator]
    hours = dict(
        await _rows(
            conn,
            f"SELECT channel::text, array[min(extract(hour FROM {china})), max(extract(hour FROM {china}))] "
            "FROM orders GROUP BY 1",
        )
    )
    assert 7 <= hours["shop"][0] and hours["shop"][1] <= 22
    assert 8 <= hours["pos"][0] and hours["pos"][1] <= 19
    assert 9 <= hours["wholesale"][0] and hours["wholesale"][1] <= 16
    loquat_months = await _rows(
        conn,
        f"""
        SELECT DISTINCT extract(month FROM o.{china})::int FROM orders o
        JOIN order_lines l ON l.order_id = o.id WHERE l.sku LIKE 'NLP-LOQ-%' ORDER BY 1
        """,
    )
    assert {m for (m,) in loquat_months} <= {3, 4, 5} and loquat_months


async def test_volume_generator_is_deterministic(db_session: AsyncSession, tmp_path: Path) -> None:
    """The same seed and ``now`` make the same year (ids aside: they come from the sequences)."""
    with clock.pinned(NOW):
        await seed_demo(db_session, uploads_dir=tmp_path / "uploads")
        await db_session.flush()
    conn = await db_session.connection()
    digests = []
    for _ in range(2):
        savepoint = await conn.begin_nested()
        await generate(conn, scale=Scale(orders=120, ledger_rows=1_000, crossborder=3), now=NOW)
        digests.append(
            await _rows(
                conn,
                """
                WITH o AS (SELECT concat_ws('|', channel, status, payment_status, placed_at, total_minor,
                                            refunded_minor, contact_phone) AS r FROM orders),
                     g AS (SELECT concat_ws('|', created_at, kind, on_hand_delta, reserved_delta, reason) AS r
                           FROM stock_ledger)
                SELECT (SELECT md5(string_agg(r, ',' ORDER BY r)) FROM o),
                       (SELECT md5(string_agg(r, ',' ORDER BY r)) FROM g)
                """,
            )
        )
        await savepoint.rollback()
    assert digests[0] == digests[1]
