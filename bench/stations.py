"""Issue 15, item 2: PDA scan-in and handover calls per second on ONE station with two uvicorn
workers (goal ≥ 200 calls/s each, p99 ≤ 100 ms at 16 connections), the PDA shelf list (p99 ≤ 50 ms),
and the time to render a batch of 300 parcel labels (issue 5).

Set-up, through the API except the station's shelf size: the demo operator's station gets room for
several thousand parcels (a direct UPDATE before any order is placed, as the station console's
form would do; its limit is 5,000), that many pay-at-pickup orders are placed to it at concurrency
16, the route's run is planned and dispatched. Then wrk (a C load generator: the client costs little
of the two cores) drives ``bench/lua/pda.lua``: each request a different parcel, an
``Idempotency-Key`` per parcel, non-2xx answers counted (they must be 0). The handover uses the
pickup code the customer was given (read from the database, as the customer would read the SMS).
Afterwards the database must show as many parcels moved as wrk sent.

``BENCH_PDA_PARCELS`` (default 4000) and ``BENCH_PDA_SECONDS`` (default 10) size the runs;
``BENCH_PDA_PROFILE=1`` records a py-spy profile of each loaded worker per call (raw flame-graph
input next to the bench's temporary directory is printed).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.db import start_embedded_postgres
from app.stations.labels import ParcelLabel, parcel_label_pdf
from bench.harness import ROOT, CpuMeter, Server, WrkResult, grower_of, running_server, wrk

CONNECTIONS = 16
PARCELS = int(os.environ.get("BENCH_PDA_PARCELS", "4000"))
SECONDS = int(os.environ.get("BENCH_PDA_SECONDS", "10"))
PROFILE = os.environ.get("BENCH_PDA_PROFILE") == "1"
SHELF_PARCELS = 200  # what a station's shelf holds when the shelf list is read (the demonstration station's size)
CALL_GOAL_RPS = 200.0
CALL_GOAL_P99_MS = 100.0
SHELF_GOAL_P99_MS = 50.0
LUA = ROOT / "bench" / "lua" / "pda.lua"


async def token(client: httpx.AsyncClient, username: str) -> str:
    response = await client.post("/api/v1/auth/token", data={"username": username, "password": "demo1234"})
    response.raise_for_status()
    return str(response.json()["access_token"])


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (other benches use it for their own timings)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bearer(access: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access}"}


async def place_orders(client: httpx.AsyncClient, sku: str, quantity: str, station_code: str, count: int) -> int:
    """``count`` pay-at-pickup orders to the station, 16 at a time; how many went there."""
    numbers = iter(range(count))
    placed_here = 0

    async def worker() -> None:
        nonlocal placed_here
        for i in numbers:
            placed = await client.post(
                "/api/v1/orders",
                headers={"Idempotency-Key": f"bench-pda-{i}"},
                json={
                    "lines": [{"sku": sku, "quantity": quantity}],
                    "delivery": {"method": "station_pickup", "station_code": station_code},
                    "contact": {"name": "压测", "phone": f"138{i:08d}"},
                    "payment_method": "pay_at_pickup",
                },
            )
            if placed.status_code != 201:
                raise RuntimeError(f"order {i}: {placed.status_code} {placed.text}")
            placed_here += placed.json()["station"]["code"] == station_code

    await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
    return placed_here


async def set_up(base_url: str, database_url: str, tmp: Path) -> tuple[str, str, Path]:
    """The operator's token, its station's code, and the file of its dispatched tracking numbers."""
    engine = create_async_engine(database_url)
    async with httpx.AsyncClient(base_url=base_url, timeout=600) as client:
        admin = bearer(await token(client, "admin"))
        operator = await token(client, "operator")
        me = (await client.get("/api/v1/auth/me", headers=bearer(operator))).json()
        async with engine.begin() as conn:
            station_code = (
                await conn.execute(
                    text(
                        "UPDATE stations SET shelf_capacity = 5000, shelves = 20, layers_per_shelf = 10"
                        " WHERE id = :id RETURNING code"
                    ),
                    {"id": me["station_id"]},
                )
            ).scalar_one()
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
                    "quantity": "1000000",
                    "harvest_date": date.today().isoformat(),
                    "best_before": (date.today() + timedelta(days=60)).isoformat(),
                },
            )
        ).raise_for_status()
        started = time.perf_counter()
        here = await place_orders(client, variant["sku"], str(variant["price"]["min_quantity"]), station_code, PARCELS)
        placed_s = time.perf_counter() - started
        started = time.perf_counter()
        planned = await client.post(
            "/api/v1/admin/runs",
            headers=admin,
            json={"route_code": await route_of(client, admin, station_code), "run_date": date.today().isoformat()},
        )
        planned.raise_for_status()
        run_number = planned.json()["number"]
        dispatched = await client.post(f"/api/v1/admin/runs/{run_number}/dispatch", headers=admin)
        dispatched.raise_for_status()
        mine = [
            p["tracking_number"]
            for p in dispatched.json()["parcels"]
            if p["station_code"] == station_code and p["status"] == "dispatched"
        ]
        print(
            f"set-up: {PARCELS} pay-at-pickup orders placed in {placed_s:.1f} s ({here} to {station_code}), "
            f"run {run_number} planned and dispatched in {time.perf_counter() - started:.1f} s: "
            f"{len(mine)} parcels on the way to {station_code}"
        )
    await engine.dispose()
    scans = tmp / "scan-in.txt"
    scans.write_text("".join(f"{number}\n" for number in mine))
    return operator, station_code, scans


async def route_of(client: httpx.AsyncClient, headers: dict[str, str], station_code: str) -> str:
    """The delivery route that serves the station."""
    response = await client.get("/api/v1/admin/routes", headers=headers)
    response.raise_for_status()
    for route in response.json():
        if station_code in route["stops"]:
            return str(route["code"])
    raise RuntimeError(f"no delivery route serves {station_code}")


async def parcels_in(database_url: str, station_code: str, status: str) -> list[tuple[str, str | None, str | None]]:
    """(tracking number, shelf slot, secret) of the station's parcels in ``status``, oldest first."""
    engine = create_async_engine(database_url)
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT p.tracking_number, p.shelf_slot, p.pickup_code FROM parcels p"
                " JOIN stations s ON s.id = p.station_id"
                " WHERE s.code = :code AND p.status = CAST(:status AS parcel_status) ORDER BY p.id"
            ),
            {"code": station_code, "status": status},
        )
        found = [(r[0], r[1], r[2]) for r in rows]
    await engine.dispose()
    return found


def pda_calls(server: Server, label: str, path: str, access: str, parcels: Path, tmp: Path) -> WrkResult:
    """wrk over the parcels in ``parcels``, each once; a py-spy profile of a worker when asked."""
    profilers: list[tuple[Path, subprocess.Popen[bytes]]] = []
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if PROFILE and Path(spy).exists():
        for pid in server.worker_pids():
            out = tmp.parent / f"pda-{label}-{pid}.raw"
            argv = [spy, "record", "-p", str(pid), "-d", str(max(SECONDS - 3, 3)), "-r", "200", "-f", "raw"]
            profilers.append((out, subprocess.Popen([*argv, "-o", str(out), "--nonblocking"], stdout=subprocess.PIPE)))
    web, postgres = CpuMeter(server.worker_pids), CpuMeter(server.postgres_pids)
    result = wrk(
        server.base_url,
        path,
        label=label,
        connections=CONNECTIONS,
        seconds=SECONDS,
        script=LUA,
        env={"PDA_FILE": str(parcels), "PDA_PATH": path, "PDA_TOKEN": access, "PDA_THREADS": "2"},
    )
    calls = result.requests or 1
    print(
        f"  {label}: CPU per call: web workers {web.seconds() * 1000 / calls:.1f} ms, "
        f"PostgreSQL {postgres.seconds() * 1000 / calls:.1f} ms"
    )
    for out, profiler in profilers:
        profiler.wait()
        print(f"  py-spy profile of a worker: {out} ({out.stat().st_size if out.exists() else 0} bytes)")
    return result


def goal_line(result: WrkResult, rps_goal: float | None, p99_goal: float, unit: str = "calls/s") -> str:
    rate = f"{result.label:<10} {result.rps:7.1f} {unit}"
    if rps_goal is not None:
        rate += f" (goal ≥ {rps_goal:.0f}: {result.rps / rps_goal:.2f}×)"
    return (
        f"{rate}   p50 {result.p50_ms:6.1f} ms   p99 {result.p99_ms:6.1f} ms (goal ≤ {p99_goal:.0f}: "
        f"{'met' if result.requests and not result.errors and result.p99_ms <= p99_goal else 'missed'})"
        f"   {result.requests} requests, "
        f"{result.non_2xx} non-2xx, {result.errors} socket errors"
    )


async def moved(database_url: str, station_code: str, status: str) -> int:
    return len(await parcels_in(database_url, station_code, status))


def run(server: Server, database_url: str, tmp: Path) -> None:
    operator, station_code, scans = asyncio.run(set_up(server.base_url, database_url, tmp))
    print(f"== stations: PDA calls on one station ({station_code}), 2 workers, wrk at {CONNECTIONS} connections ==")
    scan = pda_calls(server, "scan-in", "/api/v1/pda/scan-in", operator, scans, tmp)
    on_shelf = asyncio.run(parcels_in(database_url, station_code, "at_station"))
    print(goal_line(scan, CALL_GOAL_RPS, CALL_GOAL_P99_MS) + f"   ({len(on_shelf)} parcels now on the shelf)")
    # Hand over all but SHELF_PARCELS, so the shelf list then reads a full demonstration shelf.
    handovers = tmp / "handover.txt"
    to_hand = on_shelf[: max(0, len(on_shelf) - SHELF_PARCELS)]
    handovers.write_text("".join(f"{number} {slot}-{secret}\n" for number, slot, secret in to_hand))
    hand = pda_calls(server, "handover", "/api/v1/pda/handover", operator, handovers, tmp)
    handed = asyncio.run(moved(database_url, station_code, "handed_over"))
    paid = f"   (pay at pickup, cash collected; {handed} handed over)"
    print(goal_line(hand, CALL_GOAL_RPS, CALL_GOAL_P99_MS) + paid)
    left = asyncio.run(moved(database_url, station_code, "at_station"))
    shelf = wrk(
        server.base_url,
        "/api/v1/pda/shelf",
        label="shelf list",
        connections=CONNECTIONS,
        seconds=SECONDS,
        headers={"Authorization": f"Bearer {operator}"},
    )
    print(goal_line(shelf, None, SHELF_GOAL_P99_MS, unit="req/s") + f"   ({left} parcels on the shelf)")
    if scan.non_2xx or hand.non_2xx or shelf.non_2xx:
        raise SystemExit("PDA calls answered non-2xx: see the wrk lines above")
    if len(on_shelf) < scan.requests - 2 or handed < hand.requests - 2:
        raise SystemExit(f"the database moved fewer parcels than wrk sent: {len(on_shelf)}, {handed}")


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
    with tempfile.TemporaryDirectory(prefix="np-bench-st-") as name:
        tmp = Path(name)
        with running_server(tmp / "data", workers=2, seed_first=True) as server:
            # The server's own embedded PostgreSQL (reused, not a second one): for the set-up's
            # shelf size, the pickup codes and the check that wrk's calls moved the parcels.
            database_url = start_embedded_postgres(tmp / "data" / "pg")
            run(server, database_url, tmp)


if __name__ == "__main__":
    main()
