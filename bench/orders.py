"""Issue 15, item 1: pay-at-pickup shop orders per second with 2 web workers and the Celery worker
running, driven by wrk (a C client, so the figures are the server's) at concurrency 16:

- spread: one-line orders over the supply SKUs and every station;
- hot: the same on one SKU;
- sell-out: many more orders than one SKU has in stock — exactly as many succeed as there were
  units, the rest answer 409, and stock and ledger agree (zero oversell);
- the outbox (the order notices) drained by the worker after the load, and how long that took;
- CPU per order of the web workers and of the Celery worker (from /proc: what each order costs,
  which the noise of a shared machine moves far less than the rate).

The measured runs follow a warm-up of spread orders, as on a shop that has been open for a while (the
``floor`` bench's p99s are after a warm-up too), and the warm-up's own figures are printed as the
cold start's: a freshly started worker's first orders open its database connections (asyncpg reads
the server's types on each), prepare each statement once per connection and compile it once per
process. Measured: the cold start's p99 is 1.5–2× the warm runs', and the warm spread run's p99 is
still over its goal (so the cold start was not what kept it there).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

import asyncpg
import httpx

from bench.harness import (
    ROOT,
    CpuMeter,
    Server,
    WrkResult,
    boxed_variants,
    cpu_seconds_by_pid,
    descendants,
    running_server,
    wrk,
    wrk_available,
)
from bench.stock import receive_from_grower, token

SCRIPT = ROOT / "bench" / "lua" / "orders.lua"
WEB_WORKERS = 2
GOAL_ORDERS_PER_SECOND = 160
GOAL_P99_MS = 250
SPREAD_SECONDS = 12
HOT_SECONDS = 8
SELL_OUT_SECONDS = 5
WARM_UP_SECONDS = 3


def _cpu_seconds(pids: list[int]) -> float:
    return sum(cpu_seconds_by_pid(pids).values())


def _celery_pids(server: Server) -> list[int]:
    pids = []
    for pid in descendants(server.process.pid):
        try:
            if b"worker" in Path(f"/proc/{pid}/cmdline").read_bytes():
                pids.append(pid)
        except FileNotFoundError:
            continue
    return pids


async def _prepare(base_url: str, sell_out_units: int) -> tuple[list[str], str, str, list[str], dict[str, str]]:
    """Stock for every boxed supply SKU but one (received now, plenty), that one left with exactly
    ``sell_out_units`` available; the open stations."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        admin = await token(client)
        products = (await client.get("/api/v1/products")).json()
        (sell_out_product, sell_out), *stocked = boxed_variants(products)
        for product, variant in stocked:
            await receive_from_grower(client, admin, product["slug"], variant["sku"], 100_000)
        available = await _available(client, admin, sell_out["sku"])
        if available < sell_out_units:
            missing = sell_out_units - available
            await receive_from_grower(client, admin, sell_out_product["slug"], sell_out["sku"], missing)
        stations = [s["code"] for s in (await client.get("/api/v1/stations")).json()]
        return [v["sku"] for _, v in stocked], stocked[0][1]["sku"], sell_out["sku"], stations, admin


async def _available(client: httpx.AsyncClient, admin: dict[str, str], sku: str) -> int:
    """Units of ``sku`` on hand and not held, over every location (only the warehouse's move here)."""
    rows = (await client.get(f"/api/v1/admin/stock?sku={sku}", headers=admin)).json()["rows"]
    return int(sum(Decimal(r["available"]) for r in rows))


async def _ledger_agrees(client: httpx.AsyncClient, admin: dict[str, str], skus: list[str]) -> None:
    for sku in skus:
        for row in (await client.get(f"/api/v1/admin/stock?sku={sku}", headers=admin)).json()["rows"]:
            assert Decimal(row["reserved"]) <= Decimal(row["on_hand"]), f"oversold: {row}"


def _run(
    server: Server, label: str, skus: list[str], stations: list[str], seconds: int, workdir: Path
) -> tuple[WrkResult, dict[int, int], float, float, float]:
    out = workdir / f"{label}.counts"
    web, celery = server.worker_pids(), _celery_pids(server)
    web_before, celery_before = _cpu_seconds(web), _cpu_seconds(celery)
    postgres = CpuMeter(server.postgres_pids)
    result = wrk(
        server.base_url,
        "/api/v1/orders",
        label=label,
        connections=16,
        seconds=seconds,
        script=SCRIPT,
        env={"SKUS": ",".join(skus), "STATIONS": ",".join(stations), "TAG": uuid.uuid4().hex[:8], "OUT": str(out)},
    )
    counts = {int(k): int(v) for k, v in (line.split("=") for line in out.read_text().split())}
    ok = counts.get(201, 0) or 1
    web_ms = (_cpu_seconds(web) - web_before) * 1000 / ok
    celery_ms = (_cpu_seconds(celery) - celery_before) * 1000 / ok
    return result, counts, web_ms, celery_ms, postgres.seconds() * 1000 / ok


async def _orders_of(database_url: str, sku: str) -> int:
    connection = await asyncpg.connect(database_url)
    try:
        return int(await connection.fetchval("SELECT count(*) FROM order_lines WHERE sku = $1", sku))
    finally:
        await connection.close()


async def _wait_for_outbox(database_url: str, give_up_after: float = 180.0) -> tuple[int, float]:
    """(messages still unprocessed, seconds waited) once the outbox is empty or the time is up."""
    started = time.monotonic()
    connection = await asyncpg.connect(database_url)
    try:
        while True:
            left = await connection.fetchval("SELECT count(*) FROM outbox_messages WHERE processed_at IS NULL")
            waited = time.monotonic() - started
            if left == 0 or waited > give_up_after:
                return int(left), waited
            await asyncio.sleep(0.5)
    finally:
        await connection.close()


def _embedded_url(data_dir: Path) -> str:
    from app.db import start_embedded_postgres

    return start_embedded_postgres(data_dir / "pg").replace("postgresql+asyncpg://", "postgresql://")


def main() -> None:
    if not wrk_available():
        print("== orders: skipped — wrk is not installed (apt-get install wrk) ==")
        return
    sell_out_units = 60
    with tempfile.TemporaryDirectory(prefix="np-bench-orders-") as tmp:
        data = Path(tmp) / "data"
        with running_server(data, seed_first=True, workers=WEB_WORKERS, with_worker=True) as server:
            skus, hot, sell_out, stations, admin = asyncio.run(_prepare(server.base_url, sell_out_units))
            print(
                f"== orders: pay-at-pickup shop orders, {WEB_WORKERS} web workers + the Celery worker, "
                f"wrk at concurrency 16 ({os.cpu_count()} cores shared by all) =="
            )
            cold, cold_counts, *_ = _run(server, "warm-up", skus, stations, WARM_UP_SECONDS, Path(tmp))
            print(
                f"cold start (a {WARM_UP_SECONDS} s warm-up of spread orders, not counted below): "
                f"{cold_counts.get(201, 0) / WARM_UP_SECONDS:.1f} orders/s, p99 {cold.p99_ms:.0f} ms"
            )
            for label, wanted, seconds in (
                (f"spread ({len(skus)} SKUs × {len(stations)} stations)", skus, SPREAD_SECONDS),
                (f"one hot SKU ({hot})", [hot], HOT_SECONDS),
            ):
                result, counts, web_ms, celery_ms, pg_ms = _run(server, label, wanted, stations, seconds, Path(tmp))
                placed = counts.get(201, 0)
                rate = placed / seconds
                print(result.line())
                print(
                    f"    placed {placed} ({rate:.1f} orders/s; goal ≥ {GOAL_ORDERS_PER_SECOND}: "
                    f"{rate / GOAL_ORDERS_PER_SECOND:.2f}×), p99 {result.p99_ms:.0f} ms (goal ≤ {GOAL_P99_MS}: "
                    f"{'met' if result.p99_ms <= GOAL_P99_MS else 'not met'}), answers {dict(sorted(counts.items()))}"
                )
                print(
                    f"    CPU per order: web workers {web_ms:.1f} ms, Celery worker {celery_ms:.1f} ms, "
                    f"PostgreSQL {pg_ms:.1f} ms"
                )

            database_url = _embedded_url(data)

            async def sold_out() -> tuple[int, int, int, int]:
                async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
                    before = await _available(client, admin, sell_out)
                    result, counts, _, _, _ = _run(
                        server, f"sell-out ({sell_out})", [sell_out], stations, SELL_OUT_SECONDS, Path(tmp)
                    )
                    after = await _available(client, admin, sell_out)
                    await _ledger_agrees(client, admin, [*skus, sell_out])
                    print(result.line())
                    # From the database: wrk does not see the answers still in flight when it stops.
                    placed = await _orders_of(database_url, sell_out)
                    refused = counts.get(409, 0)
                    one_more = await client.post(
                        "/api/v1/orders",
                        headers={"Idempotency-Key": uuid.uuid4().hex},
                        json={
                            "lines": [{"sku": sell_out, "quantity": "1"}],
                            "delivery": {"method": "station_pickup", "station_code": stations[0]},
                            "contact": {"name": "压测", "phone": "13800138000"},
                            "payment_method": "pay_at_pickup",
                        },
                    )
                    refused += one_more.status_code == 409
                    # Every unit the shop could sell went to exactly one order, and no more: the
                    # stock fell by what was placed, then everything else was refused.
                    assert placed == before - after and refused > 0, f"{before} → {after} available, {counts}"
                    assert set(counts) <= {201, 409}, counts
                    return before, after, placed, refused

            before, after, placed, refused = asyncio.run(sold_out())
            print(
                f"    zero oversell: {before} units available → {after} ({placed} orders placed = the stock's fall; "
                f"{refused} refused with 409 once sold out, one more after the run); reserved ≤ on hand on every SKU"
            )
            left, waited = asyncio.run(_wait_for_outbox(database_url))
            print(
                f"outbox after the load: {'drained' if left == 0 else f'{left} messages still waiting'} "
                f"{waited:.1f} s after the last order (every order's notice processed by the worker)"
            )
            print(f"web worker peak RSS (VmHWM): {server.peak_rss_of_workers_mib():.0f} MiB   (goal ≤ 150)")


if __name__ == "__main__":
    main()
