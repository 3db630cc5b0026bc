"""Access to what tills record (issue 14, "Access"): a till of store A neither reads nor writes
store B — not its sales, not its shift reports, not into its shift — and a ``pos`` session token
reaches nothing but the POS API."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit import clock
from tests.fixtures.pos_sales import T0, line, make_shop, sale, shift_open, sign_in, upload


async def test_a_till_of_store_a_cannot_read_or_write_store_b(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    with clock.pinned(T0):
        a = await make_shop(db_session)
        b = await make_shop(db_session)
        at_a = await sign_in(client, a)
        at_b = await sign_in(client, b)
        b_shift = shift_open()
        b_sale = sale(b, b_shift["client_id"], [line(b.box, "1", 1280)])
        assert [r["outcome"] for r in await upload(client, at_b, b_shift, b_sale)] == ["recorded", "recorded"]

        # Reading B's sale and B's shift from A's till: not found, as if they did not exist.
        detail = await client.get(f"/api/v1/pos/sales/{b_sale['number']}", headers=at_a)
        assert detail.status_code == 404 and detail.json()["error"] == "sale_not_found"
        report = await client.get(f"/api/v1/pos/shifts/{b_shift['client_id']}/report", headers=at_a)
        assert report.status_code == 404 and report.json()["error"] == "shift_unknown"
        assert (await client.get("/api/v1/pos/shifts/current/report", headers=at_a)).status_code == 404

        # Writing into B's shift from A's till (the attack: A knows B's shift id): refused, nothing
        # recorded in B, and B's shift cannot be closed from A either.
        into_b = sale(a, b_shift["client_id"], [line(a.box, "1", 1280)])
        b_number = sale(a, b_shift["client_id"], [line(a.box, "1", 1280)], number=b.next_number())
        close_b = {
            "kind": "shift_close",
            "client_id": "6f1f6f0e-8d5c-4d59-9e53-0d4f5d1d1e01",
            "shift_client_id": b_shift["client_id"],
            "at": T0.isoformat(),
            "counted": {},
        }
        # Uploading B's own sale again from A's till: its client id is B's, and nothing of it is told.
        results = await upload(client, at_a, into_b, b_number, close_b, {**b_sale, "number": a.next_number()})
        assert [(r["outcome"], r["error"]["code"]) for r in results] == [
            ("rejected", "shift_unknown"),
            ("rejected", "shift_unknown"),
            ("rejected", "shift_unknown"),
            ("rejected", "client_id_taken"),
        ]
        assert results[3]["number"] is None and results[3]["public_url"] is None
        b_report = await client.get(f"/api/v1/pos/shifts/{b_shift['client_id']}/report", headers=at_b)
    assert (b_report.json()["status"], b_report.json()["sales_count"]) == ("open", 1)


async def test_a_pos_session_token_reaches_nothing_but_the_pos_api(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    with clock.pinned(T0):
        shop = await make_shop(db_session)
        clerk = await sign_in(client, shop, shop.manager)
        opened = shift_open()
        sold = sale(shop, opened["client_id"], [line(shop.box, "1", 1280)])
        await upload(client, clerk, opened, sold)
        # The shop's order page is public (a guest with the phone): the counter sale's order is not
        # shown to a till's token, which is not its customer.
        order = await client.get(f"/api/v1/orders/{sold['number']}", headers=clerk)
        assert order.status_code == 404 and order.json()["error"] == "order_not_found"
        for method, path in (
            ("GET", "/api/v1/admin/orders"),
            ("GET", "/api/v1/admin/stock"),
            ("GET", "/api/v1/admin/lots"),
            ("GET", "/api/v1/admin/users"),
            ("GET", "/admin/pos/stores"),
            ("GET", "/admin/stock"),
        ):
            answer = await client.request(method, path, headers=clerk)
            assert answer.status_code in (401, 403), (path, answer.status_code, answer.text[:200])
        # The till's device token is nobody's credential: the POS API refuses it too.
        for path in (f"/api/v1/pos/sales/{sold['number']}", "/api/v1/pos/shifts/current/report"):
            assert (await client.get(path, headers={"Authorization": f"Bearer {shop.device}"})).status_code == 401
        sync = await client.post("/api/v1/pos/sync", headers={"Authorization": f"Bearer {shop.device}"}, json={})
        assert sync.status_code in (401, 422)
