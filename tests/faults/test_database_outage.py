"""The embedded PostgreSQL of a running ``app serve`` goes away under 16 clients placing orders —
a fast shutdown (what ``pg_ctl stop -m fast`` sends), then a SIGKILL of its postmaster. ``serve``
restarts it; meanwhile requests answer a clean 503 and /readyz says 503; afterwards every accepted
order is there once, and the worker processes the orders' notices.

Bounds: the service is back within 40 s of the fault (measured: a few seconds, printed); the
outbox drains within 60 s after the load ends. Each test stays under a minute."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

from bench.faults import (
    Outage,
    is_zombie,
    kill_postgres,
    order_load_through,
    orders_of,
    outbox_drained_within,
    stop_postgres_fast,
    worker_pids,
)
from tests.faults.conftest import Served

RECOVER_WITHIN_SECONDS = 40.0
OUTBOX_DRAINS_WITHIN_SECONDS = 60.0
TEST_BOUND_SECONDS = 110.0


async def _through(served: Served, fault: Callable[[], object]) -> Outage:
    return await order_load_through(
        served.server.base_url, served.shop, fault, recover_within=RECOVER_WITHIN_SECONDS
    )


async def _nothing_lost_or_doubled(served: Served, outage: Outage) -> None:
    load = outage.load
    assert not load.abandoned, f"orders never accepted: {load.abandoned[:5]} ({load.answers})"
    in_database = await orders_of(served.database_url, load.contact_name)
    # Each key was sent until accepted, so every order the database holds for this load is one a
    # client was told about: as many orders as keys, each number once, the same numbers.
    assert in_database.orders == len(load.accepted), (in_database.orders, len(load.accepted))
    assert in_database.distinct_numbers == in_database.orders
    assert in_database.numbers == set(load.accepted.values())


def _clean_refusals(outage: Outage) -> int:
    """Every answer but 201 was a 503 in the JSON error model, with Retry-After and no traceback."""
    statuses = {r.status for r in outage.load.refusals}
    assert statuses <= {503}, f"answers other than 201/503: {outage.load.answers}"
    for refusal in outage.load.refusals:
        body = json.loads(refusal.body)
        assert body["error"] == "service_unavailable" and body["message"], body
        assert "Traceback" not in refusal.body and 'File "' not in refusal.body
        assert refusal.retry_after is not None and int(refusal.retry_after) > 0
    return len(outage.load.refusals)


def _report(label: str, outage: Outage) -> None:
    seconds = outage.recovery_seconds
    print(
        f"\n{label}: recovered in {seconds:.1f} s (/readyz 200 and an order accepted); "
        f"{len(outage.load.accepted)} orders accepted, answers {dict(outage.load.answers)}"
    )


async def test_postgres_restarted_under_load(served: Served) -> None:
    async def scenario() -> None:
        outage = await _through(served, lambda: stop_postgres_fast(served.data_dir))
        assert outage.down_at is not None, "/readyz never said the database was down"
        assert any(s == 503 for t, s in outage.watch.seen if t >= outage.fault_at), "no 503 from /readyz"
        assert outage.recovery_seconds is not None, f"not back within {RECOVER_WITHIN_SECONDS} s"
        _report("PostgreSQL fast shutdown", outage)
        refused = _clean_refusals(outage)
        assert refused > 0, "no order request met the outage (the fault came and went unseen)"
        await _nothing_lost_or_doubled(served, outage)
        assert "embedded PostgreSQL stopped" in served.log() and "embedded PostgreSQL restarted" in served.log()

    await asyncio.wait_for(scenario(), TEST_BOUND_SECONDS)


async def test_postgres_killed_under_load(served: Served) -> None:
    async def scenario() -> None:
        workers_before = worker_pids(served.server)
        assert workers_before, "the Celery worker is not running"
        killed: list[int] = []
        outage = await _through(served, lambda: killed.append(kill_postgres(served.data_dir)))
        assert outage.down_at is not None and outage.recovery_seconds is not None, (
            f"not back within {RECOVER_WITHIN_SECONDS} s: /readyz {outage.watch.seen[-5:]}"
        )
        _report("PostgreSQL SIGKILL", outage)
        # ``serve`` adopts orphans here, as a container's PID 1: it reaped the postmaster it lost.
        assert not is_zombie(killed[0]), "the killed postmaster was left a zombie"
        _clean_refusals(outage)
        await _nothing_lost_or_doubled(served, outage)
        # The worker lived through the outage (or was restarted), and works: every notice of the
        # orders is processed.
        assert worker_pids(served.server), "no Celery worker after the outage"
        left, waited = await outbox_drained_within(served.database_url, OUTBOX_DRAINS_WITHIN_SECONDS)
        assert left == 0, f"{left} outbox messages unprocessed {waited:.0f} s after the load"
        print(f"outbox drained {waited:.1f} s after the load (bound {OUTBOX_DRAINS_WITHIN_SECONDS:.0f} s)")

    started = time.monotonic()
    await asyncio.wait_for(scenario(), TEST_BOUND_SECONDS)
    print(f"test took {time.monotonic() - started:.0f} s")
