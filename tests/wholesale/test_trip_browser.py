"""The warehouse sets up a PRD route in a real browser and watches its trip fill on the trip board.

uvicorn on 127.0.0.1 over the committed database, Debian's chromium. The route form is first
sent without a weekday (the message stands next to the weekdays), then completed; a load booked
through the trip service (what a wholesale order will do) shows as bars on the board; "开始装车"
moves the trip on. Screens go to ``test-output/trip-board-browser/``.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.models import Role
from app.db import create_sessionmaker
from app.kit import clock
from app.wholesale import trips
from app.wholesale.trip_models import TripStatus
from tests.fixtures.browser import Shots, app_in_browser, needs_chromium, signed_in_page
from tests.fixtures.builders import ensure_warehouse, make_user
from tests.fixtures.trips import unique_city

pytestmark = needs_chromium


async def test_the_warehouse_creates_a_route_and_sees_the_load_on_the_board(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    tag = uuid.uuid4().hex[:6].upper()
    code, city = f"BR-{tag}", unique_city()
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        await ensure_warehouse(session)
        keeper = await make_user(session, Role.warehouse, username=f"keeper-{tag.lower()}")
        await session.commit()
    # Three days ahead: its cut-off (18:00 the day before) is still two days away whatever the hour.
    departure = clock.today() + timedelta(days=3)

    shots = Shots("trip-board-browser")
    async with app_in_browser(committed_database_url, tmp_path) as (base, browser):
        page = await signed_in_page(browser, base, keeper.username, "/admin/wholesale/routes")
        await page.get_by_label("线路编号").fill(code.lower())
        await page.get_by_label("线路名称").fill("始兴—广佛冷链线（测试）")
        await page.get_by_label("到达城市").fill(f"{city}、佛山市")
        await page.get_by_label("载重（千克）").fill("12000")
        await page.get_by_label("箱数上限").fill("400")
        await page.get_by_label("冷链车").check()
        await page.get_by_role("button", name="新建线路").click()
        # No weekday chosen: the page comes back with the message next to the weekdays.
        await expect(page.locator("#err-weekdays")).to_have_text("至少 1 项")
        await expect(page.get_by_role("alert")).to_contain_text("发车日：至少 1 项")
        await expect(page.get_by_label("到达城市")).to_have_value(f"{city}、佛山市")
        await shots.take(page, "route-form-refused")

        for day in ("周一", "周二", "周三", "周四", "周五", "周六", "周日"):
            await page.get_by_label(day, exact=True).check()
        await page.get_by_role("button", name="新建线路").click()
        await expect(page.get_by_role("status")).to_contain_text(f"线路 {code} 已创建")
        row = page.get_by_role("row").filter(has_text=code)
        await expect(row).to_contain_text(f"{city}、佛山")
        await expect(row).to_contain_text("前一天 18:00")
        await expect(row).to_contain_text("冷链")
        await shots.take(page, "route-created")

        # A wholesale order's load, booked the way the ordering will book it.
        async with sessionmaker() as session:
            slot = next(s for s in await trips.upcoming_trips(session, city, days=7) if s.departure_date == departure)
            assert await trips.book(session, slot.trip_id, Decimal("9000"), 120)
            await session.commit()

        await page.goto(f"{base}/admin/wholesale/trips?date={departure.isoformat()}")
        card = page.locator(f"#trip-{slot.number}")
        await expect(card).to_contain_text("9000 / 12000 千克 · 剩余 3000 千克")
        await expect(card).to_contain_text("120 / 400 箱 · 剩余 280 箱")
        kg_bar = card.get_by_role("img", name="重量 9000 / 12000 千克（75%）")
        await expect(kg_bar).to_be_visible()
        box = await kg_bar.bounding_box()
        fill = await kg_bar.locator("rect.load-fill").bounding_box()
        assert box is not None and fill is not None
        assert abs(fill["width"] / box["width"] - 0.75) < 0.02  # the bar is drawn at its share
        await expect(card.get_by_role("img", name="箱数 120 / 400 箱（30%）")).to_be_visible()
        await shots.take(page, "trip-board-booked")

        await card.get_by_role("button", name="开始装车").click()
        await expect(page.get_by_role("status")).to_contain_text(f"车次 {slot.number}：开始装车完成，现在“装车中”")
        await expect(page.locator(f"#trip-{slot.number}").get_by_role("button", name="发车")).to_be_visible()
        await shots.take(page, "trip-loading")

    async with sessionmaker() as session:
        loaded = await trips.trips_of_day(session, departure)
    mine = next(s for s in loaded if s.number == slot.number)
    assert (mine.status, mine.booked_kg, mine.booked_cases) == (TripStatus.loading, Decimal("9000.000"), 120)
    assert shots.taken() == [
        "01-route-form-refused.png",
        "02-route-created.png",
        "03-trip-board-booked.png",
        "04-trip-loading.png",
    ]
