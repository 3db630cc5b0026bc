"""Customers' personal data (PIPL): the export, the deletion (注销) of an account, and staff seeing
names, phones and addresses only as far as their work needs (the README's 个人信息 table)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import AccountErasure, ApiToken, Role, User, WebSession
from app.kit import clock
from app.notifications.models import NotificationMessage, NotificationStatus
from app.orders import personal_data
from app.orders.models import Order, OrderEvent, OrderStatus
from app.stations.models import Station
from tests.fixtures.builders import DEFAULT_PASSWORD, auth, make_user, token_for
from tests.fixtures.shop import Shop, order_body
from tests.web.test_stock_pages import HTML, field, log_in

# 16:30 UTC: already the next day in China — the export's file is named by the China date.
NOW = datetime(2026, 12, 5, 16, 30, tzinfo=UTC)
CHINA_DATE = "2026-12-06"
PHONE = "+8613800138000"


@pytest.fixture(autouse=True)
def pinned_clock() -> Iterator[None]:
    with clock.pinned(NOW):
        yield


@pytest.fixture
async def api(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client without the page session's cookies, for the JSON API with bearer tokens."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as other:
        yield other


async def _customer_signed_in(client: httpx.AsyncClient, session: AsyncSession) -> tuple[User, dict[str, str]]:
    user = await session.get(User, await log_in(client, session, Role.customer))
    assert user is not None
    user.phone = PHONE
    await session.flush()
    return user, auth(await token_for(session, user))


async def _place(
    api: httpx.AsyncClient, shop: Shop, headers: dict[str, str], name: str = "李阿姨", phone: str = "13800138000"
) -> str:
    body = order_body(shop, contact={"name": name, "phone": phone})
    response = await api.post("/api/v1/orders", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["number"])


async def _cancel(api: httpx.AsyncClient, number: str, headers: dict[str, str]) -> None:
    response = await api.post(f"/api/v1/orders/{number}/cancel", json={"reason": "不要了"}, headers=headers)
    assert response.status_code == 200 and response.json()["status"] == "cancelled", response.text


async def _delete(client: httpx.AsyncClient, confirm: str) -> httpx.Response:
    page = await client.get("/account", headers=HTML)
    assert page.status_code == 200 and 'action="/account/delete"' in page.text
    return await client.post(
        "/account/delete", data={"csrf_token": field(page, "csrf_token"), "confirm": confirm}, headers=HTML
    )


# ---- export ---------------------------------------------------------------------------------------


async def test_the_export_holds_the_customers_own_data_only(
    client: httpx.AsyncClient, api: httpx.AsyncClient, db_session: AsyncSession, shop: Shop
) -> None:
    me, mine = await _customer_signed_in(client, db_session)
    other = auth(await token_for(db_session, await make_user(db_session, Role.customer, phone="+8613900139000")))
    my_number = await _place(api, shop, mine)
    their_number = await _place(api, shop, other, name="陈伯", phone="13900139000")

    account = await client.get("/account", headers=HTML)
    assert 'href="/account/data"' in account.text

    download = await client.get("/account/data", headers=HTML)
    assert download.status_code == 200, download.text
    assert download.headers["content-disposition"] == f'attachment; filename="my-data-{CHINA_DATE}.json"'
    assert download.headers["cache-control"] == "no-store"
    data = download.json()
    assert data["profile"] == {
        "username": me.username,
        "display_name": me.display_name,
        "phone": PHONE,
        "role": "customer",
        "created_at": data["profile"]["created_at"],
        "last_login_at": "2026-12-06T00:30:00+08:00",
    }
    assert data["exported_at"] == "2026-12-06T00:30:00+08:00"
    (order,) = data["orders"]
    assert order["number"] == my_number and order["placed_at"].endswith("+08:00")
    assert order["status"] == "confirmed" and order["total_minor"] == 13600 + 2285
    assert order["contact"] == {"name": "李阿姨", "phone": PHONE}
    assert order["delivery"]["method"] == "station_pickup"
    assert order["delivery"]["station"]["code"] == shop.station_code
    assert [(line["sku"], line["quantity"]) for line in order["lines"]] == [
        (shop.box_sku, "2.000"),
        (shop.taro_sku, "1.235"),
    ]
    (notice,) = data["notifications"]
    assert notice["reference"] == my_number and notice["template"] == "order_placed"
    assert their_number not in download.text and "陈伯" not in download.text and "13900139000" not in download.text

    by_token = await api.get("/api/v1/me/data", headers=mine)
    assert by_token.status_code == 200
    assert [o["number"] for o in by_token.json()["orders"]] == [my_number]
    assert json.loads(by_token.content)["profile"]["username"] == me.username


async def test_the_export_is_for_a_signed_in_customer_only(
    client: httpx.AsyncClient, api: httpx.AsyncClient, db_session: AsyncSession, shop: Shop
) -> None:
    to_login = await client.get("/account/data", headers=HTML)
    assert to_login.status_code == 303 and to_login.headers["location"] == "/login?next=/account/data"
    assert (await api.get("/api/v1/me/data")).status_code == 401

    customer = await make_user(db_session, Role.customer)
    await _place(api, shop, auth(await token_for(db_session, customer)))
    for role in (Role.admin, Role.warehouse, Role.station_operator, Role.clerk):
        staff = auth(await token_for(db_session, await make_user(db_session, role)))
        refused = await api.get("/api/v1/me/data", headers=staff)
        assert refused.status_code == 403, (role, refused.text)
        assert "李阿姨" not in refused.text
    await log_in(client, db_session, Role.admin)
    assert (await client.get("/account/data", headers=HTML)).status_code == 403
    assert 'action="/account/delete"' not in (await client.get("/account", headers=HTML)).text


# ---- deletion -------------------------------------------------------------------------------------


async def test_deletion_is_refused_while_an_order_is_open(
    client: httpx.AsyncClient, api: httpx.AsyncClient, db_session: AsyncSession, shop: Shop
) -> None:
    me, mine = await _customer_signed_in(client, db_session)
    number = await _place(api, shop, mine)

    unconfirmed = await _delete(client, "好的")
    assert unconfirmed.status_code == 422 and "请在确认框中输入“注销”二字" in unconfirmed.text

    refused = await _delete(client, "注销")
    assert refused.status_code == 409
    assert "请先完成或取消这些订单，再注销账户" in refused.text and f'href="/orders/{number}"' in refused.text

    await db_session.refresh(me)
    assert (me.username.startswith("user"), me.phone, me.is_active) == (True, PHONE, True)
    order = await db_session.scalar(select(Order).where(Order.number == number))
    assert order is not None and (order.contact_name, order.contact_phone) == ("李阿姨", PHONE)
    assert await db_session.scalar(select(AccountErasure).where(AccountErasure.user_id == me.id)) is None
    assert (await client.get("/account", headers=HTML)).status_code == 200  # still signed in


async def test_deletion_anonymises_the_account_its_orders_and_notices(
    client: httpx.AsyncClient, api: httpx.AsyncClient, db_session: AsyncSession, shop: Shop
) -> None:
    me, mine = await _customer_signed_in(client, db_session)
    number = await _place(api, shop, mine)
    await _cancel(api, number, mine)
    order = await db_session.scalar(select(Order).where(Order.number == number))
    assert order is not None
    # As a home-delivery order carries it (online payment, which this app has not configured).
    order.delivery_address = {"province": "广东省", "city": "韶关市", "township": "太平镇", "detail": "东湖坪村 8 号"}
    await db_session.flush()
    totals = (order.subtotal_minor, order.delivery_fee_minor, order.total_minor, order.paid_minor)
    other = await make_user(db_session, Role.customer, phone="+8613900139000")
    their_number = await _place(api, shop, auth(await token_for(db_session, other)), name="陈伯", phone="13900139000")

    deleted = await _delete(client, " 注销 ")
    assert deleted.status_code == 200 and "账户已注销" in deleted.text

    # Signed out everywhere: the old cookie and the old token no longer work.
    assert (await client.get("/account", headers=HTML)).headers.get("location") == "/login?next=/account"
    assert (await api.get("/api/v1/me/orders", headers=mine)).status_code == 401
    sessions = (await db_session.scalars(select(WebSession).where(WebSession.user_id == me.id))).all()
    tokens = (await db_session.scalars(select(ApiToken).where(ApiToken.user_id == me.id))).all()
    assert sessions and tokens and all(s.revoked_at == NOW for s in [*sessions, *tokens])

    await db_session.refresh(me)
    assert (me.username, me.display_name, me.phone, me.is_active) == (f"deleted-{me.id}", "已注销用户", None, False)
    await db_session.refresh(order)
    assert (order.contact_name, order.contact_phone) == ("已注销用户", f"deleted-{me.id}")
    assert order.delivery_address == {"province": "广东省", "city": "韶关市"}
    assert (order.subtotal_minor, order.delivery_fee_minor, order.total_minor, order.paid_minor) == totals
    assert order.status is OrderStatus.cancelled and order.number == number
    events = (await db_session.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id))).all()
    assert [(e.kind, e.actor_user_id) for e in events][-1] == ("customer_data_anonymised", me.id)

    messages = (
        await db_session.scalars(select(NotificationMessage).where(NotificationMessage.reference == number))
    ).all()
    assert sorted(m.template for m in messages) == ["order_cancelled", "order_placed"]
    for message in messages:
        assert message.recipient == "+86 138****8000" and "13800138000" not in message.body
        # Queued when the account went: kept, never sent to a number that is no longer there.
        assert message.status is NotificationStatus.outbox_only
    erasure = await db_session.scalar(select(AccountErasure).where(AccountErasure.user_id == me.id))
    assert erasure is not None
    assert (erasure.actor_user_id, erasure.erased_at, erasure.orders_anonymised, erasure.messages_anonymised) == (
        me.id,
        NOW,
        1,
        2,
    )

    # Another customer's order and notices are untouched.
    theirs = await db_session.scalar(select(Order).where(Order.number == their_number))
    assert theirs is not None and (theirs.contact_name, theirs.contact_phone) == ("陈伯", "+8613900139000")

    # A second request changes nothing and answers the first erasure.
    again = await personal_data.erase_customer(db_session, me.id, actor_user_id=me.id, confirmation="注销")
    assert (again.erased_at, again.orders_anonymised, again.messages_anonymised) == (NOW, 1, 2)
    assert len((await db_session.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id))).all()) == len(
        events
    )

    # The ops console's order page shows the anonymised contact, and no number.
    await log_in(client, db_session, Role.admin)
    page = await client.get(f"/admin/orders/{number}", headers=HTML)
    assert page.status_code == 200 and "已注销用户 已注销" in page.text and "deleted-" not in page.text


# ---- what staff see -------------------------------------------------------------------------------


async def test_staff_see_contact_data_only_as_far_as_their_work_needs(
    client: httpx.AsyncClient, api: httpx.AsyncClient, db_session: AsyncSession, shop: Shop
) -> None:
    customer = await make_user(db_session, Role.customer, username="m13800138000", display_name="李阿姨", phone=PHONE)
    number = await _place(api, shop, auth(await token_for(db_session, customer)))
    station_id = await db_session.scalar(select(Station.id).where(Station.code == shop.station_code))
    operator = auth(
        await token_for(db_session, await make_user(db_session, Role.station_operator, station_id=station_id))
    )
    warehouse = auth(await token_for(db_session, await make_user(db_session, Role.warehouse)))
    admin = auth(await token_for(db_session, await make_user(db_session, Role.admin)))

    at_station = await api.get(f"/api/v1/orders/{number}", headers=operator)
    assert at_station.status_code == 200
    seen = at_station.json()
    assert (seen["contact_name"], seen["contact_phone_masked"], seen["delivery_address"]) == (
        "李**",
        "*******8000",
        None,
    )
    assert "李阿姨" not in at_station.text and "138" not in seen["contact_phone_masked"]

    listed = await api.get("/api/v1/admin/orders", headers=warehouse)
    assert [(o["number"], o["contact_name"], o["contact_phone_masked"]) for o in listed.json()] == [
        (number, "李**", "138****8000")
    ]
    assert "李阿姨" not in listed.text
    for_admin = await api.get(f"/api/v1/orders/{number}", headers=admin)
    assert for_admin.json()["contact_name"] == "李阿姨"  # one order, read by an admin
    assert (await api.get(f"/api/v1/orders/{number}", headers=auth(await token_for(db_session, customer)))).json()[
        "contact_name"
    ] == "李阿姨"

    # The order page, opened by the station's operator.
    op_user = await make_user(db_session, Role.station_operator, station_id=station_id)
    login = await client.get("/login", headers=HTML)
    signed = await client.post(
        "/login",
        data={"username": op_user.username, "password": DEFAULT_PASSWORD, "csrf_token": field(login, "csrf_token")},
    )
    assert signed.status_code == 303
    page = await client.get(f"/orders/{number}", headers=HTML)
    assert page.status_code == 200 and "李**" in page.text
    assert "李阿姨" not in page.text and "13800138000" not in page.text

    # The ops console: masked in the lists, in full on the order's own page.
    await client.post("/logout", data={"csrf_token": field(page, "csrf_token")})
    await log_in(client, db_session, Role.admin)
    orders_page = await client.get("/admin/orders", headers=HTML)
    assert number in orders_page.text and "李** +86 138****8000" in orders_page.text
    assert "李阿姨" not in orders_page.text and "13800138000" not in orders_page.text
    detail = await client.get(f"/admin/orders/{number}", headers=HTML)
    assert "李阿姨" in detail.text and f'href="tel:{PHONE}"' in detail.text
    users_page = await client.get("/admin/users", params={"role": "customer"}, headers=HTML)
    assert users_page.status_code == 200 and "m138****8000" in users_page.text and "+86 138****8000" in users_page.text
    assert "13800138000" not in users_page.text and "李阿姨" not in users_page.text
    user_page = await client.get(f"/admin/users/{customer.id}", headers=HTML)
    assert PHONE in user_page.text  # the account's own page, for the admin who edits it
