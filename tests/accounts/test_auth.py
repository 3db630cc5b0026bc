"""Sign-in, bearer tokens (hashed, scoped, revocable), device tokens, sessions and CSRF."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import ApiToken, CompanyStatus, Role, TokenKind
from app.accounts.security import token_hash
from tests.fixtures.builders import DEFAULT_PASSWORD, auth, make_company, make_user, token_for


async def login(
    client: httpx.AsyncClient, username: str, password: str = DEFAULT_PASSWORD, **extra: str
) -> httpx.Response:
    return await client.post("/api/v1/auth/token", data={"username": username, "password": password, **extra})


async def test_password_grant_issues_a_hashed_token(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    user = await make_user(db_session, Role.warehouse)
    response = await login(client, user.username)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer" and body["scope"] == "stock"
    token = body["access_token"]
    stored = (await db_session.scalars(select(ApiToken).where(ApiToken.user_id == user.id))).one()
    assert stored.token_hash == token_hash(token) and token not in stored.token_hash
    assert stored.prefix == token[:10]
    me = await client.get("/api/v1/auth/me", headers=auth(token))
    assert me.status_code == 200
    assert (me.json()["username"], me.json()["role"], me.json()["scopes"]) == (user.username, "warehouse", ["stock"])


async def test_wrong_password_and_unknown_user_look_the_same(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    user = await make_user(db_session)
    wrong = await login(client, user.username, "not-the-password")
    unknown = await login(client, "nobody-here", "whatever-123")
    assert wrong.status_code == unknown.status_code == 401
    assert (
        wrong.json()
        == unknown.json()
        == {"error": "invalid_credentials", "message": "用户名或密码错误", "detail": None}
    )
    count = await db_session.scalar(select(func.count()).select_from(ApiToken))
    assert count == 0


async def test_login_attempts_are_rate_limited(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    user = await make_user(db_session)
    statuses = [(await login(client, user.username, f"wrong-{i}")).status_code for i in range(5)]
    assert statuses == [401] * 5
    # Even the right password is refused while the window is full.
    blocked = await login(client, user.username)
    assert blocked.status_code == 429 and blocked.json()["error"] == "login_rate_limited"


async def test_scopes_can_narrow_but_not_widen(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    admin = await make_user(db_session, Role.admin)
    narrow = await login(client, admin.username, scope="stock")
    assert narrow.status_code == 200 and narrow.json()["scope"] == "stock"
    denied = await client.get("/api/v1/admin/users", headers=auth(narrow.json()["access_token"]))
    assert denied.status_code == 403 and denied.json()["error"] == "scope_missing"
    customer = await make_user(db_session)
    widen = await login(client, customer.username, scope="admin")
    assert widen.status_code == 403 and widen.json()["error"] == "scope_missing"


async def test_revoked_token_is_refused(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    user = await make_user(db_session)
    token = await token_for(db_session, user)
    assert (await client.get("/api/v1/auth/me", headers=auth(token))).status_code == 200
    assert (await client.post("/api/v1/auth/revoke", headers=auth(token))).status_code == 204
    after = await client.get("/api/v1/auth/me", headers=auth(token))
    assert after.status_code == 401 and after.json()["error"] == "token_invalid"
    garbage = await client.get("/api/v1/auth/me", headers={"Authorization": "Bearer nope"})
    assert garbage.status_code == 401
    basic = await client.get("/api/v1/auth/me", headers={"Authorization": "Basic YTpi"})
    assert basic.status_code == 401


async def test_admin_revokes_a_device_token(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    admin = auth(await token_for(db_session, await make_user(db_session, Role.admin)))
    operator = await make_user(db_session, Role.station_operator)
    issued = await client.post(
        "/api/v1/admin/devices",
        headers=admin,
        json={"kind": "station_pda", "user_id": operator.id, "label": "PDA-1", "station_id": operator.station_id},
    )
    assert issued.status_code == 201, issued.text
    device = issued.json()
    assert device["scopes"] == ["pda"] and device["access_token"].startswith("npd_")
    me = (await client.get("/api/v1/auth/me", headers=auth(device["access_token"]))).json()
    assert (me["station_id"], me["scopes"]) == (operator.station_id, ["pda"])
    # A PDA token cannot reach the admin API even though it belongs to a staff member.
    assert (await client.get("/api/v1/admin/products", headers=auth(device["access_token"]))).status_code == 403
    assert (await client.post(f"/api/v1/admin/tokens/{device['id']}/revoke", headers=admin)).status_code == 204
    assert (await client.get("/api/v1/auth/me", headers=auth(device["access_token"]))).status_code == 401
    stored = await db_session.get(ApiToken, device["id"])
    assert stored is not None and stored.kind is TokenKind.station_pda and stored.revoked_at is not None


async def test_pda_token_must_match_the_operators_station(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    admin = auth(await token_for(db_session, await make_user(db_session, Role.admin)))
    operator = await make_user(db_session, Role.station_operator)
    other = await make_user(db_session, Role.station_operator)
    wrong = await client.post(
        "/api/v1/admin/devices",
        headers=admin,
        json={"kind": "station_pda", "user_id": operator.id, "label": "PDA", "station_id": other.station_id},
    )
    assert wrong.status_code == 422 and wrong.json()["error"] == "affiliation_missing"
    assert (
        await db_session.scalar(
            select(func.count()).select_from(ApiToken).where(ApiToken.kind == TokenKind.station_pda)
        )
        == 0
    )


async def test_buyer_of_unapproved_company_cannot_buy_wholesale(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    pending = await make_company(db_session, status=CompanyStatus.pending)
    buyer = await make_user(db_session, Role.buyer, company=pending)
    quote = await client.post(
        "/api/v1/pricing/quote",
        headers=auth(await token_for(db_session, buyer)),
        json={"channel": "wholesale", "lines": [{"sku": "X", "quantity": "1"}]},
    )
    assert quote.status_code == 403


async def test_company_application_and_approval(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    applied = await client.post(
        "/api/v1/wholesale/applications",
        json={
            "name": "东莞测试生鲜超市",
            "city": "东莞",
            "contact_name": "陈女士",
            "contact_phone": "13912345678",
            "username": "dg-buyer",
            "password": "long-enough-1",
        },
    )
    assert applied.status_code == 201, applied.text
    company = applied.json()
    assert (company["status"], company["contact_phone"]) == ("pending", "+8613912345678")
    admin = auth(await token_for(db_session, await make_user(db_session, Role.admin)))
    approved = await client.post(f"/api/v1/admin/companies/{company['id']}/approve", headers=admin)
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    again = await client.post(f"/api/v1/admin/companies/{company['id']}/reject", headers=admin)
    assert again.status_code == 409 and again.json()["error"] == "company_status_conflict"
    token = (await login(client, "dg-buyer", "long-enough-1")).json()["access_token"]
    me = (await client.get("/api/v1/auth/me", headers=auth(token))).json()
    assert me["company_approved"] is True


async def test_page_form_post_without_csrf_is_refused(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    user = await make_user(db_session, Role.admin)
    no_token = await client.post("/login", data={"username": user.username, "password": DEFAULT_PASSWORD})
    assert no_token.status_code == 403
    assert "np_session" not in no_token.cookies
    page = await client.get("/login", headers={"accept": "text/html"})
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    forged = await client.post(
        "/login", data={"username": user.username, "password": DEFAULT_PASSWORD, "csrf_token": csrf.group(1) + "x"}
    )
    assert forged.status_code == 403
    ok = await client.post(
        "/login", data={"username": user.username, "password": DEFAULT_PASSWORD, "csrf_token": csrf.group(1)}
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/admin"
    assert "np_session" in client.cookies
    dashboard = await client.get("/admin", headers={"accept": "text/html"})
    assert dashboard.status_code == 200
    # The same cookie session calling the JSON API must send the CSRF token for writes.
    api_write = await client.post(
        "/api/v1/admin/categories", json={"slug": "csrf-cat", "name_zh": "分类", "name_en": "Cat"}
    )
    assert api_write.status_code == 403 and api_write.json()["error"] == "csrf_failed"
    with_header = await client.post(
        "/api/v1/admin/categories",
        headers={"X-CSRF-Token": csrf.group(1)},
        json={"slug": "csrf-cat", "name_zh": "分类", "name_en": "Cat"},
    )
    assert with_header.status_code == 201


async def test_pages_redirect_anonymous_to_login(client: httpx.AsyncClient) -> None:
    response = await client.get("/admin/products", headers={"accept": "text/html"})
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/admin/products"


async def test_open_redirect_is_ignored(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    user = await make_user(db_session, Role.customer)
    page = await client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    response = await client.post(
        "/login",
        data={
            "username": user.username,
            "password": DEFAULT_PASSWORD,
            "csrf_token": csrf.group(1),
            "next": "//evil.example/x",
        },
    )
    assert response.status_code == 303 and response.headers["location"] == "/account"
