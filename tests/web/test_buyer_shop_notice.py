"""A signed-in buyer in the retail shop is told, on the product page, the cart and the checkout,
that these pages charge retail prices and that bulk orders belong in the wholesale portal; the
product page's wholesale prices are marked as the portal's only. A customer sees none of it."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.catalog.models import PriceListKind, Variant
from tests.fixtures.builders import DEFAULT_PASSWORD, ensure_price_list, set_price
from tests.fixtures.shop import Storefront
from tests.fixtures.wholesale_orders import buyer
from tests.web.test_shop_pages import add
from tests.web.test_stock_pages import HTML, field, log_in

NOTICE = "您是批发采购商：这里按零售价结算。批发订货（贵司价格、按车次配送）请到 "
PORTAL_LINK = '<a href="/wholesale">批发门户</a>'


async def _wholesale_priced(session: AsyncSession, shop: Storefront) -> None:
    """The storefront's loquat box on the wholesale list too (so a buyer sees its wholesale price)."""
    await ensure_price_list(session, "wholesale", PriceListKind.wholesale)
    box = await session.scalar(select(Variant).where(Variant.sku == shop.box_sku))
    assert box is not None
    await set_price(session, "wholesale", box, 5200)


async def _pages(client: httpx.AsyncClient, shop: Storefront) -> tuple[httpx.Response, ...]:
    product = await client.get(f"/products/{shop.loquat_slug}", headers=HTML)
    assert (await add(client, shop.loquat_slug, shop.box_sku, "2")).status_code == 303
    cart = await client.get("/cart", headers=HTML)
    checkout = await client.get("/checkout", headers=HTML)
    for page in (product, cart, checkout):
        assert page.status_code == 200, page.text
    return product, cart, checkout


async def test_a_buyer_is_sent_to_the_portal_and_sees_retail_prices_labelled(
    client: httpx.AsyncClient, db_session: AsyncSession, storefront: Storefront
) -> None:
    await _wholesale_priced(db_session, storefront)
    ours = await buyer(db_session)
    login = await client.get("/login", headers=HTML)
    signed_in = await client.post(
        "/login",
        data={"username": ours.user.username, "password": DEFAULT_PASSWORD, "csrf_token": field(login, "csrf_token")},
    )
    assert signed_in.status_code == 303

    product, cart, checkout = await _pages(client, storefront)

    for page in (product, cart, checkout):
        assert NOTICE + PORTAL_LINK in page.text
    assert "仅限批发门户" in product.text and "¥52.00" in product.text
    assert "批发价仅在" in product.text
    assert '零售价合计 <strong class="price">¥136.00</strong>' in cart.text
    assert "零售价 ¥68.00/" in cart.text
    assert '零售价合计 <strong class="price">¥136.00</strong>' in checkout.text
    assert "商品（按零售价）" in checkout.text


async def test_a_customer_sees_no_portal_notice(
    client: httpx.AsyncClient, db_session: AsyncSession, storefront: Storefront
) -> None:
    await log_in(client, db_session, Role.customer)

    product, cart, checkout = await _pages(client, storefront)

    for page in (product, cart, checkout):
        assert NOTICE not in page.text and "仅限批发门户" not in page.text
    assert '商品合计 <strong class="price">¥136.00</strong>' in cart.text
    assert '商品合计 <strong class="price">¥136.00</strong>' in checkout.text
    assert "零售价合计" not in cart.text + checkout.text
