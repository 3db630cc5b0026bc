# ruff: noqa: E501 - the SQL keeps one clause a line, some longer than 120 columns
"""A year of demo-scale activity for the county dashboard and the quarterly report (issue 17, "Measure").

``generate(conn, scale=Scale(...), now=...)`` fills a database that is migrated to head and holds
the demo data (``app seed-demo``) with the 365 China-time days ending ``now``:

* shop orders (``shop``): station pickup over the 36 demo stations (demonstration stations busier)
  and home delivery; paid with Stripe or at pickup; some expired unpaid, some cancelled (refunded
  in full), some refunded in part, parcels returned past their retention, a few still waiting on
  the shelf past it; the newest still in flight (confirmed, dispatched, on the shelf);
* counter sales at the brand store STORE-01 (``pos``): one shift a day, weighed lines, cash / QR;
* wholesale orders of the 10 supply SKUs by the approved demo buyer companies, on the PRD trucks'
  timetable (``wholesale``), at their tier prices and case packs, invoiced (结算单) when delivered
  and settled on the company's terms;
* a few hundred Alibaba.com orders (``alibaba_orders``, USD);
* lots: fresh produce in windows shorter than its shelf life, weighed produce brought upstream at
  the stations (a consignment, a lot at the station, a transfer to the warehouse), the brand
  store supplied by transfers; lots past their best-before written off;
* the stock ledger for all of it (reservations, sales, releases, returns, receipts, transfers,
  spoilage) and the stock levels **computed from the ledger** (on hand and reserved per lot and
  location = the ledger's sums), so ``0 <= reserved <= on_hand`` holds by construction. The ledger
  is brought up to ``Scale.ledger_rows`` with recount pairs (a count that found one unit more,
  corrected by an adjustment the next evening): they net to zero, so they change no level.

Set-based: every table is filled by ``INSERT … SELECT`` over ``generate_series`` and temporary
tables; randomness is ``hashint8extended`` of a row key and the seed, so the same seed and ``now``
give the same rows (and no statement depends on the order PostgreSQL produces rows in). Money is
integer fen, quantities exact numerics; timestamps are UTC instants made from China-time
business hours. Only tables on ``main`` are written (and ``lots.purchase_price_minor`` where a
later migration added it); no app code runs.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

CHINA = ZoneInfo("Asia/Shanghai")
DAYS = 365

# Chinese New Year (the Spring Festival peak: cured meats, gift boxes) of the years a run can touch.
NEW_YEAR = {
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
    2028: date(2028, 1, 26),
    2029: date(2029, 2, 13),
    2030: date(2030, 2, 3),
}

# How much a product sells when it is on sale (its season, or all year), relative to the others.
POPULARITY = {
    "shixing-loquat": 6.0,
    "shixing-bayberry": 6.0,
    "shixing-sand-pear": 3.0,
    "shixing-taro": 2.0,
    "shixing-sweet-potato": 2.0,
    "shixing-cured-sausage": 3.0,
    "shixing-cured-pork": 2.0,
    "shixing-rice": 2.0,
    "shixing-green-tea": 1.5,
    "shixing-wildflower-honey": 1.0,
    "shixing-dried-bamboo-shoots": 1.0,
}

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐邓曾温廖邱"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玉兰春梅金凤海燕晓东文彬丽娟嘉敏志华国强桂芳小红小明"
TOWNSHIPS = ("太平镇", "马市镇", "澄江镇", "顿岗镇", "罗坝镇", "司前镇", "隘子镇", "城南镇", "沈所镇", "深渡水瑶族乡")
INVOICE_TAX_RATE_PERCENT = 9  # the default WHOLESALE_INVOICE_TAX_RATE_PERCENT
COUNTRIES = ("United States", "Malaysia", "Singapore", "Canada", "Australia", "United Kingdom", "Germany", "Japan")


# Which orders' held stock became a sale, and when a wholesale order was packed (the day before its truck).
PACKED_AT = "(((o.trip_day - 1)::timestamp AT TIME ZONE 'Asia/Shanghai') + interval '15 hours')"
SOLD = (
    "((o.ch = 1 AND o.pay = 'stripe' AND o.stage NOT IN ('pending', 'expired'))"
    " OR (o.ch = 1 AND o.pay = 'pay_at_pickup' AND o.stage = 'completed')"
    f" OR (o.ch = 3 AND {PACKED_AT} <= CAST(:now AS timestamptz)))"
)


@dataclass(frozen=True)
class Scale:
    """How much to make. ``orders``: shop + counter + wholesale orders (wholesale follows the truck
    timetable, the rest splits ``shop_share`` / the remainder); ``ledger_rows``: the ledger's size
    at least (recount pairs fill what the activity does not make)."""

    orders: int = 150_000
    ledger_rows: int = 1_050_000
    crossborder: int = 240
    shop_share: float = 0.62
    seed: int = 17
    days: int = DAYS


@dataclass
class Report:
    """What was written, per table, and how long it took."""

    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    ledger_from_activity: int = 0
    ledger_recount_rows: int = 0
    steps: dict[str, float] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def lines(self) -> list[str]:
        out = [
            f"generated {self.total_rows:,} rows in {self.seconds:.1f} s "
            f"({self.total_rows / max(self.seconds, 1e-9):,.0f} rows/s)"
        ]
        out += [f"  {table:<26} {count:>10,}" for table, count in self.rows.items()]
        out.append(
            f"  ledger: {self.ledger_from_activity:,} rows from orders, lots and transfers, "
            f"{self.ledger_recount_rows:,} from recount pairs"
        )
        out.append("  seconds per step: " + ", ".join(f"{name} {s:.1f}" for name, s in self.steps.items()))
        return out


# ---- helpers ------------------------------------------------------------------------------------


def _rnd_function(seed: int) -> str:
    """``pg_temp.rnd(key, salt)``: a uniform number in [0, 1) from a row key, the same on every run."""
    return f"""
CREATE FUNCTION pg_temp.rnd(k bigint, salt integer) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (hashint8extended(k, salt::bigint * 1000003 + {int(seed)}) & 4503599627370495)::double precision
           / 4503599627370496.0
$$"""


async def _exec(conn: AsyncConnection, sql: str, params: Mapping[str, Any] | None = None) -> int:
    result = await conn.execute(text(sql), dict(params or {}))
    return int(result.rowcount or 0)


async def _scalar(conn: AsyncConnection, sql: str, params: Mapping[str, Any] | None = None) -> Any:
    return (await conn.execute(text(sql), dict(params or {}))).scalar()


async def _reserve_ids(conn: AsyncConnection, table: str, count: int) -> int:
    """The first of ``count`` ids taken from ``table``'s sequence (the rest follow it)."""
    sequence = f"pg_get_serial_sequence('{table}', 'id')"
    first = int(await _scalar(conn, f"SELECT nextval({sequence})"))
    if count > 1:
        await _scalar(conn, f"SELECT setval({sequence}, {first + count - 1})")
    return first


# The tables filled in bulk. Their foreign keys are dropped for the fill and added back at the end:
# PostgreSQL then checks every row against its parent in one pass per key (a join), instead of one
# lookup and row lock per row and key — most of the time a fill took. Rows that break a key make
# the re-add fail, so the keys are as checked as before; DDL is transactional, so a failed run rolls
# the keys back too.
BULK_TABLES = (
    "orders",
    "order_lines",
    "order_events",
    "payments",
    "refunds",
    "wholesale_orders",
    "pos_sales",
    "pos_sale_lines",
    "pos_tenders",
    "parcels",
    "stock_ledger",
    "stock_levels",
    "reservations",
    "reservation_lines",
    "transfer_lines",
    "upstream_consignments",
)


async def _drop_foreign_keys(conn: AsyncConnection) -> list[tuple[str, str, str]]:
    """Drop the bulk tables' foreign keys; (table, name, definition) of each, to add them back."""
    keys = [
        (str(r[0]), str(r[1]), str(r[2]))
        for r in await conn.execute(
            text(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE contype = 'f' AND conrelid::regclass::text = ANY (CAST(:tables AS text[])) ORDER BY 1, 2"
            ),
            {"tables": list(BULK_TABLES)},
        )
    ]
    for table, name, _ in keys:
        await _exec(conn, f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    return keys


async def _restore_foreign_keys(conn: AsyncConnection, keys: Sequence[tuple[str, str, str]]) -> None:
    for table, name, definition in keys:
        await _exec(conn, f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def _seasonal(day: date) -> tuple[float, float]:
    """(shop, counter) volume factors of a China-time day: Spring Festival, loquat and bayberry
    season, Double 11, weekends at the store."""
    new_year = NEW_YEAR.get(day.year + (1 if day.month == 12 else 0), date(day.year, 2, 1))
    to_new_year = (new_year - day).days
    shop = 1.0
    pos = 1.0
    if 0 <= to_new_year <= 24:  # the weeks of New Year shopping
        shop *= 1.8
        pos *= 1.7
    elif -6 <= to_new_year < 0:  # the holiday itself: the store busy, parcels stop
        shop *= 0.5
        pos *= 1.3
    if day.month in (4, 5) or (day.month == 3 and day.day >= 20):
        shop *= 1.6  # loquat
        pos *= 1.25
    if day.month == 6 or (day.month == 7 and day.day <= 10):
        shop *= 1.4  # bayberry
        pos *= 1.15
    if day.month == 11 and 1 <= day.day <= 11:
        shop *= 4.0 if day.day == 11 else 1.4
    if day.month == 12 and day.day == 12:
        shop *= 1.8
    if day.isoweekday() >= 6:
        shop *= 1.1
        pos *= 1.45
    return shop, pos


def _split(total: int, weights: Sequence[float]) -> list[int]:
    """``total`` split along ``weights`` with the rounding carried over (sums to ``total``)."""
    whole = sum(weights)
    out: list[int] = []
    done = 0.0
    given = 0
    for w in weights:
        done += w
        upto = round(total * done / whole)
        out.append(upto - given)
        given = upto
    return out


def wholesale_orders(scale: Scale, trips: int) -> int:
    """Wholesale orders in the year: 0.6 % of all, at most three a truck (its room holds that)."""
    return min(3 * trips, round(scale.orders * 0.006))


def _in_season(months: Sequence[int], day: date) -> bool:
    return not months or day.month in months


# ---- the generator ------------------------------------------------------------------------------


async def generate(conn: AsyncConnection, *, scale: Scale, now: datetime) -> Report:
    """Fill the demo database behind ``conn`` with ``scale``'s year ending at ``now`` (aware).

    Runs inside the caller's transaction (the caller commits, or a test rolls back)."""
    started = time.perf_counter()
    report = Report()
    now = now.astimezone(UTC)
    today = now.astimezone(CHINA).date()
    first_day = today - timedelta(days=scale.days - 1)
    await _exec(conn, "SET LOCAL work_mem = '64MB'")
    await _exec(conn, _rnd_function(scale.seed))
    ref = await _reference(conn)
    foreign_keys = await _drop_foreign_keys(conn)
    steps = (
        ("reference", lambda: _reference_tables(conn, ref, first_day, today, now, scale)),
        ("trips", lambda: _make_trips(conn, ref, scale, first_day, today, now, report)),
        ("orders", lambda: _make_orders(conn, ref, scale, now, report)),
        ("lines", lambda: _make_lines(conn, report)),
        ("lots", lambda: _make_lots(conn, ref, today, now, report)),
        ("write orders", lambda: _write_orders(conn, ref, now, report)),
        ("pos", lambda: _write_pos(conn, ref, first_day, today, now, report)),
        ("parcels", lambda: _write_parcels(conn, ref, now, report)),
        ("ledger", lambda: _write_ledger(conn, ref, scale, now, report)),
        ("crossborder", lambda: _write_crossborder(conn, scale, first_day, now, report)),
        ("foreign keys", lambda: _restore_foreign_keys(conn, foreign_keys)),
        ("analyze", lambda: _exec(conn, "ANALYZE")),
    )
    for name, step in steps:
        at = time.perf_counter()
        await step()
        report.steps[name] = time.perf_counter() - at
    report.seconds = time.perf_counter() - started
    return report


@dataclass
class _Ref:
    warehouse: int
    store: int  # STORE-01's stores.id
    store_location: int
    till: int
    users: dict[str, int]
    variants: list[dict[str, Any]]
    stations: list[dict[str, Any]]
    companies: list[dict[str, Any]]
    wholesale_routes: list[dict[str, Any]]


async def _reference(conn: AsyncConnection) -> _Ref:
    """What the demo data holds that the generator builds on; fails loudly without it."""

    async def rows(sql: str) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in await conn.execute(text(sql))]

    locations = {r["code"]: r for r in await rows("SELECT id, code, store_id FROM locations")}
    if "WH-SX" not in locations or "STORE-01" not in locations:
        raise RuntimeError("load the demo data first (app seed-demo): no WH-SX / STORE-01 location")
    users = {r["username"]: r["id"] for r in await rows("SELECT id, username FROM users")}
    variants = await rows(
        """
        SELECT v.id AS vid, v.sku, p.slug, p.name_zh || ' ' || v.name_zh AS name_zh, v.unit::text AS unit,
               v.case_pack, coalesce(v.net_weight_grams, 1000) AS grams, v.is_supply_sku AS supply,
               p.season_months, p.shelf_life_days AS shelf, p.origin_township,
               coalesce((SELECT min(sp.supplier_id) FROM supplier_products sp WHERE sp.product_id = p.id),
                        p.supplier_id, (SELECT min(id) FROM suppliers)) AS supplier_id,
               r.unit_price_minor AS retail_minor, w.id AS wholesale_item, w.unit_price_minor AS wholesale_minor,
               w.min_quantity AS wholesale_min
        FROM variants v JOIN products p ON p.id = v.product_id
        LEFT JOIN price_list_items r
               ON r.variant_id = v.id AND r.price_list_id = (SELECT id FROM price_lists WHERE code = 'retail')
        LEFT JOIN price_list_items w
               ON w.variant_id = v.id AND w.price_list_id = (SELECT id FROM price_lists WHERE code = 'wholesale')
        WHERE v.is_active AND p.is_active
        ORDER BY v.id
        """
    )
    stations = await rows(
        """
        SELECT s.id AS station_id, l.id AS location_id, s.retention_days, s.is_demonstration, s.township,
               s.village, rs.route_id, coalesce(rs.position, 1) AS stop_pos
        FROM stations s JOIN locations l ON l.station_id = s.id
        LEFT JOIN route_stops rs ON rs.station_id = s.id
        WHERE s.is_open ORDER BY s.id
        """
    )
    companies = await rows(
        """
        SELECT c.id AS company_id, c.payment_terms_days AS terms, c.contact_name, c.contact_phone,
               (SELECT min(a.id) FROM company_delivery_addresses a WHERE a.company_id = c.id AND a.is_active)
               AS address_id
        FROM buyer_companies c WHERE c.status = 'approved' ORDER BY c.id
        """
    )
    companies = [c for c in companies if c["address_id"] is not None]
    routes = await rows(
        """
        SELECT id, code, weekdays, cutoff_time, cutoff_days_before, capacity_kg, capacity_cases, cold_chain
        FROM wholesale_routes WHERE is_active ORDER BY id
        """
    )
    tills = await rows(
        f"SELECT id FROM tills WHERE store_id = {int(locations['STORE-01']['store_id'])} ORDER BY id LIMIT 1"
    )
    missing = [name for name in ("admin", "warehouse", "clerk", "operator", "customer") if name not in users]
    if missing or not variants or not stations or not tills:
        raise RuntimeError(f"the demo data is incomplete (users missing: {missing})")
    return _Ref(
        warehouse=locations["WH-SX"]["id"],
        store=locations["STORE-01"]["store_id"],
        store_location=locations["STORE-01"]["id"],
        till=tills[0]["id"],
        users=users,
        variants=variants,
        stations=stations,
        companies=companies,
        wholesale_routes=routes,
    )


async def _reference_tables(
    conn: AsyncConnection, ref: _Ref, first_day: date, today: date, now: datetime, scale: Scale
) -> None:
    """g_day (per-day counts), g_pick (per day and channel: the variants on sale and their weights),
    g_variant and g_station."""
    days = [first_day + timedelta(days=d) for d in range(scale.days)]
    factors = [_seasonal(day) for day in days]
    # Today only up to now: its share of the day's orders, placed before now.
    start_today = datetime.combine(today, datetime.min.time(), CHINA)
    elapsed = max(0.02, min(1.0, (now - start_today).total_seconds() / 86400))
    shop_w = [f[0] * (elapsed if day == today else 1.0) for f, day in zip(factors, days, strict=True)]
    pos_w = [f[1] * (elapsed if day == today else 1.0) for f, day in zip(factors, days, strict=True)]
    trips = sum(1 for day in days[2:] for r in ref.wholesale_routes if day.isoweekday() in r["weekdays"])
    wholesale = wholesale_orders(scale, trips) if ref.companies else 0
    consumer = max(0, scale.orders - wholesale)
    shop_n = _split(round(consumer * scale.shop_share), shop_w)
    pos_n = _split(consumer - sum(shop_n), pos_w)
    await _exec(
        conn,
        """
        CREATE TEMP TABLE g_day AS
        SELECT d, day, (day::timestamp AT TIME ZONE 'Asia/Shanghai') AS day_start, shop_n, pos_n
        FROM unnest(CAST(:d AS int[]), CAST(:day AS date[]), CAST(:shop AS int[]), CAST(:pos AS int[]))
             AS t(d, day, shop_n, pos_n)
        """,
        {"d": list(range(scale.days)), "day": days, "shop": shop_n, "pos": pos_n},
    )
    await _exec(conn, "CREATE UNIQUE INDEX ON g_day (d)")

    # Lot windows: fresh produce shorter than its shelf life; weighed produce comes upstream daily,
    # two consignments a day.
    variant_rows = []
    for v in ref.variants:
        weighed = v["unit"] in ("kg", "jin")
        v["window"] = 1 if weighed else max(1, min(30, v["shelf"] - 1))
        v["per_window"] = 2 if weighed else 1
        v["upstream"] = weighed
        townships = [s for s in ref.stations if s["township"] == v["origin_township"]] or ref.stations
        v["stations"] = [s["station_id"] for s in townships]
        variant_rows.append(v)
    await _exec(
        conn,
        """
        CREATE TEMP TABLE g_variant AS
        SELECT * FROM unnest(CAST(:vid AS bigint[]), CAST(:sku AS text[]), CAST(:name AS text[]),
                             CAST(:unit AS text[]), CAST(:case_pack AS int[]), CAST(:grams AS int[]),
                             CAST(:shelf AS int[]), CAST(:supplier AS bigint[]), CAST(:retail AS bigint[]),
                             CAST(:witem AS bigint[]), CAST(:wprice AS bigint[]), CAST(:wmin AS numeric[]),
                             CAST(:win AS int[]), CAST(:per AS int[]), CAST(:up AS boolean[]))
             AS t(vid, sku, name_zh, unit, case_pack, grams, shelf, supplier_id, retail_minor, wholesale_item,
                  wholesale_minor, wholesale_min, win, per_win, upstream)
        """,
        {
            "vid": [v["vid"] for v in variant_rows],
            "sku": [v["sku"] for v in variant_rows],
            "name": [v["name_zh"] for v in variant_rows],
            "unit": [v["unit"] for v in variant_rows],
            "case_pack": [v["case_pack"] for v in variant_rows],
            "grams": [v["grams"] for v in variant_rows],
            "shelf": [v["shelf"] for v in variant_rows],
            "supplier": [v["supplier_id"] for v in variant_rows],
            "retail": [v["retail_minor"] for v in variant_rows],
            "witem": [v["wholesale_item"] for v in variant_rows],
            "wprice": [v["wholesale_minor"] for v in variant_rows],
            "wmin": [v["wholesale_min"] for v in variant_rows],
            "win": [v["window"] for v in variant_rows],
            "per": [v["per_window"] for v in variant_rows],
            "up": [v["upstream"] for v in variant_rows],
        },
    )
    await _exec(conn, "CREATE UNIQUE INDEX ON g_variant (vid)")
    # Upstream stations per weighed variant (its product's township, else any): g_upstation.
    pairs = [(v["vid"], s) for v in variant_rows if v["upstream"] for s in v["stations"]]
    await _exec(
        conn,
        """
        CREATE TEMP TABLE g_upstation AS
        SELECT vid, station_id, (row_number() OVER (PARTITION BY vid ORDER BY station_id)) - 1 AS k,
               count(*) OVER (PARTITION BY vid) AS n
        FROM unnest(CAST(:vid AS bigint[]), CAST(:st AS bigint[])) AS t(vid, station_id)
        """,
        {"vid": [p[0] for p in pairs], "st": [p[1] for p in pairs]},
    )

    picks: list[tuple[str, int, list[int], list[float]]] = []
    for d, day in enumerate(days):
        month_peak = 1.5 if day.month == 4 else 1.0
        for channel in ("shop", "pos", "wholesale"):
            vids: list[int] = []
            weights: list[float] = []
            for v in variant_rows:
                if not _in_season(v["season_months"], day):
                    continue
                if channel == "wholesale":
                    if not v["wholesale_item"]:
                        continue
                    w = 1.0
                else:
                    if not v["retail_minor"]:
                        continue
                    if channel == "shop" and v["unit"] in ("kg", "jin"):
                        continue  # loose weighed goods are sold at the counter
                    w = POPULARITY.get(v["slug"], 1.0) * month_peak
                    if v["slug"] == "shixing-green-tea" and day.month in (3, 4):
                        w *= 2
                    if v["slug"].startswith("shixing-cured") and day.month in (1, 12):
                        w *= 2
                    if v["unit"] in ("kg", "jin"):
                        w *= 1.5  # the counter's loose produce
                vids.append(v["vid"])
                weights.append(w)
            if not vids:
                continue
            total = sum(weights)
            cum, run = [], 0.0
            for w in weights:
                cum.append(run / total)
                run += w
            picks.append((channel, d, vids, cum))
    await _exec(
        conn,
        """
        CREATE TEMP TABLE g_pick (channel text, d int, vids bigint[], cum double precision[], n int,
                                  PRIMARY KEY (channel, d))
        """,
    )
    for start in range(0, len(picks), 500):
        chunk = picks[start : start + 500]
        await _exec(
            conn,
            """
            INSERT INTO g_pick
            SELECT channel, d, string_to_array(vids, ',')::bigint[], string_to_array(cum, ',')::float8[],
                   cardinality(string_to_array(vids, ','))
            FROM unnest(CAST(:ch AS text[]), CAST(:d AS int[]), CAST(:vids AS text[]), CAST(:cum AS text[]))
                 AS t(channel, d, vids, cum)
            """,
            {
                "ch": [p[0] for p in chunk],
                "d": [p[1] for p in chunk],
                "vids": [",".join(map(str, p[2])) for p in chunk],
                "cum": [",".join(repr(c) for c in p[3]) for p in chunk],
            },
        )

    # Stations: demonstration stations get three times the orders.
    st = ref.stations
    weighted = [s for s in st for _ in range(3 if s["is_demonstration"] else 1)]
    await _exec(
        conn,
        """
        CREATE TEMP TABLE g_station AS
        SELECT (k - 1) AS k, station_id, location_id, retention_days, route_id, stop_pos, township, village
        FROM unnest(CAST(:sid AS bigint[]), CAST(:lid AS bigint[]), CAST(:ret AS int[]), CAST(:rid AS bigint[]),
                    CAST(:pos AS int[]), CAST(:tw AS text[]), CAST(:vil AS text[]))
             WITH ORDINALITY AS t(station_id, location_id, retention_days, route_id, stop_pos, township, village, k)
        """,
        {
            "sid": [s["station_id"] for s in weighted],
            "lid": [s["location_id"] for s in weighted],
            "ret": [s["retention_days"] for s in weighted],
            "rid": [s["route_id"] for s in weighted],
            "pos": [s["stop_pos"] for s in weighted],
            "tw": [s["township"] for s in weighted],
            "vil": [s["village"] for s in weighted],
        },
    )
    await _exec(conn, "CREATE UNIQUE INDEX ON g_station (k)")


async def _make_trips(
    conn: AsyncConnection, ref: _Ref, scale: Scale, first_day: date, today: date, now: datetime, report: Report
) -> None:
    """PRD trucks on their weekdays from the third day up to tomorrow (orders close the day before)."""
    rows = []
    for d in range(2, (today - first_day).days + 2):
        day = first_day + timedelta(days=d)
        for r in ref.wholesale_routes:
            if day.isoweekday() in r["weekdays"]:
                cutoff_day = day - timedelta(days=r["cutoff_days_before"])
                cutoff = datetime.combine(cutoff_day, r["cutoff_time"], CHINA)
                status = "delivered" if day < today else ("dispatched" if day == today else "planned")
                rows.append(
                    (d, day, r["id"], r["code"], cutoff, r["capacity_kg"], r["capacity_cases"], r["cold_chain"], status)
                )
    # Orders per truck: the year's wholesale orders spread over the trucks, at most three on one.
    wanted = wholesale_orders(scale, len(rows)) if ref.companies else 0
    per_trip = [0] * len(rows)
    for i in range(wanted):
        per_trip[(i * 7919 + scale.seed) % len(rows) if rows else 0] += 1
    for i in range(len(per_trip)):  # a clash past three moves on to the next truck with room
        while per_trip[i] > 3:
            per_trip[i] -= 1
            per_trip[next(j for j in range(len(rows)) if per_trip[j] < 3)] += 1
    await _exec(
        conn,
        """
        CREATE TEMP TABLE g_trip AS
        SELECT d, day, route_id, code, cutoff_at, capacity_kg, capacity_cases, cold_chain, status, n_orders,
               CAST(NULL AS bigint) AS trip_id
        FROM unnest(CAST(:d AS int[]), CAST(:day AS date[]), CAST(:route AS bigint[]), CAST(:code AS text[]),
                    CAST(:cutoff AS timestamptz[]), CAST(:kg AS numeric[]), CAST(:cases AS int[]),
                    CAST(:cold AS boolean[]), CAST(:status AS text[]), CAST(:n AS int[]))
             AS t(d, day, route_id, code, cutoff_at, capacity_kg, capacity_cases, cold_chain, status, n_orders)
        """,
        {
            "d": [r[0] for r in rows],
            "day": [r[1] for r in rows],
            "route": [r[2] for r in rows],
            "code": [r[3] for r in rows],
            "cutoff": [r[4] for r in rows],
            "kg": [r[5] for r in rows],
            "cases": [r[6] for r in rows],
            "cold": [r[7] for r in rows],
            "status": [r[8] for r in rows],
            "n": per_trip,
        },
    )
    report.rows["wholesale_trips"] = await _exec(
        conn,
        """
        INSERT INTO wholesale_trips (number, route_id, departure_date, status, cutoff_at, capacity_kg,
                                     capacity_cases, cold_chain, booked_kg, booked_cases, status_changed_at,
                                     created_at, updated_at)
        SELECT code || '-' || to_char(day, 'YYMMDD'), route_id, day, CAST(status AS wholesale_trip_status),
               cutoff_at, capacity_kg, capacity_cases, cold_chain, 0, 0,
               CASE WHEN status = 'planned' THEN NULL
                    ELSE LEAST(CAST(:now AS timestamptz),
                               day::timestamp AT TIME ZONE 'Asia/Shanghai' + interval '5 hours') END,
               cutoff_at - interval '6 days', cutoff_at - interval '6 days'
        FROM g_trip
        ON CONFLICT (route_id, departure_date) DO NOTHING
        """,
        {"now": now},
    )
    await _exec(
        conn,
        "UPDATE g_trip SET trip_id = t.id FROM wholesale_trips t "
        "WHERE t.route_id = g_trip.route_id AND t.departure_date = g_trip.day",
    )


async def _make_orders(conn: AsyncConnection, ref: _Ref, scale: Scale, now: datetime, report: Report) -> None:
    """g_order: every order with its channel, times, outcome and stage."""
    companies = ref.companies
    await _exec(
        conn,
        """
        CREATE TEMP TABLE g_order0 AS
        WITH keyed AS (
            SELECT d.d, d.day_start, 1 AS ch, g AS i, (d.d::bigint * 100000 + g) * 4 + 1 AS key,
                   CAST(NULL AS bigint) AS trip_row
            FROM g_day d, generate_series(1, d.shop_n) AS g
            UNION ALL
            SELECT d.d, d.day_start, 2, g, (d.d::bigint * 100000 + g) * 4 + 2, NULL
            FROM g_day d, generate_series(1, d.pos_n) AS g
            UNION ALL
            SELECT t.d - 2, (t.day - 2)::timestamp AT TIME ZONE 'Asia/Shanghai', 3, g,
                   (t.d::bigint * 100000 + t.route_id * 10 + g) * 4 + 3, t.trip_id
            FROM g_trip t, generate_series(1, t.n_orders) AS g
        )
        SELECT k.*,
               CASE k.ch
                 -- shop: 07:00–23:00 with an evening peak
                 WHEN 1 THEN CASE WHEN pg_temp.rnd(k.key, 2) < 0.35
                                  THEN interval '19 hours' + pg_temp.rnd(k.key, 3) * interval '3 hours'
                                  ELSE interval '7 hours'
                                       + (pg_temp.rnd(k.key, 3) + pg_temp.rnd(k.key, 4)) / 2 * interval '16 hours' END
                 -- the store: 08:00–20:00, busiest mid-day
                 WHEN 2 THEN interval '8 hours' + (pg_temp.rnd(k.key, 3) + pg_temp.rnd(k.key, 4)) / 2 * interval '12 hours'
                 -- wholesale buyers order in office hours two days before the truck
                 ELSE interval '9 hours' + pg_temp.rnd(k.key, 3) * interval '8 hours' END AS offset_in_day
        FROM keyed k
        """,
    )
    # Today's orders fit in the part of the day already gone (none after ``now``).
    await _exec(
        conn,
        """
        CREATE TEMP TABLE g_order1 AS
        SELECT o.*,
               CASE WHEN o.day_start + interval '1 day' > CAST(:now AS timestamptz)
                    THEN o.day_start + (CAST(:now AS timestamptz) - o.day_start) * (extract(epoch FROM o.offset_in_day) / 86400.0)
                    ELSE o.day_start + o.offset_in_day END AS placed_at,
               floor(pg_temp.rnd(o.key, 5) * 40000)::bigint AS customer_no,
               (SELECT count(*) FROM g_station) AS station_count
        FROM g_order0 o
        """,
        {"now": now},
    )
    first = await _reserve_ids(conn, "orders", int(await _scalar(conn, "SELECT count(*) FROM g_order1")))
    company_ids = [c["company_id"] for c in companies] or [0]
    address_ids = [c["address_id"] for c in companies] or [0]
    await _exec(
        conn,
        f"""
        CREATE TEMP TABLE g_order2 AS
        SELECT {first} - 1 + row_number() OVER (ORDER BY o.placed_at, o.key) AS id, o.*,
               CASE o.ch WHEN 1 THEN 'shop' WHEN 2 THEN 'pos' ELSE 'wholesale' END AS channel,
               CASE WHEN o.ch = 1 AND pg_temp.rnd(o.key, 6) < 0.70 THEN 'station_pickup'
                    WHEN o.ch = 2 THEN 'counter' ELSE 'home_delivery' END AS dm,
               pg_temp.rnd(o.key, 7) AS r_pay, pg_temp.rnd(o.key, 8) AS r_out, pg_temp.rnd(o.key, 9) AS r_wait,
               floor(pg_temp.rnd(o.key, 10) * o.station_count)::int AS station_k,
               (CAST(:companies AS bigint[]))[1 + floor(pg_temp.rnd(o.key, 11) * {len(company_ids)})::int] AS company_id,
               (CAST(:addresses AS bigint[]))[1 + floor(pg_temp.rnd(o.key, 11) * {len(company_ids)})::int] AS address_id
        FROM g_order1 o
        """,
        {"companies": company_ids, "addresses": address_ids},
    )
    # Outcomes and the times of each step (China-time business hours, stored as UTC instants).
    await _exec(
        conn,
        """
        CREATE TEMP TABLE g_order3 AS
        SELECT o.id, o.key, o.ch, o.channel, o.d, o.placed_at, o.dm, o.trip_row AS trip_id, o.customer_no,
               CASE WHEN o.ch = 3 THEN o.company_id END AS company_id,
               CASE WHEN o.ch = 3 THEN o.address_id END AS address_id,
               s.station_id, s.retention_days, s.route_id, s.stop_pos, s.township, s.village,
               CASE WHEN o.ch = 2 THEN (CASE WHEN o.r_pay < 0.4 THEN 'pos_cash' ELSE 'pos_qr' END)
                    WHEN o.ch = 3 THEN 'bank_transfer'
                    WHEN o.dm = 'station_pickup' AND o.r_pay < 0.55 THEN 'pay_at_pickup'
                    ELSE 'stripe' END AS pay,
               o.r_out, o.r_wait,
               -- the next morning's run leaves at 09:00; a station is reached in the afternoon
               (date_trunc('day', o.placed_at AT TIME ZONE 'Asia/Shanghai') + interval '1 day 9 hours')
                   AT TIME ZONE 'Asia/Shanghai' AS dispatch_at,
               (date_trunc('day', o.placed_at AT TIME ZONE 'Asia/Shanghai') + interval '1 day 13 hours')
                   AT TIME ZONE 'Asia/Shanghai' + coalesce(s.stop_pos, 1) * interval '20 minutes' AS arrive_at,
               CASE WHEN o.r_wait < 0.55 THEN 0 WHEN o.r_wait < 0.80 THEN 1 WHEN o.r_wait < 0.92 THEN 2
                    ELSE 3 + floor(pg_temp.rnd(o.key, 12) * greatest(coalesce(s.retention_days, 7) - 3, 1))::int
               END AS wait_days
        FROM g_order2 o LEFT JOIN g_station s ON s.k = o.station_k AND o.dm = 'station_pickup'
        """,
    )
    await _exec(
        conn,
        """
        CREATE TEMP TABLE g_order AS
        WITH t AS (
            SELECT o.*,
                   o.arrive_at + o.wait_days * interval '1 day' + interval '3 hours'
                       + pg_temp.rnd(o.key, 13) * interval '4 hours' AS handover_at,
                   (date_trunc('day', o.placed_at AT TIME ZONE 'Asia/Shanghai') + interval '2 days 10 hours')
                       AT TIME ZONE 'Asia/Shanghai' + pg_temp.rnd(o.key, 13) * interval '8 hours' AS deliver_at,
                   o.arrive_at + (coalesce(o.retention_days, 7) + 1) * interval '1 day' AS returned_at,
                   CASE
                     WHEN o.ch <> 1 THEN 'done'
                     WHEN o.pay = 'stripe' THEN
                       CASE WHEN o.r_out < 0.07 THEN
                                 CASE WHEN o.placed_at + interval '15 minutes' > CAST(:now AS timestamptz)
                                      THEN 'pending' ELSE 'expired' END
                            WHEN o.r_out < 0.10 THEN 'refunded'
                            WHEN o.r_out < 0.125 THEN 'partial'
                            ELSE 'done' END
                     ELSE
                       CASE WHEN o.r_out < 0.04 THEN 'cancelled'
                            WHEN o.r_out < 0.07 THEN 'returned'
                            WHEN o.r_out < 0.08 AND o.placed_at > CAST(:now AS timestamptz) - interval '40 days'
                                 THEN 'uncollected'
                            WHEN o.r_out < 0.08 THEN 'returned'
                            ELSE 'done' END
                   END AS outcome0
            FROM g_order3 o
        ), u AS (
            SELECT t.*,
                   -- a step that has not happened yet by ``now`` leaves the order where it is
                   CASE
                     WHEN outcome0 = 'refunded' AND t.placed_at + interval '3 hours' > CAST(:now AS timestamptz) THEN 'done'
                     WHEN outcome0 = 'cancelled' AND t.placed_at + interval '2 hours' > CAST(:now AS timestamptz) THEN 'done'
                     WHEN outcome0 = 'returned' AND t.returned_at > CAST(:now AS timestamptz) THEN 'uncollected'
                     ELSE outcome0 END AS outcome,
                   CASE WHEN t.dm = 'station_pickup' THEN t.handover_at ELSE t.deliver_at END AS complete_at
            FROM t
        )
        SELECT u.*,
               CASE
                 WHEN u.ch = 2 THEN 'completed'
                 WHEN u.ch = 3 THEN CASE WHEN (g.day::timestamp AT TIME ZONE 'Asia/Shanghai') + interval '9 hours'
                                              <= CAST(:now AS timestamptz) THEN 'completed' ELSE 'confirmed' END
                 WHEN u.outcome IN ('pending', 'expired', 'refunded', 'cancelled', 'returned') THEN u.outcome
                 WHEN u.dispatch_at > CAST(:now AS timestamptz) THEN 'confirmed'
                 WHEN u.outcome = 'uncollected' THEN
                      CASE WHEN u.arrive_at > CAST(:now AS timestamptz) THEN 'dispatched' ELSE 'at_station' END
                 WHEN u.dm = 'station_pickup' AND u.arrive_at > CAST(:now AS timestamptz) THEN 'dispatched'
                 WHEN u.dm = 'station_pickup' AND u.handover_at > CAST(:now AS timestamptz) THEN 'at_station'
                 WHEN u.dm = 'home_delivery' AND u.deliver_at > CAST(:now AS timestamptz) THEN 'dispatched'
                 ELSE 'completed' END AS stage,
               g.day AS trip_day
        FROM u LEFT JOIN g_trip g ON g.trip_id = u.trip_id
        """,
        {"now": now},
    )
    await _exec(conn, "CREATE UNIQUE INDEX ON g_order (id)")
    await _exec(conn, "DROP TABLE g_order0, g_order1, g_order2, g_order3")
    # A partial refund needs a completed order, and comes a day after it.
    await _exec(
        conn,
        "UPDATE g_order SET outcome = 'done' WHERE outcome = 'partial' "
        "AND (stage <> 'completed' OR complete_at + interval '1 day' > CAST(:now AS timestamptz))",
        {"now": now},
    )


async def _make_lines(conn: AsyncConnection, report: Report) -> None:
    """g_line: each order's lines (variants on sale that day, distinct), quantities and prices."""
    await _exec(
        conn,
        """
        CREATE TEMP TABLE g_line0 AS
        WITH n AS (
            SELECT o.id AS order_id, o.key, o.ch, o.d, o.channel,
                   CASE o.ch
                     WHEN 1 THEN CASE WHEN pg_temp.rnd(o.key, 20) < 0.55 THEN 1 WHEN pg_temp.rnd(o.key, 20) < 0.83 THEN 2
                                      WHEN pg_temp.rnd(o.key, 20) < 0.95 THEN 3 ELSE 4 END
                     WHEN 2 THEN 1 + floor((pg_temp.rnd(o.key, 20) + pg_temp.rnd(o.key, 21)) / 2 * 5)::int
                     ELSE 1 + floor(pg_temp.rnd(o.key, 20) * 3)::int END AS lines
            FROM g_order o
        )
        SELECT n.order_id, n.ch, n.d, j,
               CASE WHEN n.ch = 3
                    -- wholesale: distinct supply SKUs, one after the other from a random start
                    THEN p.vids[1 + ((floor(pg_temp.rnd(n.key, 22) * p.n)::int + j - 1) % p.n)]
                    ELSE p.vids[width_bucket(pg_temp.rnd(n.key * 8 + j, 23), p.cum)] END AS vid,
               pg_temp.rnd(n.key * 8 + j, 24) AS r_q
        FROM n JOIN g_pick p ON p.channel = n.channel AND p.d = n.d, generate_series(1, n.lines) AS j
        WHERE n.ch <> 3 OR j <= p.n
        """,
    )
    await _exec(
        conn,
        """
        CREATE TEMP TABLE g_line1 AS
        SELECT l.order_id, l.ch, l.d, l.vid, min(l.j) AS j, count(*) AS picks, min(l.r_q) AS r_q
        FROM g_line0 l GROUP BY l.order_id, l.ch, l.d, l.vid
        """,
    )
    first = await _reserve_ids(conn, "order_lines", int(await _scalar(conn, "SELECT count(*) FROM g_line1")))
    await _exec(
        conn,
        f"""
        CREATE TEMP TABLE g_line AS
        WITH q AS (
            SELECT l.*, v.sku, v.name_zh, v.unit, v.case_pack, v.grams, v.retail_minor, v.wholesale_item,
                   v.wholesale_minor, v.wholesale_min, v.win, v.per_win, v.upstream,
                   CASE
                     WHEN l.ch = 3 THEN
                       v.case_pack * (ceil(v.wholesale_min / v.case_pack) + floor(l.r_q * 11))
                     WHEN v.unit = 'kg' THEN round((0.5 + l.r_q * 3.5)::numeric, 3)
                     WHEN v.unit = 'jin' THEN round((1 + l.r_q * 7)::numeric * 500) / 500
                     WHEN l.r_q < 0.78 THEN l.picks WHEN l.r_q < 0.96 THEN l.picks + 1 ELSE l.picks + 2
                   END::numeric(12, 3) AS quantity
            FROM g_line1 l JOIN g_variant v ON v.vid = l.vid
        ), priced AS (
            SELECT q.*,
                   CASE WHEN q.ch = 3 THEN coalesce(
                            (SELECT t.unit_price_minor FROM price_tiers t
                             WHERE t.item_id = q.wholesale_item AND t.min_quantity <= q.quantity
                             ORDER BY t.min_quantity DESC LIMIT 1), q.wholesale_minor)
                        ELSE q.retail_minor END AS unit_price_minor
            FROM q
        )
        SELECT {first} - 1 + row_number() OVER (ORDER BY order_id, j) AS id, priced.*,
               round(quantity * unit_price_minor)::bigint AS line_total_minor,
               -- the lot it is taken from: its variant's window (and one of the day's consignments)
               floor(d::numeric / win)::int AS lot_k,
               floor(pg_temp.rnd(order_id * 64 + vid, 25) * per_win)::int AS lot_j
        FROM priced
        """,
    )
    await _exec(conn, "CREATE INDEX ON g_line (order_id)")
    await _exec(conn, "DROP TABLE g_line0, g_line1")
    # Orders whose every pick fell out (none: each has at least one line) keep their amounts here.
    await _exec(
        conn,
        """
        CREATE TEMP TABLE g_amount AS
        SELECT o.id AS order_id, sum(l.line_total_minor)::bigint AS subtotal,
               CASE WHEN o.dm = 'home_delivery' AND o.ch = 1 AND sum(l.line_total_minor) < 19900 THEN 1000 ELSE 0 END
                   AS delivery_fee,
               sum(l.quantity * l.grams / 1000.0) AS weight_kg,
               sum(CASE WHEN o.ch = 3 THEN l.quantity / l.case_pack ELSE 0 END)::int AS cases
        FROM g_order o JOIN g_line l ON l.order_id = o.id GROUP BY o.id, o.dm, o.ch
        """,
    )
    await _exec(conn, "CREATE UNIQUE INDEX ON g_amount (order_id)")
    await _exec(conn, "DELETE FROM g_order o WHERE NOT EXISTS (SELECT 1 FROM g_amount a WHERE a.order_id = o.id)")


async def _make_lots(conn: AsyncConnection, ref: _Ref, today: date, now: datetime, report: Report) -> None:
    """g_lot: one lot per (variant, window, consignment) that sold something, plus today's lot of
    everything on sale today (stock to sell now)."""
    today_d = int(await _scalar(conn, "SELECT max(d) FROM g_day"))
    await _exec(
        conn,
        f"""
        CREATE TEMP TABLE g_lot0 AS
        SELECT DISTINCT vid, lot_k, lot_j FROM g_line
        UNION
        SELECT v.vid, floor({today_d}::numeric / v.win)::int, j
        FROM g_variant v JOIN g_pick p ON p.d = {today_d} AND v.vid = ANY (p.vids), generate_series(0, v.per_win - 1) AS j
        """,
    )
    count = int(await _scalar(conn, "SELECT count(*) FROM g_lot0"))
    first = await _reserve_ids(conn, "lots", count)
    await _exec(
        conn,
        f"""
        CREATE TEMP TABLE g_lot AS
        SELECT {first} - 1 + row_number() OVER (ORDER BY l.lot_k * v.win, l.vid, l.lot_j) AS lot_id,
               l.vid, l.lot_k, l.lot_j, v.win, v.shelf, v.unit, v.supplier_id, v.upstream, v.retail_minor, v.grams,
               (SELECT day FROM g_day WHERE d = 0) + l.lot_k * v.win - 1 AS harvest,
               (SELECT day FROM g_day WHERE d = 0) + l.lot_k * v.win - 1 + v.shelf AS best_before,
               u.station_id AS up_station
        FROM g_lot0 l JOIN g_variant v ON v.vid = l.vid
        LEFT JOIN g_upstation u ON u.vid = l.vid AND v.upstream
             AND u.k = floor(pg_temp.rnd(l.vid * 100000 + l.lot_k * 10 + l.lot_j, 26) * u.n)::int
        """,
    )
    await _exec(conn, "CREATE UNIQUE INDEX ON g_lot (vid, lot_k, lot_j)")
    await _exec(conn, "CREATE UNIQUE INDEX ON g_lot (lot_id)")
    await _exec(conn, "DROP TABLE g_lot0")
    await _exec(conn, "ALTER TABLE g_line ADD COLUMN lot_id bigint")
    await _exec(
        conn,
        "UPDATE g_line l SET lot_id = g.lot_id FROM g_lot g WHERE g.vid = l.vid AND g.lot_k = l.lot_k AND g.lot_j = l.lot_j",
    )


async def _write_orders(conn: AsyncConnection, ref: _Ref, now: datetime, report: Report) -> None:
    customer = ref.users["customer"]
    operator = ref.users["operator"]
    admin = ref.users["admin"]
    surnames = list(SURNAMES)
    given = list(GIVEN)
    report.rows["orders"] = await _exec(
        conn,
        f"""
        INSERT INTO orders (id, number, channel, status, payment_status, fulfilment_status, customer_user_id,
                            company_id, contact_name, contact_phone, delivery_method, station_id, station_reason,
                            delivery_address, payment_method, currency, subtotal_minor, delivery_fee_minor,
                            discount_minor, total_minor, paid_minor, refunded_minor, location_id,
                            reservation_reference, payment_due_at, placed_at, note, created_at, updated_at)
        SELECT o.id,
               CASE WHEN o.ch = 2 THEN 'S01AV' || lpad(o.id::text, 9, '0')
                    ELSE 'NP' || to_char(o.placed_at AT TIME ZONE 'Asia/Shanghai', 'YYMMDD') || lpad((o.id % 10000000)::text, 7, '0') END,
               CAST(o.channel AS order_channel),
               CAST(CASE o.stage WHEN 'pending' THEN 'pending_payment' WHEN 'refunded' THEN 'cancelled'
                                 WHEN 'returned' THEN 'cancelled' WHEN 'dispatched' THEN 'confirmed'
                                 WHEN 'at_station' THEN 'ready_for_pickup' ELSE o.stage END AS order_status),
               CAST(CASE
                      WHEN o.stage = 'pending' THEN 'pending'
                      WHEN o.stage IN ('expired', 'cancelled', 'returned') THEN 'unpaid'
                      WHEN o.stage = 'refunded' THEN 'refunded'
                      WHEN o.outcome = 'partial' THEN 'partially_refunded'
                      WHEN o.ch = 1 AND o.pay = 'pay_at_pickup' AND o.stage <> 'completed' THEN 'unpaid'
                      WHEN o.ch = 3 AND NOT w.paid THEN 'unpaid'
                      ELSE 'paid' END AS order_payment_status),
               CAST(CASE
                      WHEN o.ch = 2 THEN 'handed_over'
                      WHEN o.ch = 3 THEN CASE WHEN o.stage = 'completed' THEN 'delivered' ELSE 'unfulfilled' END
                      WHEN o.stage = 'returned' THEN 'returned'
                      WHEN o.stage IN ('dispatched', 'at_station') THEN o.stage
                      WHEN o.stage = 'completed' THEN CASE WHEN o.dm = 'station_pickup' THEN 'handed_over' ELSE 'delivered' END
                      ELSE 'unfulfilled' END AS fulfilment_status),
               CASE WHEN o.ch = 1 AND o.customer_no % 50 = 0 THEN {customer} END,
               o.company_id,
               CASE WHEN o.ch = 2 THEN '门店顾客' WHEN o.ch = 3 THEN coalesce(c.contact_name, '采购')
                    ELSE (CAST(:sur AS text[]))[1 + o.customer_no % {len(surnames)}]
                         || (CAST(:given AS text[]))[1 + (o.customer_no / {len(surnames)}) % {len(given)}] END,
               CASE WHEN o.ch = 2 THEN '' WHEN o.ch = 3 THEN coalesce(c.contact_phone, '')
                    ELSE '+8613' || lpad(((o.customer_no * 7919) % 1000000000)::text, 9, '0') END,
               CAST(o.dm AS delivery_method), o.station_id,
               CASE WHEN o.dm = 'station_pickup' THEN '离收货村最近的服务站' ELSE '' END,
               CASE WHEN o.dm = 'home_delivery' AND o.ch = 1
                    THEN jsonb_build_object('township', (CAST(:tw AS text[]))[1 + o.customer_no % {len(TOWNSHIPS)}],
                                            'village', '', 'detail', (o.customer_no % 300 + 1)::text || '号（演示地址）',
                                            'area', 'county') END,
               CAST(o.pay AS payment_method), 'CNY', a.subtotal, a.delivery_fee, 0,
               a.subtotal + a.delivery_fee,
               CASE WHEN o.stage IN ('pending', 'expired', 'cancelled', 'returned') THEN 0
                    WHEN o.ch = 1 AND o.pay = 'pay_at_pickup' AND o.stage <> 'completed' THEN 0
                    WHEN o.ch = 3 AND NOT w.paid THEN 0
                    ELSE a.subtotal + a.delivery_fee END,
               CASE WHEN o.stage = 'refunded' THEN a.subtotal + a.delivery_fee
                    WHEN o.outcome = 'partial' THEN greatest(1, round((a.subtotal + a.delivery_fee) * 0.3))::bigint
                    ELSE 0 END,
               CASE WHEN o.ch = 2 THEN {ref.store_location} ELSE {ref.warehouse} END,
               CASE WHEN o.ch <> 2 THEN 'order:NP' || to_char(o.placed_at AT TIME ZONE 'Asia/Shanghai', 'YYMMDD')
                                        || lpad((o.id % 10000000)::text, 7, '0') END,
               CASE WHEN o.pay = 'stripe' THEN o.placed_at + interval '15 minutes' END,
               o.placed_at, '', o.placed_at,
               CASE WHEN o.ch = 1 THEN greatest(o.placed_at, least(CAST(:now AS timestamptz), o.complete_at))
                    ELSE o.placed_at END
        FROM g_order o JOIN g_amount a ON a.order_id = o.id
        LEFT JOIN buyer_companies c ON c.id = o.company_id
        LEFT JOIN LATERAL (
            SELECT o.ch = 3 AND o.stage = 'completed'
                   AND o.trip_day + (SELECT payment_terms_days FROM buyer_companies b WHERE b.id = o.company_id)
                       < (CAST(:now AS timestamptz) AT TIME ZONE 'Asia/Shanghai')::date AS paid
        ) w ON true
        """,
        {"sur": surnames, "given": given, "tw": list(TOWNSHIPS), "now": now},
    )
    report.rows["order_lines"] = await _exec(
        conn,
        """
        INSERT INTO order_lines (id, order_id, variant_id, sku, name_zh, unit, quantity, unit_price_minor,
                                 line_total_minor, price_list, price_rule, packed_quantity)
        SELECT l.id, l.order_id, l.vid, l.sku, l.name_zh, l.unit, l.quantity, l.unit_price_minor, l.line_total_minor,
               CASE WHEN l.ch = 3 THEN 'wholesale' ELSE 'retail' END,
               CASE WHEN l.ch = 3 AND l.unit_price_minor < l.wholesale_minor THEN '批发阶梯价'
                    WHEN l.ch = 3 THEN '批发价' ELSE '零售价' END,
               CASE WHEN l.ch = 3 AND o.stage = 'completed' THEN l.quantity END
        FROM g_line l JOIN g_order o ON o.id = l.order_id
        ORDER BY l.id
        """,
    )
    await _exec(conn, "SELECT setval(pg_get_serial_sequence('order_lines', 'id'), (SELECT max(id) FROM order_lines))")
    await _exec(conn, "SELECT setval(pg_get_serial_sequence('orders', 'id'), (SELECT max(id) FROM orders))")

    # Payments: Stripe (card / Alipay / WeChat Pay through Stripe) at placing, cash or QR at the
    # station at handover, bank transfers for wholesale.
    report.rows["payments"] = await _exec(
        conn,
        f"""
        INSERT INTO payments (order_id, provider, method, attempt, state, amount_minor, currency, external_id,
                              idempotency_key, collected_by_id, succeeded_at, created_at, updated_at, failure_message)
        SELECT o.id, p.provider, p.method, 1, 'succeeded', x.total_minor, 'CNY', p.external_id,
               'order:' || x.number || ':' || p.provider, p.collected_by, p.at, p.at, p.at, ''
        FROM g_order o JOIN orders x ON x.id = o.id,
        LATERAL (
            SELECT o.pay AS provider,
                   CASE WHEN o.pay = 'stripe' THEN (ARRAY['card', 'alipay', 'wechat_pay'])[1 + o.customer_no % 3]
                        ELSE (ARRAY['cash', 'qr'])[1 + o.id % 2] END AS method,
                   CASE WHEN o.pay = 'stripe' THEN 'pi_vol' || o.id END AS external_id,
                   CASE WHEN o.pay = 'pay_at_pickup' THEN {operator} END AS collected_by,
                   CASE WHEN o.pay = 'stripe' THEN o.placed_at + interval '2 minutes' ELSE o.handover_at END AS at
        ) p
        WHERE o.ch = 1 AND x.paid_minor > 0
        """,
        {"now": now},
    )
    report.rows["refunds"] = await _exec(
        conn,
        f"""
        INSERT INTO refunds (payment_id, order_id, amount_minor, state, reason, external_id, actor_user_id,
                             created_at, updated_at, failure_message)
        SELECT p.id, o.id, x.refunded_minor, 'succeeded',
               CASE WHEN o.stage = 'refunded' THEN '顾客取消订单，全额退款' ELSE '到货品质问题，部分退款' END,
               're_vol' || o.id, {admin},
               CASE WHEN o.stage = 'refunded' THEN o.placed_at + interval '3 hours' ELSE o.complete_at + interval '1 day' END,
               CASE WHEN o.stage = 'refunded' THEN o.placed_at + interval '3 hours' ELSE o.complete_at + interval '1 day' END,
               ''
        FROM g_order o JOIN orders x ON x.id = o.id JOIN payments p ON p.order_id = o.id AND p.provider = 'stripe'
        WHERE x.refunded_minor > 0
        """,
    )
    report.rows["order_events"] = await _exec(
        conn,
        f"""
        INSERT INTO order_events (order_id, created_at, kind, from_status, to_status, actor_user_id, message_zh, detail)
        SELECT order_id, at, kind, from_status, to_status, actor, message, '{{}}'::jsonb FROM (
            SELECT o.id AS order_id, o.placed_at AS at, 'placed' AS kind, NULL AS from_status,
                   CASE WHEN o.ch = 2 THEN 'completed' WHEN o.pay = 'stripe' THEN 'pending_payment' ELSE 'confirmed' END
                       AS to_status,
                   NULL::bigint AS actor,
                   CASE o.ch WHEN 2 THEN '门店柜台售出，当场付款交货' WHEN 3 THEN '采购商下单' ELSE '顾客下单' END AS message
            FROM g_order o
            UNION ALL
            SELECT o.id, o.placed_at + interval '2 minutes', 'paid', 'pending_payment', 'confirmed', NULL, '在线支付成功'
            FROM g_order o WHERE o.pay = 'stripe' AND o.stage NOT IN ('pending', 'expired')
            UNION ALL
            SELECT o.id, o.placed_at + interval '15 minutes', 'expired', 'pending_payment', 'expired', NULL,
                   '超时未支付，已释放库存'
            FROM g_order o WHERE o.stage = 'expired'
            UNION ALL
            SELECT o.id, o.placed_at + interval '2 hours', 'cancelled', 'confirmed', 'cancelled', NULL, '顾客取消订单'
            FROM g_order o WHERE o.stage = 'cancelled'
            UNION ALL
            SELECT o.id, o.placed_at + interval '3 hours', 'cancelled', 'confirmed', 'cancelled', {admin},
                   '顾客取消订单，全额退款'
            FROM g_order o WHERE o.stage = 'refunded'
            UNION ALL
            SELECT o.id, o.placed_at + interval '3 hours', 'refunded', NULL, NULL, {admin}, '退款成功'
            FROM g_order o WHERE o.stage = 'refunded'
            UNION ALL
            SELECT o.id, o.complete_at + interval '1 day', 'refunded', NULL, NULL, {admin}, '部分退款成功'
            FROM g_order o WHERE o.outcome = 'partial'
            UNION ALL
            SELECT o.id, o.dispatch_at, 'dispatched', NULL, NULL, NULL, '已随配送车次发出'
            FROM g_order o
            WHERE o.ch = 1 AND o.stage IN ('dispatched', 'at_station', 'completed', 'returned', 'uncollected')
            UNION ALL
            SELECT o.id, o.arrive_at, 'ready_for_pickup', 'confirmed', 'ready_for_pickup', {operator}, '包裹已到站上架'
            FROM g_order o WHERE o.dm = 'station_pickup' AND o.stage IN ('at_station', 'completed', 'returned')
            UNION ALL
            SELECT o.id, o.handover_at, 'handed_over', 'ready_for_pickup', 'completed', {operator}, '顾客已取货'
            FROM g_order o WHERE o.dm = 'station_pickup' AND o.stage = 'completed'
            UNION ALL
            SELECT o.id, o.deliver_at, 'delivered', 'confirmed', 'completed', NULL, '已送货上门'
            FROM g_order o WHERE o.ch = 1 AND o.dm = 'home_delivery' AND o.stage = 'completed'
            UNION ALL
            SELECT o.id, o.returned_at, 'returned', 'ready_for_pickup', 'cancelled', {operator}, '超过保管期限，已退回仓库'
            FROM g_order o WHERE o.stage = 'returned'
            UNION ALL
            SELECT o.id, (o.trip_day::timestamp AT TIME ZONE 'Asia/Shanghai') + interval '5 hours', 'dispatched', NULL, NULL,
                   NULL, '已随珠三角车次发车'
            FROM g_order o WHERE o.ch = 3 AND o.stage = 'completed'
            UNION ALL
            SELECT o.id, (o.trip_day::timestamp AT TIME ZONE 'Asia/Shanghai') + interval '9 hours', 'delivered', 'confirmed',
                   'completed', NULL, '已送达采购商'
            FROM g_order o WHERE o.ch = 3 AND o.stage = 'completed'
                 AND (o.trip_day::timestamp AT TIME ZONE 'Asia/Shanghai') + interval '9 hours' <= CAST(:now AS timestamptz)
        ) e
        ORDER BY at, order_id
        """,
        {"now": now},
    )
    # Wholesale: the order's trip, its load, and the trips' bookings.
    report.rows["wholesale_orders"] = await _exec(
        conn,
        """
        INSERT INTO wholesale_orders (order_id, company_id, trip_id, delivery_address_id, requested_date,
                                      trip_reason_code, trip_reason_zh, weight_kg, cases, credit_state,
                                      exposure_minor, created_at)
        SELECT o.id, o.company_id, o.trip_id, o.address_id, o.trip_day, 'requested_date', '按采购商要求的日期',
               round(a.weight_kg, 3), a.cases, 'clear', 0, o.placed_at
        FROM g_order o JOIN g_amount a ON a.order_id = o.id WHERE o.ch = 3
        """,
    )
    await _exec(
        conn,
        """
        UPDATE wholesale_trips t SET booked_kg = t.booked_kg + b.kg, booked_cases = t.booked_cases + b.cases
        FROM (SELECT w.trip_id, sum(w.weight_kg) AS kg, sum(w.cases) AS cases FROM wholesale_orders w
              JOIN g_order o ON o.id = w.order_id GROUP BY w.trip_id) b
        WHERE b.trip_id = t.id
        """,
    )
    # Wholesale is sold on account: an invoice (结算单, numbered per day as the app numbers them)
    # when the truck delivered, settled by bank transfer on the company's terms (prepaid at once).
    tax = INVOICE_TAX_RATE_PERCENT
    report.rows["wholesale_invoices"] = await _exec(
        conn,
        f"""
        INSERT INTO wholesale_invoices (number, kind, company_id, order_id, issue_date, due_date, total_minor, tax_minor,
                                        tax_rate_percent, settled_minor, settled_at, buyer, note, issued_by_id, created_at)
        SELECT 'JS-' || to_char(o.trip_day, 'YYYYMMDD') || '-'
                   || lpad((row_number() OVER (PARTITION BY o.trip_day ORDER BY o.id))::text, 4, '0'),
               'invoice', o.company_id, o.id, o.trip_day, o.trip_day + c.payment_terms_days, x.total_minor,
               round(x.total_minor * {tax} / (100.0 + {tax}))::bigint, {tax}, x.paid_minor,
               CASE WHEN x.paid_minor > 0 THEN least(CAST(:now AS timestamptz),
                    ((o.trip_day + c.payment_terms_days)::timestamp AT TIME ZONE 'Asia/Shanghai') + interval '10 hours') END,
               jsonb_build_object('title', c.name), '', {admin},
               (o.trip_day::timestamp AT TIME ZONE 'Asia/Shanghai') + interval '12 hours'
        FROM g_order o JOIN orders x ON x.id = o.id JOIN buyer_companies c ON c.id = o.company_id
        WHERE o.ch = 3 AND o.stage = 'completed'
        """,
        {"now": now},
    )
    report.rows["wholesale_invoice_lines"] = await _exec(
        conn,
        """
        INSERT INTO wholesale_invoice_lines (invoice_id, position, order_line_id, sku, name, unit, quantity,
                                             unit_price_minor, amount_minor, note)
        SELECT i.id, row_number() OVER (PARTITION BY i.id ORDER BY l.id), l.id, l.sku, l.name_zh, l.unit, l.quantity,
               l.unit_price_minor, l.line_total_minor, ''
        FROM wholesale_invoices i JOIN g_line l ON l.order_id = i.order_id JOIN g_order o ON o.id = i.order_id
        WHERE i.kind = 'invoice'
        """,
    )


async def _write_pos(
    conn: AsyncConnection, ref: _Ref, first_day: date, today: date, now: datetime, report: Report
) -> None:
    """One shift a day at STORE-01's till, its counter sales with lines and tenders."""
    clerk = ref.users["clerk"]
    await _exec(
        conn,
        """
        CREATE TEMP TABLE g_shift AS
        SELECT o.d, min(o.placed_at) AS first_sale, max(o.placed_at) AS last_sale,
               sum(CASE WHEN o.pay = 'pos_cash' THEN a.subtotal ELSE 0 END) AS cash
        FROM g_order o JOIN g_amount a ON a.order_id = o.id WHERE o.ch = 2 GROUP BY o.d
        """,
    )
    report.rows["pos_shifts"] = await _exec(
        conn,
        f"""
        INSERT INTO pos_shifts (client_id, store_id, till_id, status, opened_by_id, opened_at, float_minor,
                                closed_by_id, closed_at, closed_offline, counted_denominations, counted_cash_minor,
                                expected_cash_minor, variance_minor, variance_status, recorded_at)
        SELECT md5('vol-shift-{ref.till}-' || s.d)::uuid, {ref.store}, {ref.till},
               CASE WHEN closes > CAST(:now AS timestamptz) THEN 'open' ELSE 'closed' END,
               {clerk}, least(s.first_sale, opens), 50000,
               CASE WHEN closes > CAST(:now AS timestamptz) THEN NULL ELSE {clerk} END,
               CASE WHEN closes > CAST(:now AS timestamptz) THEN NULL ELSE greatest(closes, s.last_sale) END,
               false, NULL,
               CASE WHEN closes > CAST(:now AS timestamptz) THEN NULL ELSE 50000 + s.cash END,
               CASE WHEN closes > CAST(:now AS timestamptz) THEN NULL ELSE 50000 + s.cash END,
               CASE WHEN closes > CAST(:now AS timestamptz) THEN NULL ELSE 0 END,
               'none', least(s.first_sale, opens)
        FROM g_shift s JOIN g_day d ON d.d = s.d,
        LATERAL (SELECT d.day_start + interval '7 hours 50 minutes' AS opens,
                        d.day_start + interval '20 hours 30 minutes' AS closes) t
        WHERE NOT EXISTS (SELECT 1 FROM pos_shifts x WHERE x.till_id = {ref.till} AND x.status = 'open')
           OR closes <= CAST(:now AS timestamptz)
        ORDER BY s.d
        """,
        {"now": now},
    )
    await _exec(conn, "ALTER TABLE g_shift ADD COLUMN shift_id bigint")
    await _exec(
        conn,
        f"UPDATE g_shift s SET shift_id = p.id FROM pos_shifts p WHERE p.client_id = md5('vol-shift-{ref.till}-' || s.d)::uuid",
    )
    report.rows["pos_sales"] = await _exec(
        conn,
        f"""
        INSERT INTO pos_sales (client_id, number, order_id, store_id, till_id, shift_id, clerk_id, sold_at,
                               recorded_at, made_offline, subtotal_minor, discount_minor, discount_reason,
                               total_minor, tendered_minor, change_minor, refunded_minor, price_differs)
        SELECT md5('vol-sale-' || o.id)::uuid, 'S01AV' || lpad(o.id::text, 9, '0'), o.id, {ref.store}, {ref.till},
               s.shift_id, {clerk}, o.placed_at, o.placed_at + interval '2 seconds', false, a.subtotal, 0, '',
               a.subtotal, t.tendered, t.tendered - a.subtotal, 0, false
        FROM g_order o JOIN g_amount a ON a.order_id = o.id JOIN g_shift s ON s.d = o.d,
        LATERAL (SELECT CASE WHEN o.pay = 'pos_cash' THEN (ceil(a.subtotal / 1000.0) * 1000)::bigint
                             ELSE a.subtotal END AS tendered) t
        WHERE o.ch = 2 AND s.shift_id IS NOT NULL
        ORDER BY o.id
        """,
    )
    report.rows["pos_sale_lines"] = await _exec(
        conn,
        """
        INSERT INTO pos_sale_lines (order_line_id, sale_id, source, code, grams, returned_quantity, short_quantity)
        SELECT l.id, p.id, CASE WHEN l.unit IN ('kg', 'jin') THEN 'weight_label' ELSE 'product' END, NULL,
               CASE WHEN l.unit = 'kg' THEN (l.quantity * 1000)::int WHEN l.unit = 'jin' THEN (l.quantity * 500)::int END,
               0, 0
        FROM g_line l JOIN pos_sales p ON p.order_id = l.order_id
        WHERE l.ch = 2
        """,
    )
    report.rows["pos_tenders"] = await _exec(
        conn,
        """
        INSERT INTO pos_tenders (sale_id, method, wallet, amount_minor, reference_tail)
        SELECT p.id, CASE WHEN o.pay = 'pos_cash' THEN 'cash' ELSE 'qr' END,
               CASE WHEN o.pay = 'pos_cash' THEN NULL WHEN o.id % 5 < 3 THEN 'wechat' ELSE 'alipay' END,
               p.tendered_minor, CASE WHEN o.pay = 'pos_qr' THEN lpad((o.id % 10000)::text, 4, '0') ELSE '' END
        FROM pos_sales p JOIN g_order o ON o.id = p.order_id
        WHERE p.tendered_minor > 0
        """,
    )


async def _write_parcels(conn: AsyncConnection, ref: _Ref, now: datetime, report: Report) -> None:
    """Dispatch runs (one per route and day that carried parcels) and the parcels to the stations."""
    operator = ref.users["operator"]
    report.rows["dispatch_runs"] = await _exec(
        conn,
        """
        INSERT INTO dispatch_runs (number, route_id, run_date, status, created_at, dispatched_at)
        SELECT 'RUN' || to_char(run_date, 'YYMMDD') || '-V' || route_id, route_id, run_date, 'dispatched',
               min(dispatch_at) - interval '2 hours', min(dispatch_at)
        FROM (SELECT o.route_id, (o.dispatch_at AT TIME ZONE 'Asia/Shanghai')::date AS run_date, o.dispatch_at
              FROM g_order o
              WHERE o.dm = 'station_pickup' AND o.route_id IS NOT NULL
                AND o.stage IN ('dispatched', 'at_station', 'completed', 'returned', 'uncollected')) r
        GROUP BY route_id, run_date
        ON CONFLICT (route_id, run_date) DO NOTHING
        """,
    )
    report.rows["parcels"] = await _exec(
        conn,
        f"""
        INSERT INTO parcels (tracking_number, order_id, station_id, route_id, run_id, status, shelf_slot, pickup_code,
                             arrived_at, retention_until, handed_over_at, handed_over_by_id, collected_by_name,
                             proxy_pickup, failed_code_attempts, returned_at, created_at, updated_at)
        SELECT 'NPV' || to_char(o.placed_at AT TIME ZONE 'Asia/Shanghai', 'YYMMDD') || lpad(o.id::text, 9, '0'),
               o.id, o.station_id, o.route_id, r.id,
               CAST(CASE WHEN o.stage = 'completed' THEN 'handed_over' WHEN o.stage = 'returned' THEN 'returned'
                         WHEN o.stage = 'dispatched' THEN 'dispatched' ELSE 'at_station' END AS parcel_status),
               CASE WHEN o.stage <> 'dispatched' THEN (1 + o.id % 5)::text || '-' || (1 + (o.id / 5) % 4)::text END,
               CASE WHEN o.stage IN ('at_station', 'uncollected') THEN lpad((o.id % 100000000)::text, 8, '0') END,
               CASE WHEN o.stage <> 'dispatched' THEN o.arrive_at END,
               CASE WHEN o.stage <> 'dispatched' THEN o.arrive_at + o.retention_days * interval '1 day' END,
               CASE WHEN o.stage = 'completed' THEN o.handover_at END,
               CASE WHEN o.stage = 'completed' THEN {operator} END,
               CASE WHEN o.stage = 'completed' THEN left(x.contact_name, 50) ELSE '' END,
               false, 0,
               CASE WHEN o.stage = 'returned' THEN o.returned_at END,
               o.dispatch_at - interval '3 hours', greatest(o.dispatch_at, least(CAST(:now AS timestamptz), o.complete_at))
        FROM g_order o JOIN orders x ON x.id = o.id
        LEFT JOIN dispatch_runs r ON r.route_id = o.route_id
             AND r.run_date = (o.dispatch_at AT TIME ZONE 'Asia/Shanghai')::date
        WHERE o.dm = 'station_pickup' AND o.stage IN ('dispatched', 'at_station', 'completed', 'returned', 'uncollected')
        """,
        {"now": now},
    )


async def _write_ledger(conn: AsyncConnection, ref: _Ref, scale: Scale, now: datetime, report: Report) -> None:
    """Lots, transfers, consignments, reservations, the ledger, and the levels summed from it."""
    wh = ref.warehouse
    store = ref.store_location
    warehouse_user = ref.users["warehouse"]
    operator = ref.users["operator"]
    clerk = ref.users["clerk"]
    # Every movement an order makes, at the order's stock location.
    await _exec(
        conn,
        """
        CREATE TEMP TABLE g_ledger (at timestamptz, kind ledger_kind, vid bigint, location_id bigint, lot_id bigint,
                                    on_hand_delta numeric(12, 3), reserved_delta numeric(12, 3), actor bigint,
                                    reason text, document_type text, document_ref text, channel text)
        """,
    )
    base = "FROM g_line l JOIN g_order o ON o.id = l.order_id JOIN orders x ON x.id = o.id"
    await _exec(
        conn,
        f"""
        INSERT INTO g_ledger
        -- the hold when the order is placed
        SELECT o.placed_at, CAST('reservation' AS ledger_kind), l.vid, {wh}, l.lot_id, 0, l.quantity, x.customer_user_id, '',
               'reservation', x.reservation_reference, o.channel
        {base} WHERE o.ch IN (1, 3)
        UNION ALL
        -- released: not paid in time, cancelled, parcel returned
        SELECT CASE o.stage WHEN 'expired' THEN o.placed_at + interval '15 minutes'
                            WHEN 'cancelled' THEN o.placed_at + interval '2 hours' ELSE o.returned_at END,
               'release', l.vid, {wh}, l.lot_id, 0, -l.quantity, NULL,
               CASE o.stage WHEN 'expired' THEN '超时未支付' WHEN 'cancelled' THEN '顾客取消' ELSE '包裹超期退回' END,
               'reservation', x.reservation_reference, o.channel
        {base} WHERE o.ch = 1 AND o.stage IN ('expired', 'cancelled', 'returned')
        UNION ALL
        -- sold: online payment, handover at the station, packing for the truck
        SELECT CASE WHEN o.pay = 'stripe' THEN o.placed_at + interval '2 minutes'
                    WHEN o.pay = 'pay_at_pickup' THEN o.handover_at
                    ELSE {PACKED_AT} END,
               'sale', l.vid, {wh}, l.lot_id, -l.quantity, -l.quantity, NULL, '', 'order', x.number, o.channel
        {base}
        WHERE {SOLD}
        UNION ALL
        -- a paid order cancelled before it left: the goods go back on the shelf
        SELECT o.placed_at + interval '3 hours', 'return', l.vid, {wh}, l.lot_id, l.quantity, 0, {warehouse_user},
               '订单取消退款，商品回库', 'order', x.number, o.channel
        {base} WHERE o.stage = 'refunded'
        UNION ALL
        -- the counter
        SELECT o.placed_at, 'sale', l.vid, {store}, l.lot_id, -l.quantity, 0, {clerk}, '', 'pos_sale', x.number, 'pos'
        {base} WHERE o.ch = 2
        """,
        {"now": now},
    )
    # Per lot: what the store took and keeps, what the warehouse sent out and keeps.
    await _exec(
        conn,
        f"""
        CREATE TEMP TABLE g_flow AS
        WITH sums AS (
            SELECT lot_id,
                   -sum(CASE WHEN location_id = {store} THEN on_hand_delta ELSE 0 END) AS store_out,
                   -sum(CASE WHEN location_id = {wh} THEN on_hand_delta ELSE 0 END) AS wh_out,
                   sum(CASE WHEN location_id = {wh} THEN reserved_delta ELSE 0 END) AS wh_held,
                   bool_or(location_id = {store}) AS at_store
            FROM g_ledger GROUP BY lot_id
        )
        SELECT g.lot_id, g.vid, g.harvest, g.best_before, g.unit, g.upstream, g.up_station, g.supplier_id, g.retail_minor,
               g.grams,
               -- written off at 09:00 the day after its best-before
               ((g.best_before + 1)::timestamp AT TIME ZONE 'Asia/Shanghai') + interval '9 hours'
                   <= CAST(:now AS timestamptz) AS expired,
               coalesce(s.store_out, 0) AS store_out, coalesce(s.wh_out, 0) AS wh_out,
               coalesce(s.wh_held, 0) AS wh_held, coalesce(s.at_store, false) AS at_store
        FROM g_lot g LEFT JOIN sums s ON s.lot_id = g.lot_id
        """,
        {"now": now},
    )
    # Leftovers: a current lot keeps stock to sell (the store a shelf's worth, the warehouse more);
    # an old one kept a few percent, written off after its best-before.
    for statement in (
        "ALTER TABLE g_flow ADD COLUMN store_left numeric(12, 3), ADD COLUMN wh_left numeric(12, 3), "
        "ADD COLUMN to_store numeric(12, 3), ADD COLUMN received numeric(12, 3)",
        """UPDATE g_flow SET
            store_left = CASE WHEN NOT at_store AND expired THEN 0
                              WHEN NOT expired THEN CASE WHEN unit IN ('kg', 'jin') THEN 30 ELSE 12 END
                              WHEN unit IN ('kg', 'jin') THEN round(store_out * 0.04, 3)
                              ELSE ceil(store_out * 0.03) END,
            wh_left = CASE WHEN NOT expired THEN CASE WHEN unit IN ('kg', 'jin') THEN 200 ELSE 300 END
                           WHEN unit IN ('kg', 'jin') THEN round(wh_out * 0.05, 3) + 0.5
                           ELSE ceil(wh_out * 0.04) + 1 END""",
        "UPDATE g_flow SET to_store = store_out + store_left",
        "UPDATE g_flow SET received = wh_out + to_store + wh_held + wh_left",
    ):
        await _exec(conn, statement)
    # Lots: received at the warehouse (or, brought upstream, at a station's own location).
    station_loc = "(SELECT l.id FROM locations l WHERE l.station_id = f.up_station)"
    report.rows["lots"] = await _exec(
        conn,
        f"""
        INSERT INTO lots (id, code, variant_id, supplier_id, harvest_date, best_before, grade, certificate_no,
                          quality_notes, quantity_received, origin, received_location_id, received_by_id,
                          created_at, updated_at)
        SELECT f.lot_id, 'LT' || to_char(f.harvest, 'YYMMDD') || '-V' || f.lot_id, f.vid, f.supplier_id, f.harvest,
               f.best_before, '', 'HGZ-V' || f.lot_id,
               CASE WHEN f.upstream THEN '村站收购，过磅称重' ELSE '到货验收合格' END, f.received,
               CAST(CASE WHEN f.upstream THEN 'upstream' ELSE 'receipt' END AS lot_origin),
               CASE WHEN f.upstream THEN {station_loc} ELSE {wh} END,
               CASE WHEN f.upstream THEN {operator} ELSE {warehouse_user} END,
               (f.harvest::timestamp AT TIME ZONE 'Asia/Shanghai') + interval '16 hours',
               (f.harvest::timestamp AT TIME ZONE 'Asia/Shanghai') + interval '16 hours'
        FROM g_flow f ORDER BY f.lot_id
        """,
    )
    await _exec(conn, "SELECT setval(pg_get_serial_sequence('lots', 'id'), (SELECT max(id) FROM lots))")
    # The purchase price the dashboard's upward value reads, where the schema has it (not on main
    # yet): 55 % of the retail price, as paid to the farmer for an upstream consignment.
    if await _scalar(
        conn,
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'lots' AND column_name = 'purchase_price_minor'",
    ):
        await _exec(
            conn,
            "UPDATE lots l SET purchase_price_minor = round(f.retail_minor * 0.55)::bigint FROM g_flow f WHERE f.lot_id = l.id",
        )
    # Transfers: each upstream lot from its station to the warehouse (received the same evening);
    # each lot the store sells from, to the store the next morning before it opens.
    await _exec(
        conn,
        f"""
        CREATE TEMP TABLE g_transfer AS
        SELECT f.lot_id, f.vid, 'up' AS kind, {station_loc} AS from_loc, {wh}::bigint AS to_loc, f.received AS quantity,
               (f.harvest::timestamp AT TIME ZONE 'Asia/Shanghai') + interval '16 hours 30 minutes' AS shipped_at,
               (f.harvest::timestamp AT TIME ZONE 'Asia/Shanghai') + interval '20 hours' AS received_at
        FROM g_flow f WHERE f.upstream
        UNION ALL
        SELECT f.lot_id, f.vid, 'store', {wh}, {store}, f.to_store,
               (f.harvest::timestamp AT TIME ZONE 'Asia/Shanghai') + interval '1 day 6 hours',
               (f.harvest::timestamp AT TIME ZONE 'Asia/Shanghai') + interval '1 day 7 hours 30 minutes'
        FROM g_flow f WHERE f.to_store > 0
        """,
    )
    count = int(await _scalar(conn, "SELECT count(*) FROM g_transfer"))
    first = await _reserve_ids(conn, "transfers", count) if count else 0
    await _exec(conn, "ALTER TABLE g_transfer ADD COLUMN transfer_id bigint")
    await _exec(
        conn,
        f"UPDATE g_transfer t SET transfer_id = n.id FROM (SELECT lot_id, kind, {first} - 1 + row_number() "
        f"OVER (ORDER BY shipped_at, lot_id, kind) AS id FROM g_transfer) n WHERE n.lot_id = t.lot_id AND n.kind = t.kind",
    )
    report.rows["transfers"] = await _exec(
        conn,
        f"""
        INSERT INTO transfers (id, number, from_location_id, to_location_id, status, note, shipped_at, shipped_by_id,
                               received_at, received_by_id)
        SELECT transfer_id, 'TRV' || to_char(shipped_at AT TIME ZONE 'Asia/Shanghai', 'YYMMDD') || '-' || transfer_id,
               from_loc, to_loc, 'received', CASE kind WHEN 'up' THEN '村站上行交货' ELSE '门店补货' END,
               shipped_at, CASE kind WHEN 'up' THEN {operator} ELSE {warehouse_user} END,
               received_at, CASE kind WHEN 'up' THEN {warehouse_user} ELSE {clerk} END
        FROM g_transfer ORDER BY transfer_id
        """,
    )
    if count:
        await _exec(conn, "SELECT setval(pg_get_serial_sequence('transfers', 'id'), (SELECT max(id) FROM transfers))")
    report.rows["transfer_lines"] = await _exec(
        conn,
        """
        INSERT INTO transfer_lines (transfer_id, lot_id, variant_id, quantity_shipped, quantity_received, difference_reason)
        SELECT transfer_id, lot_id, vid, quantity, quantity, '' FROM g_transfer ORDER BY transfer_id
        """,
    )
    # Upstream consignments: the weight and the price paid to the farmer (55 % of retail).
    report.rows["upstream_consignments"] = await _exec(
        conn,
        f"""
        INSERT INTO upstream_consignments (number, station_id, supplier_id, lot_id, transfer_id, weight_kg, value_minor,
                                           created_at, created_by_id)
        SELECT 'UPV' || to_char(f.harvest, 'YYMMDD') || '-' || f.lot_id, f.up_station, f.supplier_id, f.lot_id,
               t.transfer_id, CASE WHEN f.unit = 'jin' THEN f.received / 2 ELSE f.received END,
               round(f.received * f.retail_minor * 0.55)::bigint,
               (f.harvest::timestamp AT TIME ZONE 'Asia/Shanghai') + interval '16 hours', {operator}
        FROM g_flow f JOIN g_transfer t ON t.lot_id = f.lot_id AND t.kind = 'up'
        WHERE f.upstream
        """,
    )
    # Receipts, transfer legs and write-offs into the ledger too.
    await _exec(
        conn,
        f"""
        INSERT INTO g_ledger
        SELECT (f.harvest::timestamp AT TIME ZONE 'Asia/Shanghai') + interval '16 hours', CAST('receipt' AS ledger_kind), f.vid,
               CASE WHEN f.upstream THEN {station_loc} ELSE {wh} END, f.lot_id, f.received, 0,
               CASE WHEN f.upstream THEN {operator} ELSE {warehouse_user} END,
               CASE WHEN f.upstream THEN '村站上行收购' ELSE '到货入库' END,
               CASE WHEN f.upstream THEN 'consignment' ELSE 'lot' END,
               CASE WHEN f.upstream THEN 'UPV' || to_char(f.harvest, 'YYMMDD') || '-' || f.lot_id
                    ELSE 'LT' || to_char(f.harvest, 'YYMMDD') || '-V' || f.lot_id END, NULL
        FROM g_flow f
        UNION ALL
        SELECT t.shipped_at, 'transfer_out', t.vid, t.from_loc, t.lot_id, -t.quantity, 0, {warehouse_user}, '',
               'transfer', 'TRV' || to_char(t.shipped_at AT TIME ZONE 'Asia/Shanghai', 'YYMMDD') || '-' || t.transfer_id, NULL
        FROM g_transfer t
        UNION ALL
        SELECT t.received_at, 'transfer_in', t.vid, t.to_loc, t.lot_id, t.quantity, 0, {warehouse_user}, '',
               'transfer', 'TRV' || to_char(t.shipped_at AT TIME ZONE 'Asia/Shanghai', 'YYMMDD') || '-' || t.transfer_id, NULL
        FROM g_transfer t
        UNION ALL
        SELECT (f.best_before + 1)::timestamp AT TIME ZONE 'Asia/Shanghai' + interval '9 hours', 'spoilage', f.vid, {wh},
               f.lot_id, -f.wh_left, 0, {warehouse_user}, '过期报损', 'lot',
               'LT' || to_char(f.harvest, 'YYMMDD') || '-V' || f.lot_id, NULL
        FROM g_flow f WHERE f.expired AND f.wh_left > 0
        UNION ALL
        SELECT (f.best_before + 1)::timestamp AT TIME ZONE 'Asia/Shanghai' + interval '9 hours', 'spoilage', f.vid, {store},
               f.lot_id, -f.store_left, 0, {clerk}, '过期报损', 'lot',
               'LT' || to_char(f.harvest, 'YYMMDD') || '-V' || f.lot_id, NULL
        FROM g_flow f WHERE f.expired AND f.store_left > 0
        """,
    )
    activity = int(await _scalar(conn, "SELECT count(*) FROM g_ledger"))
    # Recount pairs up to the asked size: a count finds one unit (or 100 g) more in the evening, the
    # next evening's check corrects it; they net to zero per lot and location.
    pairs = max(0, (scale.ledger_rows - activity + 1) // 2)
    if pairs:
        await _exec(
            conn,
            """
            CREATE TEMP TABLE g_place AS
            SELECT (row_number() OVER (ORDER BY lot_id, location_id)) - 1 AS k, lot_id, location_id, vid,
                   min(at) AS since, greatest(1, least(30, (max(at)::date - min(at)::date))) AS days, max(unit) AS unit
            FROM g_ledger JOIN g_variant USING (vid)
            GROUP BY lot_id, location_id, vid
            -- room for the pairs before now: they come at most 31 days after the place's first row
            HAVING min(at) < CAST(:now AS timestamptz) - interval '32 days'
            """,
            {"now": now},
        )
        places = int(await _scalar(conn, "SELECT count(*) FROM g_place"))
        await _exec(
            conn,
            f"""
            INSERT INTO g_ledger
            SELECT p.since + (1 + (g / {places}) % p.days) * interval '1 day' + ((g / {places}) % 97) * interval '1 minute'
                       + half * interval '1 day',
                   CAST(CASE half WHEN 0 THEN 'count' ELSE 'adjustment' END AS ledger_kind), p.vid, p.location_id, p.lot_id,
                   CASE WHEN p.unit IN ('kg', 'jin') THEN 0.1 ELSE 1 END * CASE half WHEN 0 THEN 1 ELSE -1 END, 0,
                   {warehouse_user}, CASE half WHEN 0 THEN '盘点差异（盘盈）' ELSE '复盘更正' END,
                   CASE half WHEN 0 THEN 'count' ELSE 'adjustment' END, 'RCV-' || g, NULL
            FROM generate_series(0, {pairs} - 1) AS g JOIN g_place p ON p.k = g % {places},
                 (VALUES (0), (1)) AS h(half)
            """,
        )
    total = int(await _scalar(conn, "SELECT count(*) FROM g_ledger"))
    report.ledger_from_activity = activity
    report.ledger_recount_rows = total - activity
    report.rows["stock_ledger"] = await _exec(
        conn,
        """
        INSERT INTO stock_ledger (created_at, kind, variant_id, location_id, lot_id, on_hand_delta, reserved_delta,
                                  actor_user_id, reason, document_type, document_ref, channel)
        SELECT at, kind, vid, location_id, lot_id, on_hand_delta, reserved_delta, actor, reason, document_type,
               document_ref, channel
        FROM g_ledger ORDER BY at, lot_id
        """,
    )
    # The levels are the ledger's sums: the invariant holds by construction.
    report.rows["stock_levels"] = await _exec(
        conn,
        """
        INSERT INTO stock_levels (location_id, lot_id, variant_id, best_before, on_hand, reserved)
        SELECT g.location_id, g.lot_id, g.vid, l.best_before, sum(g.on_hand_delta), sum(g.reserved_delta)
        FROM g_ledger g JOIN g_lot l ON l.lot_id = g.lot_id
        GROUP BY g.location_id, g.lot_id, g.vid, l.best_before
        """,
    )
    # Reservations of the web and wholesale orders, closed as their orders went.
    report.rows["reservations"] = await _exec(
        conn,
        f"""
        INSERT INTO reservations (reference, channel, location_id, status, expires_at, created_at, closed_at, actor_user_id)
        SELECT x.reservation_reference, o.channel, {wh},
               CAST(CASE WHEN o.stage = 'expired' THEN 'expired'
                         WHEN o.stage IN ('cancelled', 'returned') THEN 'released'
                         WHEN {SOLD} THEN 'converted'
                         ELSE 'active' END AS reservation_status),
               x.payment_due_at, o.placed_at,
               CASE WHEN o.stage = 'expired' THEN o.placed_at + interval '15 minutes'
                    WHEN o.stage = 'cancelled' THEN o.placed_at + interval '2 hours'
                    WHEN o.stage = 'returned' THEN o.returned_at
                    WHEN o.pay = 'stripe' THEN o.placed_at + interval '2 minutes'
                    WHEN o.stage = 'completed' AND o.ch = 1 THEN o.handover_at
                    WHEN o.ch = 3 AND {SOLD} THEN {PACKED_AT} END,
               x.customer_user_id
        FROM g_order o JOIN orders x ON x.id = o.id
        WHERE o.ch IN (1, 3)
        """,
        {"now": now},
    )
    report.rows["reservation_lines"] = await _exec(
        conn,
        f"""
        INSERT INTO reservation_lines (reservation_id, stock_level_id, variant_id, lot_id, quantity)
        SELECT r.id, s.id, l.vid, l.lot_id, l.quantity
        FROM g_line l JOIN orders x ON x.id = l.order_id JOIN reservations r ON r.reference = x.reservation_reference
        JOIN stock_levels s ON s.lot_id = l.lot_id AND s.location_id = {wh}
        WHERE l.ch IN (1, 3)
        """,
    )


async def _write_crossborder(
    conn: AsyncConnection, scale: Scale, first_day: date, now: datetime, report: Report
) -> None:
    """Alibaba.com orders as the sync stores them (company-level buyer data only)."""
    report.rows["alibaba_orders"] = await _exec(
        conn,
        """
        INSERT INTO alibaba_orders (trade_id, status, amount_minor, currency, buyer_country, buyer_company,
                                    created_remote_at, modified_remote_at, raw, pulled_at)
        SELECT 'VOL' || lpad(g::text, 9, '0'),
               CASE WHEN at > CAST(:now AS timestamptz) - interval '10 days' THEN 'undeliver'
                    WHEN pg_temp.rnd(g, 40) < 0.06 THEN 'trade_close' ELSE 'trade_success' END,
               (20000 + floor(pg_temp.rnd(g, 41) * 280000))::bigint, 'USD',
               (CAST(:countries AS text[]))[1 + floor(pg_temp.rnd(g, 42) * :nc)::int],
               'Overseas Buyer ' || (1 + floor(pg_temp.rnd(g, 43) * 60)::int) || ' (demo)', at, at + interval '2 days',
               jsonb_build_object('trade_id', 'VOL' || lpad(g::text, 9, '0')), at + interval '1 hour'
        FROM (SELECT g, CAST(:first AS timestamptz)
                        + (CAST(:now AS timestamptz) - CAST(:first AS timestamptz)) * ((g - 0.5) / :n) AS at
              FROM generate_series(1, :n) AS g) t
        ON CONFLICT (trade_id) DO NOTHING
        """,
        {
            "now": now,
            "first": datetime.combine(first_day, datetime.min.time(), CHINA),
            "n": scale.crossborder,
            "countries": list(COUNTRIES),
            "nc": len(COUNTRIES),
        },
    )
