"""A wholesale order through the API is a fixed, small number of SQL statements: a buyer's system
placing its orders at the cut-off pays every round trip, under the company's lock (issue 15)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tests.fixtures.builders import auth
from tests.fixtures.wholesale_orders import buyer, supply_sku
from tests.stations.test_handover_statements import statements
from tests.wholesale.test_ordering_api import company_key, order_body

pytestmark = pytest.mark.usefixtures("sunday_noon", "guangzhou_route")

# The caller's token with its user and company (the access check; the order takes the company from
# it), the idempotency claim, the address, the variants with their products, their price lists, the
# routes to the city with the trips of the horizon (made first only when one is missing), the stock
# available (the warehouse's location id is kept per web process since its first order); the order
# with its line and its events (placed, trip) in one statement, the idempotent answer; then the
# company's turn (the lock, then one statement: what it owes and its overdue invoices, the wholesale
# row and the truck's booking) and the stock's (the reservation opened with its FEFO hold). Not
# counted: the savepoint the writes are made under (never released on its own: the commit does it).
ORDER_STATEMENTS = 12


async def test_a_wholesale_order_is_a_fixed_number_of_statements(
    client: httpx.AsyncClient, db_session: AsyncSession, engine: AsyncEngine
) -> None:
    sausage = await supply_sku(db_session, wholesale_minor=4680)
    ours = await buyer(db_session)
    key = await company_key(db_session, ours)
    body = order_body(ours, {"sku": sausage.sku, "cases": 1})
    first = await client.post("/api/v1/wholesale/orders", json=body, headers={**auth(key), "Idempotency-Key": "p1"})
    assert first.status_code == 201, first.text

    savepoints: list[str] = []

    def savepoint(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "SAVEPOINT" in statement:
            savepoints.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", savepoint)
    try:
        with statements(engine) as sent:
            second = await client.post(
                "/api/v1/wholesale/orders", json=body, headers={**auth(key), "Idempotency-Key": "p2"}
            )
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", savepoint)

    assert second.status_code == 201, second.text
    # The order's savepoint is set and left to the commit: no RELEASE round trip inside the turn
    # (the test's own savepoint, which the app's session joins, is released at its end).
    assert [s for s in savepoints if "wholesale_order_writes" in s] == ["SAVEPOINT wholesale_order_writes"]
    placed = second.json()
    assert placed["credit_state"] == "clear" and placed["trip"]["departure_date"] == "2026-12-08"
    assert [e["kind"] for e in placed["events"]] == ["placed", "trip_assigned"]
    assert len(sent) <= ORDER_STATEMENTS, "\n\n".join(sent)
    # Every order of the company waits for its turn on the company's row, every order of a truck
    # for the trip's row, every order of a lot for its stock rows: those turns come last, after the
    # answer is stored, in that order (packing and cancelling lock the trip before the stock).
    turn = next(i for i, s in enumerate(sent) if s.startswith("SELECT buyer_companies") and "FOR NO KEY UPDATE" in s)
    starts = (
        "UPDATE idempotency_keys",
        "SELECT buyer_companies.id",
        "WITH turn AS",  # what it owes, the wholesale row written, the truck booked
        "WITH res AS",  # the reservation opened with its FEFO hold
    )
    assert len(sent) - turn == 3 and all(
        statement.lstrip().startswith(start) for statement, start in zip(sent[turn - 1 :], starts, strict=True)
    ), "\n\n".join(sent[turn - 1 :])
    # The answer is built from what was written: the order is not read back, nor its trip.
    assert not any(s.startswith("SELECT orders.") for s in sent), "\n\n".join(sent)
    assert sum("wholesale_trips" in s for s in sent if s.startswith("SELECT")) == 1, "\n\n".join(sent)
    # The company is read with the token, and again only for its turn (locked, with what it owes).
    assert not any(s.rstrip().endswith("FROM buyer_companies \nWHERE buyer_companies.id = $1::BIGINT") for s in sent)
    # ... and it is the order as stored: the same answer as reading it afterwards.
    read = await client.get(f"/api/v1/wholesale/orders/{placed['number']}", headers=auth(key))
    assert read.status_code == 200, read.text
    assert {k: v for k, v in placed.items() if k != "message"} == {
        k: v for k, v in read.json().items() if k != "message"
    }
