"""Scale-out on existing engines (issue 16, item 3): two ``app serve --no-worker`` processes, two
``app worker`` processes and one ``app beat`` against one PostgreSQL database (a fresh one on the
tests' server: this machine's PostgreSQL in CI) and one broker — the default PostgreSQL transport,
or ``TEST_CELERY_BROKER_URL`` (Redis in ``.ci/run``) — with the concurrency checks run across them:

- no oversell: more pay-at-pickup orders of one SKU than it has units, sent at once to both web
  processes: exactly as many succeed as there were units, and stock and ledger agree;
- each payment once: a Stripe order's ``payment_intent.succeeded`` webhook delivered four times at
  once, twice to each web process (the fake Stripe speaks the wire protocol, signatures included):
  the workers record one payment, one ``paid`` event and one sale of its stock;
- each POS upload once: a till's queue of offline sales uploaded at once through both web
  processes, two connections each: every sale recorded once, the shift's report counts each once;
- every order notice processed by the workers (the outbox drains) — within 60 s.

Bounded: the whole test stops its processes and fails after at most a few minutes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from bench.pos_upload import enrolled_tills, queue
from bench.stock import token
from tests.fixtures.database import create_database, drop_database
from tests.fixtures.fake_stripe import FakeStripeServer, sign_webhook

ROOT = Path(__file__).resolve().parent.parent.parent
WHSEC = "whsec_scaleout"
PHONE = "13800138000"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _plain(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def deployment(tmp_path: Path, fake_stripe: FakeStripeServer) -> Iterator[tuple[list[str], str]]:
    """The base URLs of the two web processes and the database's URL, once all five processes run."""
    database_url = create_database("np_scale")
    env = {
        **os.environ,
        "APP_ENV": "demo",
        "APP_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "WARNING",
        "LOGIN_RATE_LIMIT": "1000/minute",
        "POS_PIN_RATE_LIMIT": "1000/minute",
        "STRIPE_SECRET_KEY": fake_stripe.api_key,
        "STRIPE_WEBHOOK_SECRET": WHSEC,
        "STRIPE_API_BASE": fake_stripe.base_url,
    }
    broker = os.environ.get("TEST_CELERY_BROKER_URL")
    if broker:
        env["CELERY_BROKER_URL"] = broker
    else:
        env.pop("CELERY_BROKER_URL", None)
    log = (tmp_path / "processes.log").open("wb")
    subprocess.run(
        [sys.executable, "-m", "app.cli", "seed-demo"], cwd=ROOT, env=env, check=True, stdout=log, timeout=180
    )
    ports = [_free_port(), _free_port()]
    commands = [
        *(["serve", "--port", str(port), "--workers", "1", "--no-worker"] for port in ports),
        ["worker", "--concurrency", "2"],
        ["worker", "--concurrency", "2"],
        ["beat"],
    ]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "app.cli", *command],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: stopped with its children at the end
        )
        for command in commands
    ]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        deadline = time.monotonic() + 90
        for base in bases:
            while True:
                try:
                    if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                    log.flush()
                    tail = (tmp_path / "processes.log").read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"the deployment did not start; the end of {log.name}:\n{tail}")
                time.sleep(0.3)
        yield bases, database_url
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        log.close()
        drop_database(database_url)


async def _fetchval(database_url: str, sql: str, *args: Any) -> Any:
    connection = await asyncpg.connect(_plain(database_url))
    try:
        return await connection.fetchval(sql, *args)
    finally:
        await connection.close()


async def _until(check: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.3)
    return False


async def _boxed_stock(base: str, admin: dict[str, str]) -> tuple[dict[str, int], list[str]]:
    """Units available of each boxed SKU sold one at a time, and the stations' codes."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        products = (await client.get("/api/v1/products")).json()
        stations = [s["code"] for s in (await client.get("/api/v1/stations")).json()]
        available: dict[str, int] = {}
        for product in products:
            for variant in product["variants"]:
                price = variant["price"]
                if variant["unit"] != "box" or not price or Decimal(str(price["min_quantity"])) > 1:
                    continue
                rows = (await client.get(f"/api/v1/admin/stock?sku={variant['sku']}", headers=admin)).json()["rows"]
                available[variant["sku"]] = int(sum(Decimal(r["available"]) for r in rows))
    return available, stations


async def _no_oversell(bases: list[str], database_url: str, admin: dict[str, str]) -> None:
    available, stations = await _boxed_stock(bases[0], admin)
    sku, units = min(((s, n) for s, n in available.items() if n > 0), key=lambda item: item[1])
    assert units <= 300, f"the demo's smallest stock is {units} boxes: too many for this test"
    tries = units + 20
    clients = [httpx.AsyncClient(base_url=bases[k % 2], timeout=60) for k in range(16)]
    todo = iter(range(tries))
    answers: Counter[int] = Counter()

    async def client_loop(client: httpx.AsyncClient) -> None:
        for n in todo:
            reply = await client.post(
                "/api/v1/orders",
                headers={"Idempotency-Key": f"scale-{uuid.uuid4().hex}"},
                json={
                    "lines": [{"sku": sku, "quantity": "1"}],
                    "delivery": {"method": "station_pickup", "station_code": stations[n % len(stations)]},
                    "contact": {"name": "多进程", "phone": PHONE},
                    "payment_method": "pay_at_pickup",
                },
            )
            answers[reply.status_code] += 1

    try:
        await asyncio.gather(*(client_loop(c) for c in clients))
    finally:
        for c in clients:
            await c.aclose()
    assert answers == Counter({201: units, 409: 20}), answers
    placed = await _fetchval(database_url, "SELECT count(*) FROM order_lines WHERE sku = $1", sku)
    assert placed == units
    oversold = await _fetchval(database_url, "SELECT count(*) FROM stock_levels WHERE reserved > on_hand")
    assert oversold == 0
    ledger_vs_levels = await _fetchval(
        database_url,
        """SELECT count(*) FROM stock_levels l
           WHERE (l.on_hand, l.reserved) <> (
               SELECT coalesce(sum(e.on_hand_delta), 0), coalesce(sum(e.reserved_delta), 0) FROM stock_ledger e
               WHERE e.lot_id = l.lot_id AND e.location_id = l.location_id)""",
    )
    assert ledger_vs_levels == 0


async def _payment_once(
    bases: list[str], database_url: str, fake_stripe: FakeStripeServer, admin: dict[str, str]
) -> None:
    available, stations = await _boxed_stock(bases[0], admin)
    sku = max(available, key=lambda s: available[s])
    async with httpx.AsyncClient(base_url=bases[0], timeout=60) as client:
        placed = await client.post(
            "/api/v1/orders",
            headers={"Idempotency-Key": uuid.uuid4().hex},
            json={
                "lines": [{"sku": sku, "quantity": "1"}],
                "payment_method": "stripe",
                "delivery": {"method": "station_pickup", "station_code": stations[0]},
                "contact": {"name": "多进程", "phone": PHONE},
            },
        )
        assert placed.status_code == 201, placed.text
        number = placed.json()["number"]
        paying = await client.post(
            f"/api/v1/orders/{number}/payments", headers={"X-Order-Phone": PHONE}, json={"method": "alipay"}
        )
        assert paying.status_code in (200, 201), paying.text
    intent = await _fetchval(
        database_url,
        "SELECT p.external_id FROM payments p JOIN orders o ON o.id = p.order_id WHERE o.number = $1",
        number,
    )
    succeeded = fake_stripe.state.complete(intent)
    payload = json.dumps(fake_stripe.state.event("payment_intent.succeeded", succeeded))
    signature = sign_webhook(payload, WHSEC, int(time.time()))

    async def deliver(base: str) -> int:
        async with httpx.AsyncClient(base_url=base, timeout=60) as hook:
            reply = await hook.post(
                "/webhooks/stripe", content=payload.encode(), headers={"Stripe-Signature": signature}
            )
            return reply.status_code

    assert await asyncio.gather(*(deliver(bases[k % 2]) for k in range(4))) == [200] * 4

    async def paid() -> bool:
        return bool(
            await _fetchval(database_url, "SELECT payment_status = 'paid' FROM orders WHERE number = $1", number)
        )

    assert await _until(paid, 60), "the workers did not settle the payment within 60 s"
    await asyncio.sleep(1)  # a doubled effect would come from a second worker now
    paid_events = await _fetchval(
        database_url,
        "SELECT count(*) FROM order_events e JOIN orders o ON o.id = e.order_id "
        "WHERE o.number = $1 AND e.kind = 'paid'",
        number,
    )
    sales = await _fetchval(
        database_url, "SELECT count(*) FROM stock_ledger WHERE kind = 'sale' AND document_ref = $1", number
    )
    succeeded_payments = await _fetchval(
        database_url,
        "SELECT count(*) FROM payments p JOIN orders o ON o.id = p.order_id "
        "WHERE o.number = $1 AND p.state = 'succeeded'",
        number,
    )
    assert (paid_events, sales, succeeded_payments) == (1, 1, 1)


async def _pos_upload_once(bases: list[str], admin: dict[str, str]) -> None:
    async with httpx.AsyncClient(base_url=bases[0], timeout=120) as setup:
        (device,) = await enrolled_tills(setup, admin, 1)
        signed = await setup.post(
            "/api/v1/pos/session", headers={"X-Till-Token": device}, json={"username": "clerk", "pin": "2468"}
        )
        signed.raise_for_status()
        session = signed.json()
        clerk = {"Authorization": f"Bearer {session['access_token']}"}
        catalog = (await setup.get("/api/v1/pos/catalog", headers=clerk)).json()["items"]
    ops = queue(session, [i for i in catalog if i["unit_price_minor"]])[:61]  # the shift and 60 sales

    async def upload(base: str) -> list[str]:
        outcomes: list[str] = []
        async with httpx.AsyncClient(base_url=base, timeout=120) as client:
            for start in range(0, len(ops), 20):
                reply = await client.post("/api/v1/pos/sync", headers=clerk, json={"ops": ops[start : start + 20]})
                reply.raise_for_status()
                outcomes += [r["outcome"] for r in reply.json()["results"] if r.get("kind", "sale") == "sale"]
        return outcomes

    results = await asyncio.gather(*(upload(bases[k % 2]) for k in range(4)))
    recorded = sum(r.count("recorded") for r in results)
    assert recorded == 60, [Counter(r) for r in results]
    async with httpx.AsyncClient(base_url=bases[1], timeout=60) as client:
        report = (await client.get("/api/v1/pos/shifts/current/report", headers=clerk)).json()
    assert report["sales_count"] == 60


async def test_two_web_processes_two_workers_and_beat_keep_every_rule(
    deployment: tuple[list[str], str], fake_stripe: FakeStripeServer
) -> None:
    bases, database_url = deployment
    async with httpx.AsyncClient(base_url=bases[1], timeout=60) as client:
        admin = await token(client)
    await _no_oversell(bases, database_url, admin)
    await _payment_once(bases, database_url, fake_stripe, admin)
    await _pos_upload_once(bases, admin)

    async def drained() -> bool:
        return await _fetchval(database_url, "SELECT count(*) FROM outbox_messages WHERE processed_at IS NULL") == 0

    assert await _until(drained, 60), "the two workers did not process every outbox message within 60 s"
