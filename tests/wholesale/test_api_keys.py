"""Company API keys: issued by the owner (a person), scope ``wholesale`` only, bound to the company,
shown once and stored hashed, listed with their last use, revocable. The attacks: a revoked key,
a key of company A acting for company B, a key on routes that are not the wholesale API."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import ApiToken, PaymentTerms, Role, TokenKind
from app.accounts.security import token_hash
from app.wholesale import service
from tests.fixtures.builders import auth, make_company, make_user, token_for
from tests.wholesale.helpers import as_principal, owner_of, sign_in


async def issue(client: httpx.AsyncClient, session: AsyncSession, owner_token: str, label: str = "ERP") -> dict:
    answer = await client.post("/api/v1/wholesale/keys", json={"label": label}, headers=auth(owner_token))
    assert answer.status_code == 201, answer.text
    return answer.json()


async def test_the_owner_issues_a_key_that_reads_its_company(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    admin = await as_principal(db_session, await make_user(db_session, Role.admin))
    owner = await owner_of(db_session)
    assert owner.company_id is not None
    await service.set_terms(
        db_session, admin, owner.company_id, service.Terms(PaymentTerms.net_30, 3_000_000, (3, 6), company_prices=True)
    )
    issued = await issue(client, db_session, await token_for(db_session, owner))
    key = issued["access_token"]
    assert issued["key"]["scopes"] == ["wholesale"] and key.startswith("npk_")
    record = await db_session.scalar(select(ApiToken).where(ApiToken.id == issued["key"]["id"]))
    assert record is not None
    assert (record.kind, record.company_id, record.token_hash) == (
        TokenKind.company_api,
        owner.company_id,
        token_hash(key),
    )
    assert key not in record.token_hash and record.last_used_at is None

    profile = await client.get("/api/v1/wholesale/company", headers=auth(key))
    assert profile.status_code == 200, profile.text
    body = profile.json()
    assert (body["id"], body["payment_terms"], body["credit_limit_minor"], body["price_list"]) == (
        owner.company_id,
        "net_30",
        3_000_000,
        "company",
    )
    assert body["delivery_weekdays"] == [3, 6]
    await db_session.refresh(record)
    assert record.last_used_at is not None  # listed with its last use
    listed = await client.get("/api/v1/wholesale/keys", headers=auth(await token_for(db_session, owner)))
    assert [k["last_used_at"] is not None for k in listed.json()] == [True]
    assert "access_token" not in listed.text and key not in listed.text


async def test_a_revoked_key_gets_401(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    owner = await owner_of(db_session)
    owner_token = await token_for(db_session, owner)
    issued = await issue(client, db_session, owner_token)
    revoked = await client.post(f"/api/v1/wholesale/keys/{issued['key']['id']}/revoke", headers=auth(owner_token))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    answer = await client.get("/api/v1/wholesale/company", headers=auth(issued["access_token"]))
    assert (answer.status_code, answer.json()["error"]) == (401, "token_invalid")


async def test_a_key_of_company_a_cannot_act_for_company_b(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    owner_a = await owner_of(db_session)
    owner_b = await owner_of(db_session, await make_company(db_session))
    key_a = (await issue(client, db_session, await token_for(db_session, owner_a)))["access_token"]
    issued_b = await issue(client, db_session, await token_for(db_session, owner_b), "B 的系统")
    # What the key reads is its own company, whatever else is asked for.
    profile = await client.get(
        "/api/v1/wholesale/company", headers=auth(key_a), params={"company_id": owner_b.company_id}
    )
    assert profile.json()["id"] == owner_a.company_id
    # Managing keys is the owner's (a person's), never a key's: A's key cannot revoke B's key,
    # list keys, or issue itself a successor.
    for method, path in (
        ("POST", f"/api/v1/wholesale/keys/{issued_b['key']['id']}/revoke"),
        ("GET", "/api/v1/wholesale/keys"),
        ("POST", "/api/v1/wholesale/keys"),
    ):
        answer = await client.request(method, path, headers=auth(key_a), json={"label": "x"})
        assert (answer.status_code, answer.json()["error"]) == (403, "company_key_not_allowed"), path
    # And owner A by B's key id: 404, B's key keeps working.
    attack = await client.post(
        f"/api/v1/wholesale/keys/{issued_b['key']['id']}/revoke", headers=auth(await token_for(db_session, owner_a))
    )
    assert (attack.status_code, attack.json()["error"]) == (404, "api_key_not_found")
    assert (await client.get("/api/v1/wholesale/company", headers=auth(issued_b["access_token"]))).json()["id"] == (
        owner_b.company_id
    )


async def test_a_key_reaches_no_route_outside_the_wholesale_api(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    owner = await owner_of(db_session)
    key = (await issue(client, db_session, await token_for(db_session, owner)))["access_token"]
    for path in ("/api/v1/admin/users", "/api/v1/admin/companies", "/api/v1/me/orders", "/api/v1/auth/me"):
        answer = await client.get(path, headers=auth(key))
        assert answer.status_code == 403, (path, answer.text)
    pages = await client.get("/wholesale/team", headers=auth(key))
    assert pages.status_code == 403
    account = await client.get("/account", headers={**auth(key), "accept": "text/html"})
    assert account.status_code == 403


async def test_only_the_owner_issues_keys(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    owner = await owner_of(db_session)
    colleague = await make_user(db_session, Role.buyer, company_id=owner.company_id)
    answer = await client.post(
        "/api/v1/wholesale/keys", json={"label": "x"}, headers=auth(await token_for(db_session, colleague))
    )
    assert (answer.status_code, answer.json()["error"]) == (403, "company_owner_only")


async def test_the_team_page_shows_a_new_key_once(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    owner = await owner_of(db_session)
    token = await sign_in(client, owner.username)
    answer = await client.post("/wholesale/team/keys", data={"csrf_token": token, "label": "金蝶采购"})
    assert answer.status_code == 200 and 'id="new-key"' in answer.text
    record = await db_session.scalar(select(ApiToken).where(ApiToken.label == "金蝶采购"))
    assert record is not None
    shown = answer.text.split('id="new-key">')[1].split("<")[0]
    assert token_hash(shown) == record.token_hash
    again = await client.get("/wholesale/team")
    assert shown not in again.text and "金蝶采购" in again.text and "从未使用" in again.text
    revoked = await client.post(f"/wholesale/team/keys/{record.id}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 303
    await db_session.refresh(record)
    assert record.revoked_at is not None
