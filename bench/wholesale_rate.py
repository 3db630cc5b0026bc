"""Issue 15, item 1 for wholesale orders: orders placed per second through the buyers' JSON API
with 2 web workers and the Celery worker running, driven by wrk at concurrency 16:

- one buyer (the demo buyer's company: its own system placing its orders at the cut-off), one-line
  orders of one case spread over the 10 supply SKUs, then the quick order (one case of each of the
  10 supply SKUs in every order);
- the demo's approved companies at once (a buyer account added for each), one-line orders, each
  company to its own city.

Every order is checked and priced from its company's list, booked on a trip (a daily route per city
with room to spare, so a truck's capacity does not decide the figures) and holds its stock FEFO with
the wholesale shelf-life rule. A company's orders take turns on its row for the credit check (each
reads what the earlier ones committed), and a truck's orders on the trip's row: one buyer's rate is
that turn's. Credit limits are raised first: an order over its limit is placed and held for
approval, another path. Afterwards: reserved ≤ on hand on every SKU, the outbox drained by the worker.

The figures are a running platform's: a warm-up places orders for a few seconds, then the tables are
analysed, as autovacuum does within its first minute (a statement prepared while ``orders`` was
empty keeps a plan made for an empty table until then: the credit sums scanned every open order
once per order, ~20 ms of PostgreSQL per order by the end of a run).
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

from bench.harness import ROOT, CpuMeter, Server, WrkResult, running_server, wrk, wrk_available
from bench.orders import _cpu_seconds, _embedded_url, _ledger_agrees, _wait_for_outbox
from bench.stock import token
from bench.wholesale_orders import _a_daily_truck_with_room, _stock_every_supply_sku

SCRIPT = ROOT / "bench" / "lua" / "wholesale.lua"
WEB_WORKERS = 2
GOAL_ORDERS_PER_SECOND = 160
GOAL_P99_MS = 250
SECONDS = 10
WARM_UP_SECONDS = 3


Buyer = tuple[str, str]  # a buyer's bearer token and its company's delivery address id


DEMO_PASSWORD = "demo1234"  # noqa: S105 - the demo's documented password
BENCH_PASSWORD = "bench-pass-1"  # noqa: S105 - the buyers this bench adds to its own throwaway database


async def _bearer(client: httpx.AsyncClient, username: str, password: str = DEMO_PASSWORD) -> str:
    reply = await client.post("/api/v1/auth/token", data={"username": username, "password": password})
    reply.raise_for_status()
    return str(reply.json()["access_token"])


async def _buyer(client: httpx.AsyncClient, base_url: str, token: str, route_code: str) -> tuple[Buyer, int]:
    """The buyer's token and address, with a daily truck with room to its city; and its company's id."""
    company = (await client.get("/api/v1/wholesale/company", headers={"Authorization": f"Bearer {token}"})).json()
    address = company["delivery_addresses"][0]
    await _a_daily_truck_with_room(base_url, address["city"], route_code)
    return (token, str(address["id"])), int(company["id"])


async def _prepare(base_url: str, database_url: str) -> tuple[list[Buyer], list[str], dict[str, str]]:
    """The buyers (the demo buyer first, then one added for each other approved company), the
    'sku:cases' lines (one case, or the SKU's minimum in whole cases), and the admin's headers."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        admin = await token(client)
        demo, demo_company = await _buyer(client, base_url, await _bearer(client, "buyer"), "BENCH")
        buyers, companies = [demo], [demo_company]
        for company in (await client.get("/api/v1/admin/companies", headers=admin)).json():
            if company["status"] != "approved" or company["id"] == demo_company:
                continue
            username = f"bench-buyer-{company['id']}"
            created = await client.post(
                "/api/v1/admin/users",
                headers=admin,
                json={"username": username, "password": BENCH_PASSWORD, "role": "buyer", "company_id": company["id"]},
            )
            created.raise_for_status()
            other, _ = await _buyer(
                client, base_url, await _bearer(client, username, BENCH_PASSWORD), f"B{company['id']}"
            )
            buyers.append(other)
            companies.append(int(company["id"]))
        catalog = (await client.get("/api/v1/wholesale/catalog", headers={"Authorization": f"Bearer {demo[0]}"})).json()
        await _stock_every_supply_sku(client, admin, [item["sku"] for item in catalog])
        lines = [
            f"{item['sku']}:{max(1, -(-int(Decimal(item['min_quantity'])) // item['case_pack']))}" for item in catalog
        ]
    # Limits no run reaches, so every order is clear (the console caps what a form may enter).
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(
            "UPDATE buyer_companies SET credit_limit_minor = 10000000000000 WHERE id = any($1::bigint[])", companies
        )
    finally:
        await connection.close()
    return buyers, lines, admin


async def _analyse(database_url: str) -> None:
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


def _run(
    server: Server,
    label: str,
    lines: list[str],
    per_order: int,
    buyers: list[Buyer],
    workdir: Path,
    *,
    seconds: int = SECONDS,
) -> tuple[WrkResult, dict[str, int], float, float]:
    """wrk's figures, the answers by kind, and the web workers' and PostgreSQL's CPU ms per order."""
    out = workdir / f"{uuid.uuid4().hex[:6]}.counts"
    web = server.worker_pids()
    before = _cpu_seconds(web)
    postgres = CpuMeter(server.postgres_pids)
    result = wrk(
        server.base_url,
        "/api/v1/wholesale/orders",
        label=label,
        connections=16,
        seconds=seconds,
        script=SCRIPT,
        env={
            "LINES": ",".join(lines),
            "PER_ORDER": str(per_order),
            "AUTHS": ",".join(b[0] for b in buyers),
            "ADDRESSES": ",".join(b[1] for b in buyers),
            "TAG": uuid.uuid4().hex[:8],
            "OUT": str(out),
        },
    )
    counts = {k: int(v) for k, v in (line.split("=") for line in out.read_text().split())}
    placed = sum(n for k, n in counts.items() if k.startswith("201")) or 1
    return result, counts, (_cpu_seconds(web) - before) * 1000 / placed, postgres.seconds() * 1000 / placed


def main() -> None:
    if not wrk_available():
        print("== wholesale_rate: skipped — wrk is not installed (apt-get install wrk) ==")
        return
    with tempfile.TemporaryDirectory(prefix="np-bench-wholesale-rate-") as tmp:
        data = Path(tmp) / "data"
        with running_server(data, seed_first=True, workers=WEB_WORKERS, with_worker=True) as server:
            database_url = _embedded_url(data)
            buyers, lines, admin = asyncio.run(_prepare(server.base_url, database_url))
            _run(server, "warm-up", lines, 1, buyers, Path(tmp), seconds=WARM_UP_SECONDS)
            asyncio.run(_analyse(database_url))
            print(
                f"== wholesale_rate: buyers' orders through the JSON API, {WEB_WORKERS} web workers + the "
                f"Celery worker, wrk at concurrency 16 ({os.cpu_count()} cores shared by all) =="
            )
            for label, per_order, who in (
                (f"one buyer, one line each, spread over {len(lines)} supply SKUs", 1, buyers[:1]),
                (f"one buyer, quick order: {len(lines)} lines each", len(lines), buyers[:1]),
                (f"{len(buyers)} buyers at once (own cities), one line each", 1, buyers),
            ):
                result, counts, web_ms, pg_ms = _run(server, label, lines, per_order, who, Path(tmp))
                placed = sum(n for k, n in counts.items() if k.startswith("201"))
                rate = placed / SECONDS
                print(result.line())
                print(
                    f"    placed {placed} ({rate:.1f} orders/s; goal ≥ {GOAL_ORDERS_PER_SECOND}: "
                    f"{rate / GOAL_ORDERS_PER_SECOND:.2f}×), p99 {result.p99_ms:.0f} ms (goal ≤ {GOAL_P99_MS}: "
                    f"{'met' if result.p99_ms <= GOAL_P99_MS else 'not met'}), answers {dict(sorted(counts.items()))}"
                )
                print(f"    CPU per order: web workers {web_ms:.1f} ms, PostgreSQL {pg_ms:.1f} ms")

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
