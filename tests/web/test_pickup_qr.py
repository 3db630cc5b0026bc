"""The pickup QR on the customer's order page, and the way there from the "ready for pickup" SMS:
shown large with the code to the customer only; a browser that has not proven the phone gets the
look-up form with the order number filled in — the same for an order that does not exist."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.kit.qr import qr_modules, qr_svg
from app.notifications.models import NotificationMessage
from app.stations import parcels
from tests.fixtures.shop import Shop
from tests.web import test_shop_pages, test_station_console
from tests.web.test_station_console import Counter, shelved_order
from tests.web.test_stock_pages import HTML, field, log_in

counter = test_station_console.counter  # the station console's fixture, found by name
second_client = test_shop_pages.second_client  # another browser (its own cookies)


async def prove_phone(client: httpx.AsyncClient, number: str, phone: str = "13800138000") -> httpx.Response:
    page = await client.get("/orders/lookup", headers=HTML)
    return await client.post(
        "/orders/lookup",
        data={"csrf_token": field(page, "csrf_token"), "number": number, "phone": phone},
        headers=HTML,
    )


async def test_the_customer_sees_the_code_and_the_qr_from_the_sms_link(
    client: httpx.AsyncClient, second_client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop, counter: Counter
) -> None:
    parcel, order = await shelved_order(db_session, counter, shop)
    code = parcels.customer_pickup_code(parcel)
    assert code is not None
    sms = await db_session.scalar(
        select(NotificationMessage.body).where(
            NotificationMessage.reference == order.number, NotificationMessage.template == "order_ready_for_pickup"
        )
    )
    link = re.search(rf"取货二维码：http://127\.0\.0\.1:8000(/orders/{order.number}\?t=[\w.-]+)$", sms or "")
    assert link is not None, sms

    # The SMS link proves the customer at once (signed), and drops the signature from the address.
    opened = await second_client.get(link.group(1), headers=HTML)
    assert opened.status_code == 303 and opened.headers["location"] == f"/orders/{order.number}"
    via_link = await second_client.get(f"/orders/{order.number}", headers=HTML)
    assert via_link.status_code == 200 and code in via_link.text
    # A forged or stale signature proves nothing.
    forged = await client.get(f"/orders/{order.number}?t=1abc.AAAAAAAAAAAAAAAAAAAAAAAAAAA", headers=HTML)
    assert forged.status_code == 404 and code not in forged.text

    # The address typed without the signature: the phone is asked for, the number already filled in.
    asked = await client.get(f"/orders/{order.number}", headers=HTML)
    assert asked.status_code == 404
    assert f"查看订单 {order.number} 的进度和取货二维码，请先输入下单时填写的手机号。" in asked.text
    assert f'name="number" value="{order.number}"' in asked.text
    assert code not in asked.text and "<svg" not in asked.text
    assert (await prove_phone(client, order.number)).status_code == 303

    page = await client.get(f"/orders/{order.number}", headers=HTML)

    assert page.status_code == 200
    shown_code = f'<span class="visually-hidden">取货码 </span>{code}</p>'
    assert f'<p class="pickup-code" id="order-pickup-code">{shown_code}' in page.text
    expected = qr_svg(parcels.pickup_qr(order.number), label=f"取货二维码，订单 {order.number}")
    assert str(expected) in page.text
    assert "村站扫码即可交付，无需报码" in page.text
    # What the SVG draws is the signed QR the station accepts.
    assert parcels.qr_matches(parcels.pickup_qr(order.number), order.number)
    assert len(qr_modules(parcels.pickup_qr(order.number))) == 29  # version 3: big modules on a phone


async def test_nobody_else_sees_the_qr(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop, counter: Counter
) -> None:
    _, order = await shelved_order(db_session, counter, shop)
    qr = parcels.pickup_qr(order.number)

    wrong_phone = await prove_phone(client, order.number, "13900000000")
    assert wrong_phone.status_code == 404
    assert qr_svg(qr, label="x").split('d="')[1] not in (await client.get(f"/orders/{order.number}", headers=HTML)).text

    await log_in(client, db_session, Role.admin)
    staff = await client.get(f"/orders/{order.number}", headers=HTML)
    assert staff.status_code == 200 and "<svg" not in staff.text
    assert "order-pickup-code" not in staff.text


async def test_a_link_to_an_order_that_does_not_exist_looks_the_same(client: httpx.AsyncClient) -> None:
    page = await client.get("/orders/NP000000000001", headers=HTML)
    assert page.status_code == 404
    assert "查看订单 NP000000000001 的进度和取货二维码，请先输入下单时填写的手机号。" in page.text
    junk = await client.get("/orders/%3Cscript%3E", headers=HTML)
    assert junk.status_code == 404 and "<script>" not in junk.text and 'name="number" value=""' in junk.text
