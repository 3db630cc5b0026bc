"""Stock exceptions in the console (/admin/pos/exceptions): listed per store, open or resolved;
resolved once — by a count or a transfer of the store's location after the sale, or written off
with a note — recording who and when; a store manager sees and resolves only its own stores'."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.kit import clock
from app.pos.models import Store, StoreManager
from app.pos.sale_models import StockException
from app.supply import counts, transfers
from app.supply.models import Location
from tests.fixtures.builders import auth, ensure_warehouse, make_location, make_variant, receive
from tests.fixtures.pos import PIN, make_manager, make_till, till_headers, till_token
from tests.fixtures.pos_console import Line, Made, make_sale, store_with_location
from tests.web.test_stock_pages import HTML, form_post, log_in


async def short_sale(session: AsyncSession, store: Store, location: Location, **kw: object) -> Made:
    variant = await make_variant(session, name_zh="沙田柚 5斤装")
    return await make_sale(session, store, location, [Line(variant, "3", 3900, short="2")], **kw)  # type: ignore[arg-type]


async def manager_signed_in(client: httpx.AsyncClient, session: AsyncSession, *stores: Store) -> int:
    user_id = await log_in(client, session, Role.store_manager)
    session.add_all(StoreManager(store_id=store.id, user_id=user_id) for store in stores)
    await session.flush()
    return user_id


async def resolve(
    client: httpx.AsyncClient, made: Made, data: dict[str, str], page: str = "/admin/pos/exceptions"
) -> httpx.Response:
    exception = made.exceptions[0]
    return await form_post(
        client, page, f"/admin/pos/exceptions/{exception.id}/resolve", data, after=f'id="exc-{exception.id}"'
    )


async def test_an_exception_is_listed_and_written_off_once(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    store, location = await store_with_location(db_session, name="城南市场店")
    made = await short_sale(db_session, store, location)
    admin_id = await log_in(client, db_session, Role.admin)

    page = await client.get(f"/admin/pos/exceptions?store={store.code}", headers=HTML)
    assert page.status_code == 200
    assert f'href="/admin/pos/sales/{made.sale.number}"' in page.text and "城南市场店" in page.text
    assert made.exceptions[0].variant_id and "2" in page.text

    # The store page counts it and links here.
    store_page = await client.get(f"/admin/pos/stores/{store.code}", headers=HTML)
    assert "1 笔待处理" in store_page.text and f"/admin/pos/exceptions?store={store.code}" in store_page.text

    # A write-off without a note, or no resolution at all: refused, nothing changes.
    for data, words in (({"resolution": "written_off", "note": ""}, "请填写说明"), ({"note": "x"}, "请选择处理方式")):
        refused = await resolve(client, made, data)
        assert refused.status_code == 422 and words in refused.text
    await db_session.refresh(made.exceptions[0])
    assert made.exceptions[0].status == "open"

    done = await resolve(client, made, {"resolution": "written_off", "note": "柚子摔坏，报损"})
    assert done.status_code == 303, done.text
    exception = made.exceptions[0]
    await db_session.refresh(exception)
    assert (exception.status, exception.resolution, exception.note) == ("resolved", "written_off", "柚子摔坏，报损")
    assert exception.resolved_by_id == admin_id and exception.resolved_at is not None

    # Twice: 409, the first resolution stands.
    again = await resolve(
        client, made, {"resolution": "written_off", "note": "再来一次"}, page="/admin/pos/exceptions?status=all"
    )
    assert again.status_code == 409 and "已处理" in again.text
    await db_session.refresh(exception)
    assert exception.note == "柚子摔坏，报损"

    # Open list no longer shows it; the resolved list does, with who resolved it.
    assert made.sale.number not in (await client.get("/admin/pos/exceptions", headers=HTML)).text
    resolved = await client.get("/admin/pos/exceptions?status=resolved", headers=HTML)
    assert made.sale.number in resolved.text and "核销损失" in resolved.text


async def test_a_count_or_transfer_must_be_of_the_store_and_after_the_sale(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    store, location = await store_with_location(db_session)
    other = await make_location(db_session, "store")
    await log_in(client, db_session, Role.admin)
    made = await short_sale(db_session, store, location, sold_at=clock.now() - timedelta(hours=1))

    # A count of the store posted before the sale, and one of another location after it.
    with clock.pinned(clock.now() - timedelta(hours=3)):
        early = await counts.open_count(db_session, location_code=location.code, actor_user_id=None)  # type: ignore[arg-type]
        await counts.post_count(db_session, early.number, actor_user_id=None)  # type: ignore[arg-type]
    elsewhere = await counts.open_count(db_session, location_code=other.code, actor_user_id=None)  # type: ignore[arg-type]
    await counts.post_count(db_session, elsewhere.number, actor_user_id=None)  # type: ignore[arg-type]
    for number, words in (
        (early.number, "早于这笔销售"),
        (elsewhere.number, "不是本店库位已过账的盘点单"),
        ("PD000000-NOPE", "找不到盘点单"),
        ("", "请填写盘点单号"),
    ):
        refused = await resolve(client, made, {"resolution": "count", "reference": number})
        assert refused.status_code == 422 and words in refused.text, number

    # A transfer received into the store after the sale.
    variant = await make_variant(db_session)
    lot = await receive(db_session, variant, "5")
    warehouse = await ensure_warehouse(db_session)
    transfer = await transfers.ship(
        db_session,
        from_code=warehouse.code,
        to_code=location.code,
        lines=[transfers.ShipLine(lot.code, Decimal(2))],
        note="",
        actor_user_id=None,  # type: ignore[arg-type]
    )
    in_transit = await resolve(client, made, {"resolution": "transfer", "reference": transfer.number})
    assert in_transit.status_code == 422 and "不是已签收到本店库位的调拨单" in in_transit.text
    await transfers.receive(db_session, transfer.number, received=[], actor_user_id=None)  # type: ignore[arg-type]
    done = await resolve(client, made, {"resolution": "transfer", "reference": transfer.number.lower()})
    assert done.status_code == 303, done.text
    exception = await db_session.scalar(select(StockException).where(StockException.id == made.exceptions[0].id))
    assert exception is not None
    await db_session.refresh(exception)
    assert (exception.resolution, exception.resolution_ref) == ("transfer", transfer.number)

    # A count resolves another exception of the same store.
    second = await short_sale(db_session, store, location, sold_at=clock.now() - timedelta(hours=1))
    good = await counts.open_count(db_session, location_code=location.code, actor_user_id=None)  # type: ignore[arg-type]
    await counts.record_counts(db_session, good.number, {lot.code: Decimal(1)})
    await counts.post_count(db_session, good.number, actor_user_id=None)  # type: ignore[arg-type]
    assert (await resolve(client, second, {"resolution": "count", "reference": good.number})).status_code == 303


async def test_a_manager_sees_and_resolves_only_its_own_stores(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    store_a, location_a = await store_with_location(db_session, name="甲店")
    store_b, location_b = await store_with_location(db_session, name="乙店")
    made_a = await short_sale(db_session, store_a, location_a)
    made_b = await short_sale(db_session, store_b, location_b)
    await manager_signed_in(client, db_session, store_b)

    listed = await client.get("/admin/pos/exceptions", headers=HTML)
    assert listed.status_code == 200
    assert made_b.sale.number in listed.text and made_a.sale.number not in listed.text
    assert (await client.get(f"/admin/pos/exceptions?store={store_a.code}", headers=HTML)).status_code == 403

    # Resolving A's exception with a valid form of the page: "not found", nothing changes.
    attack = await form_post(
        client,
        "/admin/pos/exceptions",
        f"/admin/pos/exceptions/{made_a.exceptions[0].id}/resolve",
        {"resolution": "written_off", "note": "不是我的店"},
    )
    assert attack.status_code == 404
    await db_session.refresh(made_a.exceptions[0])
    assert made_a.exceptions[0].status == "open"
    # A's sale page is not found either.
    assert (await client.get(f"/admin/pos/sales/{made_a.sale.number}", headers=HTML)).status_code == 404

    # Its own store's: resolved.
    own = await resolve(client, made_b, {"resolution": "written_off", "note": "称重误差"})
    assert own.status_code == 303


async def test_a_managers_till_session_is_not_a_console_credential(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    store, location = await store_with_location(db_session)
    await short_sale(db_session, store, location)
    manager = await make_manager(db_session, store)
    till = await make_till(db_session, store)
    signed = await client.post(
        "/api/v1/pos/session",
        headers=till_headers(await till_token(db_session, till)),
        json={"username": manager.username, "pin": PIN},
    )
    assert signed.status_code == 201, signed.text
    token = auth(signed.json()["access_token"])
    for url in ("/admin/pos/exceptions", "/admin/pos", "/admin/pos/sales", "/admin/pos/replenishment"):
        answer = await client.get(url, headers=token)
        assert answer.status_code == 403, url
