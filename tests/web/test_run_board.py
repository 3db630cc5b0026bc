"""The run board (/admin/runs): waiting pickup orders per route, pack, print, dispatch — in the ops
console, through the same services as the runs API, with the stock pages' CSRF and idempotency."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.kit import clock
from app.orders.models import FulfilmentStatus, Order, OrderEvent
from app.stations.models import DispatchRun, Parcel, ParcelStatus, RunStatus, Station
from tests.fixtures.builders import make_route
from tests.fixtures.shop import Shop, order_body
from tests.web.test_stock_pages import HTML, field, log_in

# 10:00 in China on 7 December: the business date is unambiguous.
MORNING = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


@dataclass
class Routes:
    route_code: str
    on_route: list[str]  # order numbers for ST-SHOP-1 (on the route)
    off_route: list[str]  # order numbers for ST-SHOP-2 (on no route)


async def place(client: httpx.AsyncClient, shop: Shop, station_code: str) -> str:
    body = order_body(shop, lines=[{"sku": shop.box_sku, "quantity": "1"}])
    body["delivery"] = {"method": "station_pickup", "station_code": station_code}
    answer = await client.post("/api/v1/orders", json=body)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["number"])


@pytest.fixture
async def routes(client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop) -> Routes:
    station = await db_session.scalar(select(Station).where(Station.code == shop.station_code))
    assert station is not None
    route = await make_route(db_session, station, code="RT-BOARD", name="测试太平线")
    on_route = [await place(client, shop, shop.station_code) for _ in range(2)]
    off_route = [await place(client, shop, shop.other_station_code)]
    return Routes(route.code, on_route, off_route)


def section(page: httpx.Response, route_code: str) -> str:
    start = page.text.index(f'id="route-{route_code}"')
    end = page.text.find("</section>", start)
    return page.text[start:end]


async def parcels_of(session: AsyncSession, numbers: list[str]) -> list[Parcel]:
    return list(
        await session.scalars(
            select(Parcel).join(Order, Order.id == Parcel.order_id).where(Order.number.in_(numbers)).order_by(Parcel.id)
        )
    )


async def test_the_board_packs_prints_and_dispatches_a_route_once(
    client: httpx.AsyncClient, db_session: AsyncSession, routes: Routes
) -> None:
    with clock.pinned(MORNING):
        await log_in(client, db_session, Role.warehouse)
        board = await client.get("/admin/runs", headers=HTML)
        assert board.status_code == 200, board.text
        mine = section(board, routes.route_code)
        assert all(number in mine for number in routes.on_route)
        assert "待发 2 单" in mine and "打包 2 单，建 2026-12-07 批次" in mine
        # The order for a station on no route is named, with where to fix it.
        assert "1 单的村站不在任何配送路线上" in board.text and routes.off_route[0] in board.text

        form = {
            "csrf_token": field(board, "csrf_token"),
            "idempotency_key": field(board, "idempotency_key", f'id="route-{routes.route_code}"'),
            "route_code": routes.route_code,
            "run_date": "2026-12-07",
        }
        packed = await client.post("/admin/runs", data=form, headers=HTML)
        assert packed.status_code == 303
        assert packed.headers["location"].startswith("/admin/runs?date=2026-12-07&notice=")
        # The same form sent again (double click) packs nothing more and lands on the same page.
        again = await client.post("/admin/runs", data=form, headers=HTML)
        assert again.status_code == 303 and again.headers["location"] == packed.headers["location"]

        boxes = await parcels_of(db_session, routes.on_route)
        assert [p.status for p in boxes] == [ParcelStatus.packed, ParcelStatus.packed]
        run = await db_session.scalar(select(DispatchRun).where(DispatchRun.id == boxes[0].run_id))
        assert run is not None and run.number == "RUN261207-RT-BOARD" and run.status is RunStatus.packing
        assert await parcels_of(db_session, routes.off_route) == []

        page = await client.get(packed.headers["location"], headers=HTML)
        mine = section(page, routes.route_code)
        assert "已打包 2 件包裹到批次 RUN261207-RT-BOARD" in page.text
        assert 'data-print-pdf="/api/v1/admin/parcels/labels.pdf?run=RUN261207-RT-BOARD"' in mine
        assert 'data-print-pdf="/api/v1/admin/runs/RUN261207-RT-BOARD/manifest.pdf"' in mine
        assert "待发订单" not in mine  # nothing of this route waits any more
        # The links print with the page's own sign-in (no bearer token).
        labels = await client.get("/api/v1/admin/parcels/labels.pdf?run=RUN261207-RT-BOARD")
        manifest = await client.get("/api/v1/admin/runs/RUN261207-RT-BOARD/manifest.pdf")
        assert labels.status_code == 200 and labels.content.startswith(b"%PDF")
        assert manifest.status_code == 200 and manifest.content.startswith(b"%PDF")

        dispatch_form = {
            "csrf_token": field(page, "csrf_token"),
            "idempotency_key": field(page, "idempotency_key", 'action="/admin/runs/RUN261207-RT-BOARD/dispatch"'),
            "run_date": "2026-12-07",
        }
        sent = await client.post("/admin/runs/RUN261207-RT-BOARD/dispatch", data=dispatch_form, headers=HTML)
        assert sent.status_code == 303
        done = await client.get(sent.headers["location"], headers=HTML)
        assert "批次 RUN261207-RT-BOARD 已发车：2 件包裹送往 1 个村站" in done.text
        assert 'action="/admin/runs/RUN261207-RT-BOARD/dispatch"' not in done.text

    db_session.expire_all()
    assert [p.status for p in await parcels_of(db_session, routes.on_route)] == [ParcelStatus.dispatched] * 2
    orders = (await db_session.scalars(select(Order).where(Order.number.in_(routes.on_route)))).all()
    assert {o.fulfilment_status for o in orders} == {FulfilmentStatus.dispatched}
    events = await db_session.scalar(
        select(func.count())
        .select_from(OrderEvent)
        .where(OrderEvent.order_id.in_([o.id for o in orders]), OrderEvent.kind.in_(["packed", "dispatched"]))
    )
    assert events == 4  # one "packed" and one "dispatched" per order: the repeat added none


async def test_a_second_dispatch_from_a_stale_page_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, db_session: AsyncSession, routes: Routes
) -> None:
    with clock.pinned(MORNING):
        await log_in(client, db_session, Role.admin)
        board = await client.get("/admin/runs", headers=HTML)
        await client.post(
            "/admin/runs",
            data={
                "csrf_token": field(board, "csrf_token"),
                "idempotency_key": field(board, "idempotency_key", f'id="route-{routes.route_code}"'),
                "route_code": routes.route_code,
                "run_date": "2026-12-07",
            },
            headers=HTML,
        )
        packed = await client.get("/admin/runs", headers=HTML)
        stale = {
            "csrf_token": field(packed, "csrf_token"),
            "run_date": "2026-12-07",
        }
        key_after = 'action="/admin/runs/RUN261207-RT-BOARD/dispatch"'
        first = await client.post(
            "/admin/runs/RUN261207-RT-BOARD/dispatch",
            data={**stale, "idempotency_key": field(packed, "idempotency_key", key_after)},
            headers=HTML,
        )
        assert first.status_code == 303
        # Another tab rendered before the dispatch sends its own form (its own key).
        second = await client.post(
            "/admin/runs/RUN261207-RT-BOARD/dispatch", data={**stale, "idempotency_key": "other-tab"}, headers=HTML
        )
        assert second.status_code == 409
        assert "该批次已发车" in second.text
    events = await db_session.scalar(
        select(func.count()).select_from(OrderEvent).where(OrderEvent.kind == "dispatched")
    )
    assert events == 2


async def test_no_runs_for_a_past_day_and_no_empty_runs(
    client: httpx.AsyncClient, db_session: AsyncSession, routes: Routes
) -> None:
    with clock.pinned(MORNING):
        await log_in(client, db_session, Role.warehouse)
        past = await client.get("/admin/runs?date=2026-12-06", headers=HTML)
        assert past.status_code == 200
        assert "2026-12-06 已经过去，只能查看" in section(past, routes.route_code)
        assert 'name="route_code"' not in past.text  # no pack form on a past day
        refused = await client.post(
            "/admin/runs",
            data={
                "csrf_token": field(past, "csrf_token"),
                "idempotency_key": "past-day",
                "route_code": routes.route_code,
                "run_date": "2026-12-06",
            },
            headers=HTML,
        )
        assert refused.status_code == 422
        assert "不能为已过去的日期安排配送批次" in refused.text

        # A route with nothing waiting: the board offers no pack button, and a forged post makes no run.
        await make_route(db_session, code="RT-EMPTY", name="空线")
        board = await client.get("/admin/runs", headers=HTML)
        assert "没有待发订单" in section(board, "RT-EMPTY")
        nothing = await client.post(
            "/admin/runs",
            data={
                "csrf_token": field(board, "csrf_token"),
                "idempotency_key": "empty-route",
                "route_code": "RT-EMPTY",
                "run_date": "2026-12-07",
            },
            headers=HTML,
        )
        assert nothing.status_code == 409 and "该路线没有待发的订单" in nothing.text
        bad_day = await client.get("/admin/runs?date=12/07", headers=HTML)
        assert bad_day.status_code == 422 and "日期格式应为" in bad_day.text
    assert await db_session.scalar(select(func.count()).select_from(DispatchRun)) == 0
    assert await db_session.scalar(select(func.count()).select_from(Parcel)) == 0


async def test_tomorrows_run_takes_what_came_after_todays_left(
    client: httpx.AsyncClient, app: FastAPI, db_session: AsyncSession, shop: Shop, routes: Routes
) -> None:
    with clock.pinned(MORNING):
        await log_in(client, db_session, Role.warehouse)
        for _ in range(2):  # pack, then dispatch today's run
            board = await client.get("/admin/runs", headers=HTML)
            if 'name="route_code"' in board.text:
                url, extra = "/admin/runs", {"route_code": routes.route_code, "run_date": "2026-12-07"}
                after = f'id="route-{routes.route_code}"'
            else:
                url, extra = "/admin/runs/RUN261207-RT-BOARD/dispatch", {"run_date": "2026-12-07"}
                after = 'action="/admin/runs/RUN261207-RT-BOARD/dispatch"'
            data = {"csrf_token": field(board, "csrf_token"), "idempotency_key": field(board, "idempotency_key", after)}
            assert (await client.post(url, data={**data, **extra}, headers=HTML)).status_code == 303
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as guest:
            late = await place(guest, shop, shop.station_code)
        board = await client.get("/admin/runs", headers=HTML)
        mine = section(board, routes.route_code)
        assert late in mine and "本日批次已发车" in mine and 'href="/admin/runs?date=2026-12-08"' in mine
        tomorrow = await client.get("/admin/runs?date=2026-12-08", headers=HTML)
        assert "打包 1 单，建 2026-12-08 批次" in section(tomorrow, routes.route_code)


@pytest.mark.parametrize("role", [Role.customer, Role.station_operator, Role.clerk])
async def test_only_the_warehouse_and_admins_see_the_board(
    client: httpx.AsyncClient, db_session: AsyncSession, role: Role
) -> None:
    await log_in(client, db_session, role)
    assert (await client.get("/admin/runs", headers=HTML)).status_code == 403
    page = await client.get("/login", headers=HTML)
    refused = await client.post(
        "/admin/runs",
        data={"csrf_token": field(page, "csrf_token"), "route_code": "RT-X", "run_date": "2026-12-07"},
        headers=HTML,
    )
    assert refused.status_code == 403
