"""The targets register against hand-computed fixtures: each computed target from the platform's
own records, evidence counted only inside the target's period and the asked range.

The seeded register (migration 0032) is used as it is: new stations, printers and PDAs have the
period 2021-11-01 – 2021-12-31 (the plan's procurement schedule), the rest 2021-11-01 – 2022-08-31,
the brand store 2021-11-01 – 2024-08-31. "Today" is pinned to 2022-10-01 China time (16:00 UTC
the day before).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.county import errors, targets
from app.county.models import AssetKind, EvidenceKind
from app.crossborder.models import ListingState
from app.kit import clock
from app.orders.models import OrderStatus
from app.stations.models import CaseKind, ParcelStatus
from app.streamers.models import OrderAttribution, Seller
from tests.county.fixture import shop_order
from tests.county.fixtures import (
    asset,
    cst,
    evidence,
    listing,
    pda_token,
    store_sale,
    wholesale_sale,
)
from tests.fixtures.builders import make_station, make_store, make_user, make_variant
from tests.stations.test_reports import case, parcel

Q4_2021 = (date(2021, 10, 1), date(2021, 12, 31))
Q1_2022 = (date(2022, 1, 1), date(2022, 3, 31))
Q3_2022 = (date(2022, 7, 1), date(2022, 9, 30))


@pytest.fixture(autouse=True)
def today() -> Iterator[None]:
    with clock.pinned(datetime(2022, 9, 30, 16, 0, tzinfo=UTC)):  # 2022-10-01 00:00 in China
        yield


async def progress(session: AsyncSession, span: tuple[date, date]) -> dict[str, targets.TargetProgress]:
    return {p.code: p for p in await targets.target_progress(session, *span)}


def figures(p: targets.TargetProgress) -> tuple[int, int, bool]:
    return p.done_in_range, p.done_to_date, p.met


async def test_the_register_holds_the_plans_targets(db_session: AsyncSession) -> None:
    found = await progress(db_session, Q4_2021)
    assert {code: (p.section, p.planned, p.unit, p.source) for code, p in found.items()} == {
        "centre_events": ("三(一)1", 12, "场", "evidence"),
        "label_printers": ("三(二)1", 70, "台", "computed"),
        "pdas": ("三(二)2", 70, "台", "computed"),
        "new_stations": ("三(二)3", 30, "个", "computed"),
        "demonstration_stations": ("三(二)4", 6, "个", "computed"),
        "crossborder_listings": ("三(四)1", 3, "个", "computed"),
        "supply_skus": ("三(四)2", 10, "款", "computed"),
        "agritourism": ("三(四)3", 2, "场", "computed"),
        "trade_fairs": ("三(四)3", 5, "次", "evidence"),
        "brand_store": ("三(四)4", 1, "家", "computed"),
        "film_3min": ("三(四)5", 1, "条", "evidence"),
        "films_1min": ("三(四)5", 5, "条", "evidence"),
        "crossborder_trainings": ("三(五)1", 2, "场", "evidence"),
        "platform_trainings": ("三(五)2", 2, "场", "evidence"),
        "enterprises_guided": ("三(五)2", 10, "家", "evidence"),
        "livestream_sellers": ("三(五)3", 10, "人", "computed"),
    }
    assert found["new_stations"].period == (date(2021, 11, 1), date(2021, 12, 31))
    assert found["centre_events"].period == (date(2021, 11, 1), date(2022, 8, 31))
    assert found["brand_store"].period == (date(2021, 11, 1), date(2024, 8, 31))
    assert all(figures(p) == (0, 0, False) for p in found.values())


async def test_new_stations_are_those_created_in_the_period_china_time(db_session: AsyncSession) -> None:
    for at in (
        cst(2021, 10, 31, 23, 59),  # the day before the period
        cst(2021, 11, 1, 0, 5),  # 2021-10-31 16:05 UTC: already in the period in China
        cst(2021, 12, 31, 23, 59),
        cst(2022, 1, 1, 0, 0),  # after the period
        cst(2022, 2, 10),
    ):
        await make_station(db_session, created_at=at)
    assert figures((await progress(db_session, Q4_2021))["new_stations"]) == (2, 2, False)
    assert figures((await progress(db_session, Q1_2022))["new_stations"]) == (0, 2, False)
    # An asked range ending inside the period: only what was created by its end.
    part = await progress(db_session, (date(2021, 11, 1), date(2021, 11, 30)))
    assert figures(part["new_stations"]) == (1, 1, False)


async def test_demonstration_stations_meeting_the_criteria_from_the_station_reports_data(
    db_session: AsyncSession,
) -> None:
    """A meets all three criteria once its 100th person is served on 2022-01-10; B has 99 people;
    C meets them but is not a demonstration station."""
    s = db_session
    a = await make_station(s, is_demonstration=True, created_at=cst(2021, 6, 1))
    b = await make_station(s, is_demonstration=True, created_at=cst(2021, 6, 1))
    c = await make_station(s, is_demonstration=False, created_at=cst(2021, 6, 1))
    for station, prefix in ((a, "1390000"), (b, "1391000"), (c, "1392000")):
        s.add_all(case(station, CaseKind.assist_farmer, cst(2021, 11, 5 + i)) for i in range(5))
        # 10 便民 cases, each serving someone (10 people by phone).
        s.add_all(
            case(station, CaseKind.convenience, cst(2021, 11, 15), phone=f"+86{prefix}{i:04d}") for i in range(10)
        )
        # 89 people more collect parcels in December (handed over at the station).
        for i in range(89):
            await parcel(
                s, station, phone=f"+86{prefix}{100 + i:04d}", status=ParcelStatus.handed_over, handed=cst(2021, 12, 10)
            )
    # The 100th person: A on 2022-01-10; B's is the same phone again (still 99); C in December.
    await parcel(s, a, phone="+8613900009999", status=ParcelStatus.handed_over, handed=cst(2022, 1, 10))
    await parcel(s, b, phone="+8613910000100", status=ParcelStatus.handed_over, handed=cst(2022, 1, 10))
    await parcel(s, c, phone="+8613920009999", status=ParcelStatus.handed_over, handed=cst(2021, 12, 11))
    # Not yet handed over: never counts as served.
    await parcel(s, b, phone="+8613910009999", status=ParcelStatus.at_station, arrived=cst(2022, 1, 12))
    await s.flush()

    assert figures((await progress(s, Q4_2021))["demonstration_stations"]) == (0, 0, False)
    assert figures((await progress(s, Q1_2022))["demonstration_stations"]) == (1, 1, False)
    assert figures((await progress(s, Q3_2022))["demonstration_stations"]) == (0, 1, False)


async def test_printers_and_pdas_from_the_asset_register_and_tokens_without_double_counting(
    db_session: AsyncSession,
) -> None:
    s = db_session
    station = await make_station(s)
    other = await make_station(s)
    operator = await make_user(s, Role.station_operator)
    printer = AssetKind.printer
    await asset(s, printer, station, date(2021, 11, 5))  # counts
    await asset(s, printer, station, date(2021, 12, 20), retired=date(2022, 2, 1))  # retired after the period: counts
    await asset(s, printer, station, date(2021, 12, 10), retired=date(2021, 12, 15))  # retired inside: not
    await asset(s, printer, other, date(2022, 1, 5))  # deployed after the period: not

    # PDA 1: registered and enrolled: one device, counted once through its asset.
    t1 = await pda_token(s, station, operator, created=cst(2021, 11, 10))
    await asset(s, AssetKind.pda, station, date(2021, 11, 10), token=t1)
    # PDA 2: enrolled, not yet in the register: counted by its token.
    await pda_token(s, other, operator, created=cst(2021, 11, 20))
    # A token revoked before the period's end, and one issued after it: not counted.
    await pda_token(s, other, operator, created=cst(2021, 11, 25), revoked=cst(2021, 11, 30))
    await pda_token(s, other, operator, created=cst(2022, 1, 3))
    # PDA 3: retired inside the period; its token is still live but counts only through the asset.
    t5 = await pda_token(s, station, operator, created=cst(2021, 11, 12))
    await asset(s, AssetKind.pda, station, date(2021, 11, 12), retired=date(2021, 12, 1), token=t5)

    q4 = await progress(s, Q4_2021)
    assert figures(q4["label_printers"]) == (2, 2, False)
    assert figures(q4["pdas"]) == (2, 2, False)
    assert figures((await progress(s, Q1_2022))["pdas"]) == (0, 2, False)
    # November alone: printer 1 (PDAs: 1, its token, 2's token and 3 still in service).
    nov = await progress(s, (date(2021, 11, 1), date(2021, 11, 30)))
    assert figures(nov["label_printers"]) == (1, 1, False)
    assert figures(nov["pdas"]) == (3, 3, False)


async def test_listings_supply_skus_and_the_brand_store(db_session: AsyncSession) -> None:
    s = db_session
    base = await make_variant(s)
    await listing(s, base, ListingState.online, cst(2021, 12, 1))
    await listing(s, base, ListingState.online, cst(2022, 2, 1))
    await listing(s, base, ListingState.draft, cst(2021, 12, 1))  # not online
    await listing(s, base, ListingState.online, cst(2022, 9, 5))  # after the period

    sold_twice = await make_variant(s, is_supply_sku=True)
    await wholesale_sale(s, sold_twice, cst(2021, 12, 3))
    await wholesale_sale(s, sold_twice, cst(2022, 1, 4))
    cancelled_only = await make_variant(s, is_supply_sku=True)
    await wholesale_sale(s, cancelled_only, cst(2022, 1, 5), status=OrderStatus.cancelled)
    not_supply = await make_variant(s, is_supply_sku=False)
    await wholesale_sale(s, not_supply, cst(2022, 1, 6))
    late = await make_variant(s, is_supply_sku=True)
    await wholesale_sale(s, late, cst(2022, 9, 1, 0, 30))  # after the period (China date)
    early_q1 = await make_variant(s, is_supply_sku=True)
    await wholesale_sale(s, early_q1, cst(2022, 1, 1, 0, 10))  # 2021-12-31 16:10 UTC: Q1 in China

    store = await make_store(s)
    await make_store(s)  # no sale: not open for the target
    await store_sale(s, store, cst(2022, 3, 8))
    await store_sale(s, store, cst(2022, 3, 9))

    q4, q1, q3 = (await progress(s, Q4_2021), await progress(s, Q1_2022), await progress(s, Q3_2022))
    assert figures(q4["crossborder_listings"]) == (1, 1, False)
    assert figures(q1["crossborder_listings"]) == (1, 2, False)
    assert figures(q3["crossborder_listings"]) == (0, 2, False)
    assert figures(q4["supply_skus"]) == (1, 1, False)
    assert figures(q1["supply_skus"]) == (1, 2, False)
    assert figures(q4["brand_store"]) == (0, 0, False)
    assert figures(q1["brand_store"]) == (1, 1, True)
    assert figures(q3["brand_store"]) == (0, 1, True)


async def test_evidence_counts_only_inside_the_period_and_the_range(db_session: AsyncSession) -> None:
    s = db_session
    for day in (date(2021, 10, 31), date(2021, 11, 1), date(2021, 12, 31), date(2022, 1, 1), date(2022, 8, 31)):
        await evidence(s, EvidenceKind.centre_event, day, f"沙龙 {day}", participants=30)
    await evidence(s, EvidenceKind.centre_event, date(2022, 9, 1), "期外沙龙", participants=30)
    await evidence(s, EvidenceKind.trade_fair, date(2021, 11, 20), "广州展销会", participants=8)
    await evidence(s, EvidenceKind.livestream_training, date(2021, 11, 21), "直播培训", participants=40)
    await evidence(s, EvidenceKind.film_1min, date(2022, 3, 1), "枇杷形象片", link="https://example.com/v/1", place="")

    q4 = await progress(s, Q4_2021)
    assert figures(q4["centre_events"]) == (2, 2, False)
    assert [(e.date, e.title, e.place, e.participants) for e in q4["centre_events"].evidence] == [
        (date(2021, 11, 1), "沙龙 2021-11-01", "中心", 30),
        (date(2021, 12, 31), "沙龙 2021-12-31", "中心", 30),
    ]
    assert figures(q4["trade_fairs"]) == (1, 1, False)
    assert figures(q4["films_1min"]) == (0, 0, False)
    q1 = await progress(s, Q1_2022)
    assert figures(q1["centre_events"]) == (1, 3, False)
    assert [e.title for e in q1["centre_events"].evidence] == ["沙龙 2022-01-01"]
    assert figures(q1["films_1min"]) == (1, 1, False)
    assert [e.link for e in q1["films_1min"].evidence] == ["https://example.com/v/1"]
    q3 = await progress(s, Q3_2022)
    assert figures(q3["centre_events"]) == (1, 4, False)
    assert [e.title for e in q3["centre_events"].evidence] == ["沙龙 2022-08-31"]  # not 2022-09-01
    # A live-stream training is recorded but no target counts it.
    assert all(p.done_to_date == 0 for code, p in q4.items() if code not in ("centre_events", "trade_fairs"))


async def test_twelve_events_meet_the_target(db_session: AsyncSession) -> None:
    for month in range(12):
        await evidence(db_session, EvidenceKind.centre_event, date(2021 + (10 + month) // 12, (10 + month) % 12 + 1, 5))
    whole = await progress(db_session, (date(2021, 11, 1), date(2022, 8, 31)))
    assert figures(whole["centre_events"]) == (10, 10, False)  # 2022-09 and 2022-10 fall outside
    await evidence(db_session, EvidenceKind.centre_event, date(2022, 8, 30))
    await evidence(db_session, EvidenceKind.centre_event, date(2022, 8, 31))
    whole = await progress(db_session, (date(2021, 11, 1), date(2022, 8, 31)))
    assert figures(whole["centre_events"]) == (12, 12, True)
    assert whole["centre_events"].percent == 100


async def test_a_range_ending_before_it_starts_is_refused(db_session: AsyncSession) -> None:
    with pytest.raises(errors.BadPeriod) as refused:
        await targets.target_progress(db_session, date(2022, 3, 31), date(2022, 1, 1))
    assert refused.value.code == "bad_period" and refused.value.status_code == 422


async def test_live_stream_sellers_incubated_are_registered_in_the_period_and_brought_a_paid_order(
    db_session: AsyncSession,
) -> None:
    """Issue 18: the plan's 孵化直播网红 counts the sellers the centre registers (app.streamers), not
    evidence entries: registered in the period (China time) and with an attributed order paid."""
    s = db_session

    async def seller(code: str, registered: datetime) -> Seller:
        row = Seller(name=f"主播{code}", code=code, commission_bps=500, created_at=registered)
        s.add(row)
        await s.flush()
        return row

    async def brought(who: Seller, placed: datetime, *, paid: bool) -> None:
        order = await shop_order(s, total=5_000, placed_at=placed, paid_at=placed if paid else None)
        s.add(OrderAttribution(order_id=order.id, seller_id=who.id, via="code", touched_at=placed))
        await s.flush()

    early = await seller("ZBEARLY", cst(2021, 10, 31, 23, 59))  # the day before the period
    first = await seller("ZBFIRST", cst(2021, 11, 1, 0, 5))  # 2021-10-31 16:05 UTC: in the period
    unpaid = await seller("ZBUNPD", cst(2021, 12, 1))
    later = await seller("ZBLATER", cst(2022, 2, 1))
    await seller("ZBNONE", cst(2021, 11, 2))  # registered, never brought an order
    await brought(early, cst(2021, 11, 10), paid=True)
    await brought(first, cst(2021, 11, 20), paid=True)
    await brought(unpaid, cst(2021, 12, 2), paid=False)
    await brought(later, cst(2022, 2, 3), paid=True)

    q4, q1 = await progress(s, Q4_2021), await progress(s, Q1_2022)
    assert figures(q4["livestream_sellers"]) == (1, 1, False)
    assert figures(q1["livestream_sellers"]) == (1, 2, False)
    assert q4["livestream_sellers"].evidence == ()
