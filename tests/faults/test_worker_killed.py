"""The Celery worker (+ beat) that ``app serve`` started is SIGKILLed, every process of it: ``serve``
restarts it and logs so, and the notices of the orders placed before and after the kill are all
processed. Bounds: restarted within 15 s, the outbox drained within 45 s of the restart."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx

from bench.faults import OrderLoad, fetch_number, kill_worker, outbox_drained_within, worker_pids
from tests.faults.conftest import Served

RESTARTED_WITHIN_SECONDS = 15.0
OUTBOX_DRAINS_WITHIN_SECONDS = 45.0
ORDERS_EACH_SIDE = 20
RESTARTED = "Celery worker restarted"


async def _place_orders(served: Served, load: OrderLoad, count: int) -> list[str]:
    numbers = []
    async with httpx.AsyncClient(base_url=served.server.base_url, timeout=15) as client:
        for n in range(count):
            response = await client.post(
                "/api/v1/orders", headers={"Idempotency-Key": uuid.uuid4().hex}, json=load.body(n)
            )
            assert response.status_code == 201, response.text
            numbers.append(response.json()["number"])
    return numbers


async def _last_outbox_id(database_url: str) -> int:
    return await fetch_number(database_url, "SELECT coalesce(max(id), 0) FROM outbox_messages")


async def test_worker_killed_is_restarted_and_notices_are_processed(served: Served) -> None:
    async def scenario() -> None:
        load = OrderLoad(served.server.base_url, served.shop)
        before_orders = await _last_outbox_id(served.database_url)
        killed = worker_pids(served.server)
        assert killed, "no Celery worker to kill"

        await _place_orders(served, load, ORDERS_EACH_SIDE)
        restarts_before = served.log().count(RESTARTED)
        assert kill_worker(served.server)
        killed_at = time.monotonic()
        await _place_orders(served, load, ORDERS_EACH_SIDE)

        while served.log().count(RESTARTED) == restarts_before:
            assert time.monotonic() - killed_at < RESTARTED_WITHIN_SECONDS, "the worker was not restarted"
            await asyncio.sleep(0.25)
        restarted_after = time.monotonic() - killed_at
        assert "Celery worker stopped (killed by signal 9); restarting in" in served.log()
        running = worker_pids(served.server)
        while not running:  # the new child may not have exec'd its command line yet
            assert time.monotonic() - killed_at < RESTARTED_WITHIN_SECONDS, "no new worker process"
            await asyncio.sleep(0.1)
            running = worker_pids(served.server)
        assert not set(running) & set(killed), (running, killed)

        left, waited = await outbox_drained_within(served.database_url, OUTBOX_DRAINS_WITHIN_SECONDS)
        assert left == 0, f"{left} notices unprocessed {waited:.0f} s after the restart"
        # The orders did write notices (so the drain above had something to do).
        assert await _last_outbox_id(served.database_url) >= before_orders + 2 * ORDERS_EACH_SIDE
        print(
            f"\nworker SIGKILL: restarted {restarted_after:.1f} s after the kill; "
            f"outbox drained {waited:.1f} s later (bound {OUTBOX_DRAINS_WITHIN_SECONDS:.0f} s)"
        )

    await asyncio.wait_for(scenario(), RESTARTED_WITHIN_SECONDS + OUTBOX_DRAINS_WITHIN_SECONDS + 30)
