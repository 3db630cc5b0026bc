"""The PRD routes page, the trip board and the buyers' trips API, through the app (rolled back)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import CompanyStatus, Role
from app.kit import clock
from app.wholesale import trips
from app.wholesale.trip_models import TripStatus, WholesaleRoute, WholesaleTrip
from tests.fixtures.builders import auth, ensure_warehouse, make_company, make_user, token_for
from tests.fixtures.trips import make_prd_route
from tests.web.test_stock_pages import HTML, field, log_in

SUNDAY_NOON = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)  # 12:00 Sunday 6 December 2026 in China


def trip_section(page: httpx.Response, number: str) -> str:
    start = page.text.index(f'id="trip-{number}"')
    return page.text[start : page.text.index("</section>", start)]


def field_error(page: httpx.Response, name: str) -> str:
    found = re.search(rf'<small id="err-{name}" class="field-error">([^<]*)</small>', page.text)
    assert found is not None, f"no error shown for {name}"
    return found.group(1)


async def test_a_route_form_names_each_wrong_field_and_creates_nothing(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    await ensure_warehouse(db_session)
    await log_in(client, db_session, Role.warehouse)
    page = await client.get("/admin/wholesale/routes", headers=HTML)
    assert page.status_code == 200 and "还没有珠三角线路" in page.text
    assert '<input id="rt-name" name="name" value="" maxlength="100">' in page.text
    assert 'name="capacity_kg" value="" inputmode="decimal" aria-describedby="rt-capacity_kg-hint">' in page.text
    form = {
        "csrf_token": field(page, "csrf_token"),
        "idempotency_key": field(page, "idempotency_key"),
        "code": "sx gz",
        "name": "",
        "cities": "、",
        "cutoff_time": "18:00",
        "cutoff_days_before": "1",
        "capacity_kg": "12吨",
        "capacity_cases": "0",
    }
    refused = await client.post("/admin/wholesale/routes", data=form, headers=HTML)

    assert refused.status_code == 422
    assert field_error(refused, "code") == "格式不正确"
    assert field_error(refused, "name") == "太短（至少 2 个字符）"
    assert field_error(refused, "cities") == "至少 1 项"
    assert field_error(refused, "weekdays") == "至少 1 项"
    assert field_error(refused, "capacity_kg").startswith("数量请写成普通数字")
    assert field_error(refused, "capacity_cases") == "须大于 0"
    assert "cutoff_time" not in re.findall(r'id="err-(\w+)"', refused.text)
    assert (
        'value="12吨" inputmode="decimal" aria-describedby="rt-capacity_kg-hint err-capacity_kg" aria-invalid="true"'
        in (refused.text)
    )  # what was typed is shown again, its message tied to the field
    assert await db_session.scalar(select(func.count()).select_from(WholesaleRoute)) == 0


async def test_the_warehouse_creates_and_edits_a_route(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    await ensure_warehouse(db_session)
    await log_in(client, db_session, Role.warehouse)
    page = await client.get("/admin/wholesale/routes", headers=HTML)
    form = {
        "csrf_token": field(page, "csrf_token"),
        "idempotency_key": field(page, "idempotency_key"),
        "code": "sx-gz",
        "name": "始兴—广州/佛山冷链线",
        "cities": "广州市，佛山",
        "weekdays": ["2", "4", "6"],
        "cutoff_time": "18:00",
        "cutoff_days_before": "1",
        "capacity_kg": "12000",
        "capacity_cases": "400",
        "cold_chain": "on",
        "is_active": "on",
    }
    created = await client.post("/admin/wholesale/routes", data=form, headers=HTML)
    assert created.status_code == 303, created.text
    again = await client.post("/admin/wholesale/routes", data=form, headers=HTML)  # double click
    assert again.status_code == 303 and again.headers["location"] == created.headers["location"]
    route = await db_session.scalar(select(WholesaleRoute).where(WholesaleRoute.code == "SX-GZ"))
    assert route is not None
    assert (route.cities, route.weekdays, route.cutoff_time, route.cutoff_days_before) == (
        ["广州", "佛山"],
        [2, 4, 6],
        time(18, 0),
        1,
    )
    assert (route.capacity_kg, route.capacity_cases, route.cold_chain, route.is_active) == (
        Decimal("12000.000"),
        400,
        True,
        True,
    )
    listing = await client.get(created.headers["location"], headers=HTML)
    assert "线路 SX-GZ 已创建" in listing.text and "周二、周四、周六" in listing.text and "前一天 18:00" in listing.text

    duplicate = await client.post(
        "/admin/wholesale/routes",
        data={**form, "idempotency_key": field(listing, "idempotency_key")},
        headers=HTML,
    )
    assert duplicate.status_code == 409 and field_error(duplicate, "code") == "线路编号 SX-GZ 已被使用"

    edit_page = await client.get("/admin/wholesale/routes/SX-GZ", headers=HTML)
    assert 'value="广州、佛山"' in edit_page.text
    edited = await client.post(
        "/admin/wholesale/routes/SX-GZ",
        data={
            **form,
            "csrf_token": field(edit_page, "csrf_token"),
            "idempotency_key": field(edit_page, "idempotency_key"),
            "code": "IGNORED",
            "weekdays": ["2", "5"],
            "capacity_cases": "350",
            "cold_chain": "",
        },
        headers=HTML,
    )
    assert edited.status_code == 303, edited.text
    await db_session.refresh(route)
    assert (route.code, route.weekdays, route.capacity_cases, route.cold_chain) == ("SX-GZ", [2, 5], 350, False)


async def test_the_board_shows_load_against_capacity_and_moves_the_status(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    route = await make_prd_route(db_session, name="测试广佛线", cities=("广州", "佛山"))
    with clock.pinned(SUNDAY_NOON):
        tuesday = (await trips.upcoming_trips(db_session, "广州", days=3))[0]
        assert await trips.book(db_session, tuesday.trip_id, Decimal("6000"), 100)
        await log_in(client, db_session, Role.warehouse)
        board = await client.get("/admin/wholesale/trips?date=2026-12-08", headers=HTML)
        assert board.status_code == 200, board.text
        card = trip_section(board, tuesday.number)
        assert "6000 / 12000 千克 · 剩余 6000 千克" in card and "100 / 400 箱 · 剩余 300 箱" in card
        assert '<rect class="load-fill" width="50" height="10"/>' in card
        assert '<rect class="load-fill" width="25" height="10"/>' in card
        assert "12-07 周一 18:00（中国时间）" in card and "接单中" in card
        assert "style=" not in board.text

        def status_form(page: httpx.Response, action: str) -> dict[str, str]:
            after = f'<input type="hidden" name="action" value="{action}">'
            key_at = page.text.index(after)
            key = re.findall(r'name="idempotency_key" value="([^"]+)"', page.text[:key_at])[-1]
            return {
                "csrf_token": field(page, "csrf_token"),
                "idempotency_key": key,
                "action": action,
                "expected": "planned",
                "date": "2026-12-08",
            }

        stale = status_form(board, "loading")
        loading = await client.post(f"/admin/wholesale/trips/{tuesday.number}/status", data=stale, headers=HTML)
        assert loading.status_code == 303
        moved = await client.get(loading.headers["location"], headers=HTML)
        assert f"车次 {tuesday.number}：开始装车完成，现在“装车中”" in moved.text
        assert 'value="dispatched"' in trip_section(moved, tuesday.number)

        # The first page again with a new key (another tab): the trip is no longer planned.
        conflict = await client.post(
            f"/admin/wholesale/trips/{tuesday.number}/status",
            data={**stale, "idempotency_key": "another-tab"},
            headers=HTML,
        )
        assert conflict.status_code == 409
        assert f"车次 {tuesday.number} 现在是“装车中”，请刷新后重试" in conflict.text

        cancel = await client.post(
            f"/admin/wholesale/trips/{tuesday.number}/status",
            data={**status_form(moved, "cancelled"), "expected": "loading"},
            headers=HTML,
        )
        assert cancel.status_code == 409 and "该车次已有订单装载" in cancel.text

    trip = await db_session.get(WholesaleTrip, tuesday.trip_id)
    assert trip is not None
    await db_session.refresh(trip)
    assert trip.status is TripStatus.loading and route.id == trip.route_id


async def test_the_board_lists_a_future_days_trips_and_refuses_a_bad_date(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    await make_prd_route(db_session, code="SX-SZ", cities=("深圳", "东莞"), weekdays=(1, 3, 5), cold_chain=False)
    with clock.pinned(SUNDAY_NOON):
        await log_in(client, db_session, Role.admin)
        monday = await client.get("/admin/wholesale/trips?date=2026-12-07", headers=HTML)
        sunday = await client.get("/admin/wholesale/trips", headers=HTML)
        bad = await client.get("/admin/wholesale/trips?date=7.12.2026", headers=HTML)
    assert "SX-SZ-261207" in monday.text and "深圳 → 东莞" in monday.text
    assert "2026-12-06 周日没有珠三角车次" in sunday.text
    assert bad.status_code == 422 and "日期格式应为" in bad.text


@pytest.mark.parametrize("role", [Role.customer, Role.buyer, Role.clerk, Role.station_operator])
async def test_only_the_warehouse_and_admins_open_the_console_pages(
    client: httpx.AsyncClient, db_session: AsyncSession, role: Role
) -> None:
    await log_in(client, db_session, role)
    for path in ("/admin/wholesale/routes", "/admin/wholesale/trips"):
        assert (await client.get(path, headers=HTML)).status_code == 403
    page = await client.get("/login", headers=HTML)
    refused = await client.post(
        "/admin/wholesale/routes", data={"csrf_token": field(page, "csrf_token"), "code": "X-1"}, headers=HTML
    )
    assert refused.status_code == 403


async def test_buyers_and_staff_read_the_upcoming_trips(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    route = await make_prd_route(db_session, code="SX-GZ", cities=("广州", "佛山"))
    buyer = await token_for(db_session, await make_user(db_session, Role.buyer))
    staff = await token_for(db_session, await make_user(db_session, Role.warehouse))
    pending = await make_company(db_session, status=CompanyStatus.pending)
    waiting = await token_for(db_session, await make_user(db_session, Role.buyer, company=pending))
    customer = await token_for(db_session, await make_user(db_session, Role.customer))
    with clock.pinned(datetime(2026, 12, 7, 10, 1, tzinfo=UTC)):  # 18:01 Monday in China
        answer = await client.get("/api/v1/wholesale/trips", params={"city": "广州市", "days": 5}, headers=auth(buyer))
        for_staff = await client.get("/api/v1/wholesale/trips?city=佛山&days=5", headers=auth(staff))
        nowhere = await client.get("/api/v1/wholesale/trips?city=汕头", headers=auth(buyer))
        refused = [
            await client.get("/api/v1/wholesale/trips?city=广州", headers=auth(token)) for token in (waiting, customer)
        ]
        anonymous = await client.get("/api/v1/wholesale/trips?city=广州")
        too_far = await client.get("/api/v1/wholesale/trips?city=广州&days=90", headers=auth(buyer))

    assert answer.status_code == 200, answer.text
    assert answer.json() == [
        {
            "number": "SX-GZ-261208",
            "route_code": "SX-GZ",
            "route_name": route.name,
            "cities": ["广州", "佛山"],
            "departure_date": "2026-12-08",
            "status": "planned",
            "cold_chain": True,
            "cutoff_at": "2026-12-07T10:00:00Z",
            "cutoff_local": "12-07 周一 18:00",
            "is_open": False,
            "capacity_kg": "12000",
            "capacity_cases": 400,
            "remaining_kg": "12000",
            "remaining_cases": 400,
        },
        {
            "number": "SX-GZ-261210",
            "route_code": "SX-GZ",
            "route_name": route.name,
            "cities": ["广州", "佛山"],
            "departure_date": "2026-12-10",
            "status": "planned",
            "cold_chain": True,
            "cutoff_at": "2026-12-09T10:00:00Z",
            "cutoff_local": "12-09 周三 18:00",
            "is_open": True,
            "capacity_kg": "12000",
            "capacity_cases": 400,
            "remaining_kg": "12000",
            "remaining_cases": 400,
        },
    ]
    assert for_staff.status_code == 200 and [t["number"] for t in for_staff.json()] == ["SX-GZ-261208", "SX-GZ-261210"]
    assert nowhere.status_code == 200 and nowhere.json() == []
    assert [r.status_code for r in refused] == [403, 403]
    assert refused[0].json()["error"] == "company_not_approved"
    assert anonymous.status_code == 401
    assert too_far.status_code == 422
