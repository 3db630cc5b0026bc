"""The demo's PRD routes: named from COUNTY_NAME, and their trips follow the timetable."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import demo
from app.config import AppEnv, Settings
from app.kit import clock
from app.wholesale import trips
from app.wholesale.trip_models import WholesaleRoute

SUNDAY_NOON = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)  # 12:00 Sunday 6 December 2026 in China


async def test_demo_prd_routes_and_their_trips(db_session: AsyncSession, tmp_path: Path) -> None:
    with clock.pinned(SUNDAY_NOON):
        await demo.seed_demo(db_session, uploads_dir=tmp_path)
        guangzhou = await trips.upcoming_trips(db_session, "广州", days=7)
        dongguan = await trips.upcoming_trips(db_session, "东莞市", days=7)
    routes = {r.code: r for r in await db_session.scalars(select(WholesaleRoute))}
    gz, sz = routes["PRD-GZFS"], routes["PRD-SZDG"]
    assert (gz.name, gz.cities, gz.weekdays, gz.cold_chain) == (
        "始兴→广州/佛山冷链线",
        ["广州", "佛山"],
        [2, 4, 6],
        True,
    )
    assert (gz.capacity_kg, gz.capacity_cases, gz.cutoff_time, gz.cutoff_days_before) == (
        Decimal("12000.000"),
        400,
        time(18, 0),
        1,
    )
    assert (sz.name, sz.cities, sz.weekdays, sz.cold_chain) == (
        "始兴→深圳/东莞常温线",
        ["深圳", "东莞"],
        [1, 3, 5],
        False,
    )
    assert [t.departure_date for t in guangzhou] == [date(2026, 12, 8), date(2026, 12, 10), date(2026, 12, 12)]
    assert [t.departure_date for t in dongguan] == [date(2026, 12, 7), date(2026, 12, 9), date(2026, 12, 11)]
    assert dongguan[0].cutoff_local == "12-06 周日 18:00" and dongguan[0].is_open


def test_demo_route_names_come_from_the_county_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    other = Settings(app_env=AppEnv.test, county_name="南雄县")
    monkeypatch.setattr(demo, "get_settings", lambda: other)
    assert [demo.prd_route_name(seed) for seed in demo.PRD_ROUTES] == ["南雄→广州/佛山冷链线", "南雄→深圳/东莞常温线"]
