"""Issues 14 and 15: tills' queues of offline sales uploaded when the network returns, in batches of
50 (the till's own ``MAX_OPS``, ``POST /api/v1/pos/sync``), against ``app serve --workers 2``.

Several tills of STORE-01 (the demo's T1 and more added through the ops console, each enrolled
with a one-time code and signed in by the demo clerk) upload at once, each its own queue in order,
one batch after the other — as tills coming back online do. Printed: sales per second over all
tills (goal ≥ 500, issue 15), the latency of a batch (p50 / p99), then every queue uploaded again
at once from two connections per till — every operation must answer ``duplicate`` (recorded twice:
0) — and each shift's report must still count its sales.

Where the time went (py-spy on a loaded worker, statement counts from tests/pos/test_sync_batch.py):
one sale at a time ran ~19 SQL statements per sale (its own savepoint, duplicate check, shift,
variants twice, prices, order insert and re-read, lines, event, sale, line ids re-read, shelf
lives, one FEFO statement per line, sale lines, tenders, exceptions): ~770 for 40 sales, record_sale
about half of a worker's samples, 26–61 sales/s. Several tills of one store also deadlocked on
the stock rows (each sale locked its variants in its own order). A run of sales is now recorded at
once (app/pos/sale_batch.py): 25 statements per upload whatever the number of sales, the stock rows
locked once in one order. What is left per request is mostly outside the POS code: the access
check (``resolve_principal``, ~6–8 % of samples), FastAPI's dependency solving (~8–10 %) and its
route matching, which builds each route's dependant on a worker's first requests."""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
import time
import uuid
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import httpx

from bench.harness import running_server
from bench.stock import token

SALES = 500  # per till
BATCH = 50  # the till's MAX_OPS (storefront/static/pos/pos.js, app/pos/sync_schemas.py)
TILLS = int(os.environ.get("BENCH_POS_TILLS", "4"))
WORKERS = 2
GOAL = 500.0  # sales/s, issue 15
DEMO_PIN = "2468"


async def add_tills(base_url: str, count: int) -> None:
    """Tills T2… of STORE-01 added through the ops console's form (there is no JSON API for it)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60, follow_redirects=False) as console:

        async def csrf(path: str) -> str:
            page = (await console.get(path)).text
            return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]

        await console.post(
            "/login", data={"username": "admin", "password": "demo1234", "csrf_token": await csrf("/login")}
        )
        for n in range(2, count + 1):
            added = await console.post(
                "/admin/pos/stores/STORE-01/tills",
                data={
                    "csrf_token": await csrf("/admin/pos/stores/STORE-01"),
                    "code": f"T{n}",
                    "name": f"压测收银台 {n}",
                    "sale_prefix": f"S01B{n}",
                },
            )
            if added.status_code != 303:
                raise RuntimeError(f"till T{n} not added: {added.status_code}")


async def enrolled_tills(client: httpx.AsyncClient, admin: dict[str, str], count: int) -> list[str]:
    """Device tokens of ``count`` tills of STORE-01, enrolled as the console's one-time code would."""
    users = (await client.get("/api/v1/admin/users", headers=admin)).json()
    store_id = next(u["store_id"] for u in users if u["username"] == "clerk")
    # There is no JSON listing of tills: the ids the store owns are those it may enrol.
    devices: list[str] = []
    for till_id in range(1, 100):
        issued = await client.post(
            "/api/v1/admin/enrolments",
            headers=admin,
            json={"kind": "pos_till", "store_id": store_id, "till_id": till_id},
        )
        if issued.status_code == 201:
            enrolled = await client.post(
                "/api/v1/devices/enrol", json={"code": issued.json()["code"], "label": f"bench till {till_id}"}
            )
            enrolled.raise_for_status()
            devices.append(str(enrolled.json()["access_token"]))
            if len(devices) == count:
                return devices
    raise RuntimeError(f"STORE-01 has {len(devices)} tills, not {count}")


def priced_line(item: dict[str, Any]) -> dict[str, Any]:
    quantity = Decimal("0.5") if item["weighed"] else Decimal(1)
    total = int((Decimal(item["unit_price_minor"]) * quantity).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return {
        "variant_id": item["variant_id"],
        "sku": item["sku"],
        "source": "plu_key" if item["weighed"] else "search",
        "quantity": str(quantity),
        "unit_price_minor": item["unit_price_minor"],
        "line_total_minor": total,
    }


def queue(session: dict[str, Any], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A shift opened and 500 sales of 1–3 lines each, cash or QR, as a till queues them offline."""
    shift = str(uuid.uuid4())
    at = datetime.now(UTC).isoformat()
    ops: list[dict[str, Any]] = [{"kind": "shift_open", "client_id": shift, "at": at, "float_minor": 20000}]
    for n in range(SALES):
        lines = [priced_line(items[(n + k) % len(items)]) for k in range(1 + n % 3)]
        total = sum(line["line_total_minor"] for line in lines)
        tender: dict[str, Any] = (
            {"method": "qr", "wallet": "wechat" if n % 2 else "alipay", "amount_minor": total}
            if n % 4 == 0
            else {"method": "cash", "amount_minor": total}
        )
        ops.append(
            {
                "kind": "sale",
                "client_id": str(uuid.uuid4()),
                "shift_client_id": shift,
                "number": f"{session['sale_prefix']}-{session['next_sale_seq'] + n:06d}",
                "at": at,
                "made_offline": True,
                "lines": lines,
                "tenders": [tender],
            }
        )
    return ops


async def upload(
    client: httpx.AsyncClient, headers: dict[str, str], ops: list[dict[str, Any]], latencies: list[float]
) -> list[str]:
    """One till's queue, in order, a batch at a time."""
    outcomes: list[str] = []
    for start in range(0, len(ops), BATCH):
        began = time.perf_counter()
        answer = await client.post("/api/v1/pos/sync", headers=headers, json={"ops": ops[start : start + BATCH]})
        latencies.append((time.perf_counter() - began) * 1000)
        answer.raise_for_status()
        outcomes += [r["outcome"] for r in answer.json()["results"]]
    return outcomes


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(base_url: str) -> None:
    await add_tills(base_url, TILLS)
    async with httpx.AsyncClient(base_url=base_url, timeout=120) as setup:
        admin = await token(setup)
        clerks: list[dict[str, str]] = []
        queues: list[list[dict[str, Any]]] = []
        for device in await enrolled_tills(setup, admin, TILLS):
            signed = await setup.post(
                "/api/v1/pos/session", headers={"X-Till-Token": device}, json={"username": "clerk", "pin": DEMO_PIN}
            )
            signed.raise_for_status()
            session = signed.json()
            clerk = {"Authorization": f"Bearer {session['access_token']}"}
            catalog = (await setup.get("/api/v1/pos/catalog", headers=clerk)).json()["items"]
            clerks.append(clerk)
            queues.append(queue(session, [i for i in catalog if i["unit_price_minor"]]))

    clients = [httpx.AsyncClient(base_url=base_url, timeout=120) for _ in range(2 * TILLS)]
    try:
        latencies: list[float] = []
        started = time.perf_counter()
        first = await asyncio.gather(*(upload(clients[t], clerks[t], queues[t], latencies) for t in range(TILLS)))
        elapsed = time.perf_counter() - started
        for outcomes, ops in zip(first, queues, strict=True):
            assert outcomes.count("recorded") == len(ops), [o for o in outcomes if o != "recorded"][:5]

        again_started = time.perf_counter()
        again = await asyncio.gather(
            *(upload(clients[2 * t + k], clerks[t], queues[t], []) for t in range(TILLS) for k in range(2))
        )
        again_elapsed = time.perf_counter() - again_started
        recorded_twice = sum(outcomes.count("recorded") for outcomes in again)
        reports = [
            (await clients[0].get("/api/v1/pos/shifts/current/report", headers=clerk)).json()["sales_count"]
            for clerk in clerks
        ]
    finally:
        for client in clients:
            await client.aclose()

    sales = SALES * TILLS
    rate = sales / elapsed
    print(
        f"== pos_upload: {TILLS} tills × {SALES} queued offline sales, batches of {BATCH}, "
        f"app serve --workers {WORKERS} (HTTP) =="
    )
    print(
        f"first upload        {elapsed:6.2f} s   {rate:7.1f} sales/s   (goal ≥ {GOAL:.0f}: {rate / GOAL:.2f}×)   "
        f"batch p50 {pct(latencies, 0.5):6.1f} ms   p99 {pct(latencies, 0.99):6.1f} ms"
    )
    print(
        f"again, 2 connections per till at once  {again_elapsed:6.2f} s   "
        f"answers: {sum(o.count('duplicate') for o in again)} duplicate, "
        f"{sum(o.count('rejected') for o in again)} rejected"
    )
    print(f"duplicates (recorded twice): {recorded_twice}   (must be 0)")
    print(f"sales on the shifts' reports: {reports}   (each must be {SALES})")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="np-bench-pos-") as tmp:
        with running_server(
            Path(tmp) / "data", extra_env={"POS_PIN_RATE_LIMIT": "100/minute"}, seed_first=True, workers=WORKERS
        ) as server:
            asyncio.run(run(server.base_url))


if __name__ == "__main__":
    main()
