"""Issue 3: reservations per second on one hot variant vs spread over 50 variants (one run, zero
oversell checked), and FEFO allocation of a 10-line reservation over 200 lots (p50 / p99)."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import httpx

from bench.harness import grower_of, running_server

CONCURRENCY = 16
REQUESTS = 1500


async def token(client: httpx.AsyncClient, username: str = "admin") -> dict[str, str]:
    response = await client.post("/api/v1/auth/token", data={"username": username, "password": "demo1234"})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def make_variants(
    client: httpx.AsyncClient, headers: dict[str, str], tag: str, count: int, supplier: str
) -> list[str]:
    category = (await client.get("/api/v1/categories")).json()[0]["slug"]
    product = await client.post(
        "/api/v1/admin/products",
        headers=headers,
        json={
            "slug": f"bench-{tag}",
            "category_slug": category,
            "name_zh": "压测商品",
            "name_en": "Bench product",
            "origin_township": "太平镇",
            "shelf_life_days": 60,
            "supplier_code": supplier,  # its usual supplier, so registered as its grower
        },
    )
    product.raise_for_status()
    skus = []
    for i in range(count):
        sku = f"BENCH-{tag.upper()}-{i}"
        made = await client.post(
            f"/api/v1/admin/products/{product.json()['id']}/variants",
            headers=headers,
            json={"sku": sku, "name_zh": f"规格{i}", "name_en": f"v{i}", "unit": "piece"},
        )
        made.raise_for_status()
        skus.append(sku)
    return skus


async def receive_from_grower(
    client: httpx.AsyncClient, admin: dict[str, str], product_slug: str, sku: str, quantity: int
) -> None:
    """A lot of ``quantity`` units of ``sku`` from one of the product's growers, good for 60 days."""
    grower = await grower_of(client, admin, product_slug)
    await receive(client, admin, sku, grower, quantity, date.today() + timedelta(days=60))


async def receive(
    client: httpx.AsyncClient, headers: dict[str, str], sku: str, supplier: str, quantity: int, best_before: date
) -> None:
    response = await client.post(
        "/api/v1/admin/lots",
        headers=headers,
        json={
            "sku": sku,
            "supplier_code": supplier,
            "quantity": str(quantity),
            "harvest_date": (date.today() - timedelta(days=1)).isoformat(),
            "best_before": best_before.isoformat(),
        },
    )
    response.raise_for_status()


async def storm(client: httpx.AsyncClient, headers: dict[str, str], skus: list[str], tag: str) -> tuple[float, int]:
    """REQUESTS single-unit reservations from CONCURRENCY workers; request i takes skus[i % len]."""
    counter = iter(range(REQUESTS))
    ok = 0

    async def worker() -> None:
        nonlocal ok
        for i in counter:
            response = await client.post(
                "/api/v1/admin/reservations",
                headers=headers,
                json={
                    "reference": f"{tag}-{i}",
                    "lines": [{"sku": skus[i % len(skus)], "quantity": "1"}],
                    "ttl_minutes": 60,
                },
            )
            if response.status_code == 201:
                ok += 1
            elif response.status_code != 409:
                raise RuntimeError(response.text)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return REQUESTS / (time.perf_counter() - started), ok


async def check_no_oversell(client: httpx.AsyncClient, headers: dict[str, str], skus: list[str]) -> Decimal:
    reserved = Decimal(0)
    for sku in skus:
        stock = (await client.get(f"/api/v1/admin/stock?sku={sku}", headers=headers)).json()
        for row in stock["rows"]:
            assert Decimal(row["reserved"]) <= Decimal(row["on_hand"]), row
            reserved += Decimal(row["reserved"])
    return reserved


async def run(base_url: str) -> None:
    limits = httpx.Limits(max_connections=CONCURRENCY + 4)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:
        headers = await token(client)
        supplier = (await client.get("/api/v1/admin/suppliers", headers=headers)).json()[0]["code"]
        tag = uuid.uuid4().hex[:5]
        hot = await make_variants(client, headers, tag + "h", 1, supplier)
        spread = await make_variants(client, headers, tag + "s", 50, supplier)
        far = date.today() + timedelta(days=50)
        await receive(client, headers, hot[0], supplier, 1_000_000, far)
        for sku in spread:
            await receive(client, headers, sku, supplier, 100_000, far)

        results: dict[str, list[float]] = {"hot": [], "spread": []}
        successes = {"hot": 0, "spread": 0}
        for round_ in range(2):  # alternate so machine noise hits both alike
            for name, skus in (("hot", hot), ("spread", spread)):
                rate, ok = await storm(client, headers, skus, f"{tag}-{name}-{round_}")
                results[name].append(rate)
                successes[name] += ok
        hot_reserved = await check_no_oversell(client, headers, hot)
        spread_reserved = await check_no_oversell(client, headers, spread)
        assert hot_reserved == successes["hot"] and spread_reserved == successes["spread"], "ledger mismatch"
        best_hot, best_spread = max(results["hot"]), max(results["spread"])
        print(f"== stock: reservations (1 unit each, HTTP, concurrency {CONCURRENCY}, {REQUESTS} per round) ==")
        print(
            f"one hot variant        {best_hot:8.1f} req/s   (rounds: {', '.join(f'{r:.1f}' for r in results['hot'])})"
        )
        print(
            f"spread over 50 variants {best_spread:7.1f} req/s   "
            f"(rounds: {', '.join(f'{r:.1f}' for r in results['spread'])})"
        )
        print(f"ratio hot/spread: {best_hot / best_spread:.2f}   (aim ≥ 0.7)")
        print(
            f"oversell: none (hot reserved {hot_reserved} = successes {successes['hot']}, "
            f"spread reserved {spread_reserved} = successes {successes['spread']}, reserved ≤ on hand everywhere)"
        )

        # FEFO: 10 variants × 20 lots each = 200 lots; every reservation spans two lots per line.
        fefo = await make_variants(client, headers, tag + "f", 10, supplier)
        for sku in fefo:
            for d in range(20):
                await receive(client, headers, sku, supplier, 1000, date.today() + timedelta(days=5 + d))
        latencies = []
        for i in range(200):
            reference = f"{tag}-fefo-{i}"
            started = time.perf_counter()
            response = await client.post(
                "/api/v1/admin/reservations",
                headers=headers,
                json={"reference": reference, "lines": [{"sku": sku, "quantity": "1500"} for sku in fefo]},
            )
            latencies.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 201, response.text
            assert len(response.json()["lines"]) == 20  # 2 lots per line, earliest best-before first
            released = await client.post(f"/api/v1/admin/reservations/{reference}/release", headers=headers)
            assert released.status_code == 200
        latencies.sort()
        print("== stock: FEFO allocation, 10-line reservation over 200 lots (HTTP round trip, sequential) ==")
        print(
            f"p50 {statistics.median(latencies):.1f} ms   p99 {latencies[int(0.99 * len(latencies)) - 1]:.1f} ms"
            f"   ({len(latencies)} reservations, each released again)"
        )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="np-bench-stock-") as tmp:
        with running_server(Path(tmp) / "data") as server:
            asyncio.run(run(server.base_url))


if __name__ == "__main__":
    main()
