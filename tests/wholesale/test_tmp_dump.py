import httpx, pytest, time
from typing import Any
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from tests.fixtures.builders import auth
from tests.fixtures.wholesale_orders import buyer, supply_sku
from tests.wholesale.test_ordering_api import company_key, order_body

pytestmark = pytest.mark.usefixtures("sunday_noon", "guangzhou_route")

async def test_dump(client: httpx.AsyncClient, db_session: AsyncSession, engine: AsyncEngine) -> None:
    sausage = await supply_sku(db_session, wholesale_minor=4680, stock="4000")
    ours = await buyer(db_session)
    key = await company_key(db_session, ours)
    body = order_body(ours, {"sku": sausage.sku, "cases": 1})
    first = await client.post("/api/v1/wholesale/orders", json=body, headers={**auth(key), "Idempotency-Key": "p1"})
    sent = []
    def before(conn, cursor, statement, params, context, executemany):
        conn.info["t"] = time.perf_counter()
    def after(conn, cursor, statement, params, context, executemany):
        sent.append((statement, (time.perf_counter() - conn.info["t"]) * 1000, cursor.rowcount))
    event.listen(engine.sync_engine, "before_cursor_execute", before)
    event.listen(engine.sync_engine, "after_cursor_execute", after)
    t = time.perf_counter()
    for i in range(30):
        r = await client.post("/api/v1/wholesale/orders", json=body, headers={**auth(key), "Idempotency-Key": f"q{i}"})
        assert r.status_code == 201, r.text
    el = time.perf_counter() - t
    event.remove(engine.sync_engine, "before_cursor_execute", before)
    event.remove(engine.sync_engine, "after_cursor_execute", after)
    with open("/tmp/prof/stmts.txt", "w") as f:
        f.write(f"per order {el/30*1000:.1f} ms, {len(sent)/30} statements\n")
        for s, ms, rc in sent[-len(sent)//30:]:
            f.write(f"---- {ms:.2f} ms rows={rc}\n{s}\n")
