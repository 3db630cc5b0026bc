"""/admin/notifications: admins read every notice (masked phone), filter it; nobody else gets in."""

from __future__ import annotations

import re

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.notifications import service
from app.notifications.providers import OutboxOnlyProvider
from tests.fixtures.builders import DEFAULT_PASSWORD, make_user

HTML = {"accept": "text/html"}
PAGE = "/admin/notifications"


async def log_in(client: httpx.AsyncClient, session: AsyncSession, role: Role) -> None:
    user = await make_user(session, role)
    page = await client.get("/login", headers=HTML)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    response = await client.post(
        "/login", data={"username": user.username, "password": DEFAULT_PASSWORD, "csrf_token": token.group(1)}
    )
    assert response.status_code == 303


async def test_admin_sees_messages_masked_and_filters_them(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    kept = await service.notify(
        db_session,
        template="order_expired",
        recipient="13800138000",
        params={"order_number": "NP2611290101"},
        reference="NP2611290101",
    )
    await service.send_message(db_session, kept.id, OutboxOnlyProvider())
    await service.notify(
        db_session,
        template="order_paid",
        recipient="13912345678",
        params={"order_number": "NP2611290102", "amount_minor": 990},
        reference="NP2611290102",
    )
    await log_in(client, db_session, Role.admin)

    page = await client.get(PAGE, headers=HTML)
    assert page.status_code == 200
    text = page.text
    assert '<a href="/admin/notifications" aria-current="page">消息</a>' in text
    assert "+86 138****8000" in text and "+86 139****5678" in text
    assert "13800138000" not in text and "13912345678" not in text
    assert "【南岭明珠】订单NP2611290101因超时未支付已自动取消。如仍需要，欢迎重新下单。" in text
    assert "仅留存" in text and "待发送" in text
    assert "未配置短信服务商" in text
    # Newest first.
    assert text.index("NP2611290102") < text.index("NP2611290101")

    by_reference = await client.get(PAGE, params={"reference": "NP2611290101"}, headers=HTML)
    assert "NP2611290101" in by_reference.text and "NP2611290102" not in by_reference.text
    by_phone = await client.get(PAGE, params={"phone": "5678"}, headers=HTML)
    assert "NP2611290102" in by_phone.text and "NP2611290101" not in by_phone.text
    by_status = await client.get(PAGE, params={"status": "outbox_only"}, headers=HTML)
    assert "NP2611290101" in by_status.text and "NP2611290102" not in by_status.text
    by_template = await client.get(PAGE, params={"template": "order_paid"}, headers=HTML)
    assert "NP2611290102" in by_template.text and "NP2611290101" not in by_template.text

    bad = await client.get(PAGE, params={"phone": "12"}, headers=HTML)
    assert bad.status_code == 422 and "手机尾号应为 4 位数字" in bad.text
    bad_status = await client.get(PAGE, params={"status": "lost"}, headers=HTML)
    assert bad_status.status_code == 422 and "状态：取值无效" in bad_status.text


async def test_a_customer_is_refused_and_a_visitor_sent_to_login(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    anonymous = await client.get(PAGE, headers=HTML)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == f"/login?next={PAGE}"
    await log_in(client, db_session, Role.customer)
    assert (await client.get(PAGE, headers=HTML)).status_code == 403


async def test_warehouse_staff_do_not_see_the_link_or_the_page(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    await log_in(client, db_session, Role.warehouse)
    stock = await client.get("/admin/stock", headers=HTML)
    assert stock.status_code == 200 and PAGE not in stock.text
    assert (await client.get(PAGE, headers=HTML)).status_code == 403


async def test_pickup_codes_are_masked_outside_demo(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    from datetime import UTC, datetime

    await service.notify(
        db_session,
        template="order_ready_for_pickup",
        recipient="13800138000",
        params={
            "order_number": "NP2612050101",
            "pickup_code": "2-3-480915",
            "station_name": "东湖坪村服务站",
            "pickup_deadline": datetime(2026, 12, 12, 4, 0, tzinfo=UTC),
            "order_url": "http://127.0.0.1:8000/orders/NP2612050101",
        },
        reference="NP2612050101",
    )
    await log_in(client, db_session, Role.admin)

    page = await client.get(PAGE, headers=HTML)

    assert page.status_code == 200
    assert "取货码2-3-******" in page.text and "480915" not in page.text


def test_the_mask_keeps_the_slot_only() -> None:
    from app.notifications.templates import mask_secrets

    assert mask_secrets("取货码2-3-480915，请取件", {"pickup_code": "2-3-480915"}) == "取货码2-3-******，请取件"
    assert mask_secrets("没有密码", {"order_number": "NP1"}) == "没有密码"
