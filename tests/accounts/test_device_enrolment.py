"""Device enrolment: a one-time code (and its QR) turns a PDA into a station device — once, for ten
minutes, attempt-limited — and revoking the device stops it; the same code path gives a POS till
its token."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.accounts import devices
from app.accounts.models import ApiToken, DeviceEnrolment, Role, TokenKind, User
from app.config import AppEnv, Settings
from app.db import create_sessionmaker
from app.kit import clock
from app.kit.outbox import RecordingSender
from app.main import create_app
from tests.accounts.test_rate_limits import client_for, random_ip
from tests.fixtures.builders import auth, make_station, make_store, make_user, token_for
from tests.fixtures.pos import make_till

T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


@dataclass
class Desk:
    admin: dict[str, str]
    operator: User
    station_id: int


@pytest.fixture
async def desk(db_session: AsyncSession) -> Desk:
    admin = await make_user(db_session, Role.admin)
    operator = await make_user(db_session, Role.station_operator, username=f"op-{uuid.uuid4().hex[:6]}")
    assert operator.station_id is not None
    return Desk(auth(await token_for(db_session, admin)), operator, operator.station_id)


async def new_code(client: httpx.AsyncClient, desk: Desk, **body: object) -> dict[str, str]:
    answer = await client.post(
        "/api/v1/admin/enrolments",
        headers=desk.admin,
        json={"kind": "station_pda", "station_id": desk.station_id, **body},
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def enrol(client: httpx.AsyncClient, code: str, label: str = "PDA-1") -> httpx.Response:
    return await client.post("/api/v1/devices/enrol", json={"code": code, "label": label})


async def test_a_code_enrols_one_pda_once_and_only_its_hmac_is_kept(
    client: httpx.AsyncClient, db_session: AsyncSession, desk: Desk
) -> None:
    with clock.pinned(T0):
        issued = await new_code(client, desk)
        code = issued["code"]
        assert len(code) == 9 and code[4] == "-"
        assert set(code.replace("-", "")) <= set(devices.CODE_ALPHABET)
        assert issued["qr_text"] == f"http://127.0.0.1:8000/api/v1/devices/enrol?code={code.replace('-', '')}"
        assert issued["user_id"] == desk.operator.id  # the station's only operator
        assert datetime.fromisoformat(issued["expires_at"]) == T0 + timedelta(minutes=10)

        # Typed in lower case without the dash: the same code.
        first = await enrol(client, code.replace("-", "").lower(), "东湖坪 PDA")
        assert first.status_code == 201, first.text
        body = first.json()
        assert body["kind"] == "station_pda" and body["scopes"] == ["pda"]
        assert body["station_id"] == desk.station_id and body["username"] == desk.operator.username
        device = auth(body["access_token"])
        shelf = await client.get("/api/v1/pda/shelf", headers=device)
        assert shelf.status_code == 200 and shelf.json() == []
        # A PDA token reads nothing but its station's PDA routes.
        assert (await client.get("/api/v1/admin/users", headers=device)).status_code == 403

        again = await enrol(client, code, "另一台")
        assert again.status_code == 409 and again.json()["error"] == "enrolment_code_used"

    record = await db_session.scalar(select(DeviceEnrolment).where(DeviceEnrolment.id == issued["id"]))
    assert record is not None and record.redeemed_at == T0 and record.token_id is not None
    assert code.replace("-", "") not in record.code_hash and len(record.code_hash) == 64
    tokens = (await db_session.scalars(select(ApiToken).where(ApiToken.user_id == desk.operator.id))).all()
    assert [(t.kind, t.label, t.station_id, t.id) for t in tokens] == [
        (TokenKind.station_pda, "东湖坪 PDA", desk.station_id, record.token_id)
    ]


async def test_expired_cancelled_and_wrong_codes_are_refused_without_a_token(
    client: httpx.AsyncClient, db_session: AsyncSession, desk: Desk
) -> None:
    with clock.pinned(T0):
        old = (await new_code(client, desk))["code"]
        newer = (await new_code(client, desk))["code"]  # replaces the first
    with clock.pinned(T0 + timedelta(minutes=1)):
        cancelled = await enrol(client, old)
        assert cancelled.status_code == 410 and cancelled.json()["error"] == "enrolment_code_expired"
        wrong = await enrol(client, "ZZZZ-ZZZZ")
        assert wrong.status_code == 422 and wrong.json()["error"] == "enrolment_code_invalid"
        short = await enrol(client, "ABCD-EFG9-X")
        assert short.status_code == 422 and short.json()["error"] == "enrolment_code_invalid"
    with clock.pinned(T0 + timedelta(minutes=10, seconds=1)):
        late = await enrol(client, newer)
        assert late.status_code == 410 and late.json()["error"] == "enrolment_code_expired"
    count = await db_session.scalar(
        select(func.count()).select_from(ApiToken).where(ApiToken.user_id == desk.operator.id)
    )
    assert count == 0


async def test_the_scanned_qr_enrols_as_the_typed_code_does(client: httpx.AsyncClient, desk: Desk) -> None:
    with clock.pinned(T0):
        issued = await new_code(client, desk)
        answer = await enrol(client, issued["qr_text"])
    assert answer.status_code == 201, answer.text


async def test_revoking_a_device_stops_it_at_its_next_call(
    client: httpx.AsyncClient, db_session: AsyncSession, desk: Desk
) -> None:
    with clock.pinned(T0):
        token = (await enrol(client, (await new_code(client, desk))["code"])).json()["access_token"]
    record = await db_session.scalar(select(ApiToken).where(ApiToken.user_id == desk.operator.id))
    assert record is not None
    assert (await client.get("/api/v1/pda/shelf", headers=auth(token))).status_code == 200
    revoked = await client.post(f"/api/v1/admin/tokens/{record.id}/revoke", headers=desk.admin)
    assert revoked.status_code == 204
    refused = await client.get("/api/v1/pda/shelf", headers=auth(token))
    assert refused.status_code == 401 and refused.json()["error"] == "token_invalid"


async def test_a_station_with_several_operators_needs_the_account_named(
    client: httpx.AsyncClient, db_session: AsyncSession, desk: Desk
) -> None:
    second = await make_user(db_session, Role.station_operator, station_id=desk.station_id)
    unnamed = await client.post(
        "/api/v1/admin/enrolments", headers=desk.admin, json={"kind": "station_pda", "station_id": desk.station_id}
    )
    assert unnamed.status_code == 422 and unnamed.json()["error"] == "operator_missing"
    elsewhere = await make_user(db_session, Role.station_operator)
    foreign = await client.post(
        "/api/v1/admin/enrolments",
        headers=desk.admin,
        json={"kind": "station_pda", "station_id": desk.station_id, "user_id": elsewhere.id},
    )
    assert foreign.status_code == 422 and foreign.json()["error"] == "affiliation_missing"
    named = await new_code(client, desk, user_id=second.id)
    assert named["user_id"] == second.id
    empty_station = await make_station(db_session)
    none = await client.post(
        "/api/v1/admin/enrolments", headers=desk.admin, json={"kind": "station_pda", "station_id": empty_station.id}
    )
    assert none.status_code == 422 and "还没有站长账号" in none.json()["message"]
    assert await db_session.scalar(select(func.count()).select_from(DeviceEnrolment)) == 1


async def test_a_pos_till_enrols_through_the_same_code(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    admin_user = await make_user(db_session, Role.admin)
    admin = auth(await token_for(db_session, admin_user))
    store = await make_store(db_session)
    till_row = await make_till(db_session, store)
    with clock.pinned(T0):
        issued = await client.post(
            "/api/v1/admin/enrolments",
            headers=admin,
            json={"kind": "pos_till", "store_id": store.id, "till_id": till_row.id},
        )
        assert issued.status_code == 201, issued.text
        till = await enrol(client, issued.json()["code"], "收银机 1")
    assert till.status_code == 201, till.text
    assert till.json()["kind"] == "pos_till" and till.json()["scopes"] == ["pos"]
    assert till.json()["store_id"] == store.id and till.json()["station_id"] is None
    # The token records who enrolled it, and acts for the till: it is nobody's credential.
    assert till.json()["till_id"] == till_row.id and till.json()["username"] == admin_user.username
    assert (await client.get("/api/v1/auth/me", headers=auth(till.json()["access_token"]))).status_code == 401
    # A till of another store is refused.
    other = await make_till(db_session)
    wrong = await client.post(
        "/api/v1/admin/enrolments", headers=admin, json={"kind": "pos_till", "store_id": store.id, "till_id": other.id}
    )
    assert wrong.status_code == 404 and wrong.json()["error"] == "till_not_found"


async def test_moving_the_operator_cancels_the_open_code_and_revokes_the_old_pda(
    client: httpx.AsyncClient, db_session: AsyncSession, desk: Desk
) -> None:
    with clock.pinned(T0):
        token = (await enrol(client, (await new_code(client, desk))["code"])).json()["access_token"]
        pending = (await new_code(client, desk))["code"]
        other = await make_station(db_session)
        moved = await client.post(
            f"/api/v1/admin/users/{desk.operator.id}/affiliation", headers=desk.admin, json={"station_id": other.id}
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["previous_id"] == desk.station_id and moved.json()["revoked_devices"] == 1
        assert (await client.get("/api/v1/pda/shelf", headers=auth(token))).status_code == 401
        assert (await enrol(client, pending)).status_code == 410


# ---- real concurrency on the committed database ------------------------------------------------------


@dataclass
class World:
    app: FastAPI
    sessionmaker: async_sessionmaker[AsyncSession]
    admin: dict[str, str]
    station_id: int


@pytest.fixture(params=["memory://", "database"])
async def world(
    request: pytest.FixtureRequest, tmp_path: Path, committed_database_url: str, committed_engine: AsyncEngine
) -> World:
    """The app on the committed database (real concurrent connections), counters in memory or in
    PostgreSQL; rows outlive the test, so names and client addresses are random."""
    sessionmaker = create_sessionmaker(committed_engine)
    tag = uuid.uuid4().hex[:6]
    async with sessionmaker() as session:
        station = await make_station(session, code=f"ST-E{tag.upper()}")
        await make_user(session, Role.station_operator, username=f"op-e-{tag}", station_id=station.id)
        admin = await make_user(session, Role.admin, username=f"admin-e-{tag}")
        headers = auth(await token_for(session, admin))
        await session.commit()
    settings = Settings(
        app_env=AppEnv.test,
        app_data_dir=tmp_path / "data",
        database_url=committed_database_url,
        rate_limit_storage_url=request.param,
    )
    app = create_app(settings, engine=committed_engine, sessionmaker=sessionmaker, task_sender=RecordingSender())
    return World(app, sessionmaker, headers, station.id)


async def world_code(world: World) -> str:
    async with client_for(world.app, random_ip()) as admin:
        answer = await admin.post(
            "/api/v1/admin/enrolments",
            headers=world.admin,
            json={"kind": "station_pda", "station_id": world.station_id},
        )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["code"])


async def test_a_burst_of_wrong_codes_gets_no_more_looks_than_the_limit(world: World) -> None:
    code = await world_code(world)
    guesses = ["".join(secrets.choice(devices.CODE_ALPHABET) for _ in range(8)) for _ in range(30)]
    async with client_for(world.app, random_ip()) as attacker:
        answers = await asyncio.gather(
            *(attacker.post("/api/v1/devices/enrol", json={"code": g, "label": "x"}) for g in guesses)
        )
        statuses = Counter(a.status_code for a in answers)
        # DEVICE_ENROL_RATE_LIMIT 10/minute per address: exactly ten codes were looked at.
        assert statuses == Counter({429: 20, 422: 10}), statuses
        assert all(a.json()["error"] == "enrolment_rate_limited" for a in answers if a.status_code == 429)
        # Now even the right code is not looked at from this address.
        right = await attacker.post("/api/v1/devices/enrol", json={"code": code, "label": "x"})
        assert right.status_code == 429
    async with world.sessionmaker() as session:
        record = await session.scalar(
            select(DeviceEnrolment).where(DeviceEnrolment.code_hash == devices.code_digest(code.replace("-", "")))
        )
        assert record is not None and record.redeemed_at is None
    # The PDA at the station (another address) still enrols with it.
    async with client_for(world.app, random_ip()) as pda:
        assert (await pda.post("/api/v1/devices/enrol", json={"code": code, "label": "PDA"})).status_code == 201


async def test_one_code_sent_by_several_devices_at_once_enrols_one(world: World) -> None:
    code = await world_code(world)
    clients = [client_for(world.app, random_ip()) for _ in range(6)]
    try:
        answers = await asyncio.gather(
            *(c.post("/api/v1/devices/enrol", json={"code": code, "label": f"PDA-{i}"}) for i, c in enumerate(clients))
        )
    finally:
        for c in clients:
            await c.aclose()
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409, 409, 409]
    async with world.sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(ApiToken).where(ApiToken.station_id == world.station_id)
        )
    assert count == 1
