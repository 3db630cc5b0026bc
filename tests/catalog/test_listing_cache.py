"""Cached listings never outlive a catalog change, whichever path made it."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.catalog.models import PriceListKind
from tests.fixtures.builders import auth, ensure_price_list, make_product, make_user, make_variant, set_price, token_for


async def test_listing_is_cached_until_the_catalog_changes(
    client: httpx.AsyncClient, db_session: AsyncSession, app: FastAPI
) -> None:
    await ensure_price_list(db_session, "retail", PriceListKind.retail)
    product = await make_product(db_session, slug="cache-loquat")
    variant = await make_variant(db_session, product=product)
    await set_price(db_session, "retail", variant, 6800)
    cache = app.state.listing_cache

    first = await client.get("/api/v1/products")
    again = await client.get("/api/v1/products")
    assert first.content == again.content
    assert (cache.misses, cache.hits) == (1, 1)

    admin = auth(await token_for(db_session, await make_user(db_session, Role.admin)))
    changed = await client.put(
        f"/api/v1/admin/price-lists/retail/items/{variant.sku}", headers=admin, json={"unit_price_minor": 7200}
    )
    assert changed.status_code == 200
    after_api = (await client.get("/api/v1/products/cache-loquat")).json()
    assert after_api["variants"][0]["price"]["unit_price_minor"] == 7200

    # A write that bypasses the services (a console fix, a migration) is seen as well.
    await db_session.execute(text("UPDATE products SET name_zh = '直改名称' WHERE id = :id"), {"id": product.id})
    after_sql = (await client.get("/api/v1/products/cache-loquat")).json()
    assert after_sql["name_zh"] == "直改名称"
    listing = (await client.get("/api/v1/products")).json()
    assert [p["name_zh"] for p in listing if p["slug"] == "cache-loquat"] == ["直改名称"]


async def test_viewers_do_not_share_cached_prices(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    await ensure_price_list(db_session, "retail", PriceListKind.retail)
    await ensure_price_list(db_session, "wholesale", PriceListKind.wholesale)
    product = await make_product(db_session, slug="cache-pear")
    variant = await make_variant(db_session, product=product)
    await set_price(db_session, "retail", variant, 5000)
    await set_price(db_session, "wholesale", variant, 4000)
    buyer = auth(await token_for(db_session, await make_user(db_session, Role.buyer)))
    seen_by_buyer = (await client.get("/api/v1/products/cache-pear", headers=buyer)).json()
    seen_by_public = (await client.get("/api/v1/products/cache-pear")).json()
    assert seen_by_buyer["variants"][0]["wholesale_price"]["unit_price_minor"] == 4000
    assert seen_by_public["variants"][0]["wholesale_price"] is None


async def test_stock_state_follows_stock_without_a_catalog_change(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:

    from tests.fixtures.builders import receive, receive_expired

    await ensure_price_list(db_session, "retail", PriceListKind.retail)
    product = await make_product(db_session, slug="stock-taro", shelf_life_days=30)
    variant = await make_variant(db_session, product=product)
    await set_price(db_session, "retail", variant, 3000)

    async def state(headers: dict[str, str] | None = None) -> tuple[str, str | None]:
        body = (await client.get("/api/v1/products/stock-taro", headers=headers or {})).json()
        return body["variants"][0]["stock_state"], body["variants"][0]["available"]

    assert await state() == ("out_of_stock", None)
    await receive(db_session, variant, "3")
    assert await state() == ("low_stock", None)
    await receive(db_session, variant, "20")
    assert await state() == ("in_stock", None)
    staff = auth(await token_for(db_session, await make_user(db_session, Role.warehouse)))
    assert await state(staff) == ("in_stock", "23")
    # An expired lot is on hand but not for sale.
    expired = await make_variant(db_session, product=product)
    await set_price(db_session, "retail", expired, 3000)
    await receive_expired(db_session, expired, "50")
    body = (await client.get("/api/v1/products/stock-taro")).json()
    assert [v["stock_state"] for v in body["variants"]] == ["in_stock", "out_of_stock"]
