"""The route sand table (SVG) and the console's station and route pages, driven like a browser:
log in through the form, post with the page's CSRF token, check what changed and what did not."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from decimal import Decimal

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.stations.map import network_svg
from app.stations.models import DeliveryRoute, Parcel, ParcelStatus, RouteStop, Station
from tests.fixtures.builders import ensure_warehouse, make_station, make_user, seq
from tests.stations.test_labels import make_order
from tests.web.test_stock_pages import HTML, field, form_post, log_in

SVG = "{http://www.w3.org/2000/svg}"


@dataclass
class Network:
    north: DeliveryRoute
    south: DeliveryRoute
    stations: list[Station]  # north: 0, 1; south: 2; unrouted: 3 (closed), 4 (named with markup)


async def make_network(session: AsyncSession) -> Network:
    n = seq()
    specs = (
        ("顿岗镇", "周所村", "25.0050", "114.1400", True, True),
        ("澄江镇", "暖田村", "25.0600", "114.2150", False, True),
        ("罗坝镇", "燎原村", "24.8500", "114.0950", False, True),
        ("司前镇", "黄沙村", "24.7750", "114.1500", False, False),
        ("隘子镇", "满堂村", "24.8200", "114.3300", False, True),
    )
    stations = [
        await make_station(
            session,
            code=f"ST-M{n}-{i}",
            township=town,
            village=village,
            latitude=Decimal(lat),
            longitude=Decimal(lng),
            is_demonstration=demo,
            is_open=is_open,
        )
        for i, (town, village, lat, lng, demo, is_open) in enumerate(specs, start=1)
    ]
    stations[4].name = "<b>满堂 & 大围</b>站"
    north = DeliveryRoute(code=f"RT-N{n}", name="北线 顿岗—澄江")
    south = DeliveryRoute(code=f"RT-S{n}", name="南线 罗坝")
    session.add_all([north, south])
    await session.flush()
    session.add_all(
        [
            RouteStop(route_id=north.id, station_id=stations[0].id, position=1),
            RouteStop(route_id=north.id, station_id=stations[1].id, position=2),
            RouteStop(route_id=south.id, station_id=stations[2].id, position=1),
        ]
    )
    await session.flush()
    return Network(north, south, stations)


async def stops(session: AsyncSession, route: DeliveryRoute) -> list[str]:
    rows = await session.scalars(
        select(Station.code)
        .join(RouteStop, RouteStop.station_id == Station.id)
        .where(RouteStop.route_id == route.id)
        .order_by(RouteStop.position)
    )
    return list(rows)


# ---- the sand table -------------------------------------------------------------------------------


async def test_sand_table_is_valid_svg_with_a_mark_per_station_and_a_line_per_route(db_session: AsyncSession) -> None:
    net = await make_network(db_session)
    station_count = await db_session.scalar(select(func.count()).select_from(Station))
    route_count = await db_session.scalar(select(func.count()).select_from(DeliveryRoute))

    svg = await network_svg(db_session)

    root = ET.fromstring(svg)  # noqa: S314 - the app's own output
    assert root.tag == f"{SVG}svg" and root.get("viewBox", "").startswith("0 0 ")
    circles = root.findall(f".//{SVG}circle")
    assert len(circles) == station_count == 5
    assert len(root.findall(f".//{SVG}polyline")) == route_count == 2
    by_code = {c.get("data-code"): c for c in circles}
    # Hover text names the station; the name with markup in it stayed text.
    tip = by_code[net.stations[4].code].find(f"{SVG}title")
    assert tip is not None and tip.text is not None
    assert tip.text.startswith(f"{net.stations[4].code} <b>满堂 & 大围</b>站") and "未排入路线" in tip.text
    # Demonstration: larger with a dark ring; closed: hollow.
    demo, plain, closed = by_code[net.stations[0].code], by_code[net.stations[1].code], by_code[net.stations[3].code]
    assert float(demo.get("r", 0)) > float(plain.get("r", 0)) and "np-demo" in (demo.get("class") or "")
    assert closed.get("fill") == "#ffffff" and "np-closed" in (closed.get("class") or "")
    # One colour per route, stations take their route's colour; the north line starts at the warehouse
    # and passes its two stops in order.
    north = root.find(f".//{SVG}polyline[@data-route='{net.north.code}']")
    south = root.find(f".//{SVG}polyline[@data-route='{net.south.code}']")
    assert north is not None and south is not None and north.get("stroke") != south.get("stroke")
    assert plain.get("fill") == north.get("stroke")
    points = [tuple(map(float, p.split(","))) for p in (north.get("points") or "").split()]
    assert points[1:] == [
        (float(by_code[s.code].get("cx", 0)), float(by_code[s.code].get("cy", 0))) for s in net.stations[:2]
    ]
    texts = "".join(root.itertext())
    for shown in ("县级仓库", "顿岗镇", "澄江镇", "隘子镇", net.north.code, "北线 顿岗—澄江"):
        assert shown in texts
    # North is up: 澄江 (further north) is drawn above 罗坝.
    assert float(by_code[net.stations[1].code].get("cy", 0)) < float(by_code[net.stations[2].code].get("cy", 0))


async def test_sand_table_is_public(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    await make_network(db_session)
    response = await client.get("/api/v1/stations/map.svg")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    root = ET.fromstring(response.text)  # noqa: S314 - the app's own output
    assert len(root.findall(f".//{SVG}circle")) == 5


# ---- station pages --------------------------------------------------------------------------------


def station_form(station: Station, **changes: str) -> dict[str, str]:
    form = {
        "name": station.name,
        "address": station.address,
        "villages_served": "、".join(station.villages_served or [station.village]),
        "opening_hours": station.opening_hours,
        "shelf_capacity": str(station.shelf_capacity),
        "retention_days": str(station.retention_days),
        "shelves": str(station.shelves),
        "layers_per_shelf": str(station.layers_per_shelf),
        "is_open": "on",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


async def test_stations_list_shows_the_map_and_the_operators(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    net = await make_network(db_session)
    operator = await make_user(db_session, Role.station_operator, station_id=net.stations[0].id, display_name="刘桂英")
    await log_in(client, db_session, Role.admin)

    page = await client.get("/admin/stations", headers=HTML)

    assert page.status_code == 200
    assert page.text.count("<svg") == 1 and 'xmlns="http://www.w3.org/2000/svg"' in page.text
    assert operator.username in page.text and "刘桂英" in page.text
    assert "&lt;b&gt;满堂 &amp; 大围&lt;/b&gt;站" in page.text and "<b>满堂" not in page.text
    assert f"{net.north.code}</code> 第 2 站" in page.text and "未排线" in page.text
    assert 'href="/admin/stations"' in page.text and 'href="/admin/routes"' in page.text  # nav links


async def test_station_edit_saves_and_refuses_bad_input(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    net = await make_network(db_session)
    station = net.stations[0]
    code = station.code
    url = f"/admin/stations/{code}"
    await log_in(client, db_session, Role.admin)

    saved = await form_post(
        client,
        url,
        url,
        station_form(
            station,
            name="周所村电商服务站",
            villages_served="周所围，杨梅坑、 周所围",
            opening_hours="8:00-12:00，14:00-20:30",
            shelf_capacity="180",
            retention_days="6",
            shelves="6",
            layers_per_shelf="5",
            is_open=None,  # unticked: closed
        ),
    )

    assert saved.status_code == 303 and saved.headers["location"].startswith(url)
    await db_session.refresh(station)
    after = (
        station.name,
        station.villages_served,
        station.opening_hours,
        station.shelf_capacity,
        station.retention_days,
        station.shelves,
        station.layers_per_shelf,
        station.is_demonstration,
        station.is_open,
    )
    assert after == (
        "周所村电商服务站",
        ["周所村", "周所围", "杨梅坑"],
        "08:00-12:00, 14:00-20:30",
        180,
        6,
        6,
        5,
        False,
        False,
    )

    for changes in (
        {"shelf_capacity": "0"},
        {"shelf_capacity": "abc"},
        {"shelf_capacity": "-5"},
        {"retention_days": "99"},
        {"opening_hours": "20:00-08:00"},
        {"opening_hours": "全天"},
        {"name": ""},
        {"villages_served": ""},
    ):
        refused = await form_post(client, url, url, station_form(station, **changes))
        assert refused.status_code == 422, changes
        assert "提交未成功" in refused.text
        await db_session.refresh(station)
        assert (station.name, station.shelf_capacity, station.retention_days, station.opening_hours) == (
            "周所村电商服务站",
            180,
            6,
            "08:00-12:00, 14:00-20:30",
        ), changes
    assert "货架容量" in refused.text or "服务村组" in refused.text

    # Capacity may not drop below what is on the shelf now.
    warehouse = await ensure_warehouse(db_session)
    for i in range(3):
        order = await make_order(
            db_session, station, warehouse, name="张三", phone="+8613800138000", total=100, pay_at_pickup=False
        )
        db_session.add(
            Parcel(
                tracking_number=f"NPP{seq():013d}",
                order_id=order.id,
                station_id=station.id,
                status=ParcelStatus.at_station,
                pickup_code=f"1-1-{1000 + i}",
            )
        )
    await db_session.flush()
    below = await form_post(client, url, url, station_form(station, shelf_capacity="2"))
    assert below.status_code == 409 and "当前在架包裹数（3 件）" in below.text
    await db_session.refresh(station)
    assert station.shelf_capacity == 180

    without_token = await client.post(url, data=station_form(station, shelf_capacity="150"), headers=HTML)
    assert without_token.status_code == 403
    await db_session.refresh(station)
    assert station.shelf_capacity == 180
    assert (await client.get("/admin/stations/ST-NOSUCH", headers=HTML)).status_code == 404


async def test_station_and_route_pages_are_for_admins(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    net = await make_network(db_session)
    for path in ("/admin/stations", f"/admin/stations/{net.stations[0].code}", "/admin/routes"):
        anonymous = await client.get(path, headers=HTML)
        assert anonymous.status_code == 303 and anonymous.headers["location"] == f"/login?next={path}"
    await log_in(client, db_session, Role.customer)
    for path in ("/admin/stations", f"/admin/stations/{net.stations[0].code}", "/admin/routes"):
        assert (await client.get(path, headers=HTML)).status_code == 403
    page = await client.get("/", headers=HTML)
    refused = await client.post(
        f"/admin/routes/{net.north.code}",
        data={"csrf_token": field(page, "csrf_token"), "name": "北线", "stations": net.stations[3].code},
        headers=HTML,
    )
    assert refused.status_code == 403
    assert await stops(db_session, net.north) == [s.code for s in net.stations[:2]]


async def test_warehouse_staff_cannot_edit_stations(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    net = await make_network(db_session)
    await log_in(client, db_session, Role.warehouse)
    assert (await client.get("/admin/stations", headers=HTML)).status_code == 403
    assert (await client.get(f"/admin/stations/{net.stations[0].code}", headers=HTML)).status_code == 403


# ---- route pages ----------------------------------------------------------------------------------


async def test_route_edit_reorders_and_refuses_a_station_on_another_route(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    net = await make_network(db_session)
    north, south = net.north, net.south
    s = [st.code for st in net.stations]
    await log_in(client, db_session, Role.admin)
    page = await client.get("/admin/routes", headers=HTML)
    assert page.status_code == 200 and north.code in page.text and "未排入任何路线" in page.text

    # Reorder, add an unrouted station, rename; codes typed in lower case with blank lines.
    url = f"/admin/routes/{north.code}"
    saved = await form_post(
        client,
        "/admin/routes",
        url,
        {"name": "北线（调整）", "is_active": "on", "stations": f"{s[1]}\n\n{s[0].lower()}\n{s[3]}\n"},
    )
    assert saved.status_code == 303
    assert await stops(db_session, north) == [s[1], s[0], s[3]]
    await db_session.refresh(north)
    assert (north.name, north.is_active) == ("北线（调整）", True)

    # The south route's station cannot join the north route while it is on the south route.
    taken = await form_post(
        client, "/admin/routes", url, {"name": "北线", "is_active": "on", "stations": f"{s[1]}\n{s[2]}"}
    )
    assert taken.status_code == 409
    assert f"这些村站已在其他路线上，请先从原路线移除：{s[2]}（{south.code}）" in taken.text
    assert await stops(db_session, north) == [s[1], s[0], s[3]]
    assert await stops(db_session, south) == [s[2]]
    await db_session.refresh(north)
    assert north.name == "北线（调整）"

    for stations, status, message in (
        (f"{s[1]}\nST-NOSUCH-9", 422, "ST-NOSUCH-9"),
        (f"{s[1]}\n{s[1]}", 422, "出现了多次"),
        ("bad code!", 422, "村站编号"),
    ):
        refused = await form_post(client, "/admin/routes", url, {"name": "北线", "stations": stations})
        assert refused.status_code == status and message in refused.text, stations
        assert await stops(db_session, north) == [s[1], s[0], s[3]]

    # Taking a station off the south route frees it for the north route.
    freed = await form_post(
        client, "/admin/routes", f"/admin/routes/{south.code}", {"name": south.name, "is_active": "on", "stations": ""}
    )
    assert freed.status_code == 303 and await stops(db_session, south) == []
    moved = await form_post(
        client, "/admin/routes", url, {"name": "北线", "is_active": "on", "stations": f"{s[2]}\n{s[1]}"}
    )
    assert moved.status_code == 303 and await stops(db_session, north) == [s[2], s[1]]


async def test_new_route(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    net = await make_network(db_session)
    await log_in(client, db_session, Role.admin)
    created = await form_post(client, "/admin/routes", "/admin/routes", {"code": "rt-new1", "name": "东线 隘子"})
    assert created.status_code == 303
    route = await db_session.scalar(select(DeliveryRoute).where(DeliveryRoute.code == "RT-NEW1"))
    assert route is not None and route.name == "东线 隘子"
    again = await form_post(client, "/admin/routes", "/admin/routes", {"code": net.north.code, "name": "重复"})
    assert again.status_code == 409 and "该路线编号已存在" in again.text
    bad = await form_post(client, "/admin/routes", "/admin/routes", {"code": "坏编号", "name": "x"})
    assert bad.status_code == 422
    assert await db_session.scalar(select(func.count()).select_from(DeliveryRoute)) == 3
