"""Issue 5: PDA scan-in and handover calls per second on one station (p99), and the time to render
a batch of 300 parcel labels."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import httpx

from app.stations.labels import ParcelLabel, parcel_label_pdf
from bench.harness import grower_of, running_server

CONCURRENCY = 8
PARCELS = 300


async def token(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    response = await client.post("/api/v1/auth/token", data={"username": username, "password": "demo1234"})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def timed_calls(
    calls: list[tuple[str, dict[str, object], dict[str, str]]], client: httpx.AsyncClient
) -> tuple[float, list[float], list[httpx.Response]]:
    queue = iter(calls)
    latencies: list[float] = []
    responses: list[httpx.Response] = []

    async def worker() -> None:
        for path, body, headers in queue:
            started = time.perf_counter()
            response = await client.post(path, json=body, headers=headers)
            latencies.append((time.perf_counter() - started) * 1000)
            responses.append(response)
            if response.status_code != 200:
                raise RuntimeError(f"{path}: {response.status_code} {response.text}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return len(calls) / (time.perf_counter() - started), latencies, responses


async def run(base_url: str) -> None:
    limits = httpx.Limits(max_connections=CONCURRENCY + 4)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:
        admin = await token(client, "admin")
        operator = await token(client, "operator")
        me = (await client.get("/api/v1/auth/me", headers=operator)).json()
        stations = (await client.get("/api/v1/stations")).json()
        station_code = (
            next(s["code"] for s in stations if s["code"] == "ST-TP-01")
            if any(s["code"] == "ST-TP-01" for s in stations)
            else stations[0]["code"]
        )
        products = (await client.get("/api/v1/products")).json()
        product, variant = next(
            (p, v) for p in products for v in p["variants"] if v["unit"] in ("box", "piece") and v["price"]
        )
        supplier = await grower_of(client, admin, product["slug"])
        (
            await client.post(
                "/api/v1/admin/lots",
                headers=admin,
                json={
                    "sku": variant["sku"],
                    "supplier_code": supplier,
                    "quantity": "100000",
                    "harvest_date": date.today().isoformat(),
                    "best_before": (date.today() + timedelta(days=60)).isoformat(),
                },
            )
        ).raise_for_status()
        # Make room: the demo station holds a few hundred parcels at most.
        numbers = []
        for i in range(PARCELS):
            placed = await client.post(
                "/api/v1/orders",
                headers={"Idempotency-Key": f"bench-st-{i}"},
                json={
                    "lines": [{"sku": variant["sku"], "quantity": str(variant["price"]["min_quantity"])}],
                    "delivery": {"method": "station_pickup", "station_code": station_code},
                    "contact": {"name": "压测", "phone": "13800138000"},
                    "payment_method": "pay_at_pickup",
                },
            )
            placed.raise_for_status()
            if placed.json()["station"]["code"] == station_code:
                numbers.append(placed.json()["number"])
        routes = await client.post(
            "/api/v1/admin/runs",
            headers=admin,
            json={"route_code": await route_of(client, admin, station_code), "run_date": date.today().isoformat()},
        )
        routes.raise_for_status()
        run_number = routes.json()["number"]
        (await client.post(f"/api/v1/admin/runs/{run_number}/dispatch", headers=admin)).raise_for_status()
        mine = [p for p in routes.json()["parcels"] if p["station_code"] == station_code]
        scans = [
            (
                "/api/v1/pda/scan-in",
                {"tracking_number": p["tracking_number"]},
                {**operator, "Idempotency-Key": f"scan-{p['tracking_number']}"},
            )
            for p in mine
        ]
        scan_rate, scan_ms, scanned = await timed_calls(scans, client)
        handovers = [
            (
                "/api/v1/pda/handover",
                {
                    "tracking_number": r.json()["tracking_number"],
                    "pickup_code": r.json()["pickup_code"],
                    "collect_method": "cash",
                },
                {**operator, "Idempotency-Key": f"hand-{r.json()['tracking_number']}"},
            )
            for r in scanned
        ]
        hand_rate, hand_ms, _ = await timed_calls(handovers, client)
        print(f"== stations: PDA calls on one station ({station_code}), HTTP, concurrency {CONCURRENCY} ==")
        print(
            f"scan-in    {scan_rate:7.1f} calls/s   p50 {statistics.median(scan_ms):6.1f} ms   "
            f"p99 {pct(scan_ms, 0.99):6.1f} ms   ({len(scans)} parcels; operator {me['username']})"
        )
        print(
            f"handover   {hand_rate:7.1f} calls/s   p50 {statistics.median(hand_ms):6.1f} ms   "
            f"p99 {pct(hand_ms, 0.99):6.1f} ms   (pay at pickup, cash collected)"
        )
        del numbers


async def route_of(client: httpx.AsyncClient, headers: dict[str, str], station_code: str) -> str:
    """The delivery route that serves the station."""
    response = await client.get("/api/v1/admin/routes", headers=headers)
    response.raise_for_status()
    for route in response.json():
        if station_code in route["stops"]:
            return str(route["code"])
    raise RuntimeError(f"no delivery route serves {station_code}")


def label_batch() -> None:
    labels = [
        ParcelLabel(
            tracking_number=f"NPP261129{i:07d}",
            order_number=f"NP261129{i:06d}",
            station_code="ST-TP-01",
            station_name="太平镇东湖坪村电商服务站",
            township="太平镇",
            village="东湖坪村",
            route_code="RT-05",
            route_name="城区线",
            stop_position=3,
            stop_count=7,
            recipient="李**",
            phone_last4="8000",
            line_count=2,
            items=("始兴枇杷 一级 5 千克 ×2 箱", "始兴香芋 1.235 千克"),
            amount_due_minor=15885,
            currency="CNY",
            dispatch_date=date.today(),
            status_url=f"http://127.0.0.1:8000/p/NPP261129{i:07d}",
        )
        for i in range(300)
    ]
    parcel_label_pdf(labels[:1])  # font registration and imports out of the timing
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        pdf = parcel_label_pdf(labels)
        timings.append(time.perf_counter() - started)
    print("== stations: parcel labels 100 × 150 mm ==")
    print(f"300 labels rendered in {min(timings):.2f} s (best of 3; {len(pdf) / 1024:.0f} KB PDF)")


def main() -> None:
    label_batch()
    with tempfile.TemporaryDirectory(prefix="np-bench-st-") as tmp:
        with running_server(Path(tmp) / "data") as server:
            asyncio.run(run(server.base_url))


if __name__ == "__main__":
    main()
