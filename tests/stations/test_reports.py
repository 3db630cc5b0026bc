"""The monthly station report against a fixture whose every figure is computed by hand below.

Month under report: March 2026, China time — [2026-03-01 00:00 +08:00, 2026-04-01 00:00 +08:00),
i.e. [2026-02-28 16:00 UTC, 2026-03-31 16:00 UTC). Rates: 50 fen per parcel in, 20 fen per kg.
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.channels import SalesChannel
from app.kit.quantities import Unit
from app.orders.models import DeliveryMethod, Order, OrderStatus, PaymentMethod
from app.stations import reports
from app.stations.models import CaseKind, Consignment, Parcel, ParcelStatus, ServiceCase, Station
from app.supply.models import Supplier
from tests.fixtures.builders import (
    auth,
    ensure_warehouse,
    make_station,
    make_supplier,
    make_user,
    make_variant,
    receive,
    token_for,
)

CST = ZoneInfo("Asia/Shanghai")
_serial = itertools.count(1)


def cst(month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=CST)


async def parcel(
    session: AsyncSession,
    station: Station,
    *,
    phone: str,
    status: ParcelStatus,
    arrived: datetime | None = None,
    handed: datetime | None = None,
    returned: datetime | None = None,
) -> None:
    """A minimal pickup order and its parcel, inserted directly with the times the test needs."""
    n = next(_serial)
    warehouse = await ensure_warehouse(session)
    order = Order(
        number=f"RPT{n:06d}",
        channel=SalesChannel.shop,
        status=OrderStatus.completed if status is ParcelStatus.handed_over else OrderStatus.ready_for_pickup,
        contact_name="测试顾客",
        contact_phone=phone,
        delivery_method=DeliveryMethod.station_pickup,
        station_id=station.id,
        payment_method=PaymentMethod.pay_at_pickup,
        subtotal_minor=0,
        delivery_fee_minor=0,
        total_minor=0,
        location_id=warehouse.id,
    )
    session.add(order)
    await session.flush()
    session.add(
        Parcel(
            tracking_number=f"RPTP{n:08d}",
            order_id=order.id,
            station_id=station.id,
            status=status,
            arrived_at=arrived,
            handed_over_at=handed,
            returned_at=returned,
        )
    )


async def consignment(
    session: AsyncSession, station: Station, supplier: Supplier, kg: str, value_minor: int, at: datetime
) -> None:
    variant = await make_variant(session, unit=Unit.kg)
    lot = await receive(session, variant, kg, supplier=supplier)
    session.add(
        Consignment(
            number=f"UPT-{next(_serial)}",
            station_id=station.id,
            supplier_id=supplier.id,
            lot_id=lot.id,
            weight_kg=Decimal(kg),
            value_minor=value_minor,
            created_at=at,
        )
    )


def case(station: Station, kind: CaseKind, at: datetime, phone: str | None = None) -> ServiceCase:
    return ServiceCase(station_id=station.id, kind=kind, title="案例", note="", person_phone=phone, created_at=at)


@dataclass
class Fixture:
    a: Station
    b: Station


@pytest.fixture
async def fixture(db_session: AsyncSession) -> Fixture:
    s = db_session
    a = await make_station(s, code="ST-RPT-A", name="示范村站甲", township="太平镇", is_demonstration=True)
    b = await make_station(s, code="ST-RPT-B", name="村站乙", township="马市镇")
    HANDED, RETURNING, RETURNED, AT_STATION = (
        ParcelStatus.handed_over,
        ParcelStatus.returning,
        ParcelStatus.returned,
        ParcelStatus.at_station,
    )

    # ---- station A ----------------------------------------------------------------------------
    # P1: scanned in 00:30 on 1 March China time (still 28 Feb in UTC) → in March; handed over 2 March.
    await parcel(s, a, phone="+8613800000001", status=HANDED, arrived=cst(3, 1, 0, 30), handed=cst(3, 2))
    await parcel(s, a, phone="+8613800000002", status=HANDED, arrived=cst(3, 5), handed=cst(3, 6))  # P2
    # P3: in March, handed over 00:10 on 1 April → not handed over in March, nobody served by March's end.
    await parcel(s, a, phone="+8613800000003", status=HANDED, arrived=cst(3, 10), handed=cst(4, 1, 0, 10))
    # P4: in March, sent back 20 March (still on its way: status returning).
    await parcel(s, a, phone="+8613800000004", status=RETURNING, arrived=cst(3, 12), returned=cst(3, 20))
    # P5: scanned in 23:59 on 28 Feb China time → February; handed over 1 March (same phone as P1).
    await parcel(s, a, phone="+8613800000001", status=HANDED, arrived=cst(2, 28, 23, 59), handed=cst(3, 1, 10))
    # P6: scanned in 23:59 on 31 March China time (15:59 UTC) → March; still on the shelf.
    await parcel(s, a, phone="+8613800000006", status=AT_STATION, arrived=cst(3, 31, 23, 59))
    # P7: February and returned: in no March figure; never handed over, so nobody served.
    await parcel(s, a, phone="+8613800000007", status=RETURNED, arrived=cst(2, 10), returned=cst(2, 20))
    # 85 people served in February (distinct phones).
    for i in range(85):
        await parcel(s, a, phone=f"+86137100{i:05d}", status=HANDED, arrived=cst(2, 3), handed=cst(2, 4))
    # Growers: S1's phone was stored raw (13900000001); it is the same person as a case's +8613900000001.
    s1 = await make_supplier(s, contact_phone="13900000001")
    s2 = await make_supplier(s, contact_phone=None)
    await consignment(s, a, s1, "12.345", 24690, cst(3, 8))  # C1
    await consignment(s, a, s2, "0.675", 1000, cst(3, 18))  # C2
    await consignment(s, a, s1, "5.000", 5000, cst(2, 15))  # C0: February
    await consignment(s, a, s2, "7.000", 7000, cst(4, 1, 0, 0))  # C9: exactly April's first instant → April
    s.add_all(
        [
            # March: 3 助农, 4 便民.
            case(a, CaseKind.assist_farmer, cst(3, 3), "+8613900000001"),  # = grower S1
            case(a, CaseKind.assist_farmer, cst(3, 4), "+8613600000001"),
            case(a, CaseKind.assist_farmer, cst(3, 31, 23, 59), "+8613600000002"),
            case(a, CaseKind.convenience, cst(3, 1, 0, 1), "+8613600000003"),
            case(a, CaseKind.convenience, cst(3, 9), "+8613600000004"),
            case(a, CaseKind.convenience, cst(3, 9)),
            case(a, CaseKind.convenience, cst(3, 9)),
            # February: 2 助农, 6 便民, 8 new phones.
            *[case(a, CaseKind.assist_farmer, cst(2, 5), f"+861350000000{i}") for i in (1, 2)],
            *[case(a, CaseKind.convenience, cst(2, 6), f"+861350000000{i}") for i in range(3, 9)],
        ]
    )

    # ---- station B: just below every criterion --------------------------------------------------
    await parcel(s, b, phone="+8613800000101", status=HANDED, arrived=cst(3, 3), handed=cst(3, 4))  # Q1
    # Q2: returned in March, never handed over: its customer is not someone the station served.
    await parcel(s, b, phone="+8613800000102", status=RETURNED, arrived=cst(3, 7), returned=cst(3, 15))
    await parcel(s, b, phone="+8613800000103", status=HANDED, arrived=cst(4, 2), handed=cst(4, 3))  # Q3: April
    for i in range(96):
        await parcel(s, b, phone=f"+86137200{i:05d}", status=HANDED, arrived=cst(1, 20), handed=cst(1, 21))
    s3 = await make_supplier(s, contact_phone="+8613900000003")
    await consignment(s, b, s3, "2.025", 4050, cst(3, 9))  # D1
    s.add_all(
        [
            case(b, CaseKind.assist_farmer, cst(3, 10), "+8613600000101"),
            case(b, CaseKind.convenience, cst(3, 11)),
            case(b, CaseKind.convenience, cst(3, 12)),
            *[case(b, CaseKind.assist_farmer, cst(2, 1)) for _ in range(3)],
            *[case(b, CaseKind.convenience, cst(1, 15)) for _ in range(7)],
            # April: would tip every criterion over if the cumulative figures ran past March.
            case(b, CaseKind.assist_farmer, cst(4, 1, 0, 0), "+8613600000199"),
            case(b, CaseKind.convenience, cst(4, 2)),
        ]
    )
    await s.flush()
    return Fixture(a, b)


# Hand-computed figures for March 2026.
#
# Station A
#   parcels in   P1, P2, P3, P4, P6                                   = 5
#   handed over  P1, P2, P5                                           = 3
#   returned     P4                                                   = 1
#   upstream kg  C1 12.345 + C2 0.675                                 = 13.020 kg
#   value        24690 + 1000                                         = 25690 fen
#   people       P1/P5 +8613800000001, P2 +8613800000002, S1 +8613900000001 (C1 and a case),
#                cases +8613600000001..4                              = 7
#   cases        助农 3, 便民 4
#   cumulative   助农 3 + 2 = 5 (≥ 5 met); 便民 4 + 6 = 10 (≥ 10 met);
#                people 7 + 85 February parcels + 8 February cases (C0's S1 already counted) = 100 (met)
#   subsidy      5 × 50 = 250; 13.020 × 20 = 260.40 → 260 (rounded once; per consignment it would be
#                246.9 → 247 plus 13.5 → 14 = 261); total 510 fen
#
# Station B
#   parcels in   Q1, Q2 = 2; handed over Q1 = 1; returned Q2 = 1
#   upstream     D1 2.025 kg, 4050 fen
#   people       Q1 +8613800000101, S3 +8613900000003, case +8613600000101 = 3
#   cases        助农 1, 便民 2
#   cumulative   助农 1 + 3 = 4 (< 5); 便民 2 + 7 = 9 (< 10); people 3 + 96 = 99 (< 100): none met
#   subsidy      2 × 50 = 100; 2.025 × 20 = 40.5 → 41 (half-up); total 141 fen
EXPECTED = {
    "ST-RPT-A": {
        "parcels_in": 5,
        "handed_over": 3,
        "returned": 1,
        "upstream_kg": Decimal("13.020"),
        "upstream_value_minor": 25690,
        "people_served": 7,
        "assist_farmer_cases": 3,
        "convenience_cases": 4,
        "total_assist_farmer_cases": 5,
        "total_people_served": 100,
        "total_convenience_cases": 10,
        "assist_farmer_met": True,
        "people_met": True,
        "convenience_met": True,
        "criteria_met": True,
        "subsidy_parcels_minor": 250,
        "subsidy_upstream_minor": 260,
        "subsidy_minor": 510,
    },
    "ST-RPT-B": {
        "parcels_in": 2,
        "handed_over": 1,
        "returned": 1,
        "upstream_kg": Decimal("2.025"),
        "upstream_value_minor": 4050,
        "people_served": 3,
        "assist_farmer_cases": 1,
        "convenience_cases": 2,
        "total_assist_farmer_cases": 4,
        "total_people_served": 99,
        "total_convenience_cases": 9,
        "assist_farmer_met": False,
        "people_met": False,
        "convenience_met": False,
        "criteria_met": False,
        "subsidy_parcels_minor": 100,
        "subsidy_upstream_minor": 41,
        "subsidy_minor": 141,
    },
}
RATES = reports.SubsidyRates(per_parcel_in_minor=50, per_upstream_kg_minor=20)


def figures(item: reports.StationMonth) -> dict[str, object]:
    return {key: getattr(item, key) for key in EXPECTED["ST-RPT-A"]}


async def test_every_figure_matches_the_hand_computed_month(db_session: AsyncSession, fixture: Fixture) -> None:
    report = await reports.station_month_report(db_session, 2026, 3, rates=RATES)
    by_code = {item.code: item for item in report}
    assert figures(by_code["ST-RPT-A"]) == EXPECTED["ST-RPT-A"]
    assert figures(by_code["ST-RPT-B"]) == EXPECTED["ST-RPT-B"]
    a = by_code["ST-RPT-A"]
    assert (a.name, a.township, a.is_demonstration, a.year, a.month, a.currency) == (
        "示范村站甲",
        "太平镇",
        True,
        2026,
        3,
        "CNY",
    )
    assert a.cases_by_kind == {CaseKind.assist_farmer: 3, CaseKind.convenience: 4}
    assert [item.code for item in report] == sorted(item.code for item in report)


async def test_the_default_rates_are_the_settings_and_other_rates_apply(
    db_session: AsyncSession, fixture: Fixture
) -> None:
    default = {r.code: r.subsidy_minor for r in await reports.station_month_report(db_session, 2026, 3)}
    assert (default["ST-RPT-A"], default["ST-RPT-B"]) == (510, 141)  # SUBSIDY_* defaults: 50 and 20 fen
    other = reports.SubsidyRates(per_parcel_in_minor=100, per_upstream_kg_minor=35)
    by_code = {r.code: r for r in await reports.station_month_report(db_session, 2026, 3, rates=other)}
    # A: 5 × 100 = 500; 13.020 × 35 = 455.7 → 456; B: 2 × 100 = 200; 2.025 × 35 = 70.875 → 71.
    assert (by_code["ST-RPT-A"].subsidy_parcels_minor, by_code["ST-RPT-A"].subsidy_upstream_minor) == (500, 456)
    assert (by_code["ST-RPT-B"].subsidy_parcels_minor, by_code["ST-RPT-B"].subsidy_upstream_minor) == (200, 71)


async def test_february_and_april_are_their_own_months(db_session: AsyncSession, fixture: Fixture) -> None:
    feb = {r.code: r for r in await reports.station_month_report(db_session, 2026, 2, rates=RATES)}
    # A in February: P5 and P7 scanned in, 85 handed over plus P7 returned; C0 5 kg; cases 2 + 6.
    # Cumulative to February's end: 助农 2, 便民 6, people 85 + 8 cases + S1 = 94.
    a = feb["ST-RPT-A"]
    assert (a.parcels_in, a.handed_over, a.returned) == (85 + 2, 85, 1)
    assert (a.upstream_kg, a.upstream_value_minor) == (Decimal("5.000"), 5000)
    assert (a.people_served, a.total_people_served) == (94, 94)
    assert (a.total_assist_farmer_cases, a.total_convenience_cases, a.criteria_met) == (2, 6, False)
    assert a.subsidy_minor == 87 * 50 + 100  # 5 kg × 20 = 100
    apr = {r.code: r for r in await reports.station_month_report(db_session, 2026, 4, rates=RATES)}
    # B in April: the cases recorded at 00:00 on 1 April tip every criterion over.
    b = apr["ST-RPT-B"]
    assert (b.parcels_in, b.handed_over, b.returned) == (1, 1, 0)
    assert (b.total_assist_farmer_cases, b.total_convenience_cases, b.total_people_served) == (5, 10, 101)
    assert b.criteria_met
    assert (apr["ST-RPT-A"].upstream_kg, apr["ST-RPT-A"].handed_over) == (Decimal("7.000"), 1)  # C9, P3


async def test_a_month_out_of_range_is_refused(db_session: AsyncSession) -> None:
    from app.kit.errors import InvalidInput

    for year, month in ((2026, 0), (2026, 13), (1999, 5)):
        with pytest.raises(InvalidInput):
            await reports.station_month_report(db_session, year, month)
    assert reports.month_bounds(2026, 12) == (
        datetime(2026, 12, 1, tzinfo=CST),
        datetime(2027, 1, 1, tzinfo=CST),
    )


def _sheet_rows(content: bytes) -> tuple[list[object], dict[str, list[object]], list[object], object]:
    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames == ["村站月报"]
    sheet = book["村站月报"]
    rows = list(sheet.iter_rows(values_only=True))
    header, body, totals = list(rows[0]), rows[1:-1], list(rows[-1])
    return header, {str(r[0]): list(r) for r in body}, totals, sheet


def _expected_row(code: str, name: str, township: str, demo: str, e: dict[str, object]) -> list[object]:
    yes = {True: "是", False: "否"}
    return [
        code,
        name,
        township,
        demo,
        e["parcels_in"],
        e["handed_over"],
        e["returned"],
        float(e["upstream_kg"]),  # type: ignore[arg-type]
        e["upstream_value_minor"] / 100,  # type: ignore[operator]
        e["people_served"],
        e["assist_farmer_cases"],
        e["convenience_cases"],
        e["total_assist_farmer_cases"],
        yes[e["assist_farmer_met"]],  # type: ignore[index]
        e["total_people_served"],
        yes[e["people_met"]],  # type: ignore[index]
        e["total_convenience_cases"],
        yes[e["convenience_met"]],  # type: ignore[index]
        yes[e["criteria_met"]],  # type: ignore[index]
        e["subsidy_minor"] / 100,  # type: ignore[operator]
        0,  # no cash refunded at the station (after-sales claims) in this fixture
        0,
    ]


async def test_the_spreadsheet_holds_the_same_figures_as_numbers(db_session: AsyncSession, fixture: Fixture) -> None:
    report = await reports.station_month_report(db_session, 2026, 3, rates=RATES)
    header, rows, totals, sheet = _sheet_rows(reports.xlsx(report))
    assert header == reports.HEADERS
    assert header[:4] == ["站点编码", "站点名称", "乡镇", "示范站"] and header[19] == "补贴（元）"
    # A: 13.020 kg, ¥256.90, subsidy ¥5.10; B: 2.025 kg, ¥40.50, subsidy ¥1.41.
    assert rows["ST-RPT-A"] == _expected_row("ST-RPT-A", "示范村站甲", "太平镇", "是", EXPECTED["ST-RPT-A"])
    assert rows["ST-RPT-B"] == _expected_row("ST-RPT-B", "村站乙", "马市镇", "否", EXPECTED["ST-RPT-B"])
    assert rows["ST-RPT-A"][7] == 13.02 and rows["ST-RPT-A"][8] == 256.9 and rows["ST-RPT-A"][19] == 5.1

    # Numbers are numbers, with the kg and ¥ formats; the totals row sums every station of the report.
    a_row = next(row for row in sheet.iter_rows(min_row=2) if row[0].value == "ST-RPT-A")
    assert all(a_row[i].data_type == "n" for i in (4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 16, 19))
    assert a_row[7].number_format == "0.000"
    assert a_row[8].number_format == a_row[19].number_format == '"¥"#,##0.00'
    assert totals[0] == "合计"
    assert totals[4:7] == [
        sum(r.parcels_in for r in report),
        sum(r.handed_over for r in report),
        sum(r.returned for r in report),
    ]
    assert Decimal(str(totals[7])) == sum((r.upstream_kg for r in report), start=Decimal(0))
    assert round(totals[8] * 100) == sum(r.upstream_value_minor for r in report)  # type: ignore[operator]
    assert round(totals[19] * 100) == sum(r.subsidy_minor for r in report)  # type: ignore[operator]
    assert totals[18] == sum(1 for r in report if r.criteria_met)
    if {r.code for r in report} == {"ST-RPT-A", "ST-RPT-B"}:
        # Only the two stations of this fixture: 5 + 2 parcels, 15.045 kg, ¥297.40, ¥6.51.
        assert totals[4:10] == [7, 4, 2, 15.045, 297.4, 10]
        assert totals[19] == 6.51


async def test_the_report_routes(client: httpx.AsyncClient, db_session: AsyncSession, fixture: Fixture) -> None:
    admin = auth(await token_for(db_session, await make_user(db_session, Role.admin)))
    customer = auth(await token_for(db_session, await make_user(db_session, Role.customer)))
    response = await client.get("/api/v1/admin/stations/reports", params={"year": 2026, "month": 3}, headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["year"], body["month"], body["timezone"]) == (2026, 3, "Asia/Shanghai")
    assert body["subsidy_rates"] == {"per_parcel_in_minor": 50, "per_upstream_kg_minor": 20}
    assert body["criteria"]["min_people_served"] == 100
    stations = {s["code"]: s for s in body["stations"]}
    for code, expected in EXPECTED.items():
        got = {key: stations[code][key] for key in expected}
        assert got == {k: (format(v.normalize(), "f") if isinstance(v, Decimal) else v) for k, v in expected.items()}
    assert stations["ST-RPT-A"]["cases_by_kind"] == {"assist_farmer": 3, "convenience": 4}
    assert stations["ST-RPT-A"]["upstream_kg"] == "13.02"

    sheet = await client.get("/api/v1/admin/stations/reports.xlsx?year=2026&month=3", headers=admin)
    assert sheet.status_code == 200
    assert sheet.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert 'filename="station-report-2026-03.xlsx"' in sheet.headers["content-disposition"]
    _, rows, _, _ = _sheet_rows(sheet.content)
    assert rows["ST-RPT-B"][4:8] == [2, 1, 1, 2.025]

    denied = await client.get("/api/v1/admin/stations/reports?year=2026&month=3", headers=customer)
    assert (denied.status_code, denied.json()["error"]) == (403, "role_not_allowed")
    anonymous = await client.get("/api/v1/admin/stations/reports.xlsx?year=2026&month=3")
    assert anonymous.status_code == 401
    for query in ("year=2026&month=13", "year=1999&month=3", "year=2026"):
        bad = await client.get(f"/api/v1/admin/stations/reports?{query}", headers=admin)
        assert bad.status_code == 422, query
