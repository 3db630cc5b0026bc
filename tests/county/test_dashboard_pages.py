"""The dashboard on /admin and the lists behind its figures, for an admin and for the read-only
county official: the figures, the lists adding up to them, masked names and phones for the
official, no write links, and 403 on every write route of the console."""

from __future__ import annotations

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
from tests.county.fixture import MIDNIGHT, NAME_A, NAME_D, NAME_G, P1, P2, SAT, SUN, build
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
        upward = await client.get(f"/admin/county/upward?{SPAN}", headers=HTML)
        assert total(upward, "station_kg") == "12.5 kg" and total(upward, "station_value") == format_minor(25_000)
        assert total(upward, "supplier_kg") == "52.5 kg" and total(upward, "supplier_value") == format_minor(12_340)
        downward = await client.get(f"/admin/county/downward?{SPAN}", headers=HTML)
        assert total(downward, "parcels") == f"{figures.parcels_to_stations} 件" == "2 件"
        served = await client.get(f"/admin/county/served?{SPAN}", headers=HTML)
        assert total(served, "people") == "2" and total(served, "villages") == "1"


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
