"""Wholesale applications: the answer never tells whether a username exists, the account opens at
approval (a taken username is the admin's to settle), and applications are limited per address."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.accounts.models import BuyerCompany, CompanyStatus, Role, User
from app.config import Settings
from app.kit.outbox import RecordingSender
from app.main import create_app
from app.notifications.models import NotificationMessage
from tests.fixtures.builders import DEFAULT_PASSWORD, auth, make_user, token_for

PASSWORD = "long-enough-1"


def application(n: int, username: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": f"东莞测试生鲜超市{n}号店",
        "city": "东莞",
        "contact_name": "陈女士",
        "contact_phone": f"1391234{n:04d}",
        "username": username,
        "password": PASSWORD,
        **extra,
    }


async def login(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/api/v1/auth/token", data={"username": username, "password": password})


async def count(session: AsyncSession, model: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_the_answer_is_the_same_whether_the_username_exists_or_not(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    existing = await make_user(db_session, Role.admin, username="admin")
    users = await count(db_session, User)
    taken = await client.post("/api/v1/wholesale/applications", json=application(1, "admin"))
    fresh = await client.post("/api/v1/wholesale/applications", json=application(2, "fresh-buyer"))
    assert taken.status_code == fresh.status_code == 201, (taken.text, fresh.text)
    assert "username_taken" not in taken.text
    assert taken.json().keys() == fresh.json().keys()

    def same_shape(body: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in body.items() if k not in ("id", "name", "contact_phone", "applicant_username")}

    assert same_shape(taken.json()) == same_shape(fresh.json())
    assert (taken.json()["status"], taken.json()["applicant_username"]) == ("pending", "admin")
    # No account exists before approval, so signing in cannot tell the two apart either.
    assert await count(db_session, User) == users
    assert (await login(client, "fresh-buyer")).json()["error"] == "invalid_credentials"
    assert (await login(client, "admin")).json()["error"] == "invalid_credentials"
    await db_session.refresh(existing)
    assert existing.role is Role.admin and existing.company_id is None


async def test_approval_opens_the_account_and_the_admin_settles_a_taken_username(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    await make_user(db_session, Role.customer, username="dg-fresh")
    admin = auth(await token_for(db_session, await make_user(db_session, Role.admin)))
    applied = await client.post("/api/v1/wholesale/applications", json=application(3, "dg-fresh"))
    company_id = applied.json()["id"]
    users = await count(db_session, User)

    clash = await client.post(f"/api/v1/admin/companies/{company_id}/approve", headers=admin)
    assert (clash.status_code, clash.json()["error"]) == (409, "applicant_username_taken")
    assert clash.json()["detail"] == {"username": "dg-fresh"}
    company = await db_session.get(BuyerCompany, company_id)
    assert company is not None
    await db_session.refresh(company)
    assert company.status is CompanyStatus.pending and company.applicant_password_hash
    assert await count(db_session, User) == users
    assert await count(db_session, NotificationMessage) == 0

    approved = await client.post(
        f"/api/v1/admin/companies/{company_id}/approve", headers=admin, json={"username": "dg-fresh-2"}
    )
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["applicant_username"]) == ("approved", "dg-fresh-2")
    await db_session.refresh(company)
    assert company.applicant_password_hash is None
    buyer = await db_session.scalar(select(User).where(User.username == "dg-fresh-2"))
    assert buyer is not None
    assert (buyer.role, buyer.company_id, buyer.phone) == (Role.buyer, company_id, "+8613912340003")
    sms = (await db_session.scalars(select(NotificationMessage))).all()
    assert [(m.template, m.recipient, m.body) for m in sms] == [
        (
            "buyer_approved",
            "+8613912340003",
            "【南岭明珠】批发采购商审核已通过，请用用户名dg-fresh-2和申请时设的密码登录。",
        )
    ]
    token = (await login(client, "dg-fresh-2")).json()["access_token"]
    me = (await client.get("/api/v1/auth/me", headers=auth(token))).json()
    assert (me["role"], me["company_id"], me["company_approved"]) == ("buyer", company_id, True)


async def test_rejection_forgets_the_password(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    admin = auth(await token_for(db_session, await make_user(db_session, Role.admin)))
    applied = await client.post("/api/v1/wholesale/applications", json=application(4, "dg-rejected"))
    rejected = await client.post(f"/api/v1/admin/companies/{applied.json()['id']}/reject", headers=admin)
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    company = await db_session.get(BuyerCompany, applied.json()["id"])
    assert company is not None
    await db_session.refresh(company)
    assert company.applicant_password_hash is None
    assert await db_session.scalar(select(User).where(User.username == "dg-rejected")) is None


async def test_the_companies_page_flags_a_taken_username_and_approves_under_another(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    await make_user(db_session, Role.customer, username="page-taken")
    applied = await client.post("/api/v1/wholesale/applications", json=application(5, "page-taken"))
    company_id = applied.json()["id"]
    admin = await make_user(db_session, Role.admin)
    page = await client.get("/login", headers={"accept": "text/html"})
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    signed_in = await client.post(
        "/login", data={"username": admin.username, "password": DEFAULT_PASSWORD, "csrf_token": csrf.group(1)}
    )
    assert signed_in.status_code == 303
    listed = await client.get("/admin/companies", headers={"accept": "text/html"})
    assert "用户名已被占用" in listed.text and 'value="page-taken"' in listed.text
    form = {"csrf_token": csrf.group(1), "username": "page-taken"}
    refused = await client.post(f"/admin/companies/{company_id}/approve", data=form)
    assert refused.status_code == 409 and "申请的用户名已被占用" in refused.text
    ok = await client.post(f"/admin/companies/{company_id}/approve", data={**form, "username": "page-ok"})
    assert ok.status_code == 303, ok.text
    assert await db_session.scalar(select(User.company_id).where(User.username == "page-ok")) == company_id


@pytest.fixture
async def limited_app(
    settings: Settings,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    task_sender: RecordingSender,
) -> FastAPI:
    limited = settings.model_copy(update={"wholesale_application_rate_limit": "3/hour"})
    return create_app(limited, engine=engine, sessionmaker=sessionmaker, task_sender=task_sender)


@asynccontextmanager
async def client_at(app: FastAPI, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_applications_are_limited_per_client_address(limited_app: FastAPI, db_session: AsyncSession) -> None:
    async with client_at(limited_app, "203.0.113.7") as spammer:
        answers = [
            (await spammer.post("/api/v1/wholesale/applications", json=application(10 + n, f"spam-{n}"))).status_code
            for n in range(3)
        ]
        assert answers == [201, 201, 201]
        companies = await count(db_session, BuyerCompany)
        fourth = await spammer.post("/api/v1/wholesale/applications", json=application(13, "spam-3"))
        assert fourth.status_code == 429
        assert fourth.json() == {
            "error": "application_rate_limited",
            "message": "提交申请过于频繁，请稍后再试",
            "detail": None,
        }
        assert await count(db_session, BuyerCompany) == companies
    async with client_at(limited_app, "198.51.100.20") as neighbour:
        other = await neighbour.post("/api/v1/wholesale/applications", json=application(14, "honest-buyer"))
        assert other.status_code == 201, other.text


async def test_a_registered_credit_code_is_a_conflict_not_an_error(client: httpx.AsyncClient) -> None:
    code = "91441900MA4W12345X"
    first = await client.post("/api/v1/wholesale/applications", json=application(20, "cc-one", credit_code=code))
    assert first.status_code == 201, first.text
    again = await client.post("/api/v1/wholesale/applications", json=application(21, "cc-two", credit_code=code))
    assert (again.status_code, again.json()["error"]) == (409, "credit_code_taken")
