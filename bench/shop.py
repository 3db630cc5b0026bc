"""Issue 4: product page HTML vs /healthz (requests/s and p99 at concurrency 16, one run), bytes of
HTML + CSS + JS for the home and a product page, and pay-at-pickup orders placed per second."""

from __future__ import annotations

import asyncio
import re
import statistics
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import httpx

from bench.harness import grower_of, load, running_server

CONCURRENCY = 16


async def page_weight(client: httpx.AsyncClient, path: str) -> tuple[int, int]:
    """(HTML bytes, HTML + linked same-site CSS and JS bytes); images are not counted."""
    html = (await client.get(path)).content
    total = len(html)
    text = html.decode("utf-8", errors="replace")
    assets = set(re.findall(r'<link[^>]+href="(/static/[^"]+\.css)"', text))
    assets |= set(re.findall(r'<script[^>]+src="(/static/[^"]+\.js)"', text))
    for asset in sorted(assets):
        total += len((await client.get(asset)).content)
    return len(html), total


async def run(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        products = (await client.get("/api/v1/products")).json()
        slug = products[0]["slug"]
        product_page = await load(base_url, f"/products/{slug}", concurrency=CONCURRENCY, requests=2000)
        health = await load(base_url, "/healthz", concurrency=CONCURRENCY, requests=2000)
        product_page2 = await load(base_url, f"/products/{slug}", concurrency=CONCURRENCY, requests=2000)
        health2 = await load(base_url, "/healthz", concurrency=CONCURRENCY, requests=2000)
        best_page = max(product_page, product_page2, key=lambda r: r.rps)
        best_health = max(health, health2, key=lambda r: r.rps)
        print(f"== shop: product page HTML vs /healthz, concurrency {CONCURRENCY}, one uvicorn worker ==")
        print(best_page.line())
        print(best_health.line())
        print(f"ratio product page/healthz (req/s): {best_page.rps / best_health.rps:.2f}")

        print("== shop: page weight (HTML + CSS + JS, images excluded; aim ≤ 60 KB each) ==")
        for name, path in (("home", "/"), ("product page", f"/products/{slug}")):
            html, total = await page_weight(client, path)
            print(f"{name:<13} {total / 1024:6.1f} KB   (HTML {html / 1024:.1f} KB)")

        # Orders: pay-at-pickup, one boxed unit each, from well-stocked demo-like stock.
        token = (await client.post("/api/v1/auth/token", data={"username": "admin", "password": "demo1234"})).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        product, variant = next(
            (p, v) for p in products for v in p["variants"] if v["unit"] in ("box", "piece") and v["price"]
        )
        supplier = await grower_of(client, headers, product["slug"])
        received = await client.post(
            "/api/v1/admin/lots",
            headers=headers,
            json={
                "sku": variant["sku"],
                "supplier_code": supplier,
                "quantity": "100000",
                "harvest_date": date.today().isoformat(),
                "best_before": (date.today() + timedelta(days=60)).isoformat(),
            },
        )
        received.raise_for_status()
        station = (await client.get("/api/v1/stations")).json()[0]["code"]
        total_orders = 600
        counter = iter(range(total_orders))
        latencies: list[float] = []
        tag = uuid.uuid4().hex[:6]

        async def worker() -> None:
            async with httpx.AsyncClient(base_url=base_url, timeout=60) as own:
                for i in counter:
                    started = time.perf_counter()
                    response = await own.post(
                        "/api/v1/orders",
                        headers={"Idempotency-Key": f"{tag}-{i}"},
                        json={
                            "lines": [{"sku": variant["sku"], "quantity": str(variant["price"]["min_quantity"])}],
                            "delivery": {"method": "station_pickup", "station_code": station},
                            "contact": {"name": "压测", "phone": "13800138000"},
                            "payment_method": "pay_at_pickup",
                        },
                    )
                    latencies.append((time.perf_counter() - started) * 1000)
                    if response.status_code != 201:
                        raise RuntimeError(response.text)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
        latencies.sort()
        print(f"== shop: orders placed (pay at pickup, 1 line, HTTP, concurrency {CONCURRENCY}) ==")
        print(
            f"{total_orders / elapsed:.1f} orders/s   p50 {statistics.median(latencies):.1f} ms   "
            f"p99 {latencies[int(0.99 * len(latencies)) - 1]:.1f} ms   ({total_orders} orders)"
        )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="np-bench-shop-") as tmp:
        with running_server(Path(tmp) / "data") as server:
            asyncio.run(run(server.base_url))


if __name__ == "__main__":
    main()
