"""The sales console (/admin/pos/sales and one sale) and the store manager's home (/admin/pos):
filters by store, till and China date, newest first, with the flags the back office looks for; one
sale with the till's and the list's price, tenders, change, discount and approver, the lots each
line took (trace links), its stock exceptions and a link to the receipt PDF. A manager lands on its
home, which lists only its stores with today's figures."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.kit import clock
from app.kit.quantities import Unit
from app.pos.models import StoreManager
from app.pos.sale_models import StockException
from app.supply import counts
from app.supply.models import Lot
from tests.fixtures.builders import DEFAULT_PASSWORD, make_user, make_variant, receive
from tests.fixtures.pos import make_clerk, make_manager, make_till
from tests.fixtures.pos_console import Line, make_sale, store_with_location
from tests.fixtures.pos_sales import T0, line, make_shop, sale, shift_open, sign_in, upload
from tests.pos.test_console_exceptions import manager_signed_in
from tests.web.test_stock_pages import HTML, field, form_post, log_in


async def password_sign_in(client: httpx.AsyncClient, username: str) -> httpx.Response:
    """Sign in on /login as an existing user (the builders' password)."""
    page = await client.get("/login", headers=HTML)
    return await client.post(
        "/login", data={"username": username, "password": DEFAULT_PASSWORD, "csrf_token": field(page, "csrf_token")}
    )


# 10:00 in China on 6 December 2026.
NOON = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)


async def test_the_sales_list_filters_by_store_till_and_china_date(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    store, location = await store_with_location(db_session, name="城东店")
    other, other_location = await store_with_location(db_session, name="城西店")
    till_1 = await make_till(db_session, store, code="T1")
    till_2 = await make_till(db_session, store, code="T2")
    variant = await make_variant(db_session)
    early = await make_sale(db_session, store, location, [Line(variant, "1", 1000)], till=till_1, sold_at=NOON)
    late = await make_sale(
        db_session,
        store,
        location,
        [Line(variant, "2", 1000, list_unit_price_minor=1200)],
        till=till_2,
        sold_at=NOON + timedelta(hours=3),
        made_offline=True,
        tenders=[("cash", None, 1000), ("qr", "wechat", 1000)],
    )
    # 23:30 China time the day before (15:30 UTC): another day.
    yesterday = await make_sale(
        db_session,
        store,
        location,
        [Line(variant, "1", 1000)],
        till=till_1,
        sold_at=datetime(2026, 12, 5, 15, 30, tzinfo=UTC),
    )
    elsewhere = await make_sale(db_session, other, other_location, [Line(variant, "1", 1000)], sold_at=NOON)
    await log_in(client, db_session, Role.admin)

    page = await client.get(f"/admin/pos/sales?store={store.code}&date=2026-12-06", headers=HTML)
    assert page.status_code == 200
    text = page.text
    assert late.sale.number in text and early.sale.number in text
    assert text.index(late.sale.number) < text.index(early.sale.number)  # newest first
    assert yesterday.sale.number not in text and elsewhere.sale.number not in text
    assert "离线售出" in text and "价格与价目表不同" in text and "现金 + 微信" in text

    by_till = await client.get(f"/admin/pos/sales?store={store.code}&till=t1&date=2026-12-06", headers=HTML)
    assert early.sale.number in by_till.text and late.sale.number not in by_till.text
    day_before = await client.get(f"/admin/pos/sales?store={store.code}&date=2026-12-05", headers=HTML)
    assert yesterday.sale.number in day_before.text and early.sale.number not in day_before.text
    everywhere = await client.get("/admin/pos/sales?date=2026-12-06", headers=HTML)
    assert elsewhere.sale.number in everywhere.text and early.sale.number in everywhere.text
    assert (await client.get("/admin/pos/sales?date=6.12.2026", headers=HTML)).status_code == 422


async def test_one_sale_shows_prices_tenders_discount_lots_and_exceptions(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    store, location = await store_with_location(db_session)
    pomelo = await make_variant(db_session, unit=Unit.piece, name_zh="沙田柚")
    tea = await make_variant(db_session, unit=Unit.box, name_zh="白毛茶")
    lot = await receive(db_session, pomelo, "2", location=location)
    manager = await make_manager(db_session, store, display_name="王店长")
    made = await make_sale(
        db_session,
        store,
        location,
        [Line(pomelo, "3", 1500, lot=lot, short="1"), Line(tea, "1", 8800, list_unit_price_minor=9800)],
        discount_minor=300,
        discount_reason="老顾客",
        discount_approved_by=manager,
        tenders=[("cash", None, 10000), ("qr", "alipay", 3000)],
        change_minor=500,
    )
    await log_in(client, db_session, Role.admin)
    page = await client.get(f"/admin/pos/sales/{made.sale.number}", headers=HTML)
    assert page.status_code == 200, page.text
    text = page.text
    assert f'href="/admin/pos/sales/{made.sale.number}/receipt.pdf"' in text
    assert f'href="/t/{lot.code}"' in text  # the lot the line took
    assert "价目表 ¥98.00" in text and "¥88.00" in text
    assert "老顾客" in text and "王店长 批准" in text
    assert "支付宝" in text and "¥30.00" in text and "找零" in text and "¥5.00" in text
    assert "账上短缺 1" in text and "待处理" in text
    assert f"/admin/pos/shifts/{made.sale.shift_id}" in text
    assert (await client.get("/admin/pos/sales/NOPE-0001", headers=HTML)).status_code == 404


async def test_a_store_manager_lands_on_its_stores_with_todays_figures(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    mine, location = await store_with_location(db_session, name="珠玑市场店")
    theirs, their_location = await store_with_location(db_session, name="别人的店")
    variant = await make_variant(db_session)
    with clock.pinned(NOON):
        await make_sale(db_session, mine, location, [Line(variant, "2", 1250, short="1")], sold_at=NOON)
        await make_sale(db_session, mine, location, [Line(variant, "1", 1000)], sold_at=NOON - timedelta(days=1))
        await make_sale(db_session, theirs, their_location, [Line(variant, "1", 999)], sold_at=NOON)
        manager = await make_user(db_session, Role.store_manager)
        db_session.add(StoreManager(store_id=mine.id, user_id=manager.id))
        await db_session.flush()
        signed = await password_sign_in(client, manager.username)
        assert signed.status_code == 303 and signed.headers["location"] == "/admin/pos"
        home = await client.get("/admin/pos", headers=HTML)
        # Asked at the pinned time too: the session signed in at NOON expires hours later.
        admins_page = await client.get(f"/admin/pos/stores/{mine.code}", headers=HTML)
    assert home.status_code == 200
    text = home.text
    assert "珠玑市场店" in text and "别人的店" not in text
    assert '<span class="stat-num">1</span><span class="stat-label">今日销售（笔）' in text
    assert "¥25.00" in text  # today's takings only
    assert f"/admin/pos/exceptions?store={mine.code}" in text
    assert f"/admin/pos/stores/{mine.code}/replenishment/new" in text
    # The console's navigation for a manager: its pages, not the admin's.
    for label in ("门店概览", "门店销售", "库存异常", "补货申请"):
        assert label in text
    assert 'href="/admin/users"' not in text and 'href="/admin/pos/stores"' not in text
    # An admin's page stays closed to it.
    assert admins_page.status_code == 403


async def test_a_manager_without_stores_sees_an_empty_home_and_clerks_have_no_console(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    await manager_signed_in(client, db_session)
    home = await client.get("/admin/pos", headers=HTML)
    assert home.status_code == 200 and "您还没有负责的门店" in home.text
    client.cookies.clear()
    store, _ = await store_with_location(db_session)
    clerk = await make_clerk(db_session, store)
    assert (await password_sign_in(client, clerk.username)).status_code == 303
    for url in ("/admin/pos", "/admin/pos/sales", "/admin/pos/exceptions", "/admin/pos/replenishment"):
        assert (await client.get(url, headers=HTML)).status_code == 403, url


async def test_a_synced_offline_sale_shows_in_the_console_with_its_lots_and_exception(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    """The till's own upload (POST /api/v1/pos/sync), not rows laid down by hand: the sale beyond the
    book lands in the manager's console with the lots the book covered and the exception for the rest,
    which a count posted afterwards resolves."""
    with clock.pinned(T0):
        shop = await make_shop(db_session, box_stock="3")
        clerk = await sign_in(client, shop)
        opened = shift_open()
        offline = sale(shop, opened["client_id"], [line(shop.box, "5", 1280)], made_offline=True)
        results = await upload(client, clerk, opened, offline)
    assert [r["outcome"] for r in results] == ["recorded", "recorded"], results
    lot = await db_session.scalar(select(Lot).where(Lot.variant_id == shop.box.id))
    assert lot is not None

    client.cookies.clear()
    with clock.pinned(T0 + timedelta(hours=1)):
        assert (await password_sign_in(client, shop.manager.username)).status_code == 303
        home = await client.get("/admin/pos", headers=HTML)
        assert '<span class="stat-num">1</span><span class="stat-label">待处理库存异常' in home.text
        assert '<span class="stat-num">1</span><span class="stat-label">今日销售（笔）' in home.text
        listed = await client.get(f"/admin/pos/sales?store={shop.store.code}", headers=HTML)
    assert offline["number"] in listed.text and "离线售出" in listed.text
    # The manager's session (signed in at T0 + 1 h) is used at pinned times: it expires 12 h later.
    with clock.pinned(T0 + timedelta(hours=1, minutes=30)):
        detail = await client.get(f"/admin/pos/sales/{offline['number']}", headers=HTML)
        exceptions = await client.get("/admin/pos/exceptions", headers=HTML)
    assert detail.status_code == 200
    assert f'href="/t/{lot.code}"' in detail.text and "账上短缺 2" in detail.text

    exception_id = int(re.search(r'id="exc-(\d+)"', exceptions.text).group(1))  # type: ignore[union-attr]
    # The manager counts the shelf the next hour: the box is gone, the loquats are all there.
    loquats = await db_session.scalar(select(Lot).where(Lot.variant_id == shop.jin.id))
    assert loquats is not None
    with clock.pinned(T0 + timedelta(hours=2)):
        count = await counts.open_count(db_session, location_code=shop.location.code, actor_user_id=shop.manager.id)
        await counts.record_counts(db_session, count.number, {loquats.code: Decimal(50)})
        await counts.post_count(db_session, count.number, actor_user_id=shop.manager.id)
    with clock.pinned(T0 + timedelta(hours=2, minutes=30)):
        done = await form_post(
            client,
            "/admin/pos/exceptions",
            f"/admin/pos/exceptions/{exception_id}/resolve",
            {"resolution": "count", "reference": count.number},
            after=f'id="exc-{exception_id}"',
        )
    assert done.status_code == 303, done.text
    resolved = await db_session.get(StockException, exception_id)
    assert resolved is not None
    await db_session.refresh(resolved)
    assert (resolved.status, resolved.resolution_ref, resolved.resolved_by_id) == (
        "resolved",
        count.number,
        shop.manager.id,
    )
