"""User management in the ops console (/admin/users): create, disable / re-enable (sessions and
tokens stop at once), reset passwords (a generated one shown once), bind an operator to a station
and a clerk to a store (the old place's devices stop) — and nothing changes when a form is refused."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import service
from app.accounts.models import ApiToken, Role, TokenKind, User, WebSession
from app.accounts.security import verify_password
from app.pos import sessions
from tests.fixtures.builders import DEFAULT_PASSWORD, auth, make_station, make_store, make_user, token_for
from tests.fixtures.pos import NO_LIMIT, PIN, make_clerk, make_till, till_token
from tests.web.test_stock_pages import HTML, field, log_in


@pytest.fixture
async def other_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A second browser (its own cookies): the user being managed, signed in elsewhere."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


async def post_form(client: httpx.AsyncClient, page_url: str, action: str, data: dict[str, str]) -> httpx.Response:
    page = await client.get(page_url, headers=HTML)
    assert page.status_code == 200, page.text
    return await client.post(action, data={"csrf_token": field(page, "csrf_token"), **data}, headers=HTML)


async def sign_in(client: httpx.AsyncClient, username: str, password: str = DEFAULT_PASSWORD) -> int:
    page = await client.get("/login", headers=HTML)
    answer = await client.post(
        "/login", data={"username": username, "password": password, "csrf_token": field(page, "csrf_token")}
    )
    return answer.status_code


async def password_token(app: FastAPI, username: str, password: str) -> httpx.Response:
    """The password grant from a client without cookies (an API client, not the admin's browser)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as api:
        return await api.post("/api/v1/auth/token", data={"username": username, "password": password})


def one_time_password(page: httpx.Response) -> str:
    found = re.search(r'id="one-time-password">([^<]+)<', page.text)
    assert found is not None, "no one-time password on the page"
    return found.group(1)


async def test_an_operator_created_with_a_generated_password_signs_in_with_it(
    client: httpx.AsyncClient, app: FastAPI, db_session: AsyncSession
) -> None:
    await log_in(client, db_session, Role.admin)
    station = await make_station(db_session, name="红梨村服务站")
    created = await post_form(
        client,
        "/admin/users",
        "/admin/users",
        {
            "username": "hongli-op",
            "role": "station_operator",
            "display_name": "邓站长",
            "phone": "138 0013 8001",
            "password": "",
            "station_id": str(station.id),
            "store_id": "",
            "company_id": "",
        },
    )
    assert created.status_code == 200, created.text
    assert "已创建 村站站长 账号 hongli-op" in created.text
    password = one_time_password(created)
    assert len(password) == 12 and not set(password) & set("0O1lI")
    user = await db_session.scalar(select(User).where(User.username == "hongli-op"))
    assert user is not None
    assert (user.role, user.station_id, user.display_name, user.phone) == (
        Role.station_operator,
        station.id,
        "邓站长",
        "+8613800138001",
    )
    assert password not in user.password_hash and verify_password(user.password_hash, password)
    assert (await password_token(app, "hongli-op", password)).status_code == 200
    # Shown that once: the account's page does not show it again.
    again = await client.get(f"/admin/users/{user.id}", headers=HTML)
    assert again.status_code == 200 and password not in again.text and "红梨村服务站" in again.text


async def test_refused_new_accounts_change_nothing(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    await log_in(client, db_session, Role.admin)
    taken = await make_user(db_session, Role.warehouse)
    before = await db_session.scalar(select(func.count()).select_from(User))
    base = {"role": "station_operator", "display_name": "", "phone": "", "store_id": "", "company_id": ""}
    short = await post_form(
        client,
        "/admin/users",
        "/admin/users",
        {**base, "username": "short-pw", "password": "1234567", "station_id": ""},
    )
    assert short.status_code == 422 and "密码：太短（至少 8 个字符）" in short.text
    no_station = await post_form(
        client,
        "/admin/users",
        "/admin/users",
        {**base, "username": "no-station", "password": "long-enough-1", "station_id": ""},
    )
    assert no_station.status_code == 422 and "该角色需要指定所属单位" in no_station.text
    assert 'value="no-station"' in no_station.text  # what was typed is shown again
    dup = await post_form(
        client,
        "/admin/users",
        "/admin/users",
        {
            **base,
            "role": "warehouse",
            "username": taken.username.upper(),
            "password": "long-enough-1",
            "station_id": "",
        },
    )
    assert dup.status_code == 409 and "用户名已被使用" in dup.text
    bad_phone = await post_form(
        client,
        "/admin/users",
        "/admin/users",
        {
            **base,
            "role": "warehouse",
            "username": "bad-phone",
            "password": "long-enough-1",
            "phone": "12",
            "station_id": "",
        },
    )
    assert bad_phone.status_code == 422 and "手机：" in bad_phone.text
    assert await db_session.scalar(select(func.count()).select_from(User)) == before


async def test_disabling_stops_sessions_and_tokens_at_once_and_reenabling_brings_back_devices(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    await log_in(client, db_session, Role.admin)
    operator = await make_user(db_session, Role.station_operator)
    assert await sign_in(other_client, operator.username) == 303
    assert (await other_client.get("/station", headers=HTML)).status_code == 200
    api = auth(await token_for(db_session, operator))
    pda = await service.issue_device_token(
        db_session, kind=TokenKind.station_pda, user_id=operator.id, label="PDA", station_id=operator.station_id
    )
    device = auth(pda.token)

    disabled = await post_form(
        client, f"/admin/users/{operator.id}", f"/admin/users/{operator.id}/status", {"active": "0"}
    )
    assert disabled.status_code == 303
    assert (await other_client.get("/station", headers=HTML)).headers.get("location", "").startswith("/login")
    assert (await client.get("/api/v1/auth/me", headers=api)).status_code == 401
    assert (await client.get("/api/v1/pda/shelf", headers=device)).status_code == 401
    assert await sign_in(other_client, operator.username) == 401
    sessions = (await db_session.scalars(select(WebSession).where(WebSession.user_id == operator.id))).all()
    assert sessions and all(s.revoked_at is not None for s in sessions)
    page = await client.get(f"/admin/users/{operator.id}", headers=HTML)
    assert "已停用" in page.text and "恢复启用" in page.text

    enabled = await post_form(
        client, f"/admin/users/{operator.id}", f"/admin/users/{operator.id}/status", {"active": "1"}
    )
    assert enabled.status_code == 303
    # The PDA works again without enrolling anew; the personal API token and the old session do not.
    assert (await client.get("/api/v1/pda/shelf", headers=device)).status_code == 200
    assert (await client.get("/api/v1/auth/me", headers=api)).status_code == 401
    assert (await other_client.get("/station", headers=HTML)).status_code == 303
    assert await sign_in(other_client, operator.username) == 303


async def test_an_admin_cannot_disable_its_own_account(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    me = await log_in(client, db_session, Role.admin)
    refused = await post_form(client, f"/admin/users/{me}", f"/admin/users/{me}/status", {"active": "0"})
    assert refused.status_code == 409 and "不能停用自己正在使用的账号" in refused.text
    user = await db_session.get(User, me, populate_existing=True)
    assert user is not None and user.is_active


async def test_a_password_reset_signs_the_user_out_and_the_new_password_works(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, app: FastAPI, db_session: AsyncSession
) -> None:
    await log_in(client, db_session, Role.admin)
    keeper = await make_user(db_session, Role.warehouse)
    assert await sign_in(other_client, keeper.username) == 303
    page_url = f"/admin/users/{keeper.id}"
    generated = await post_form(client, page_url, f"{page_url}/password", {"mode": "generate"})
    assert generated.status_code == 200 and "原有登录已全部退出" in generated.text
    password = one_time_password(generated)
    assert (await other_client.get("/admin/stock", headers=HTML)).status_code == 303  # signed out
    assert (await password_token(app, keeper.username, DEFAULT_PASSWORD)).status_code == 401
    assert (await password_token(app, keeper.username, password)).status_code == 200

    short = await post_form(client, page_url, f"{page_url}/password", {"mode": "set", "password": "short"})
    assert short.status_code == 422 and "密码至少 8 位" in short.text
    assert (await password_token(app, keeper.username, password)).status_code == 200  # unchanged
    chosen = await post_form(client, page_url, f"{page_url}/password", {"mode": "set", "password": "chosen-pass-9"})
    assert chosen.status_code == 303 and "one-time-password" not in (await client.get(chosen.headers["location"])).text
    assert (await password_token(app, keeper.username, "chosen-pass-9")).status_code == 200


async def test_moving_an_operator_revokes_the_old_stations_pda(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    await log_in(client, db_session, Role.admin)
    operator = await make_user(db_session, Role.station_operator)
    old_station = operator.station_id
    pda = await service.issue_device_token(
        db_session, kind=TokenKind.station_pda, user_id=operator.id, label="旧站 PDA", station_id=old_station
    )
    new_station = await make_station(db_session, name="新站")
    page = await client.get(f"/admin/users/{operator.id}", headers=HTML)
    assert "该站长在原村站" in page.text and "登记的 PDA 令牌立即失效" in page.text
    moved = await post_form(
        client,
        f"/admin/users/{operator.id}",
        f"/admin/users/{operator.id}/station",
        {"station_id": str(new_station.id)},
    )
    assert moved.status_code == 303
    notice = await client.get(moved.headers["location"], headers=HTML)
    assert f"{operator.username} 的村站已改绑；原村站的 1 台 PDA 令牌已吊销" in notice.text
    assert (await client.get("/api/v1/pda/shelf", headers=auth(pda.token))).status_code == 401
    token = await db_session.get(ApiToken, pda.record.id, populate_existing=True)
    user = await db_session.get(User, operator.id, populate_existing=True)
    assert token is not None and token.revoked_at is not None
    assert user is not None and user.station_id == new_station.id
    # Stores are for clerks: an operator cannot be bound to one, and nothing moves.
    store = await make_store(db_session)
    wrong = await post_form(
        client, f"/admin/users/{operator.id}", f"/admin/users/{operator.id}/store", {"store_id": str(store.id)}
    )
    assert wrong.status_code == 422 and "只有门店店员账号可以绑定门店" in wrong.text


async def test_a_clerk_moves_to_another_store(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    await log_in(client, db_session, Role.admin)
    old_store = await make_store(db_session)
    counter_till = await make_till(db_session, old_store)
    device = await till_token(db_session, counter_till)
    clerk = await make_clerk(db_session, old_store)
    at_till = await sessions.sign_in(db_session, NO_LIMIT, till_token=device, username=clerk.username, pin=PIN)
    till = at_till.record
    store = await make_store(db_session, name="城南门店")
    moved = await post_form(
        client, f"/admin/users/{clerk.id}", f"/admin/users/{clerk.id}/store", {"store_id": str(store.id)}
    )
    assert moved.status_code == 303
    token = await db_session.get(ApiToken, till.id, populate_existing=True)
    user = await db_session.get(User, clerk.id, populate_existing=True)
    # Its session at the old store's till ends; the till itself stays enrolled.
    assert token is not None and token.revoked_at is not None
    assert user is not None and user.store_id == store.id
    device_row = await db_session.get(ApiToken, till.device_token_id, populate_existing=True)
    assert device_row is not None and device_row.revoked_at is None


async def test_the_list_finds_users_and_names_stations_without_an_operator(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    await log_in(client, db_session, Role.admin)
    lonely = await make_station(db_session, name="无人村服务站")
    staffed = await make_user(db_session, Role.station_operator, display_name="黄站长")
    page = await client.get("/admin/users?role=station_operator&q=黄站", headers=HTML)
    assert page.status_code == 200
    assert f"/admin/users/{staffed.id}" in page.text
    assert "个村站还没有启用的站长账号" in page.text and "无人村服务站" in page.text
    assert lonely.name in page.text


@pytest.mark.parametrize("role", [Role.warehouse, Role.station_operator, Role.customer])
async def test_only_admins_manage_users(client: httpx.AsyncClient, db_session: AsyncSession, role: Role) -> None:
    await log_in(client, db_session, role)
    victim = await make_user(db_session, Role.warehouse)
    assert (await client.get("/admin/users", headers=HTML)).status_code == 403
    page = await client.get("/login", headers=HTML)
    refused = await client.post(
        f"/admin/users/{victim.id}/status", data={"csrf_token": field(page, "csrf_token"), "active": "0"}, headers=HTML
    )
    assert refused.status_code == 403
    user = await db_session.get(User, victim.id, populate_existing=True)
    assert user is not None and user.is_active
