"""A PDA handover of a pay-at-pickup parcel is a fixed, small number of SQL statements: at a busy
station every round trip is paid per call (issue 15, item 2)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.shop import Shop
from tests.stations.test_parcels import Desk, desk, dispatched, hand, scanned_code

__all__ = ["desk"]  # the fixture, used by name

# The token, the idempotency claim, the parcel locked with its order and station, the payment, the
# order counting it (locked and read by its update), the payment's event, the hold's claim and the
# stock's sale, the order's transition with its event (one statement), the parcel, and the
# idempotent answer.
HANDOVER_STATEMENTS = 11
# The token, the idempotency claim, the parcel, the shelf's slots (under the station's advisory
# lock), the parcel shelved, the order's transition with its event, the customer's notice with its
# send task, the idempotent answer, then the station's turn: its row locked and the shelf counted,
# in one statement (migration 0046).
SCAN_IN_STATEMENTS = 9


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every statement sent to the database meanwhile (the app's session runs on this engine)."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.startswith(("SAVEPOINT", "RELEASE SAVEPOINT")):  # the test's BEGIN and COMMIT
            sent.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def test_a_pay_at_pickup_handover_is_a_fixed_number_of_statements(
    client: httpx.AsyncClient, engine: AsyncEngine, shop: Shop, desk: Desk
) -> None:
    (box,) = await dispatched(client, desk, 1, shop)
    code = await scanned_code(client, desk, box, "s1")
    with statements(engine) as sent:
        done = await hand(
            client, desk.headers, "h1", tracking_number=box["tracking_number"], pickup_code=code, collect_method="cash"
        )
    assert done.status_code == 200 and done.json()["status"] == "handed_over", done.text
    assert len(sent) <= HANDOVER_STATEMENTS, "\n".join(sent)
    # The held stock is sold last (the hold's claim, then the stock rows every handover of a popular
    # SKU waits for), after the answer is stored: those rows stay locked only until the commit.
    claim, sale = sent[-2], sent[-1]
    assert claim.startswith("UPDATE reservations") and "stock_levels" in sale, "\n".join(sent[-3:])
    assert any(s.startswith("UPDATE idempotency_keys") for s in sent[:-2])


async def test_a_scan_in_takes_the_stations_turn_after_storing_its_answer(
    client: httpx.AsyncClient, engine: AsyncEngine, shop: Shop, desk: Desk
) -> None:
    """Every scan-in at a station takes a turn on the station's row for the shelf's capacity: the
    idempotent answer is stored before that turn, so only the turn's one statement (the lock and the
    count) and the commit are inside it."""
    first, box = await dispatched(client, desk, 2, shop)
    await scanned_code(client, desk, first, "s0")  # the PDA's token is marked used once in a while
    with statements(engine) as sent:
        await scanned_code(client, desk, box, "s1")
    answer = next(i for i, s in enumerate(sent) if s.startswith("UPDATE idempotency_keys"))
    turn = next(i for i, s in enumerate(sent) if "FROM stations" in s and "FOR UPDATE" in s)
    assert answer < turn, "\n".join(sent)
    # The station's turn is the scan-in's last statement, the shelf counted in it (what follows is the
    # test's reading of the pickup code and the relay of the notice's task, which a worker drains in
    # production).
    assert "station_parcels_on_shelf" in sent[turn] and turn + 1 == SCAN_IN_STATEMENTS, "\n".join(sent)
