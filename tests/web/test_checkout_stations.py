"""Choosing the pickup station on the checkout page: every open station, grouped by township and
findable by a filter; nothing pre-selected for a first-time customer without a location; the last
chosen station remembered (a cookie in this browser, the order history for a signed-in customer);
the nearest with room pre-selected when the customer shares a location; no silent default when
the form comes without a station or with an unknown one. And the contact phone: a mainland mobile
number, since the pickup code goes by SMS only."""

from __future__ import annotations

import re
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role, User
from app.notifications.models import NotificationMessage
from app.orders.models import Order
from app.stations.models import Station
from app.supply.models import Reservation
from app.web.cart import CART_COOKIE
from app.web.orders import STATION_COOKIE
from tests.fixtures.builders import DEFAULT_PASSWORD, make_station
from tests.web import test_shop_pages
from tests.web.test_shop_pages import HTML, Storefront, check_out, checkout_form, fill_cart, number_of, order_count
from tests.web.test_stock_pages import field, log_in

# The shop pages' fixtures, found by name.
second_client = test_shop_pages.second_client

CHECKED_STATION = re.compile(r'name="station_code" value="([^"]+)"[^>]*\schecked')
STATION_VALUES = re.compile(r'name="station_code" value="([^"]+)"')
TOWNSHIP_HEADINGS = re.compile(r'<h3 class="township-name" id="tw-\d+">([^ <]+)')


SERVED = ["满堂村", "彩岭村"]
# key: code, name, township, village, latitude, longitude, anything else
COUNTY: dict[str, tuple[str, str, str, str, str, str, dict[str, object]]] = {
    "mantang": ("ST-AZ-01", "满堂村服务站", "隘子镇", "满堂村", "24.832", "114.344", {"villages_served": SERVED}),
    "azi": ("ST-AZ-02", "隘子圩服务站", "隘子镇", "隘子村", "24.850", "114.300", {}),
    "donghu": ("ST-TP-01", "东湖坪村服务站", "太平镇", "东湖坪村", "24.950", "114.070", {"address": "村委会一楼"}),
    "hongli": ("ST-MS-01", "红梨村服务站", "马市镇", "红梨村", "25.050", "114.200", {}),
    "full": ("ST-MS-02", "马市圩服务站", "马市镇", "马市村", "25.040", "114.190", {"shelf_capacity": 0}),
    "shut": ("ST-SQ-01", "司前已关站", "司前镇", "司前村", "24.700", "114.000", {"is_open": False}),
}


async def county(session: AsyncSession) -> dict[str, Station]:
    """Stations in four townships, listed out of the county's order, one of them full, one closed."""
    return {
        key: await make_station(
            session,
            code=code,
            name=name,
            township=township,
            village=village,
            latitude=Decimal(lat),
            longitude=Decimal(lng),
            **extra,
        )
        for key, (code, name, township, village, lat, lng, extra) in COUNTY.items()
    }


@pytest.fixture
async def stations(client: httpx.AsyncClient, db_session: AsyncSession, storefront: Storefront) -> dict[str, Station]:
    """The county's stations, and a filled cart in ``client``'s browser: ready for checkout."""
    made = await county(db_session)
    await fill_cart(client, storefront)
    return made


def checked(page: httpx.Response) -> list[str]:
    return CHECKED_STATION.findall(page.text)


async def test_every_open_station_is_listed_by_township_and_none_is_chosen(
    client: httpx.AsyncClient, storefront: Storefront, stations: dict[str, Station]
) -> None:
    page = await client.get("/checkout", headers=HTML)

    assert page.status_code == 200
    assert checked(page) == []  # not the first of the list, not any
    assert "尚未选择自提村站，请在下面选择。" in page.text
    codes = STATION_VALUES.findall(page.text)
    expected = ["ST-AZ-01", "ST-AZ-02", "ST-TP-01", "ST-MS-01", "ST-MS-02", storefront.station_code]
    assert sorted(codes) == sorted(expected)
    assert "司前已关站" not in page.text
    # Townships in the county's order (太平镇, 马市镇, …, 隘子镇), each with its stations.
    assert TOWNSHIP_HEADINGS.findall(page.text) == ["太平镇", "马市镇", "隘子镇"]
    assert "共 6 个村站，按乡镇分组" in page.text
    full = page.text[page.text.index('value="ST-MS-02"') - 200 : page.text.index('value="ST-MS-02"') + 200]
    assert "disabled" in full
    assert 'data-search="满堂村服务站 隘子镇 满堂村 满堂村 彩岭村  ST-AZ-01"' in page.text


async def test_the_filter_finds_a_station_by_township_or_village_without_script(
    client: httpx.AsyncClient, stations: dict[str, Station]
) -> None:
    by_township = await client.get("/checkout", params={"q": "隘子"}, headers=HTML)
    assert STATION_VALUES.findall(by_township.text) == ["ST-AZ-01", "ST-AZ-02"]
    assert "“隘子”找到 2 个村站" in by_township.text and "显示全部 6 个" in by_township.text
    by_served_village = await client.get("/checkout", params={"q": "彩岭"}, headers=HTML)
    assert STATION_VALUES.findall(by_served_village.text) == ["ST-AZ-01"]
    nothing = await client.get("/checkout", params={"q": "不存在的村"}, headers=HTML)
    assert STATION_VALUES.findall(nothing.text) == []
    assert '<p class="empty" id="station-none">没有找到匹配的村站' in nothing.text


async def test_a_shared_location_sorts_nearest_first_and_picks_the_nearest_with_room(
    client: httpx.AsyncClient, stations: dict[str, Station]
) -> None:
    # Next to the full 马市圩 station: it is nearest but has no room, so 红梨村 is chosen.
    page = await client.get("/checkout", params={"near": "25.0401,114.1901"}, headers=HTML)

    assert checked(page) == ["ST-MS-01"]
    assert TOWNSHIP_HEADINGS.findall(page.text)[0] == "马市镇"
    assert STATION_VALUES.findall(page.text)[:2] == ["ST-MS-02", "ST-MS-01"]
    assert "按您的位置由近到远排列。" in page.text
    assert "已选：<strong>红梨村服务站</strong>（马市镇 · 红梨村）" in page.text


async def test_no_station_or_an_unknown_one_is_refused_naming_the_field(
    client: httpx.AsyncClient, db_session: AsyncSession, storefront: Storefront, stations: dict[str, Station]
) -> None:
    missing = await check_out(client, storefront, station_code="")
    assert missing.status_code == 422
    assert "自提村站：请选择自提村站" in missing.text
    assert checked(missing) == [] and 'value="李阿姨"' in missing.text
    closed = await check_out(client, storefront, station_code="ST-SQ-01")
    assert closed.status_code == 422 and "所选自提村站 ST-SQ-01 不存在或未开放，请重新选择" in closed.text
    unknown = await check_out(client, storefront, station_code="ST-NOPE")
    assert unknown.status_code == 422 and "所选自提村站 ST-NOPE 不存在或未开放" in unknown.text

    assert await order_count(db_session) == 0
    assert await db_session.scalar(select(func.count()).select_from(Reservation)) == 0
    assert await db_session.scalar(select(func.count()).select_from(NotificationMessage)) == 0
    assert CART_COOKIE in client.cookies and STATION_COOKIE not in client.cookies


async def test_a_guest_s_last_station_is_remembered_in_this_browser(
    client: httpx.AsyncClient, second_client: httpx.AsyncClient, storefront: Storefront, stations: dict[str, Station]
) -> None:
    placed = await check_out(client, storefront, station_code="ST-AZ-01")
    assert placed.status_code == 303, placed.text
    assert client.cookies.get(STATION_COOKIE, path="/checkout") == "ST-AZ-01"

    await fill_cart(client, storefront)
    again = await client.get("/checkout", headers=HTML)
    assert checked(again) == ["ST-AZ-01"]
    assert "已选：<strong>满堂村服务站</strong>（隘子镇 · 满堂村） <span class=\"tag ok\">上次选择</span>" in again.text
    # A location shared now sorts the list, but the remembered choice stays chosen.
    located = await client.get("/checkout", params={"near": "24.95,114.07"}, headers=HTML)
    assert checked(located) == ["ST-AZ-01"] and STATION_VALUES.findall(located.text)[0] == storefront.station_code

    # Another browser knows nothing of it.
    await fill_cart(second_client, storefront)
    assert checked(await second_client.get("/checkout", headers=HTML)) == []


async def test_a_remembered_station_that_closed_or_filled_up_is_not_chosen(
    client: httpx.AsyncClient, db_session: AsyncSession, stations: dict[str, Station]
) -> None:
    client.cookies.set(STATION_COOKIE, "ST-MS-02", domain="testserver.local", path="/checkout")
    assert checked(await client.get("/checkout", headers=HTML)) == []  # full
    client.cookies.set(STATION_COOKIE, "ST-SQ-01", domain="testserver.local", path="/checkout")
    assert checked(await client.get("/checkout", headers=HTML)) == []  # closed
    client.cookies.set(STATION_COOKIE, '"><script>', domain="testserver.local", path="/checkout")
    page = await client.get("/checkout", headers=HTML)
    assert checked(page) == [] and "<script>" not in page.text.split("</main>")[0]
    stations["shut"].is_open = True
    await db_session.flush()
    client.cookies.set(STATION_COOKIE, "ST-SQ-01", domain="testserver.local", path="/checkout")
    assert checked(await client.get("/checkout", headers=HTML)) == ["ST-SQ-01"]


async def test_a_signed_in_customer_s_station_follows_them_to_another_browser(
    client: httpx.AsyncClient,
    second_client: httpx.AsyncClient,
    db_session: AsyncSession,
    storefront: Storefront,
    stations: dict[str, Station],
) -> None:
    customer_id = await log_in(client, db_session, Role.customer)  # the cart cookie stays
    assert (await check_out(client, storefront, station_code="ST-TP-01")).status_code == 303

    # The same customer signs in on another phone: no cookie there, the orders remember.
    user = await db_session.get(User, customer_id)
    assert user is not None
    login = await second_client.get("/login", headers=HTML)
    signed_in = await second_client.post(
        "/login",
        data={"username": user.username, "password": DEFAULT_PASSWORD, "csrf_token": field(login, "csrf_token")},
    )
    assert signed_in.status_code == 303
    await fill_cart(second_client, storefront)
    assert STATION_COOKIE not in second_client.cookies
    assert checked(await second_client.get("/checkout", headers=HTML)) == ["ST-TP-01"]

    # A re-routed order (its station was full) says nothing about the customer's choice: the
    # orders still remember 东湖坪, which wins over this browser's cookie for a signed-in customer.
    placed = await check_out(second_client, storefront, station_code="ST-MS-02")
    assert placed.status_code == 303
    rerouted = await db_session.scalar(select(Order).where(Order.number == number_of(placed)))
    assert rerouted is not None and rerouted.station_reason.startswith("所选村站 ST-MS-02 已满")
    await fill_cart(second_client, storefront)
    assert checked(await second_client.get("/checkout", headers=HTML)) == ["ST-TP-01"]


async def test_the_contact_phone_must_take_an_sms(
    client: httpx.AsyncClient, db_session: AsyncSession, storefront: Storefront
) -> None:
    await fill_cart(client, storefront)
    for phone, message in (
        ("0751-1234567", "手机号：固定电话收不到短信，请填写中国大陆手机号（11 位，1 开头）：取货码和订单通知"),
        ("+852 6123 4567", "手机号：暂不支持中国大陆以外的号码（+852），请填写中国大陆手机号"),
        ("+1 650 253 0000", "手机号：暂不支持中国大陆以外的号码（+1），请填写中国大陆手机号"),
    ):
        refused = await check_out(client, storefront, contact_phone=phone)
        assert refused.status_code == 422 and message in refused.text, phone
        assert f'value="{phone}"' in refused.text  # what was typed stays, to be corrected
    assert await order_count(db_session) == 0
    page = await client.get("/checkout", headers=HTML)
    assert "中国大陆手机号：取货码和订单通知只通过短信发送" in page.text
    placed = await client.post("/checkout", data=checkout_form(page, storefront), headers=HTML)
    assert placed.status_code == 303
