"""Attribution of shop orders to live-stream sellers: the typed code, the seller's link (first
touch, window), one seller per order, an unknown code refused, and the link's redirect."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit import clock
from app.orders.models import Order
from app.streamers import service
from app.streamers.models import OrderAttribution, Seller
from tests.fixtures.shop import Shop, Storefront, order_body
from tests.web.test_shop_pages import check_out, fill_cart

T0 = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)  # midnight in China


async def seller(session: AsyncSession, name: str = "主播甲", bps: int = 500, **kw: object) -> Seller:
    return await service.create_seller(session, service.SellerInput(name=name, commission_bps=bps, **kw))  # type: ignore[arg-type]


async def place(client: httpx.AsyncClient, shop: Shop, **extra: object) -> httpx.Response:
    body = order_body(shop, lines=[{"sku": shop.box_sku, "quantity": "1"}], **extra)
    return await client.post("/api/v1/orders", json=body)


async def attribution(session: AsyncSession, number: str) -> OrderAttribution | None:
    return await session.scalar(
        select(OrderAttribution).join(Order, Order.id == OrderAttribution.order_id).where(Order.number == number)
    )


async def test_code_path_attributes(client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop) -> None:
    a = await seller(db_session)
    await db_session.commit()
    with clock.pinned(T0):
        response = await place(client, shop, referral_code=f" {a.code.lower()} ")
    assert response.status_code == 201, response.text
    row = await attribution(db_session, response.json()["number"])
    assert row is not None and (row.seller_id, row.via, row.touched_at) == (a.id, "code", T0)


async def test_link_path_attributes_and_a_later_link_does_not_steal(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop
) -> None:
    a, b = await seller(db_session), await seller(db_session, "主播乙")
    await db_session.commit()
    with clock.pinned(T0):
        first = await client.get(f"/s/{a.code}")
    assert first.status_code == 303 and first.headers["location"] == "/"
    assert service.LINK_COOKIE in first.headers["set-cookie"]
    with clock.pinned(T0 + timedelta(days=2)):
        second = await client.get(f"/s/{b.code}")
        assert "set-cookie" not in second.headers  # the first touch stays
        response = await place(client, shop)
    assert response.status_code == 201, response.text
    row = await attribution(db_session, response.json()["number"])
    assert row is not None and (row.seller_id, row.via, row.touched_at) == (a.id, "link", T0)


async def test_typed_code_wins_over_the_link(client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop) -> None:
    a, b = await seller(db_session), await seller(db_session, "主播乙")
    await db_session.commit()
    await client.get(f"/s/{a.code}")
    response = await place(client, shop, referral_code=b.code)
    row = await attribution(db_session, response.json()["number"])
    assert row is not None and (row.seller_id, row.via) == (b.id, "code")


async def test_outside_the_window_no_attribution_and_a_new_link_counts(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop
) -> None:
    a, b = await seller(db_session), await seller(db_session, "主播乙")
    await db_session.commit()
    with clock.pinned(T0):
        await client.get(f"/s/{a.code}")
    late = T0 + timedelta(days=7, seconds=1)
    with clock.pinned(late):
        response = await place(client, shop)
        assert response.status_code == 201, response.text
        assert await attribution(db_session, response.json()["number"]) is None
        # The window has passed: another seller's link is a new first touch.
        assert service.LINK_COOKIE in (await client.get(f"/s/{b.code}")).headers["set-cookie"]
        again = await place(client, shop)
    row = await attribution(db_session, again.json()["number"])
    assert row is not None and row.seller_id == b.id


async def test_forged_or_inactive_cookie_is_ignored(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop
) -> None:
    a = await seller(db_session, active=False)
    await db_session.commit()
    client.cookies.set(service.LINK_COOKIE, '{"s": 1, "t": "2026-11-20T16:00:00+00:00"}')
    response = await place(client, shop)
    assert await attribution(db_session, response.json()["number"]) is None
    # An inactive seller's link sets nothing.
    assert "set-cookie" not in (await client.get(f"/s/{a.code}")).headers


@pytest.mark.parametrize("code", ["NOPE99", "inactive"])
async def test_unknown_or_inactive_code_is_422_and_writes_nothing(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop, code: str
) -> None:
    inactive = await seller(db_session, active=False)
    await db_session.commit()
    before = await db_session.scalar(select(func.count()).select_from(Order))
    response = await place(client, shop, referral_code=inactive.code if code == "inactive" else code)
    assert response.status_code == 422
    assert response.json()["error"] == "unknown_referral_code"
    assert await db_session.scalar(select(func.count()).select_from(Order)) == before
    assert await db_session.scalar(select(func.count()).select_from(OrderAttribution)) == 0


async def test_one_seller_per_order(client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop) -> None:
    a, b = await seller(db_session), await seller(db_session, "主播乙")
    await db_session.commit()
    response = await place(client, shop, referral_code=a.code)
    order_id = await db_session.scalar(select(Order.id).where(Order.number == response.json()["number"]))
    assert order_id is not None
    db_session.add(OrderAttribution(order_id=order_id, seller_id=b.id, via="code", touched_at=T0))
    with pytest.raises(IntegrityError):
        await db_session.flush()


async def test_checkout_form_link_and_typed_code(
    client: httpx.AsyncClient, db_session: AsyncSession, storefront: Storefront
) -> None:
    """The shop's checkout form: the link's cookie attributes; a typed unknown code is shown again."""
    a = await seller(db_session)
    await db_session.commit()
    await client.get(f"/s/{a.code}")
    await fill_cart(client, storefront)
    refused = await check_out(client, storefront, referral_code="NOPE99")
    assert refused.status_code == 422 and "推荐码不存在或已停用" in refused.text
    assert await db_session.scalar(select(func.count()).select_from(Order)) == 0
    placed = await check_out(client, storefront)
    assert placed.status_code == 303, placed.text
    row = await db_session.scalar(select(OrderAttribution))
    assert row is not None and (row.seller_id, row.via) == (a.id, "link")


@pytest.mark.parametrize(
    ("next_url", "location"),
    [("//evil.example", "/"), ("https://evil.example/x", "/"), ("/products/loquat", "/products/loquat"), ("", "/")],
)
async def test_link_redirect_stays_on_site(
    client: httpx.AsyncClient, db_session: AsyncSession, next_url: str, location: str
) -> None:
    a = await seller(db_session)
    await db_session.commit()
    response = await client.get(f"/s/{a.code}", params={"next": next_url} if next_url else None)
    assert response.status_code == 303 and response.headers["location"] == location


async def test_unknown_link_code_redirects_without_a_cookie(client: httpx.AsyncClient) -> None:
    response = await client.get("/s/NOPE99")
    assert response.status_code == 303 and "set-cookie" not in response.headers


def test_codes_are_unambiguous() -> None:
    assert not set("01IOL") & set(service.CODE_ALPHABET)
