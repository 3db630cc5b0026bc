"""Customers sign in (and sign up) by mobile number and a one-time SMS code: wrong, expired and
reused codes refused, sends and guesses limited — a burst of guesses included."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections import Counter
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.accounts.models import LoginCode, Role, User
from app.config import AppEnv, Settings
from app.db import create_sessionmaker
from app.kit import clock
from app.kit.outbox import RecordingSender
from app.main import create_app
from app.notifications.models import NotificationMessage
from tests.fixtures.builders import auth, make_user
from tests.fixtures.shop import Storefront

HTML = {"accept": "text/html"}


def random_mobile() -> str:
    return f"139{secrets.randbelow(10**8):08d}"


async def last_code(session: AsyncSession, phone: str) -> str:
    message = await session.scalar(
        select(NotificationMessage)
        .where(NotificationMessage.template == "login_code", NotificationMessage.recipient == f"+86{phone}")
        .order_by(NotificationMessage.id.desc())
        .limit(1)
    )
    assert message is not None
    return str(message.params["code"])


async def send(client: httpx.AsyncClient, phone: str) -> httpx.Response:
    return await client.post("/api/v1/auth/sms/code", json={"phone": phone})


async def verify(client: httpx.AsyncClient, phone: str, code: str) -> httpx.Response:
    return await client.post("/api/v1/auth/sms/token", json={"phone": phone, "code": code})


async def test_first_sign_in_creates_the_customer_and_later_ones_find_it(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    phone = random_mobile()
    sent = await send(client, phone)
    assert sent.status_code == 202, sent.text
    masked = f"+86 {phone[:3]}****{phone[-4:]}"
    assert sent.json() == {"phone_masked": masked, "ttl_minutes": 5, "resend_after_seconds": 60}
    code = await last_code(db_session, phone)
    assert re.fullmatch(r"\d{6}", code)
    stored = await db_session.scalar(select(LoginCode).where(LoginCode.phone == f"+86{phone}"))
    assert stored is not None and code not in stored.code_hash  # only an HMAC is kept

    signed_in = await verify(client, phone, code)
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["scope"] == "shop"
    me = (await client.get("/api/v1/auth/me", headers=auth(signed_in.json()["access_token"]))).json()
    assert me["role"] == "customer"
    users = (await db_session.scalars(select(User).where(User.phone == f"+86{phone}"))).all()
    assert [(u.role, u.username) for u in users] == [(Role.customer, f"m{phone}")]

    # The code is used once.
    again = await verify(client, phone, code)
    assert again.status_code == 422 and again.json()["error"] == "sms_code_invalid"
    # A later sign-in (a minute on) finds the same account.
    with clock.pinned(clock.now() + timedelta(seconds=61)):
        assert (await send(client, phone)).status_code == 202
        second = await verify(client, phone, await last_code(db_session, phone))
    assert second.status_code == 200
    assert await db_session.scalar(select(func.count()).select_from(User).where(User.phone == f"+86{phone}")) == 1


async def test_wrong_and_expired_codes_are_refused(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    phone = random_mobile()
    await send(client, phone)
    code = await last_code(db_session, phone)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    refused = await verify(client, phone, wrong)
    assert refused.status_code == 422 and refused.json()["error"] == "sms_code_invalid"
    with clock.pinned(clock.now() + timedelta(minutes=5, seconds=1)):
        late = await verify(client, phone, code)
    assert late.status_code == 422 and late.json()["error"] == "sms_code_expired"
    assert await db_session.scalar(select(func.count()).select_from(User).where(User.phone == f"+86{phone}")) == 0


async def test_a_new_code_replaces_the_old_one(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    phone = random_mobile()
    await send(client, phone)
    old = await last_code(db_session, phone)
    with clock.pinned(clock.now() + timedelta(seconds=61)):
        await send(client, phone)
        new = await last_code(db_session, phone)
        if new != old:
            assert (await verify(client, phone, old)).status_code == 422
        assert (await verify(client, phone, new)).status_code == 200


@pytest.mark.parametrize("phone", ["0751-1234567", "+852 9123 4567", "+1 650 253 0000", "12345", "138001380"])
async def test_only_mainland_mobiles_get_a_code(
    client: httpx.AsyncClient, db_session: AsyncSession, phone: str
) -> None:
    refused = await send(client, phone)
    assert refused.status_code == 422 and refused.json()["error"] == "not_a_mainland_mobile"
    assert "中国大陆手机号" in refused.json()["message"]
    assert await db_session.scalar(select(func.count()).select_from(NotificationMessage)) == 0


async def test_sends_are_limited_per_phone(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    phone = random_mobile()
    assert (await send(client, phone)).status_code == 202
    too_soon = await send(client, phone)
    assert too_soon.status_code == 429 and too_soon.json()["error"] == "sms_code_rate_limited"
    start = clock.now()
    statuses = []
    for minute in range(1, 6):
        with clock.pinned(start + timedelta(minutes=minute, seconds=1)):
            statuses.append((await send(client, phone)).status_code)
    assert statuses == [202, 202, 202, 202, 429]  # SMS_CODE_SEND_RATE_LIMIT 5/hour
    sent = await db_session.scalar(
        select(func.count()).select_from(NotificationMessage).where(NotificationMessage.recipient == f"+86{phone}")
    )
    assert sent == 5


async def test_a_staff_phone_gets_no_code_and_the_answer_says_nothing(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    phone = random_mobile()
    await make_user(db_session, Role.admin, phone=f"+86{phone}")
    customer_phone = random_mobile()
    staff = await send(client, phone)
    customer = await send(client, customer_phone)
    assert staff.status_code == customer.status_code == 202
    assert staff.json().keys() == customer.json().keys()
    count = await db_session.scalar(
        select(func.count()).select_from(NotificationMessage).where(NotificationMessage.recipient == f"+86{phone}")
    )
    assert count == 0
    assert (await verify(client, phone, "000000")).json()["error"] == "sms_code_invalid"


async def test_a_burst_of_guesses_gets_no_more_checks_than_the_limit(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path
) -> None:
    sessionmaker = create_sessionmaker(committed_engine)
    settings = Settings(app_env=AppEnv.test, app_data_dir=tmp_path, database_url=committed_database_url)
    app = create_app(settings, engine=committed_engine, sessionmaker=sessionmaker, task_sender=RecordingSender())
    phone = random_mobile()
    transport = httpx.ASGITransport(app=app, client=(f"10.77.{secrets.randbelow(250)}.{secrets.randbelow(250)}", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await send(client, phone)).status_code == 202
        async with sessionmaker() as session:
            code = await last_code(session, phone)
        guesses = [*[f"{n:06d}" for n in range(40) if f"{n:06d}" != code][:39], code]
        answers = await asyncio.gather(*(verify(client, phone, g) for g in guesses))
    statuses = Counter(a.status_code for a in answers)
    assert statuses[422] + statuses[200] == 5, statuses  # SMS_CODE_VERIFY_RATE_LIMIT 5 per 10 minutes
    assert statuses[429] == 35
    assert answers[-1].status_code in (200, 429) and statuses[200] <= 1  # checked only if among the five


async def test_the_pages_sign_a_customer_in(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    phone = random_mobile()
    page = await client.get("/login/sms?next=/cart", headers=HTML)
    assert page.status_code == 200 and "获取验证码" in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    form = {"csrf_token": token.group(1), "next": "/cart"}
    landline = await client.post("/login/sms/code", data={**form, "phone": "0751-1234567"}, headers=HTML)
    assert landline.status_code == 422 and "中国大陆手机号" in landline.text
    sent = await client.post("/login/sms/code", data={**form, "phone": phone}, headers=HTML)
    assert sent.status_code == 200 and "验证码已发送到" in sent.text and 'name="code"' in sent.text
    wrong = await client.post("/login/sms", data={**form, "phone": phone, "code": "12"}, headers=HTML)
    assert wrong.status_code == 422 and "验证码不正确" in wrong.text and 'name="code"' in wrong.text
    code = await last_code(db_session, phone)
    done = await client.post("/login/sms", data={**form, "phone": phone, "code": code}, headers=HTML)
    assert done.status_code == 303 and done.headers["location"] == "/cart"
    account = await client.get("/account", headers=HTML)
    assert account.status_code == 200
    # Off-site "next" is ignored.
    assert "evil" not in (await client.get("/login/sms?next=//evil.example", headers=HTML)).text


async def test_a_signed_in_customers_checkout_is_prefilled(
    client: httpx.AsyncClient, db_session: AsyncSession, storefront: Storefront
) -> None:
    from tests.web.test_shop_pages import check_out, fill_cart, number_of

    phone = random_mobile()
    page = await client.get("/login/sms", headers=HTML)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    form = {"csrf_token": token.group(1), "next": "/checkout"}
    await client.post("/login/sms/code", data={**form, "phone": phone}, headers=HTML)
    code = await last_code(db_session, phone)
    signed_in = await client.post("/login/sms", data={**form, "phone": phone, "code": code}, headers=HTML)
    assert signed_in.status_code == 303
    await fill_cart(client, storefront)

    first = await client.get("/checkout", headers=HTML)
    assert f'name="contact_phone" value="{phone}"' in first.text
    assert 'name="contact_name" value=""' in first.text  # no name known yet
    placed = await check_out(client, storefront, contact_name="黄阿婆", contact_phone=phone)
    assert number_of(placed).startswith("NP")

    await fill_cart(client, storefront)
    second = await client.get("/checkout", headers=HTML)
    assert 'name="contact_name" value="黄阿婆"' in second.text
    assert f'name="contact_phone" value="{phone}"' in second.text
