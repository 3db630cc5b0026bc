"""PDA enrolment pages: the operator's own (/station/devices) and the admin's per station
(/admin/stations/{code}/devices) — a code and its QR shown once, devices with their last use,
revoke, cancel — and neither reaches another station's devices."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import service
from app.accounts.models import ApiToken, DeviceEnrolment, Role, TokenKind, User
from app.stations.models import Station
from tests.fixtures.builders import auth, make_station, make_user
from tests.web.test_stock_pages import HTML, field, log_in


def shown_code(page: httpx.Response) -> str:
    found = re.search(r'id="enrol-code">([A-Z0-9-]+)<', page.text)
    assert found is not None, "no enrolment code on the page"
    return found.group(1)


async def enrol(app: FastAPI, code: str, label: str) -> httpx.Response:
    """What the PDA does, from its own connection (no console cookies)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as pda:
        return await pda.post("/api/v1/devices/enrol", json={"code": code, "label": label})


async def test_an_operator_enrols_and_revokes_its_own_pda(
    client: httpx.AsyncClient, app: FastAPI, db_session: AsyncSession
) -> None:
    operator_id = await log_in(client, db_session, Role.station_operator)
    page = await client.get("/station/devices", headers=HTML)
    assert page.status_code == 200 and "还没有登记 PDA" in page.text
    assert 'name="user_id"' not in page.text  # the operator enrols for its own account only

    issued = await client.post("/station/devices/enrol", data={"csrf_token": field(page, "csrf_token")}, headers=HTML)
    assert issued.status_code == 200, issued.text
    code = shown_code(issued)
    assert '<svg class="qr-svg" viewBox="0 0 ' in issued.text
    assert "10 分钟内有效" in issued.text
    # Only its HMAC is stored: the code is nowhere in the enrolment row.
    record = await db_session.scalar(select(DeviceEnrolment).where(DeviceEnrolment.user_id == operator_id))
    assert record is not None and code.replace("-", "") not in record.code_hash

    answer = await enrol(app, code, "柜台 PDA")
    assert answer.status_code == 201, answer.text
    device = auth(answer.json()["access_token"])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as pda:
        assert (await pda.get("/api/v1/pda/shelf", headers=device)).status_code == 200

    listed = await client.get("/station/devices", headers=HTML)
    assert "柜台 PDA" in listed.text and "本站 PDA <small>1 台</small>" in listed.text
    token = await db_session.scalar(select(ApiToken).where(ApiToken.user_id == operator_id))
    assert token is not None and token.kind is TokenKind.station_pda
    revoked = await client.post(
        f"/station/devices/{token.id}/revoke", data={"csrf_token": field(listed, "csrf_token")}, headers=HTML
    )
    assert revoked.status_code == 303
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as pda:
        assert (await pda.get("/api/v1/pda/shelf", headers=device)).status_code == 401


async def test_an_operator_cannot_touch_another_stations_devices(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    await log_in(client, db_session, Role.station_operator)
    neighbour = await make_user(db_session, Role.station_operator)
    theirs = await service.issue_device_token(
        db_session, kind=TokenKind.station_pda, user_id=neighbour.id, label="邻站 PDA", station_id=neighbour.station_id
    )
    page = await client.get("/station/devices", headers=HTML)
    assert "邻站 PDA" not in page.text
    refused = await client.post(
        f"/station/devices/{theirs.record.id}/revoke", data={"csrf_token": field(page, "csrf_token")}, headers=HTML
    )
    assert refused.status_code == 404
    token = await db_session.get(ApiToken, theirs.record.id, populate_existing=True)
    assert token is not None and token.revoked_at is None
    # Nor the admin's door onto that station.
    station = await db_session.get(Station, neighbour.station_id)
    assert station is not None
    assert (await client.get(f"/admin/stations/{station.code}/devices", headers=HTML)).status_code == 403


async def test_an_admin_chooses_the_operator_and_can_cancel_an_unused_code(
    client: httpx.AsyncClient, app: FastAPI, db_session: AsyncSession
) -> None:
    await log_in(client, db_session, Role.admin)
    station = await make_station(db_session, name="红梨村服务站")
    url = f"/admin/stations/{station.code}/devices"
    empty = await client.get(url, headers=HTML)
    assert empty.status_code == 200 and "还没有启用的站长账号" in empty.text and "生成登记码" not in empty.text

    first = await make_user(db_session, Role.station_operator, station_id=station.id, display_name="甲")
    second = await make_user(db_session, Role.station_operator, station_id=station.id, display_name="乙")
    page = await client.get(url, headers=HTML)
    assert f'<option value="{first.id}">' in page.text and f'<option value="{second.id}">' in page.text
    issued = await client.post(
        f"{url}/enrol", data={"csrf_token": field(page, "csrf_token"), "user_id": str(second.id)}, headers=HTML
    )
    assert issued.status_code == 200
    code = shown_code(issued)
    assert f"<code>{second.username}</code>" in issued.text

    listed = await client.get(url, headers=HTML)
    assert "未使用的登记码" in listed.text and code not in listed.text  # never shown again
    record = await db_session.scalar(select(DeviceEnrolment).where(DeviceEnrolment.user_id == second.id))
    assert record is not None
    cancelled = await client.post(
        f"/admin/stations/{station.code}/enrolments/{record.id}/cancel",
        data={"csrf_token": field(listed, "csrf_token")},
        headers=HTML,
    )
    assert cancelled.status_code == 303
    assert (await enrol(app, code, "PDA")).status_code == 410
    # A user id that is not an operator here is refused on the page, with nothing made.
    other = await make_user(db_session, Role.warehouse)
    wrong = await client.post(
        f"{url}/enrol", data={"csrf_token": field(listed, "csrf_token"), "user_id": str(other.id)}, headers=HTML
    )
    assert wrong.status_code == 422 and "村站 PDA 令牌必须属于该村站的站长账号" in wrong.text
    count = len(
        (await db_session.scalars(select(DeviceEnrolment).where(DeviceEnrolment.station_id == station.id))).all()
    )
    assert count == 1
    assert (await db_session.get(User, other.id)) is not None


async def test_a_pda_cannot_enrol_another_device(
    client: httpx.AsyncClient, app: FastAPI, db_session: AsyncSession
) -> None:
    """A stolen PDA must not mint a successor that survives its own revocation."""
    operator = await make_user(db_session, Role.station_operator)
    pda = await service.issue_device_token(
        db_session, kind=TokenKind.station_pda, user_id=operator.id, label="PDA", station_id=operator.station_id
    )
    page = await client.get("/station/devices", headers={**HTML, **auth(pda.token)})
    assert page.status_code == 200  # the device may look (its own station's list)
    refused = await client.post(
        "/station/devices/enrol",
        data={"csrf_token": field(page, "csrf_token")},
        headers={**HTML, **auth(pda.token)},
    )
    assert refused.status_code == 403 and "请在村站工作台网页上登录后登记设备" in refused.text
    assert (await db_session.scalars(select(DeviceEnrolment).where(DeviceEnrolment.user_id == operator.id))).all() == []
