"""Issue 14: a till's queue of 500 offline sales uploaded when the network returns, in batches of
50 (``POST /api/v1/pos/sync``): total time and sales per second; then the same 500 uploaded again,
at once from two connections — every operation must answer ``duplicate`` (recorded twice: 0), and
the shift's report must still count 500 sales."""

from __future__ import annotations

import asyncio
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

SALES = 500
BATCH = 50
DEMO_PIN = "2468"


async def enrolled_till(client: httpx.AsyncClient, admin: dict[str, str]) -> str:
    """Enrol this bench as STORE-01's demo till T1, as the console's one-time code would."""
    users = (await client.get("/api/v1/admin/users", headers=admin)).json()
    store_id = next(u["store_id"] for u in users if u["username"] == "clerk")
    # The demo's only till; there is no JSON listing of tills, so the first id the store owns is it.
    for till_id in range(1, 50):
        issued = await client.post(
            "/api/v1/admin/enrolments",
            headers=admin,
            json={"kind": "pos_till", "store_id": store_id, "till_id": till_id},
        )
        if issued.status_code == 201:
            enrolled = await client.post(
                "/api/v1/devices/enrol", json={"code": issued.json()["code"], "label": "bench till"}
            )
            enrolled.raise_for_status()
            return str(enrolled.json()["access_token"])
    raise RuntimeError("STORE-01 has no till")


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


async def upload(client: httpx.AsyncClient, headers: dict[str, str], ops: list[dict[str, Any]]) -> list[str]:
    outcomes: list[str] = []
    for start in range(0, len(ops), BATCH):
        answer = await client.post("/api/v1/pos/sync", headers=headers, json={"ops": ops[start : start + BATCH]})
        answer.raise_for_status()
        outcomes += [r["outcome"] for r in answer.json()["results"]]
    return outcomes


async def run(base_url: str) -> None:
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=120) as one,
        httpx.AsyncClient(base_url=base_url, timeout=120) as two,
    ):
        admin = await token(one)
        device = await enrolled_till(one, admin)
        signed = await one.post(
            "/api/v1/pos/session", headers={"X-Till-Token": device}, json={"username": "clerk", "pin": DEMO_PIN}
        )
        signed.raise_for_status()
        session = signed.json()
        clerk = {"Authorization": f"Bearer {session['access_token']}"}
        items = [
            i for i in (await one.get("/api/v1/pos/catalog", headers=clerk)).json()["items"] if i["unit_price_minor"]
        ]
        ops = queue(session, items)

        started = time.perf_counter()
        first = await upload(one, clerk, ops)
        elapsed = time.perf_counter() - started
        assert first.count("recorded") == len(ops), [o for o in first if o != "recorded"][:5]

        again_started = time.perf_counter()
        again = await asyncio.gather(upload(one, clerk, ops), upload(two, clerk, ops))
        again_elapsed = time.perf_counter() - again_started
        recorded_twice = sum(outcomes.count("recorded") for outcomes in again)
        report = (await one.get("/api/v1/pos/shifts/current/report", headers=clerk)).json()

    print(f"== pos_upload: {SALES} queued offline sales, batches of {BATCH} (HTTP, one till) ==")
    print(f"first upload        {elapsed:6.2f} s   {SALES / elapsed:7.1f} sales/s")
    print(
        f"again, 2 connections at once  {again_elapsed:6.2f} s   "
        f"answers: {sum(o.count('duplicate') for o in again)} duplicate, "
        f"{sum(o.count('rejected') for o in again)} rejected"
    )
    print(f"duplicates (recorded twice): {recorded_twice}   (must be 0)")
    print(f"sales on the shift's report: {report['sales_count']}   (must be {SALES})")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="np-bench-pos-") as tmp:
        with running_server(Path(tmp) / "data", extra_env={"POS_PIN_RATE_LIMIT": "100/minute"}) as server:
            asyncio.run(run(server.base_url))


if __name__ == "__main__":
    main()
