"""Issue 13: a real PRD trip of 200 orders × 5 lines in the database, and the time to build and
render its pick list and load manifest from it — each a request to the console's PDF endpoint
(the trip's orders, lines, lots and addresses read in a constant few queries, then rendered in a
worker thread) — p50 and page counts; on a real server with its own embedded PostgreSQL and the
demo data.

The orders go through the wholesale JSON API as in ``bench.wholesale_orders`` (a bench route to
广州 and 佛山 running every day with room for all of them, every SKU stocked), placed by 40
companies that applied through the public form with an address in each city and were approved
with a credit limit none reaches (no order is held), all asking for one departure date on which
the demo trucks do not run, so they land on one trip of 80 stops."""

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

from bench.harness import running_server
from bench.wholesale_orders import _a_daily_truck_with_room, _stock_every_supply_sku
from tests.fixtures.wholesale_documents import page_count
from tests.wholesale.helpers import credit_code

ORDERS = 200
LINES = 5
COMPANIES = 40  # each with an address in 广州 and one in 佛山: up to 80 stops
CONCURRENCY = 8
RUNS = 10
DEMO_TRUCK_DAYS = (2, 4, 6)  # the demo route to Guangzhou: Tue / Thu / Sat
CITIES = ("广州", "佛山")
PASSWORD = "bench-pass-1234"  # noqa: S105 - the bench buyers' password on a throwaway database


def _bench_day() -> date:
    """Two days or more ahead (past any cut-off), on a weekday the demo trucks do not run."""
    day = date.today() + timedelta(days=2)
    while day.isoweekday() in DEMO_TRUCK_DAYS:
        day += timedelta(days=1)
    return day


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


async def _companies(base_url: str, admin: dict[str, str], tag: str) -> list[str]:
    """``COMPANIES`` applications through the public form (two delivery addresses each), approved
    with a credit limit no bench order reaches; their buyers' usernames."""
    usernames = []
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=60) as public,
        httpx.AsyncClient(base_url=base_url, timeout=60) as console,
        httpx.AsyncClient(base_url=base_url, timeout=60, headers=admin) as api,
    ):
        token = _csrf((await console.get("/login")).text)
        await console.post("/login", data={"username": "admin", "password": "demo1234", "csrf_token": token})
        for i in range(COMPANIES):
            name, username = f"压测批发商{tag}第{i + 1}号", f"bench{tag}{i}"
            form = {
                "csrf_token": _csrf((await public.get("/wholesale/apply")).text),
                "name": name,
                "credit_code": credit_code(int(tag, 16) * 100 + i),
                "contact_name": "压测",
                "contact_phone": f"139{i:08d}",
                "username": username,
                "password": PASSWORD,
            }
            for slot, city in enumerate(CITIES):
                form |= {
                    f"addresses.{slot}.city": city,
                    f"addresses.{slot}.address": f"{city}江南果菜批发市场 {tag}-{i + 1} 档",
                    f"addresses.{slot}.receiving_from": "05:00",
                    f"addresses.{slot}.receiving_until": "09:00",
                    f"addresses.{slot}.contact_name": "压测",
                    f"addresses.{slot}.contact_phone": f"139{i:08d}",
                }
            applied = await public.post("/wholesale/apply", data=form)
            if applied.status_code != 303:
                problems = re.findall(r'class="field-error">([^<]+)', applied.text)
                raise RuntimeError(f"application refused: {applied.status_code} {problems}")
            listing = (await console.get("/admin/companies")).text
            found = re.search(rf'href="/admin/companies/(\d+)">{re.escape(name)}<', listing)
            assert found is not None, name
            company_id = int(found.group(1))
            (await api.post(f"/api/v1/admin/companies/{company_id}/approve")).raise_for_status()
            terms = await api.post(
                f"/api/v1/admin/companies/{company_id}/terms",
                json={"payment_terms": "net_30", "credit_limit_minor": 10**12, "delivery_weekdays": list(range(1, 8))},
            )
            terms.raise_for_status()
            usernames.append(username)
    return usernames


async def _place_trip(client: httpx.AsyncClient, base_url: str, admin: dict[str, str]) -> str:
    tag = uuid.uuid4().hex[:4]
    usernames = await _companies(base_url, admin, tag)
    await _a_daily_truck_with_room(base_url, "、".join(CITIES))
    buyers = []
    for username in usernames:
        reply = await client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
        reply.raise_for_status()
        headers = {"Authorization": f"Bearer {reply.json()['access_token']}"}
        addresses = (await client.get("/api/v1/wholesale/company", headers=headers)).json()["delivery_addresses"]
        buyers.append((headers, [a["id"] for a in addresses]))
    catalog = (await client.get("/api/v1/wholesale/catalog", headers=buyers[0][0])).json()
    await _stock_every_supply_sku(client, admin, [item["sku"] for item in catalog])
    lines = [
        {"sku": item["sku"], "cases": max(1, -(-int(Decimal(item["min_quantity"])) // item["case_pack"]))}
        for item in catalog[:LINES]
    ]
    day = _bench_day().isoformat()
    todo = iter(range(ORDERS))
    trips: Counter[str] = Counter()

    async def worker() -> None:
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as own:
            for i in todo:
                headers, addresses = buyers[i % len(buyers)]
                reply = await own.post(
                    "/api/v1/wholesale/orders",
                    headers={**headers, "Idempotency-Key": f"{tag}-{i}"},
                    json={"lines": lines, "address_id": addresses[(i // len(buyers)) % 2], "trip_date": day},
                )
                reply.raise_for_status()
                body = reply.json()
                if body["status"] != "confirmed":
                    raise RuntimeError(f"order {body['number']} is {body['status']} ({body['credit_state']})")
                trips[body["trip"]["number"]] += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    number, count = trips.most_common(1)[0]
    print(
        f"placed {ORDERS} orders × {len(lines)} lines of {len(buyers)} companies in "
        f"{time.perf_counter() - started:.1f} s: trip {number} carries {count}"
    )
    return number


async def run(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:

        async def bearer(username: str) -> dict[str, str]:
            reply = await client.post("/api/v1/auth/token", data={"username": username, "password": "demo1234"})
            reply.raise_for_status()
            return {"Authorization": f"Bearer {reply.json()['access_token']}"}

        admin = await bearer("admin")
        print(f"== wholesale: a trip of {ORDERS} orders × {LINES} lines from the database, {RUNS} runs ==")
        number = await _place_trip(client, base_url, admin)
        both = 0.0
        for name, path in (("pick list", "pick-list.pdf"), ("manifest", "manifest.pdf")):
            url = f"/admin/wholesale/trips/{number}/{path}"
            (await client.get(url, headers=admin)).raise_for_status()  # warm-up
            timings = []
            for _ in range(RUNS):
                started = time.perf_counter()
                reply = await client.get(url, headers=admin)
                timings.append(time.perf_counter() - started)
                reply.raise_for_status()
            p50 = statistics.median(timings)
            both += p50
            pages = page_count(reply.content)
            print(
                f"{name:10} build + render p50 {p50 * 1000:7.0f} ms   max {max(timings) * 1000:7.0f} ms   "
                f"{pages:3d} pages   {len(reply.content) / 1024:.0f} KB"
            )
        print(f"both       p50 {both * 1000:7.0f} ms (one request each, one uvicorn worker)")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="np-bench-trip-") as tmp:
        limits = {"WHOLESALE_APPLICATION_RATE_LIMIT": "1000/hour", "LOGIN_ADDRESS_RATE_LIMIT": "1000/minute"}
        with running_server(Path(tmp) / "data", extra_env=limits) as server:
            asyncio.run(run(server.base_url))


if __name__ == "__main__":
    main()
