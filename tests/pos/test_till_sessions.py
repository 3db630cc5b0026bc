"""Who is at the till (issue 14, item 1): a till enrolled with a one-time code gets a device token
bound to its store and till; a clerk of that store signs in on it with user name + PIN and gets a
short ``pos`` session that ends with the till; PIN guesses are limited per user and per till,
atomically; a ``pos`` session reaches nothing else, and nothing else reaches the POS API."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.accounts.models import ApiToken, Role, TokenKind
from app.config import AppEnv, Settings
from app.db import create_sessionmaker
from app.kit import clock
from app.kit.outbox import RecordingSender
from app.main import create_app
from app.pos import stores
from app.pos.models import Till
from tests.accounts.test_rate_limits import client_for, random_ip
from tests.fixtures.builders import auth, make_store, make_user, token_for
from tests.fixtures.pos import PIN, make_clerk, make_counter, make_manager, make_till, till_headers, till_token
from tests.fixtures.pos import Counter as TillCounter

T0 = datetime(2026, 12, 9, 1, 0, tzinfo=UTC)


async def sign_in(client: httpx.AsyncClient, device: str | None, username: str, pin: str = PIN) -> httpx.Response:
    return await client.post(
        "/api/v1/pos/session", headers=till_headers(device) if device else {}, json={"username": username, "pin": pin}
    )


async def clerk_token(client: httpx.AsyncClient, counter: TillCounter) -> str:
    answer = await sign_in(client, counter.device, counter.clerk.username)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["access_token"])


# ---- enrolment --------------------------------------------------------------------------------------


async def test_a_till_code_enrols_one_device_once_and_expires(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    admin = auth(await token_for(db_session, await make_user(db_session, Role.admin)))
    store = await make_store(db_session, name="城北店")
    till = await make_till(db_session, store, name="2 号台")
    body = {"kind": "pos_till", "store_id": store.id, "till_id": till.id}
    with clock.pinned(T0):
        issued = await client.post("/api/v1/admin/enrolments", headers=admin, json=body)
        assert issued.status_code == 201, issued.text
        assert issued.json()["qr_text"].endswith(f"/pos/enrol?code={issued.json()['code'].replace('-', '')}")
        code = issued.json()["code"]
        first = await client.post("/api/v1/devices/enrol", json={"code": code, "label": "柜台平板"})
        assert first.status_code == 201, first.text
        assert (first.json()["kind"], first.json()["till_id"], first.json()["store_id"]) == (
            "pos_till",
            till.id,
            store.id,
        )
        again = await client.post("/api/v1/devices/enrol", json={"code": code, "label": "另一台"})
        assert again.status_code == 409 and again.json()["error"] == "enrolment_code_used"
        late = (await client.post("/api/v1/admin/enrolments", headers=admin, json=body)).json()["code"]
    with clock.pinned(T0 + timedelta(minutes=11)):
        expired = await client.post("/api/v1/devices/enrol", json={"code": late, "label": "迟到"})
        assert expired.status_code == 410 and expired.json()["error"] == "enrolment_code_expired"
        # The enrolled till works (a clerk signs in on it); nothing was made by the spent codes.
        clerk = await make_clerk(db_session, store)
        assert (await sign_in(client, first.json()["access_token"], clerk.username)).status_code == 201
    tokens = (await db_session.scalars(select(ApiToken).where(ApiToken.kind == TokenKind.pos_till))).all()
    assert [t.till_id for t in tokens] == [till.id]


async def test_a_deactivated_till_cannot_be_enrolled(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    admin = auth(await token_for(db_session, await make_user(db_session, Role.admin)))
    till = await make_till(db_session, is_active=False)
    refused = await client.post(
        "/api/v1/admin/enrolments",
        headers=admin,
        json={"kind": "pos_till", "store_id": till.store_id, "till_id": till.id},
    )
    assert refused.status_code == 422 and "已停用" in refused.json()["message"]


# ---- signing in and out -----------------------------------------------------------------------------


async def test_a_clerk_signs_in_at_the_till_and_out(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    counter = await make_counter(db_session, name="太平农贸店")
    with clock.pinned(T0):
        answer = await sign_in(client, counter.device, counter.clerk.username.upper())  # user name: any case
        assert answer.status_code == 201, answer.text
    body = answer.json()
    assert (body["store_name"], body["till_code"], body["username"], body["role"], body["scope"]) == (
        "太平农贸店",
        counter.till.code,
        counter.clerk.username,
        "clerk",
        "pos",
    )
    assert datetime.fromisoformat(body["expires_at"]) == T0 + timedelta(hours=12)
    session_token = auth(body["access_token"])
    # Used within its 12 hours (pinned): after T0 + 12 h, on the real clock, it has expired.
    with clock.pinned(T0 + timedelta(minutes=5)):
        me = await client.get("/api/v1/pos/session", headers=session_token)
        assert me.status_code == 200 and me.json()["access_token"] is None
        assert me.json()["till_name"] == counter.till.name
        assert (await client.delete("/api/v1/pos/session", headers=session_token)).status_code == 204
        assert (await client.get("/api/v1/pos/session", headers=session_token)).status_code == 401
    # The till stays enrolled for the next clerk.
    assert (await sign_in(client, counter.device, counter.clerk.username)).status_code == 201


async def test_one_person_at_a_till_at_a_time(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    counter = await make_counter(db_session)
    first = auth(await clerk_token(client, counter))
    colleague = await make_clerk(db_session, counter.store)
    second = await sign_in(client, counter.device, colleague.username)
    assert second.status_code == 201
    assert (await client.get("/api/v1/pos/session", headers=first)).status_code == 401
    me = await client.get("/api/v1/pos/session", headers=auth(second.json()["access_token"]))
    assert me.json()["username"] == colleague.username


async def test_wrong_pin_unknown_user_no_pin_and_disabled_are_one_answer(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    counter = await make_counter(db_session)
    no_pin = await make_clerk(db_session, counter.store, pin=None)
    disabled = await make_clerk(db_session, counter.store, is_active=False)
    warehouse = await make_user(db_session, Role.warehouse)
    for username, pin in (
        (counter.clerk.username, "9999"),
        ("nobody-here", PIN),
        (no_pin.username, PIN),
        (disabled.username, PIN),
        (warehouse.username, PIN),
    ):
        answer = await sign_in(client, counter.device, username, pin)
        assert answer.status_code == 401 and answer.json()["error"] == "pin_sign_in_failed", username
    no_till = await sign_in(client, None, counter.clerk.username)
    assert no_till.status_code == 401 and no_till.json()["error"] == "till_not_enrolled"
    # A personal token in the till header is no till.
    personal = await token_for(db_session, counter.clerk)
    assert (await sign_in(client, personal, counter.clerk.username)).json()["error"] == "till_not_enrolled"


async def test_a_clerk_of_store_a_is_refused_at_store_bs_till(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    a, b = await make_counter(db_session), await make_counter(db_session)
    refused = await sign_in(client, b.device, a.clerk.username)
    assert refused.status_code == 401 and refused.json()["error"] == "pin_sign_in_failed"
    # A manager signs in at the tills of the stores it runs, and only those.
    manager = await make_manager(db_session, a.store)
    assert (await sign_in(client, a.device, manager.username)).status_code == 201
    assert (await sign_in(client, b.device, manager.username)).status_code == 401
    both = await make_manager(db_session, a.store, b.store)
    at_b = await sign_in(client, b.device, both.username)
    assert at_b.status_code == 201 and at_b.json()["role_label_zh"] == "门店店长"


async def test_revoking_or_deactivating_the_till_signs_its_clerk_out(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    counter = await make_counter(db_session)
    session_token = auth(await clerk_token(client, counter))
    # The till's device token (the clerk's session token names the till too: pick by kind, not by row order).
    device = await db_session.scalar(
        select(ApiToken).where(ApiToken.till_id == counter.till.id, ApiToken.kind == TokenKind.pos_till)
    )
    assert device is not None
    admin = auth(await token_for(db_session, await make_user(db_session, Role.admin)))
    assert (await client.post(f"/api/v1/admin/tokens/{device.id}/revoke", headers=admin)).status_code in (200, 204)
    gone = await client.get("/api/v1/pos/session", headers=session_token)
    assert gone.status_code == 401 and gone.json()["error"] == "token_invalid"
    assert (await sign_in(client, counter.device, counter.clerk.username)).json()["error"] == "till_not_enrolled"

    # A till deactivated in the console: its new device and the clerk on it stop together.
    fresh = await till_token(db_session, counter.till)
    on_fresh = auth((await sign_in(client, fresh, counter.clerk.username)).json()["access_token"])
    assert (await client.get("/api/v1/pos/session", headers=on_fresh)).status_code == 200
    till = await db_session.get(Till, counter.till.id)
    assert till is not None
    till.is_active = False
    await db_session.flush()
    assert (await client.get("/api/v1/pos/session", headers=on_fresh)).status_code == 401
    assert (await sign_in(client, fresh, counter.clerk.username)).json()["error"] == "till_not_enrolled"


async def test_removing_a_manager_from_the_store_ends_its_session_there(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    counter = await make_counter(db_session)
    manager = await make_manager(db_session, counter.store)
    at_till = auth((await sign_in(client, counter.device, manager.username)).json()["access_token"])
    await stores.remove_manager(db_session, counter.store, manager.id)
    assert (await client.get("/api/v1/pos/session", headers=at_till)).status_code == 401


# ---- scopes -----------------------------------------------------------------------------------------


async def test_a_pos_session_reaches_nothing_else_and_nothing_else_reaches_the_pos_api(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    counter = await make_counter(db_session)
    at_till = auth(await clerk_token(client, counter))
    for path in ("/api/v1/admin/users", "/api/v1/wholesale/keys", "/api/v1/admin/companies", "/admin/pos/stores"):
        answer = await client.get(path, headers=at_till)
        assert answer.status_code == 403, (path, answer.status_code)
    # The till's own token is nobody's credential: refused everywhere but the sign-in.
    for path in ("/api/v1/pos/session", "/api/v1/auth/me", "/api/v1/admin/users"):
        assert (await client.get(path, headers=auth(counter.device))).status_code == 401, path

    admin = await make_user(db_session, Role.admin)  # holds the pos scope, but is at no till
    buyer = await make_user(db_session, Role.buyer)
    clerk_personal = await token_for(db_session, counter.clerk)  # a clerk's own token, not at a till
    for who, token in (("admin", await token_for(db_session, admin)), ("buyer", await token_for(db_session, buyer))):
        answer = await client.get("/api/v1/pos/session", headers=auth(token))
        assert answer.status_code == 403, who
    refused = await client.get("/api/v1/pos/session", headers=auth(clerk_personal))
    assert refused.status_code == 403 and refused.json()["error"] == "till_session_required"


# ---- brute force --------------------------------------------------------------------------------------


async def test_pin_guesses_are_limited_per_user_and_per_till(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    counter = await make_counter(db_session)
    with clock.pinned(T0):
        wrong = [await sign_in(client, counter.device, counter.clerk.username, f"{n:04d}") for n in (1, 2, 3, 4, 5)]
        assert [a.status_code for a in wrong] == [401] * 5
        # POS_PIN_RATE_LIMIT 5 per 15 minutes per user name: now even the right PIN is not looked at.
        right = await sign_in(client, counter.device, counter.clerk.username)
        assert right.status_code == 429 and right.json()["error"] == "pin_rate_limited"
        # Nor on another till of the store: the user name is counted, wherever it is typed.
        other_till = await till_token(db_session, await make_till(db_session, counter.store))
        assert (await sign_in(client, other_till, counter.clerk.username)).status_code == 429
        # Per till (POS_PIN_TILL_RATE_LIMIT 20): spreading guesses over user names does not help.
        names = [f"guess-{n}" for n in range(14)]  # 6 attempts so far on this till, 14 more reach 20
        assert {(await sign_in(client, counter.device, name, "1357")).status_code for name in names} == {401}
        colleague = await make_clerk(db_session, counter.store)
        assert (await sign_in(client, counter.device, colleague.username)).status_code == 429
        assert (await sign_in(client, other_till, colleague.username)).status_code == 201
    with clock.pinned(T0 + timedelta(minutes=31)):
        assert (await sign_in(client, counter.device, counter.clerk.username)).status_code == 201


@dataclass
class World:
    app: FastAPI
    sessionmaker: async_sessionmaker[AsyncSession]
    device: str
    username: str
    user_id: int


@pytest.fixture(params=["memory://", "database"])
async def world(
    request: pytest.FixtureRequest, tmp_path: Path, committed_database_url: str, committed_engine: AsyncEngine
) -> World:
    """The app on the committed database (real concurrent connections), counters in memory or in
    PostgreSQL; rows outlive the test, so codes and names are random."""
    sessionmaker = create_sessionmaker(committed_engine)
    tag = uuid.uuid4().hex[:6].upper()
    async with sessionmaker() as session:
        store = await make_store(session, code=f"STORE-B{tag}")
        till = await make_till(session, store, sale_prefix=f"B{tag}")
        device = await till_token(session, till)
        clerk = await make_clerk(session, store, username=f"clerk-b-{tag.lower()}")
        await session.commit()
    settings = Settings(
        app_env=AppEnv.test,
        app_data_dir=tmp_path / "data",
        database_url=committed_database_url,
        rate_limit_storage_url=request.param,
    )
    app = create_app(settings, engine=committed_engine, sessionmaker=sessionmaker, task_sender=RecordingSender())
    return World(app, sessionmaker, device, clerk.username, clerk.id)


async def test_a_burst_of_concurrent_pin_guesses_gets_no_more_checks_than_the_limit(world: World) -> None:
    guesses = [f"{n:04d}" for n in range(1000, 1030)]  # 30 wrong PINs (the right one is 2580)
    clients = [client_for(world.app, random_ip()) for _ in range(10)]
    try:
        answers = await asyncio.gather(
            *(
                clients[i % 10].post(
                    "/api/v1/pos/session",
                    headers=till_headers(world.device),
                    json={"username": world.username, "pin": pin},
                )
                for i, pin in enumerate(guesses)
            )
        )
    finally:
        for c in clients:
            await c.aclose()
    statuses = Counter(a.status_code for a in answers)
    # Counted atomically before the PIN is looked at: exactly five guesses were checked.
    assert statuses == Counter({429: 25, 401: 5}), statuses
    async with client_for(world.app, random_ip()) as till:
        right = await till.post(
            "/api/v1/pos/session", headers=till_headers(world.device), json={"username": world.username, "pin": PIN}
        )
    assert right.status_code == 429
    async with world.sessionmaker() as session:
        sessions_made = (await session.scalars(select(ApiToken).where(ApiToken.user_id == world.user_id))).all()
    assert sessions_made == []
