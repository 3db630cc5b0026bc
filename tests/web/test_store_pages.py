"""The ops console's brand stores (/admin/pos/stores): a store is made with its stock location;
tills with unique sale-number prefixes; PINs and managers; a till enrolled from its own browser at
/pos/enrol (the code shown once, its QR opening that page), revoked or deactivated from the console
— and a refused form changes nothing."""

from __future__ import annotations

from urllib.parse import unquote

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import ApiToken, Role, TokenKind, User
from app.accounts.security import verify_password
from app.pos.models import Store, StoreManager, Till
from app.supply.models import Location, LocationKind
from tests.fixtures.builders import auth, make_store, make_user, token_for
from tests.fixtures.pos import PIN, make_clerk, make_till, till_token
from tests.web.test_device_pages import shown_code
from tests.web.test_stock_pages import HTML, field, log_in


async def post_form(client: httpx.AsyncClient, page_url: str, action: str, data: dict[str, str]) -> httpx.Response:
    page = await client.get(page_url, headers=HTML)
    assert page.status_code == 200, page.text
    return await client.post(action, data={"csrf_token": field(page, "csrf_token"), **data}, headers=HTML)


def till_browser(app: FastAPI) -> httpx.AsyncClient:
    """The counter PC's browser: its own cookies, no console session."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def test_an_admin_opens_a_store_with_its_location(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    await log_in(client, db_session, Role.admin)
    made = await post_form(
        client,
        "/admin/pos/stores",
        "/admin/pos/stores",
        {"code": "store-09", "name": "南雄珠玑市场店", "address": "珠玑镇市场 3 号", "phone": "", "is_open": "on"},
    )
    assert made.status_code == 303 and made.headers["location"].startswith("/admin/pos/stores/STORE-09?")
    store = await db_session.scalar(select(Store).where(Store.code == "STORE-09"))
    assert store is not None and store.phone is None and store.is_open
    location = await db_session.scalar(select(Location).where(Location.store_id == store.id))
    assert location is not None and (location.code, location.kind) == ("STORE-09", LocationKind.store)
    listed = await client.get("/admin/pos/stores", headers=HTML)
    assert "南雄珠玑市场店" in listed.text and "<code>STORE-09</code>" in listed.text

    # The same code again, or a location's code, or a bad code: refused, shown again, nothing made.
    await make_store(db_session, code="ST-CLASH")  # no location: the location code is free…
    db_session.add(Location(code="WH-CLASH", name="仓", kind=LocationKind.warehouse))
    await db_session.flush()
    for code, status, words in (
        ("STORE-09", 409, "门店编号已被使用"),
        ("WH-CLASH", 409, "门店编号已被使用"),
        ("门店", 422, "编号："),
    ):
        refused = await post_form(
            client, "/admin/pos/stores", "/admin/pos/stores", {"code": code, "name": "重复的店", "address": ""}
        )
        assert refused.status_code == status and words in refused.text, code
        assert 'value="重复的店"' in refused.text
    assert await db_session.scalar(select(Store).where(Store.name == "重复的店")) is None

    # Editing renames its location too.
    edited = await post_form(
        client, "/admin/pos/stores/STORE-09", "/admin/pos/stores/STORE-09", {"name": "南雄珠玑店", "address": ""}
    )
    assert edited.status_code == 303
    await db_session.refresh(location)
    await db_session.refresh(store)
    assert location.name == "南雄珠玑店" and store.is_open is False


async def test_tills_pins_and_managers_on_the_store_page(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    await log_in(client, db_session, Role.admin)
    store = await make_store(db_session, name="城东店")
    url = f"/admin/pos/stores/{store.code}"
    added = await post_form(client, url, f"{url}/tills", {"code": "t1", "name": "1 号台", "sale_prefix": "ce1"})
    assert added.status_code == 303 and added.headers["location"].startswith(f"{url}/tills/T1?")
    till = await db_session.scalar(select(Till).where(Till.store_id == store.id))
    assert till is not None and (till.code, till.sale_prefix) == ("T1", "CE1")
    taken = await post_form(client, url, f"{url}/tills", {"code": "T2", "name": "2 号台", "sale_prefix": "CE1"})
    assert taken.status_code == 409 and "销售单号前缀已被其他收银机使用" in taken.text

    clerk = await make_clerk(db_session, store, pin=None)
    outsider = await make_clerk(db_session, await make_store(db_session))
    page = await client.get(url, headers=HTML)
    assert clerk.username in page.text and outsider.username not in page.text and "未设置" in page.text
    weak = await post_form(client, url, f"{url}/staff/{clerk.id}/pin", {"pin": "1234"})
    assert weak.status_code == 422 and "PIN 必须是 4–6 位数字" in weak.text
    elsewhere = await post_form(client, url, f"{url}/staff/{outsider.id}/pin", {"pin": PIN})
    assert elsewhere.status_code == 422 and "不是本店的店员或店长" in elsewhere.text
    set_pin = await post_form(client, url, f"{url}/staff/{clerk.id}/pin", {"pin": PIN})
    assert set_pin.status_code == 303
    await db_session.refresh(clerk)
    assert verify_password(clerk.pin_hash, PIN)
    outsider_row = await db_session.get(User, outsider.id, populate_existing=True)
    assert outsider_row is not None and verify_password(outsider_row.pin_hash, PIN)  # its own, untouched

    manager = await make_user(db_session, Role.store_manager, display_name="温店长")
    page = await client.get(url, headers=HTML)
    assert f'<option value="{manager.id}">' in page.text
    assert (await post_form(client, url, f"{url}/managers", {"user_id": str(manager.id)})).status_code == 303
    assert await db_session.get(StoreManager, (store.id, manager.id)) is not None
    not_a_manager = await post_form(client, url, f"{url}/managers", {"user_id": str(clerk.id)})
    assert not_a_manager.status_code == 422 and "只有门店店长账号可以设为店长" in not_a_manager.text
    page = await client.get(url, headers=HTML)
    assert "温店长" in page.text and "门店店长" in page.text
    removed = await post_form(client, url, f"{url}/managers/{manager.id}/remove", {})
    assert removed.status_code == 303
    assert await db_session.get(StoreManager, (store.id, manager.id), populate_existing=True) is None


async def test_a_till_is_enrolled_from_its_browser_and_revoked_from_the_console(
    client: httpx.AsyncClient, app: FastAPI, db_session: AsyncSession
) -> None:
    await log_in(client, db_session, Role.admin)
    store = await make_store(db_session, name="城西店")
    till = await make_till(db_session, store, code="T1", name="1 号台")
    clerk = await make_clerk(db_session, store)
    url = f"/admin/pos/stores/{store.code}/tills/T1"
    page = await client.get(url, headers=HTML)
    assert page.status_code == 200 and "还没有登记设备" in page.text
    issued = await client.post(f"{url}/enrol", data={"csrf_token": field(page, "csrf_token")}, headers=HTML)
    assert issued.status_code == 200
    code = shown_code(issued)
    assert '<svg class="qr-svg"' in issued.text and "10 分钟内有效" in issued.text

    async with till_browser(app) as counter:
        # The QR opens the enrol page with the code filled in.
        form = await counter.get(f"/pos/enrol?code={code.replace('-', '')}", headers=HTML)
        assert form.status_code == 200 and f'value="{code.replace("-", "")}"' in form.text
        done = await counter.post(
            "/pos/enrol",
            data={"csrf_token": field(form, "csrf_token"), "code": code, "label": "柜台平板"},
            headers=HTML,
        )
        assert done.status_code == 200 and "本机已登记为收银机" in done.text and "城西店" in done.text
        cookie = done.headers["set-cookie"]
        assert cookie.startswith("np_till=npp_") and "HttpOnly" in cookie and "SameSite=strict" in cookie
        # The same code once more (another browser) is spent.
        async with till_browser(app) as another:
            again_form = await another.get("/pos/enrol", headers=HTML)
            again = await another.post(
                "/pos/enrol",
                data={"csrf_token": field(again_form, "csrf_token"), "code": code, "label": "x"},
                headers=HTML,
            )
            assert again.status_code == 409 and "np_till" not in again.headers.get("set-cookie", "")

        # The clerk signs in on the enrolled browser (the cookie is the till).
        signed = await counter.post("/api/v1/pos/session", json={"username": clerk.username, "pin": PIN})
        assert signed.status_code == 201, signed.text
        at_till = {"Authorization": f"Bearer {signed.json()['access_token']}"}

        listed = await client.get(url, headers=HTML)
        assert "柜台平板" in listed.text and "已登记的设备 <small>1 台</small>" in listed.text
        device = await db_session.scalar(
            select(ApiToken).where(ApiToken.till_id == till.id, ApiToken.kind == TokenKind.pos_till)
        )
        assert device is not None
        revoked = await client.post(
            f"{url}/devices/{device.id}/revoke", data={"csrf_token": field(listed, "csrf_token")}, headers=HTML
        )
        assert revoked.status_code == 303
        # Signed out at its next request; the till cannot sign anyone in any more.
        assert (await counter.get("/api/v1/pos/session", headers=at_till)).status_code == 401
        refused = await counter.post("/api/v1/pos/session", json={"username": clerk.username, "pin": PIN})
        assert refused.status_code == 401 and refused.json()["error"] == "till_not_enrolled"


async def test_a_device_of_another_till_is_not_revoked_from_this_page(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    await log_in(client, db_session, Role.admin)
    store = await make_store(db_session)
    mine, theirs = await make_till(db_session, store, code="T1"), await make_till(db_session, store, code="T2")
    await till_token(db_session, theirs)
    other = await db_session.scalar(select(ApiToken).where(ApiToken.till_id == theirs.id))
    assert other is not None
    url = f"/admin/pos/stores/{store.code}/tills/{mine.code}"
    refused = await post_form(client, url, f"{url}/devices/{other.id}/revoke", {})
    assert refused.status_code == 404
    kept = await db_session.get(ApiToken, other.id, populate_existing=True)
    assert kept is not None and kept.revoked_at is None
    # Deactivating the other till from the store page revokes it.
    store_url = f"/admin/pos/stores/{store.code}"
    off = await post_form(client, store_url, f"{store_url}/tills/T2/active", {})
    assert off.status_code == 303 and "1 个令牌" in unquote(off.headers["location"])
    row = await db_session.get(ApiToken, other.id, populate_existing=True)
    till_row = await db_session.get(Till, theirs.id, populate_existing=True)
    assert row is not None and row.revoked_at is not None and till_row is not None and not till_row.is_active


async def test_the_store_console_is_for_admins(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    await log_in(client, db_session, Role.store_manager)
    assert (await client.get("/admin/pos/stores", headers=HTML)).status_code == 403


async def test_a_pda_code_typed_into_a_till_browser_is_refused_and_stays_unspent(
    client: httpx.AsyncClient, app: FastAPI, db_session: AsyncSession
) -> None:
    admin = auth(await token_for(db_session, await make_user(db_session, Role.admin)))
    operator = await make_user(db_session, Role.station_operator)
    issued = await client.post(
        "/api/v1/admin/enrolments", headers=admin, json={"kind": "station_pda", "station_id": operator.station_id}
    )
    code = issued.json()["code"]
    async with till_browser(app) as counter:
        form = await counter.get("/pos/enrol", headers=HTML)
        refused = await counter.post(
            "/pos/enrol", data={"csrf_token": field(form, "csrf_token"), "code": code, "label": "x"}, headers=HTML
        )
        assert refused.status_code == 422 and "村站 PDA 的登记码" in refused.text
        assert "np_till" not in refused.headers.get("set-cookie", "")
    pda = await client.post("/api/v1/devices/enrol", json={"code": code, "label": "PDA"})
    assert pda.status_code == 201
