"""Every access rule checks the token's scope as well as the role (issue 10, item 4): a till token,
a station PDA token and an admin token narrowed to ``pos`` read none of the back office."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import service as accounts
from app.accounts.access import ADMIN, BACK_OFFICE, PUBLIC, ROLE_SCOPES, SIGNED_IN, STAFF, WAREHOUSE, AccessRule
from app.accounts.errors import AffiliationMissing
from app.accounts.models import Role, TokenKind, User
from app.pos import sessions
from tests.fixtures.builders import auth, make_station, make_store, make_user
from tests.fixtures.pos import NO_LIMIT, PIN, make_counter, make_manager, make_till, till_token
from tests.fixtures.routes import iter_routes

# Routes that read or change what only the county centre's back office may see.
BACK_OFFICE_RULES = {STAFF, BACK_OFFICE, ADMIN, WAREHOUSE}


def rules_of(route: object) -> set[AccessRule]:
    return {getattr(c, "access_rule", None) for c in route.calls} - {None}  # type: ignore[attr-defined]


def back_office_reads(app: FastAPI) -> list[str]:
    paths = []
    for route in iter_routes(app):
        if route.is_mount or "GET" not in route.methods:
            continue
        if rules_of(route) & BACK_OFFICE_RULES:
            paths.append(re.sub(r"\{[^}]+\}", "1", route.path))
    return sorted(set(paths))


async def device_tokens(session: AsyncSession) -> dict[str, str]:
    station = await make_station(session, code="ST-SCOPE")
    operator = await make_user(session, Role.station_operator, station_id=station.id)
    admin = await make_user(session, Role.admin)
    pda = await accounts.issue_device_token(
        session, kind=TokenKind.station_pda, user_id=operator.id, label="PDA", station_id=station.id
    )
    await session.refresh(admin, ["company"])
    narrowed = await accounts.issue_user_token(session, admin, ["pos"])
    counter = await make_counter(session)
    at_till = await sessions.sign_in(
        session, NO_LIMIT, till_token=counter.device, username=counter.clerk.username, pin=PIN
    )
    assert at_till.token is not None
    manager = await make_manager(session, counter.store)
    # At the store's second till: one person at a till at a time.
    second_till = await till_token(session, await make_till(session, counter.store))
    manager_at_till = await sessions.sign_in(
        session, NO_LIMIT, till_token=second_till, username=manager.username, pin=PIN
    )
    assert manager_at_till.token is not None
    return {
        "station PDA": pda.token,
        "admin narrowed to pos": narrowed.token,
        "POS till": counter.device,
        "clerk at a till": at_till.token,
        "store manager at a till": manager_at_till.token,
    }


async def test_device_and_narrowed_tokens_read_nothing_of_the_back_office(
    client: httpx.AsyncClient, app: FastAPI, db_session: AsyncSession
) -> None:
    tokens = await device_tokens(db_session)
    paths = back_office_reads(app)
    assert len(paths) > 20
    for name, token in tokens.items():
        # A till's own token is nobody's credential: refused as a token, not for its scope.
        expected = 401 if name == "POS till" else 403
        let_through = []
        for path in paths:
            answer = await client.get(path, headers=auth(token))
            if answer.status_code != expected:
                let_through.append(f"{path} → {answer.status_code}")
        assert let_through == [], name


async def test_till_tokens_are_enrolled_by_an_admin_or_the_stores_manager_only(db_session: AsyncSession) -> None:
    store = await make_store(db_session)
    till = await make_till(db_session, store)
    clerk = await make_user(db_session, Role.clerk, store_id=store.id)
    elsewhere = await make_manager(db_session, await make_store(db_session))
    for user in (clerk, elsewhere):
        with pytest.raises(AffiliationMissing):
            await accounts.issue_device_token(
                db_session, kind=TokenKind.pos_till, user_id=user.id, label="x", store_id=store.id, till_id=till.id
            )
    manager = await make_manager(db_session, store)
    issued = await accounts.issue_device_token(
        db_session, kind=TokenKind.pos_till, user_id=manager.id, label="x", store_id=store.id, till_id=till.id
    )
    assert issued.record.till_id == till.id and issued.record.scopes == ["pos"]


async def test_a_pda_token_follows_its_operators_station(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    first, second = await make_station(db_session, code="ST-MOVE-1"), await make_station(db_session, code="ST-MOVE-2")
    operator = await make_user(db_session, Role.station_operator, station_id=first.id)
    pda = await accounts.issue_device_token(
        db_session, kind=TokenKind.station_pda, user_id=operator.id, label="PDA", station_id=first.id
    )
    assert (await client.get("/api/v1/pda/shelf", headers=auth(pda.token))).status_code == 200
    # The operator is moved to another station: the old station's PDA stops working.
    await db_session.execute(update(User).where(User.id == operator.id).values(station_id=second.id))
    refused = await client.get("/api/v1/pda/shelf", headers=auth(pda.token))
    assert refused.status_code == 401 and refused.json()["error"] == "token_invalid"


def test_every_rule_declares_its_scopes(app: FastAPI) -> None:
    """The route walker, scope edition: each rule names (role, scope) grants, and every grant is a
    scope that role can hold; only public and "any signed-in user" rules go without."""
    seen = set()
    for route in iter_routes(app):
        for rule in rules_of(route):
            seen.add(rule)
    for rule in seen:
        if rule in (PUBLIC, SIGNED_IN):
            continue
        assert rule.grants, rule.name
        for role, scope in rule.grants:
            assert scope in ROLE_SCOPES[role], (rule.name, role, scope)
    assert {STAFF, BACK_OFFICE, ADMIN, WAREHOUSE} <= seen
