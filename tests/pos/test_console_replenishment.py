"""Replenishment (补货申请): a till (POST /api/v1/pos/replenishment) or a store manager's page asks
for goods for its store, numbered BH-YYYYMMDD-NNNN; the warehouse ships it once — a transfer from
the warehouse to the store's location, lots FEFO, stock in transit — or declines it with a reason;
what the warehouse does not hold is refused line by line and nothing moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.kit import clock
from app.kit.quantities import Unit
from app.pos.sale_models import ReplenishmentLine, ReplenishmentRequest
from app.supply import service as supply_service
from app.supply.models import Transfer, TransferLine
from tests.fixtures.builders import auth, ensure_warehouse, make_user, make_variant, receive, token_for
from tests.fixtures.pos_console import store_with_location
from tests.pos.test_console_exceptions import manager_signed_in
from tests.pos.test_till_catalog import at_till
from tests.web.test_stock_pages import HTML, form_post, log_in, on_hand


async def request_row(session: AsyncSession, number: str) -> ReplenishmentRequest:
    found = await session.scalar(select(ReplenishmentRequest).where(ReplenishmentRequest.number == number))
    assert found is not None
    await session.refresh(found)
    return found


async def test_a_till_asks_for_its_own_store_numbered_per_china_day(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    headers, store = await at_till(client, db_session)
    store_id = store.id
    box = await make_variant(db_session, unit=Unit.box)
    jin = await make_variant(db_session, unit=Unit.jin)
    # 23:30 UTC on 5 Dec is 07:30 on 6 Dec in China: the number carries the China date.
    with clock.pinned(datetime(2026, 12, 5, 23, 30, tzinfo=UTC)):
        first = await client.post(
            "/api/v1/pos/replenishment",
            headers=headers,
            json={
                "lines": [{"sku": box.sku, "quantity": "4"}, {"sku": jin.sku.lower(), "quantity": "12.5"}],
                "note": "周末赶集",
            },
        )
        second = await client.post(
            "/api/v1/pos/replenishment", headers=headers, json={"lines": [{"sku": box.sku, "quantity": "1"}]}
        )
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["number"] == "BH-20261206-0001" and second.json()["number"] == "BH-20261206-0002"
    assert body["status"] == "requested" and body["note"] == "周末赶集"
    assert [(line["sku"], line["quantity"]) for line in body["lines"]] == [(box.sku, "4"), (jin.sku, "12.5")]
    made = await request_row(db_session, "BH-20261206-0001")
    assert made.store_id == store_id

    # A till retrying with its Idempotency-Key gets the first answer again, and one request only.
    keyed = {**headers, "Idempotency-Key": "till-retry-1"}
    payload = {"lines": [{"sku": box.sku, "quantity": "2"}]}
    once = await client.post("/api/v1/pos/replenishment", headers=keyed, json=payload)
    twice = await client.post("/api/v1/pos/replenishment", headers=keyed, json=payload)
    assert once.status_code == twice.status_code == 201 and once.json() == twice.json()

    # Refused, nothing recorded: an unknown SKU, half a box, no lines, a field the API does not know.
    for payload, code in (
        ({"lines": [{"sku": "NOPE-1", "quantity": "1"}]}, "replenishment_invalid"),
        ({"lines": [{"sku": box.sku, "quantity": "1.5"}]}, "replenishment_invalid"),
        ({"lines": []}, "validation_error"),
        ({"lines": [{"sku": box.sku, "quantity": "1"}], "store_id": 1}, "validation_error"),
    ):
        refused = await client.post("/api/v1/pos/replenishment", headers=headers, json=payload)
        assert refused.status_code == 422 and refused.json()["error"] == code, (payload, refused.text)
    made_here = await db_session.scalars(select(ReplenishmentRequest).where(ReplenishmentRequest.store_id == store_id))
    assert len(made_here.all()) == 3

    # Only a session at a till: an admin's or a store manager's own API token is refused.
    for role in (Role.admin, Role.store_manager):
        token = auth(await token_for(db_session, await make_user(db_session, role)))
        payload = {"lines": [{"sku": box.sku, "quantity": "1"}]}
        assert (await client.post("/api/v1/pos/replenishment", headers=token, json=payload)).status_code == 403


async def test_the_warehouse_ships_a_request_as_a_fefo_transfer_once(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    store, location = await store_with_location(db_session, name="城北店")
    warehouse = await ensure_warehouse(db_session)
    variant = await make_variant(db_session, unit=Unit.box)
    later = await receive(db_session, variant, "10", best_before=clock.today() + timedelta(days=9))
    sooner = await receive(db_session, variant, "3", best_before=clock.today() + timedelta(days=4))
    transit = await supply_service.in_transit(db_session)

    # The manager asks on its page.
    await manager_signed_in(client, db_session, store)
    asked = await form_post(
        client,
        f"/admin/pos/stores/{store.code}/replenishment/new",
        f"/admin/pos/stores/{store.code}/replenishment",
        {"sku": [variant.sku.lower(), ""], "quantity": ["5", ""], "note": "柚子卖得快"},
    )
    assert asked.status_code == 303, asked.text
    request = await db_session.scalar(select(ReplenishmentRequest).where(ReplenishmentRequest.store_id == store.id))
    assert request is not None and request.status == "requested" and request.note == "柚子卖得快"
    lines = (
        await db_session.scalars(select(ReplenishmentLine).where(ReplenishmentLine.request_id == request.id))
    ).all()
    assert [(line.variant_id, line.quantity) for line in lines] == [(variant.id, Decimal(5))]
    mine = await client.get("/admin/pos/replenishment", headers=HTML)
    assert request.number in mine.text and "等待发货" in mine.text and "发货（生成调拨单）" not in mine.text
    # A manager cannot ship.
    assert (
        await form_post(client, "/admin/pos/replenishment", f"/admin/pos/replenishment/{request.number}/ship", {})
    ).status_code == 403

    # The warehouse ships: the sooner lot first, then the later one.
    client.cookies.clear()
    await log_in(client, db_session, Role.warehouse)
    page = await client.get("/admin/pos/replenishment", headers=HTML)
    assert request.number in page.text and "发货（生成调拨单）" in page.text
    shipped = await form_post(
        client,
        "/admin/pos/replenishment",
        f"/admin/pos/replenishment/{request.number}/ship",
        {},
        after=f'id="bh-{request.number}"',
    )
    assert shipped.status_code == 303, shipped.text
    request = await request_row(db_session, request.number)
    assert request.status == "shipped" and request.transfer_id is not None
    transfer = await db_session.get(Transfer, request.transfer_id)
    assert transfer is not None
    assert (transfer.from_location_id, transfer.to_location_id) == (warehouse.id, location.id)
    assert transfer.note == f"补货申请 {request.number}"
    shipped_lines = (
        await db_session.scalars(
            select(TransferLine).where(TransferLine.transfer_id == transfer.id).order_by(TransferLine.id)
        )
    ).all()
    assert sorted((line.lot_id, line.quantity_shipped) for line in shipped_lines) == sorted(
        [(sooner.id, Decimal(3)), (later.id, Decimal(2))]
    )
    assert await on_hand(db_session, warehouse, sooner.id) == 0
    assert await on_hand(db_session, warehouse, later.id) == 8
    assert await on_hand(db_session, transit, sooner.id) == 3 and await on_hand(db_session, transit, later.id) == 2
    listed = await client.get("/admin/pos/replenishment", headers=HTML)
    assert f"/admin/transfers#tr-{transfer.number}" in listed.text

    # Twice: 409, no second transfer.
    again = await form_post(client, "/admin/pos/replenishment", f"/admin/pos/replenishment/{request.number}/ship", {})
    assert again.status_code == 409 and "已发货或已拒绝" in again.text
    assert await on_hand(db_session, warehouse, later.id) == 8


async def test_what_the_warehouse_lacks_is_refused_and_a_request_can_be_declined(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    store, _ = await store_with_location(db_session)
    warehouse = await ensure_warehouse(db_session)
    have = await make_variant(db_session, unit=Unit.box, name_zh="有货规格")
    lack = await make_variant(db_session, unit=Unit.box, name_zh="缺货规格")
    lot = await receive(db_session, have, "10")
    await receive(db_session, lack, "1")
    await manager_signed_in(client, db_session, store)
    asked = await form_post(
        client,
        f"/admin/pos/stores/{store.code}/replenishment/new",
        f"/admin/pos/stores/{store.code}/replenishment",
        {"sku": [have.sku, lack.sku], "quantity": ["2", "4"]},
    )
    assert asked.status_code == 303
    request = await db_session.scalar(select(ReplenishmentRequest).where(ReplenishmentRequest.store_id == store.id))
    assert request is not None

    client.cookies.clear()
    await log_in(client, db_session, Role.warehouse)
    short = await form_post(client, "/admin/pos/replenishment", f"/admin/pos/replenishment/{request.number}/ship", {})
    assert short.status_code == 409
    assert "仓库库存不足" in short.text and f"缺货规格（{lack.sku}）仓库可用 1，需要 4" in short.text
    request = await request_row(db_session, request.number)
    assert request.status == "requested" and request.transfer_id is None
    assert await on_hand(db_session, warehouse, lot.id) == 10

    # Declined: a reason is needed; then shipping is refused.
    blank = await form_post(
        client, "/admin/pos/replenishment", f"/admin/pos/replenishment/{request.number}/decline", {"reason": ""}
    )
    assert blank.status_code == 422 and "请填写原因" in blank.text
    declined = await form_post(
        client,
        "/admin/pos/replenishment",
        f"/admin/pos/replenishment/{request.number}/decline",
        {"reason": "缺货，下周再发"},
    )
    assert declined.status_code == 303
    request = await request_row(db_session, request.number)
    assert (request.status, request.decline_reason) == ("declined", "缺货，下周再发") and request.decided_at is not None
    late = await form_post(client, "/admin/pos/replenishment", f"/admin/pos/replenishment/{request.number}/ship", {})
    assert late.status_code == 409


async def test_a_manager_asks_only_for_its_own_stores(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    store_a, _ = await store_with_location(db_session, name="甲店")
    store_b, _ = await store_with_location(db_session, name="乙店")
    variant = await make_variant(db_session)
    await manager_signed_in(client, db_session, store_b)

    assert (await client.get(f"/admin/pos/stores/{store_a.code}/replenishment/new", headers=HTML)).status_code == 403
    attack = await form_post(
        client,
        f"/admin/pos/stores/{store_b.code}/replenishment/new",
        f"/admin/pos/stores/{store_a.code}/replenishment",
        {"sku": variant.sku, "quantity": "2"},
    )
    assert attack.status_code == 403
    assert (
        await db_session.scalar(select(ReplenishmentRequest).where(ReplenishmentRequest.store_id == store_a.id)) is None
    )
    assert (await client.get(f"/admin/pos/replenishment?store={store_a.code}", headers=HTML)).status_code == 403

    # A refused line shows the form again with what was typed.
    refused = await form_post(
        client,
        f"/admin/pos/stores/{store_b.code}/replenishment/new",
        f"/admin/pos/stores/{store_b.code}/replenishment",
        {"sku": ["", variant.sku], "quantity": ["3", "abc"]},
    )
    assert refused.status_code == 422 and "第 1 行：请选择商品规格" in refused.text
    assert (
        await db_session.scalar(select(ReplenishmentRequest).where(ReplenishmentRequest.store_id == store_b.id)) is None
    )
