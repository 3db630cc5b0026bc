"""Which station a pickup order goes to: the choice, or — when it is full — the village's station or
the nearest with room; an unknown or closed choice is refused, never replaced."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.channels import SalesChannel
from app.stations import routing
from app.stations.errors import UnknownStation
from app.stations.models import Station
from tests.fixtures.builders import make_station


@pytest.fixture
async def stations(db_session: AsyncSession) -> dict[str, Station]:
    made = {
        "TP": await make_station(
            db_session,
            code="R-TP",
            township="太平镇",
            village="东湖坪村",
            villages_served=["东湖坪村", "新村"],
            latitude=Decimal("24.950"),
            longitude=Decimal("114.070"),
        ),
        "MS": await make_station(
            db_session,
            code="R-MS",
            township="马市镇",
            village="红梨村",
            villages_served=["红梨村"],
            latitude=Decimal("25.050"),
            longitude=Decimal("114.200"),
        ),
        "DG": await make_station(
            db_session,
            code="R-DG",
            township="顿岗镇",
            village="周所村",
            villages_served=["周所村"],
            latitude=Decimal("24.880"),
            longitude=Decimal("114.250"),
        ),
        "CLOSED": await make_station(
            db_session,
            code="R-X",
            township="太平镇",
            village="新村",
            is_open=False,
            latitude=Decimal("24.951"),
            longitude=Decimal("114.071"),
        ),
    }
    return made


async def test_choice_is_honoured(db_session: AsyncSession, stations: dict[str, Station]) -> None:
    routed = await routing.route(db_session, chosen_code="R-MS", village="东湖坪村")
    assert routed is not None and (routed.station.code, routed.reason) == ("R-MS", "顾客选择的自提点")


@pytest.mark.parametrize("code", ["R-X", "R-NOPE"])
async def test_a_closed_or_unknown_choice_is_refused(
    db_session: AsyncSession, stations: dict[str, Station], code: str
) -> None:
    with pytest.raises(UnknownStation) as refused:
        await routing.route(db_session, chosen_code=code, village="新村")
    assert refused.value.status_code == 422
    assert refused.value.detail == {"field": "delivery.station_code", "station_code": code}
    assert refused.value.text == f"所选自提村站 {code} 不存在或未开放，请重新选择"


async def test_full_choice_is_skipped(db_session: AsyncSession, stations: dict[str, Station]) -> None:
    from app.orders.models import DeliveryMethod, Order, OrderStatus, PaymentMethod
    from tests.fixtures.builders import ensure_warehouse

    stations["MS"].shelf_capacity = 2
    warehouse = await ensure_warehouse(db_session)
    for i, status in enumerate((OrderStatus.confirmed, OrderStatus.ready_for_pickup, OrderStatus.completed)):
        db_session.add(
            Order(
                number=f"NPFULL{i}",
                channel=SalesChannel.shop,
                status=status,
                contact_name="甲",
                contact_phone="+8613800138000",
                delivery_method=DeliveryMethod.station_pickup,
                station_id=stations["MS"].id,
                payment_method=PaymentMethod.pay_at_pickup,
                subtotal_minor=100,
                total_minor=100,
                location_id=warehouse.id,
            )
        )
    await db_session.flush()
    # Two parcels held or expected, one already collected: the shelf (2 slots) is full.
    assert (await routing.station_loads(db_session))[stations["MS"].id] == 2
    routed = await routing.route(db_session, chosen_code="R-MS", village="周所村")
    assert routed is not None
    assert (routed.station.code, routed.reason) == ("R-DG", "所选村站 R-MS 已满，改派服务周所村的村站")
    # Without a village: the nearest with room to where the customer is, to the township's centre,
    # else to the chosen station itself (R-TP is nearer to R-MS than R-DG is).
    near_dg = await routing.route(db_session, chosen_code="R-MS", near=(Decimal("24.88"), Decimal("114.24")))
    assert near_dg is not None and (near_dg.station.code, near_dg.reason) == (
        "R-DG",
        "所选村站 R-MS 已满，改派离您最近的可用村站",
    )
    by_township = await routing.route(db_session, chosen_code="R-MS", township="顿岗镇")
    assert by_township is not None and (by_township.station.code, by_township.reason) == (
        "R-DG",
        "所选村站 R-MS 已满，改派离顿岗镇最近的可用村站",
    )
    by_choice = await routing.route(db_session, chosen_code="R-MS")
    assert by_choice is not None and (by_choice.station.code, by_choice.reason) == (
        "R-TP",
        "所选村站 R-MS 已满，改派离所选村站最近的可用村站",
    )


async def test_nearest_first_listing(db_session: AsyncSession, stations: dict[str, Station]) -> None:
    ranked = await routing.nearest_first(db_session, near=(24.95, 114.07), village="红梨村")
    codes = [r.station.code for r in ranked if r.station.code.startswith("R-")]
    assert codes == ["R-MS", "R-TP", "R-DG"]  # the village's station first, then by distance; closed left out
    assert ranked[1].km is not None and ranked[1].km < 0.5
