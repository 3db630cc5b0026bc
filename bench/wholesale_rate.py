"""Issue 15, item 1 for wholesale orders: orders placed per second through the buyer's JSON API with
2 web workers and the Celery worker running, driven by wrk at concurrency 16, for the demo buyer's
company (a buyer's own system placing its orders at the cut-off):

- one-line orders, one case each, spread over the 10 supply SKUs;
- the quick order: one case of each of the 10 supply SKUs in every order.

Every order is checked and priced from the company's list, booked on a trip (a daily route with room
to spare, so the trip's capacity does not decide the figures) and holds its stock FEFO with the
wholesale shelf-life rule. The company's orders are serialised by design (its credit check reads what
the company's earlier orders committed), so this is the rate of one buyer. The company's credit limit
is raised first: an order over the limit is placed and held for approval, which is another path.
Afterwards: reserved ≤ on hand on every SKU, and the outbox drained by the worker.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from decimal import Decimal
from pathlib import Path

import asyncpg
import httpx

from bench.harness import ROOT, Server, WrkResult, running_server, wrk, wrk_available
from bench.orders import _cpu_seconds, _embedded_url, _ledger_agrees, _wait_for_outbox
from bench.stock import token
from bench.wholesale_orders import _a_daily_truck_with_room, _stock_every_supply_sku

SCRIPT = ROOT / "bench" / "lua" / "wholesale.lua"
WEB_WORKERS = 2
GOAL_ORDERS_PER_SECOND = 160
GOAL_P99_MS = 250
SECONDS = 10


async def _prepare(base_url: str, database_url: str) -> tuple[dict[str, str], list[str], str, str, dict[str, str]]:
    """The buyer's bearer token, the 'sku:cases' lines (one case, or the SKU's minimum in whole
    cases), the address id, and the admin's headers."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        admin = await token(client)
        reply = await client.post("/api/v1/auth/token", data={"username": "buyer", "password": "demo1234"})
        reply.raise_for_status()
        buyer_token = reply.json()["access_token"]
        buyer = {"Authorization": f"Bearer {buyer_token}"}
        company = (await client.get("/api/v1/wholesale/company", headers=buyer)).json()
        address = company["delivery_addresses"][0]
        await _a_daily_truck_with_room(base_url, address["city"])
        catalog = (await client.get("/api/v1/wholesale/catalog", headers=buyer)).json()
        await _stock_every_supply_sku(client, admin, [item["sku"] for item in catalog])
        lines = [
            f"{item['sku']}:{max(1, -(-int(Decimal(item['min_quantity'])) // item['case_pack']))}" for item in catalog
        ]
    # A limit no run reaches, so every order is clear (the console caps what a form may enter).
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(
            "UPDATE buyer_companies SET credit_limit_minor = 10000000000000 WHERE id = $1", company["id"]
        )
    finally:
        await connection.close()
    return buyer, lines, str(address["id"]), buyer_token, admin


def _run(
    server: Server, label: str, lines: list[str], per_order: int, address: str, bearer: str, workdir: Path
) -> tuple[WrkResult, dict[str, int], float]:
    out = workdir / f"{uuid.uuid4().hex[:6]}.counts"
    web = server.worker_pids()
    before = _cpu_seconds(web)
    result = wrk(
        server.base_url,
        "/api/v1/wholesale/orders",
        label=label,
        connections=16,
        seconds=SECONDS,
        script=SCRIPT,
        env={
            "LINES": ",".join(lines),
            "PER_ORDER": str(per_order),
            "ADDRESS": address,
            "AUTH": bearer,
            "TAG": uuid.uuid4().hex[:8],
            "OUT": str(out),
        },
    )
    counts = {k: int(v) for k, v in (line.split("=") for line in out.read_text().split())}
    placed = sum(n for k, n in counts.items() if k.startswith("201")) or 1
    return result, counts, (_cpu_seconds(web) - before) * 1000 / placed


def main() -> None:
    if not wrk_available():
        print("== wholesale_rate: skipped — wrk is not installed (apt-get install wrk) ==")
        return
    with tempfile.TemporaryDirectory(prefix="np-bench-wholesale-rate-") as tmp:
        data = Path(tmp) / "data"
        with running_server(data, seed_first=True, workers=WEB_WORKERS, with_worker=True) as server:
            database_url = _embedded_url(data)
            _, lines, address, bearer, admin = asyncio.run(_prepare(server.base_url, database_url))
            print(
                f"== wholesale_rate: one buyer's orders through the JSON API, {WEB_WORKERS} web workers + the "
                f"Celery worker, wrk at concurrency 16 ({os.cpu_count()} cores shared by all) =="
            )
            for label, per_order in (
                (f"one line each, spread over {len(lines)} supply SKUs", 1),
                (f"quick order: {len(lines)} lines each", len(lines)),
            ):
                result, counts, web_ms = _run(server, label, lines, per_order, address, bearer, Path(tmp))
                placed = sum(n for k, n in counts.items() if k.startswith("201"))
                rate = placed / SECONDS
                print(result.line())
                print(
                    f"    placed {placed} ({rate:.1f} orders/s; goal ≥ {GOAL_ORDERS_PER_SECOND}: "
                    f"{rate / GOAL_ORDERS_PER_SECOND:.2f}×), p99 {result.p99_ms:.0f} ms (goal ≤ {GOAL_P99_MS}: "
                    f"{'met' if result.p99_ms <= GOAL_P99_MS else 'not met'}), answers {dict(sorted(counts.items()))}"
                )
                print(f"    CPU per order: web workers {web_ms:.1f} ms")

            async def agree() -> None:
                async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
                    await _ledger_agrees(client, admin, [line.split(":")[0] for line in lines])

            asyncio.run(agree())
            print("    reserved ≤ on hand on every supply SKU")
            left, waited = asyncio.run(_wait_for_outbox(database_url))
            print(
                f"outbox after the load: {'drained' if left == 0 else f'{left} messages still waiting'} "
                f"{waited:.1f} s after the last order"
            )


if __name__ == "__main__":
    main()
