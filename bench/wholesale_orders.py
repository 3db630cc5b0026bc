"""Issue 13: a quick order of 10 supply SKUs through the wholesale JSON API — p50 / p99 at
concurrency 8 and orders placed per second — on a real server with its own embedded PostgreSQL and
the demo data (the demo buyer's company: net 30, its Guangzhou address, the Tue/Thu/Sat truck).

Every order is checked line by line, priced from the company's list, booked on a trip (the next
one with room when a trip fills) and holds its stock FEFO with the 60 % shelf-life rule; orders
beyond the credit limit are placed and held for approval (counted apart)."""

from __future__ import annotations

import asyncio
import re
import statistics
import tempfile
import time
import uuid
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import httpx

from bench.harness import grower_of, running_server

CONCURRENCY = 8
ORDERS = 160
LINES = 10


async def _stock_every_supply_sku(client: httpx.AsyncClient, admin: dict[str, str], skus: list[str]) -> None:
    """A large fresh lot of each SKU (its best-before far enough for the 60 % rule of any shelf
    life), so stock never decides the figures."""
    products = (await client.get("/api/v1/admin/products", headers=admin)).json()
    product_of = {v["sku"]: p["slug"] for p in products for v in p["variants"]}
    for sku in skus:
        received = await client.post(
            "/api/v1/admin/lots",
            headers=admin,
            json={
                "sku": sku,
                "supplier_code": await grower_of(client, admin, product_of[sku]),
                "quantity": "1000000",
                "harvest_date": date.today().isoformat(),
                "best_before": (date.today() + timedelta(days=700)).isoformat(),  # ≥ 60 % of any shelf life
            },
        )
        received.raise_for_status()


async def _a_daily_truck_with_room(base_url: str, city: str, code: str = "BENCH") -> None:
    """A daily route to the buyer's city with the largest room the console accepts (100 t, 20,000
    cases), added through the ops console's form before any trip of the city exists: the demo
    trucks (400 cases, three a week) fill after 18 of these orders, and a full trip would measure
    the refusal, not the placement."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60, follow_redirects=False) as console:

        async def csrf(path: str) -> str:
            page = (await console.get(path)).text
            return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]

        token = await csrf("/login")
        await console.post("/login", data={"username": "admin", "password": "demo1234", "csrf_token": token})
        token = await csrf("/admin/wholesale/routes")
        created = await console.post(
            "/admin/wholesale/routes",
            data={
                "csrf_token": token,
                "code": code,
                "name": "压测日班车",
                "cities": city,
                "weekdays": [str(d) for d in range(1, 8)],
                "cutoff_time": "23:59",
                "cutoff_days_before": "1",
                "capacity_kg": "100000",
                "capacity_cases": "20000",
                "is_active": "on",
            },
        )
        if created.status_code != 303:
            problems = re.findall(r'class="[^"]*err[^"]*"[^>]*>([^<]+)', created.text)
            raise RuntimeError(f"route not created: {created.status_code} {problems}")


async def run(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:

        async def bearer(username: str) -> dict[str, str]:
            reply = await client.post("/api/v1/auth/token", data={"username": username, "password": "demo1234"})
            reply.raise_for_status()
            return {"Authorization": f"Bearer {reply.json()['access_token']}"}

        admin, buyer = await bearer("admin"), await bearer("buyer")
        company = (await client.get("/api/v1/wholesale/company", headers=buyer)).json()
        address = company["delivery_addresses"][0]
        await _a_daily_truck_with_room(base_url, address["city"])
        catalog = (await client.get("/api/v1/wholesale/catalog", headers=buyer)).json()
        await _stock_every_supply_sku(client, admin, [item["sku"] for item in catalog])
        address_id = address["id"]
        # One case of each SKU, or its minimum in whole cases: the smallest basket that passes.
        lines = [
            {"sku": item["sku"], "cases": max(1, -(-int(Decimal(item["min_quantity"])) // item["case_pack"]))}
            for item in catalog[:LINES]
        ]

        tag = uuid.uuid4().hex[:6]
        todo = iter(range(ORDERS))
        latencies: list[float] = []
        outcomes: Counter[str] = Counter()

        async def worker() -> None:
            async with httpx.AsyncClient(base_url=base_url, timeout=60, headers=buyer) as own:
                for i in todo:
                    started = time.perf_counter()
                    reply = await own.post(
                        "/api/v1/wholesale/orders",
                        headers={"Idempotency-Key": f"{tag}-{i}"},
                        json={"lines": lines, "address_id": address_id},
                    )
                    latencies.append((time.perf_counter() - started) * 1000)
                    if reply.status_code != 201:
                        body = reply.json()
                        codes = sorted({line.get("code", "") for line in (body.get("detail") or {}).get("lines", [])})
                        outcomes[f"refused {reply.status_code} {body.get('error')} {'/'.join(codes)}".strip()] += 1
                    else:
                        outcomes[reply.json().get("credit_state") or "placed"] += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
        latencies.sort()
        print(f"== wholesale: quick order of {len(lines)} lines (JSON API, HTTP, concurrency {CONCURRENCY}) ==")
        print(
            f"{ORDERS / elapsed:.1f} orders/s   p50 {statistics.median(latencies):.1f} ms   "
            f"p99 {latencies[int(0.99 * len(latencies)) - 1]:.1f} ms   ({ORDERS} orders, one uvicorn worker)"
        )
        print("outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="np-bench-wholesale-") as tmp:
        with running_server(Path(tmp) / "data") as server:
            asyncio.run(run(server.base_url))


if __name__ == "__main__":
    main()
