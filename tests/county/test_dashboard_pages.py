"""The dashboard on /admin and the lists behind its figures, for an admin and for the read-only
county official: the figures, the lists adding up to them, masked names and phones for the
official, no write links, and 403 on every write route of the console."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.county import performance
from app.kit import clock
from app.kit.money import format_minor
from app.orders.models import OrderStatus
from tests.county.fixture import MIDNIGHT, NAME_A, NAME_D, NAME_G, P1, P2, SAT, SUN, build, shop_order
from tests.fixtures.routes import iter_routes
from tests.web.test_stock_pages import HTML, field, log_in

SUNDAY_NOON = MIDNIGHT + timedelta(hours=12)  # 12:00 Sunday 6 December in China
SPAN = f"from={SAT}&to={SUN}"


@pytest.fixture
async def fixture_refreshed(db_session: AsyncSession) -> None:
    await build(db_session)
    with clock.pinned(SUNDAY_NOON):
        await performance.refresh_figures(db_session)


def total(page: httpx.Response, key: str) -> str:
    found = re.search(rf'data-total="{key}">([^<]*)<', page.text)
    assert found is not None, f"no total {key}"
    return found.group(1).strip()


def figure_link(page: httpx.Response, figure: str) -> str:
    found = re.search(rf'href="([^"]+)"[^>]*data-figure="{figure}"', page.text)
    assert found is not None, f"figure {figure} links nowhere"
    return html.unescape(found.group(1))


def personal_data_in(text: str) -> list[str]:
    shown = [name for name in (NAME_A, NAME_D, NAME_G) if name in text]
    return shown + [phone for phone in (P1, P2, P1[3:], P2[3:]) if phone in text]


@pytest.mark.usefixtures("fixture_refreshed")
@pytest.mark.parametrize("role", [Role.admin, Role.county_official])
async def test_the_lists_behind_the_figures_add_up_to_them(
    client: httpx.AsyncClient, db_session: AsyncSession, role: Role
) -> None:
    await log_in(client, db_session, role)
    with clock.pinned(SUNDAY_NOON):
        page = await client.get("/admin?period=7d", headers=HTML)
        assert page.status_code == 200, page.text
        # The 7 days to Sunday also hold order F (paid Friday 4 December, ¥30.00).
        assert f"/admin/county/orders?channel=shop&amp;from=2026-11-30&amp;to={SUN}" in page.text
        assert format_minor(36_000) in page.text and "4 单" in page.text
        figures = await performance.performance(db_session, SAT, SUN)
        for channel in figures.channels:
            listed = await client.get(f"/admin/county/orders?channel={channel.channel.value}&{SPAN}", headers=HTML)
            assert listed.status_code == 200, listed.text
            assert total(listed, "net_minor") == format_minor(channel.sales_minor, channel.currency)
            assert f"合计 {channel.orders} 单" in listed.text
        shop = await client.get(f"/admin/county/orders?channel=shop&{SPAN}", headers=HTML)
        # E, paid and then cancelled, is listed with its ¥0 (so the money adds up) and not counted.
        assert 'data-cancelled="shop"' in shop.text and "已取消或失效，不计单数" in shop.text
        upward = await client.get(f"/admin/county/upward?{SPAN}", headers=HTML)
        assert total(upward, "station_kg") == "12.5 kg" and total(upward, "station_value") == format_minor(25_000)
        assert total(upward, "supplier_kg") == "52.5 kg" and total(upward, "supplier_value") == format_minor(12_340)
        downward = await client.get(f"/admin/county/downward?{SPAN}", headers=HTML)
        assert total(downward, "parcels") == f"{figures.parcels_to_stations} 件" == "2 件"
        served = await client.get(f"/admin/county/served?{SPAN}", headers=HTML)
        assert total(served, "people") == "2" and total(served, "villages") == "1"

        # The figures that add channels up link to one list of those channels, whose grand total is the figure.
        week = await performance.performance(db_session, SUN - timedelta(days=6), SUN)
        online = await client.get(figure_link(page, "online-retail"), headers=HTML)
        assert online.status_code == 200, online.text
        assert re.findall(r'id="county-list-(\w+)"', online.text) == ["shop", "wholesale"]
        assert total(online, "all_net_minor") == format_minor(week.online_retail_minor) == format_minor(73_000)
        shop_and_wholesale = week.channel("shop").orders + week.channel("wholesale").orders
        assert total(online, "all_orders") == f"{shop_and_wholesale} 单"
        for key in ("cny-orders", "cny-sales"):
            cny = await client.get(figure_link(page, key), headers=HTML)
            assert re.findall(r'id="county-list-(\w+)"', cny.text) == ["shop", "wholesale", "pos"]
            assert total(cny, "all_net_minor") == format_minor(week.sales_cny_minor)
            assert total(cny, "all_orders") == f"{week.orders_total - week.crossborder_orders} 单"


@pytest.mark.usefixtures("fixture_refreshed")
async def test_the_official_reads_figures_but_no_names_phones_or_write_links(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    await log_in(client, db_session, Role.county_official)
    with clock.pinned(SUNDAY_NOON):
        pages = {
            url: await client.get(url, headers=HTML)
            for url in (
                "/admin",
                "/admin?period=30d",
                f"/admin/county/orders?channel=shop&{SPAN}",
                f"/admin/county/upward?{SPAN}",
                f"/admin/county/downward?{SPAN}",
                f"/admin/county/served?{SPAN}",
            )
        }
    for url, page in pages.items():
        assert page.status_code == 200, url
        assert personal_data_in(page.text) == [], url
        # No form that writes (signing out is the only one).
        assert re.findall(r'<form method="post" action="([^"]*)"', page.text) == ["/logout"], url
        assert not re.search(r'href="/admin/(orders|products|lots|crossborder|users|stock)', page.text), url
    dashboard = pages["/admin"].text
    assert "platform-overview" not in dashboard and "备份" not in dashboard  # the admins' overview
    assert "张**" in dashboard  # G's overdue parcel, masked
    assert "欧**" in pages[f"/admin/county/orders?channel=shop&{SPAN}"].text
    assert "口径说明" in dashboard and "按付款时间的北京时间日期" in dashboard
    # The official's menu: the dashboard, reports, targets, funds — nothing it cannot open.
    nav = re.search(r'<nav class="subnav".*?</nav>', dashboard, re.S)
    assert nav is not None
    assert re.findall(r'href="([^"]+)"', nav.group(0)) == [
        "/admin",
        "/admin/county/reports",
        "/admin/county/targets",
        "/admin/county/funds",
    ]


@pytest.mark.usefixtures("fixture_refreshed")
async def test_an_admin_sees_the_overview_names_and_links(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    await log_in(client, db_session, Role.admin)
    with clock.pinned(SUNDAY_NOON):
        page = await client.get("/admin", headers=HTML)
    assert page.status_code == 200
    assert "platform-overview" in page.text and "运营看板" in page.text
    assert NAME_G in page.text  # the overdue parcel's addressee, for the centre to call
    assert re.search(r'href="/admin/orders/NPT\d+"', page.text)


async def test_the_official_gets_403_on_every_write_route_of_the_console(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    await log_in(client, db_session, Role.county_official)
    token = field(await client.get("/admin", headers=HTML), "csrf_token")
    writes = sorted(
        {
            (re.sub(r"\{[^}]+\}", "1", route.path), method)
            for route in iter_routes(app)
            if not route.is_mount and route.path.startswith(("/admin", "/api/v1/admin"))
            for method in route.methods
            if method in {"POST", "PUT", "PATCH", "DELETE"}
        }
    )
    assert len(writes) > 50
    refused = {}
    for path, method in writes:
        response = await client.request(
            method, path, data={"csrf_token": token}, headers={**HTML, "X-CSRF-Token": token}
        )
        refused[(method, path)] = response.status_code
    assert {key: status for key, status in refused.items() if status != 403} == {}


@pytest.mark.usefixtures("fixture_refreshed")
async def test_bad_list_dates_are_a_4xx_not_a_500(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    await log_in(client, db_session, Role.county_official)
    for query in ("from=2026-12-07&to=2026-12-01", "from=yesterday", "from=2026-01-01&to=2026-12-31"):
        response = await client.get(f"/admin/county/orders?channel=shop&{query}", headers=HTML)
        assert 400 <= response.status_code < 500, query
    assert (await client.get("/admin/county/orders?channel=bogus", headers=HTML)).status_code == 422


@pytest.mark.usefixtures("fixture_refreshed")
async def test_every_figure_on_the_dashboard_links_to_a_list_that_opens(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    await log_in(client, db_session, Role.county_official)
    with clock.pinned(SUNDAY_NOON):
        page = await client.get("/admin?period=7d", headers=HTML)
        figures = re.findall(r'<span class="stat-num"', page.text)
        linked = re.findall(r'<a href="([^"]+)"[^>]*><span class="stat-num"', page.text)
        assert len(figures) == len(linked) == 15  # 4 channels and online retail, 5 flows, 5 attention counts
        for url in {html.unescape(u) for u in linked}:
            opened = await client.get(url, headers=HTML)
            assert opened.status_code == 200, url
        # The channel table's total row links too.
        assert figure_link(page, "cny-sales") == figure_link(page, "cny-orders")


async def test_each_attention_count_links_to_its_whole_list_paged_and_masked_for_the_official(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    """The dashboard shows an attention list's first 20 rows; its count opens the whole list, 50
    rows a page. 55 unpaid orders waiting 3 hours (stuck after 2) and order F (confirmed 2½ days)."""
    made = await build(db_session)
    waiting = [
        await shop_order(
            db_session,
            total=1_000 + n,
            placed_at=SUNDAY_NOON - timedelta(hours=3),
            paid_at=None,
            status=OrderStatus.pending_payment,
            name=NAME_A,
            phone=P1,
        )
        for n in range(55)
    ]
    await log_in(client, db_session, Role.county_official)
    with clock.pinned(SUNDAY_NOON):
        dashboard = await client.get("/admin", headers=HTML)
        assert figure_link(dashboard, "attention-stuck-orders") == "/admin/county/attention/stuck-orders"
        assert re.search(r'data-figure="attention-stuck-orders"><span class="stat-num">56<', dashboard.text)
        pages = [await client.get(f"/admin/county/attention/stuck-orders?page={n}", headers=HTML) for n in (1, 2)]
        past_the_end = await client.get("/admin/county/attention/stuck-orders?page=3", headers=HTML)
    # A page past the end is not an empty list: 404, naming how many pages there are.
    assert past_the_end.status_code == 404 and "只有 2 页" in past_the_end.text, past_the_end.text
    numbers = [re.findall(r"<tr><th>(NPT\d+)</th>", page.text) for page in pages]
    assert [len(found) for found in numbers] == [50, 6]
    assert {o.number for o in waiting} <= set(numbers[0] + numbers[1])
    assert not set(numbers[0]) & set(numbers[1])
    for page in pages:
        assert page.status_code == 200
        assert 'data-count="stuck-orders">56<' in page.text
        assert personal_data_in(page.text) == []
        assert not re.search(r'href="/admin/(orders|products|lots|crossborder|users|stock)', page.text)
        assert re.findall(r'<form method="post" action="([^"]*)"', page.text) == ["/logout"]
    assert "欧**" in pages[0].text and "第 1 / 2 页" in pages[0].text and 'href="?page=2"' in pages[0].text

    # Every list opens for the official, its count the dashboard's; an unknown one is a 404.
    with clock.pinned(SUNDAY_NOON):
        for key in ("overdue-parcels", "expiring-lots", "below-reorder", "alibaba-sync"):
            page = await client.get(f"/admin/county/attention/{key}", headers=HTML)
            assert page.status_code == 200, key
            shown = re.search(rf'data-figure="attention-{key}"><span class="stat-num">(\d+)<', dashboard.text)
            assert shown is not None and f'data-count="{key}">{shown.group(1)}<' in page.text, key
            assert personal_data_in(page.text) == [], key
        overdue = await client.get("/admin/county/attention/overdue-parcels", headers=HTML)
        assert "张**" in overdue.text and "138****8102" in overdue.text  # G's parcel: masked name, last four digits
        assert (await client.get("/admin/county/attention/bogus", headers=HTML)).status_code == 404
        assert (await client.get("/admin/county/attention/stuck-orders?page=0", headers=HTML)).status_code == 422

    # The admin sees the names and a link to each order.
    await log_in(client, db_session, Role.admin)
    with clock.pinned(SUNDAY_NOON):
        page = await client.get("/admin/county/attention/stuck-orders", headers=HTML)
    assert NAME_A in page.text and re.search(r'href="/admin/orders/NPT\d+"', page.text)
    assert made.order_a.number not in page.text  # paid at midnight, confirmed 12 hours: not stuck yet
