"""Business dates are China dates: at 15:59 UTC it is still "today" in Shixing, at 16:01 UTC it is
already tomorrow. Each test pins the clock on both sides of midnight China time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.kit import clock
from app.stations.consignments import new_consignment_number
from app.supply import service as supply_service
from tests.fixtures.builders import ensure_warehouse, make_supplier, make_variant
from tests.fixtures.shop import Shop, order_body
from tests.web.test_stock_pages import log_in


@dataclass(frozen=True)
class Moment:
    at: datetime  # the pinned instant (UTC)
    china_date: date  # the business date at that instant


def _moments() -> list[tuple[str, Moment]]:
    # Pinned to the real UTC date so that lots received today stay fresh at the pinned instant.
    utc_day = datetime.now(UTC).date()
    return [
        ("15:59", Moment(datetime.combine(utc_day, time(15, 59), UTC), utc_day)),
        ("16:01", Moment(datetime.combine(utc_day, time(16, 1), UTC), utc_day + timedelta(days=1))),
    ]


@pytest.fixture(params=[m for _, m in _moments()], ids=[name for name, _ in _moments()])
def moment(request: pytest.FixtureRequest) -> Iterator[Moment]:
    m: Moment = request.param
    with clock.pinned(m.at):
        yield m


def test_today_is_the_china_date_on_both_sides_of_its_midnight(moment: Moment) -> None:
    assert clock.today() == moment.china_date
    assert clock.local_now().utcoffset() == timedelta(hours=8)
    assert clock.local_date(moment.at) == moment.china_date
    start, end = clock.day_bounds(moment.china_date)
    assert start <= moment.at < end
    assert end - start == timedelta(days=1)


def test_month_and_quarter_bounds_are_china_time() -> None:
    start, end = clock.month_bounds(2026, 12)
    assert start == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    assert end == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
    q_start, q_end = clock.quarter_bounds(2027, 1)
    assert (q_start, q_end) == (datetime(2026, 12, 31, 16, 0, tzinfo=UTC), datetime(2027, 3, 31, 16, 0, tzinfo=UTC))
    # 00:30 on 1 April in China is the second quarter; the UTC date (31 March) would say the first.
    assert clock.quarter_of(clock.local_date(datetime(2027, 3, 31, 16, 30, tzinfo=UTC))) == (2027, 2)
    with pytest.raises(ValueError):
        clock.quarter_bounds(2027, 5)


def test_month_end_at_china_midnight_starts_the_next_month() -> None:
    with clock.pinned(datetime(2026, 11, 30, 15, 59, tzinfo=UTC)):
        assert (clock.today().month, clock.today().day) == (11, 30)
    with clock.pinned(datetime(2026, 11, 30, 16, 1, tzinfo=UTC)):
        assert (clock.today().month, clock.today().day) == (12, 1)


async def test_order_numbers_carry_the_china_date(client: httpx.AsyncClient, shop: Shop, moment: Moment) -> None:
    response = await client.post("/api/v1/orders", json=order_body(shop), headers={"Idempotency-Key": "date-1"})

    assert response.status_code == 201, response.text
    assert response.json()["number"].startswith(f"NP{moment.china_date:%y%m%d}")


async def test_lot_codes_and_document_numbers_carry_the_china_date(db_session: AsyncSession, moment: Moment) -> None:
    variant = await make_variant(db_session)
    supplier = await make_supplier(db_session, grows=[variant])
    lot = await supply_service.receive_lot(
        db_session,
        supply_service.ReceiptInput(
            sku=variant.sku,
            supplier_code=supplier.code,
            quantity=Decimal("5"),
            harvest_date=moment.china_date,  # harvested "today" in China: not refused as a future date
            best_before=None,
            location_code=(await ensure_warehouse(db_session)).code,
            certificate_no="HG-DATE-1",
        ),
        actor_user_id=None,
    )

    assert lot.code.startswith(f"LT{moment.china_date:%y%m%d}-")
    assert new_consignment_number(clock.today()).startswith(f"UP{moment.china_date:%y%m%d}-")


async def test_the_receiving_form_proposes_the_china_date(
    client: httpx.AsyncClient, db_session: AsyncSession, moment: Moment
) -> None:
    await log_in(client, db_session, Role.warehouse)

    page = await client.get("/admin/lots/receive", headers={"accept": "text/html"})

    assert page.status_code == 200
    assert f'value="{moment.china_date.isoformat()}"' in page.text
    assert f'max="{moment.china_date.isoformat()}"' in page.text
