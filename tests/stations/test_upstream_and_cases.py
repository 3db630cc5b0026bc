"""Upstream consignments (a lot at the station, shipped to the warehouse) and service cases."""

from __future__ import annotations

import io
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role, User
from app.catalog.errors import ImageTooLarge, InvalidImage
from app.config import Settings
from app.kit.errors import InvalidInput
from app.kit.quantities import Unit
from app.stations import cases, consignments
from app.stations.models import CaseKind, Consignment, ServiceCase, Station
from app.supply import errors as supply_errors
from app.supply import repository as supply_repository
from app.supply import service as supply_service
from app.supply import transfers
from app.supply.models import (
    Location,
    LocationKind,
    Lot,
    LotOrigin,
    StockLevel,
    Supplier,
    SupplierKind,
    Transfer,
    TransferStatus,
)
from tests.fixtures.builders import (
    auth,
    ensure_warehouse,
    make_station,
    make_supplier,
    make_user,
    make_variant,
    token_for,
)
from tests.fixtures.days import TODAY, pinned_noon  # noqa: F401 - the fixture, used by pytestmark
from tests.fixtures.images import assert_clean_jpeg, phone_jpeg

pytestmark = pytest.mark.usefixtures("pinned_noon")


# Every table an upstream consignment or a case may write to: "nothing changed" compares content.
TABLES = [
    "upstream_consignments",
    "service_cases",
    "lots",
    "stock_levels",
    "stock_ledger",
    "transfers",
    "transfer_lines",
    "suppliers",
    "locations",
    "idempotency_keys",
]


async def snapshot(session: AsyncSession) -> dict[str, Any]:
    state = {}
    for table in TABLES:
        state[table] = [tuple(r) for r in await session.execute(text(f"SELECT * FROM {table} ORDER BY id"))]
    return state


def png_bytes(size: tuple[int, int] = (40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(out, format="PNG")
    return out.getvalue()


async def on_hand(session: AsyncSession, lot_id: int, location_id: int) -> Decimal:
    value = await session.scalar(
        select(StockLevel.on_hand).where(StockLevel.lot_id == lot_id, StockLevel.location_id == location_id)
    )
    return Decimal(value) if value is not None else Decimal(0)


@dataclass
class Desk:
    station: Station
    other: Station
    operator: User
    headers: dict[str, str]
    other_headers: dict[str, str]
    warehouse: Location


@pytest.fixture
async def desk(db_session: AsyncSession) -> Desk:
    warehouse = await ensure_warehouse(db_session)
    station = await make_station(db_session, township="司前镇", village="黄所村")
    other = await make_station(db_session)
    operator = await make_user(db_session, Role.station_operator, station_id=station.id)
    other_operator = await make_user(db_session, Role.station_operator, station_id=other.id)
    return Desk(
        station,
        other,
        operator,
        auth(await token_for(db_session, operator)),
        auth(await token_for(db_session, other_operator)),
        warehouse,
    )


# ---- service: consignments ----------------------------------------------------------------------


async def test_a_kg_consignment_is_a_lot_of_exactly_that_weight_in_transit_to_the_warehouse(
    db_session: AsyncSession, desk: Desk
) -> None:
    taro = await make_variant(db_session, unit=Unit.kg)
    grower = await make_supplier(db_session, contact_phone="+8613900000001", grows=[taro])
    assert await supply_repository.location_for_station(db_session, desk.station.id) is None

    consignment = await consignments.record_consignment(
        db_session,
        station_id=desk.station.id,
        supplier_code=grower.code,
        sku=taro.sku,
        weight_kg=Decimal("12.345"),
        grade="一级",
        harvest_date=TODAY - timedelta(days=1),
        certificate_no="HG-2026-001",
        value_minor=7407,
        actor_user_id=desk.operator.id,
    )

    # The station's stock location was created on first use: kind station, code = station code.
    station_location = await supply_repository.location_for_station(db_session, desk.station.id)
    assert station_location is not None
    assert (station_location.kind, station_location.code) == (LocationKind.station, desk.station.code)
    lot = await db_session.get(Lot, consignment.lot_id)
    assert lot is not None
    assert lot.quantity_received == Decimal("12.345")
    assert (lot.origin, lot.grade, lot.certificate_no) == (LotOrigin.upstream, "一级", "HG-2026-001")
    assert (lot.supplier_id, lot.received_location_id) == (grower.id, station_location.id)
    assert (consignment.weight_kg, consignment.value_minor, consignment.station_id) == (
        Decimal("12.345"),
        7407,
        desk.station.id,
    )
    # In transit to the county warehouse: nothing left at the station, nothing yet at the warehouse.
    transit = await supply_service.in_transit(db_session)
    assert await on_hand(db_session, lot.id, station_location.id) == Decimal(0)
    assert await on_hand(db_session, lot.id, transit.id) == Decimal("12.345")
    assert await on_hand(db_session, lot.id, desk.warehouse.id) == Decimal(0)
    transfer = await db_session.get(Transfer, consignment.transfer_id)
    assert transfer is not None
    assert (transfer.status, transfer.from_location_id, transfer.to_location_id) == (
        TransferStatus.in_transit,
        station_location.id,
        desk.warehouse.id,
    )
    shipped = await transfers.get_transfer(db_session, transfer.number)
    assert [(line.lot_id, line.quantity_shipped) for line in shipped.lines] == [(lot.id, Decimal("12.345"))]

    # The warehouse receives it with the ordinary transfer flow.
    await transfers.receive(db_session, transfer.number, received=[], actor_user_id=desk.operator.id)
    assert await on_hand(db_session, lot.id, transit.id) == Decimal(0)
    assert await on_hand(db_session, lot.id, desk.warehouse.id) == Decimal("12.345")
    assert await supply_repository.rebuilt_levels(db_session) == await supply_repository.stored_levels(db_session)


async def test_jin_variants_get_twice_the_kg_and_boxes_need_a_whole_count(db_session: AsyncSession, desk: Desk) -> None:
    bayberry = await make_variant(db_session, unit=Unit.jin)
    rice = await make_variant(db_session, unit=Unit.box)
    grower = await make_supplier(db_session, grows=[bayberry, rice])
    common: dict[str, Any] = {
        "station_id": desk.station.id,
        "supplier_code": grower.code,
        "harvest_date": TODAY,
        "value_minor": 1000,
        "actor_user_id": desk.operator.id,
    }
    jin = await consignments.record_consignment(db_session, sku=bayberry.sku, weight_kg=Decimal("1.234"), **common)
    jin_lot = await db_session.get(Lot, jin.lot_id)
    assert jin_lot is not None and jin_lot.quantity_received == Decimal("2.468")  # 1.234 kg × 2 斤/kg
    assert jin.weight_kg == Decimal("1.234")

    before = await snapshot(db_session)
    for quantity in (None, Decimal("2.5"), Decimal(0)):
        with pytest.raises(consignments.WholeCountRequired):
            await consignments.record_consignment(
                db_session, sku=rice.sku, weight_kg=Decimal("25"), quantity=quantity, **common
            )
    with pytest.raises(InvalidInput, match="由重量得出"):
        await consignments.record_consignment(
            db_session, sku=bayberry.sku, weight_kg=Decimal("1"), quantity=Decimal("1"), **common
        )
    for weight in (Decimal(0), Decimal("-1"), Decimal("1.2345")):
        with pytest.raises(consignments.InvalidWeight):
            await consignments.record_consignment(db_session, sku=rice.sku, weight_kg=weight, **common)
    assert await snapshot(db_session) == before

    boxes = await consignments.record_consignment(
        db_session, sku=rice.sku, weight_kg=Decimal("25.100"), quantity=Decimal(5), **common
    )
    box_lot = await db_session.get(Lot, boxes.lot_id)
    assert box_lot is not None and box_lot.quantity_received == Decimal(5)
    assert boxes.weight_kg == Decimal("25.100")


async def test_a_new_household_supplier_is_registered_once_by_phone(db_session: AsyncSession, desk: Desk) -> None:
    pear = await make_variant(db_session, unit=Unit.kg)
    household = consignments.NewHousehold(name="李阿婆", phone="139 0000 0123")
    first = await consignments.record_consignment(
        db_session,
        station_id=desk.station.id,
        household=household,
        sku=pear.sku,
        weight_kg=Decimal("8.5"),
        harvest_date=TODAY,
        value_minor=4250,
        actor_user_id=desk.operator.id,
    )
    supplier = await db_session.get(Supplier, first.supplier_id)
    assert supplier is not None
    assert (supplier.kind, supplier.name, supplier.contact_phone) == (
        SupplierKind.household,
        "李阿婆",
        "+8613900000123",
    )
    assert (supplier.township, supplier.village) == ("司前镇", "黄所村")  # the station's, village defaulted
    again = await consignments.record_consignment(
        db_session,
        station_id=desk.station.id,
        household=consignments.NewHousehold(name="李阿婆", phone="+86 139-0000-0123"),
        sku=pear.sku,
        weight_kg=Decimal("3"),
        harvest_date=TODAY,
        value_minor=1500,
        actor_user_id=desk.operator.id,
    )
    assert again.supplier_id == supplier.id

    grower = await make_supplier(db_session)
    before = await snapshot(db_session)
    for supplier_code, hh in ((grower.code, household), (None, None)):
        with pytest.raises(consignments.SupplierChoiceInvalid):
            await consignments.record_consignment(
                db_session,
                station_id=desk.station.id,
                supplier_code=supplier_code,
                household=hh,
                sku=pear.sku,
                weight_kg=Decimal("1"),
                harvest_date=TODAY,
                value_minor=0,
                actor_user_id=desk.operator.id,
            )
    with pytest.raises(InvalidInput):
        await consignments.record_consignment(
            db_session,
            station_id=desk.station.id,
            household=consignments.NewHousehold(name="王伯", phone="12345"),
            sku=pear.sku,
            weight_kg=Decimal("1"),
            harvest_date=TODAY,
            value_minor=0,
            actor_user_id=desk.operator.id,
        )
    with pytest.raises(supply_errors.SupplierNotFound):
        await consignments.record_consignment(
            db_session,
            station_id=desk.station.id,
            supplier_code="NO-SUCH",
            sku=pear.sku,
            weight_kg=Decimal("1"),
            harvest_date=TODAY,
            value_minor=0,
            actor_user_id=desk.operator.id,
        )
    assert await snapshot(db_session) == before


async def test_a_household_becomes_the_registered_grower_of_what_it_brings(
    db_session: AsyncSession, desk: Desk
) -> None:
    """Households are registered at their station's door: each product a household brings makes
    it a registered grower of that product (a co-operative must be one beforehand)."""
    pear = await make_variant(db_session, unit=Unit.kg)
    taro = await make_variant(db_session, unit=Unit.kg)
    common: dict[str, Any] = {
        "station_id": desk.station.id,
        "household": consignments.NewHousehold(name="黄伯", phone="139 0000 0456"),
        "weight_kg": Decimal("5"),
        "harvest_date": TODAY,
        "value_minor": 1000,
        "actor_user_id": desk.operator.id,
    }
    first = await consignments.record_consignment(db_session, sku=pear.sku, **common)
    second = await consignments.record_consignment(db_session, sku=taro.sku, **common)

    assert first.supplier_id == second.supplier_id
    grown = await supply_repository.grown_product_slugs(db_session, [first.supplier_id])
    products = {v.product_id: v for v in (pear, taro)}
    slugs = set(
        await db_session.scalars(text("SELECT slug FROM products WHERE id = ANY(:ids)"), {"ids": list(products)})
    )
    assert set(grown[first.supplier_id]) == slugs
    for consignment in (first, second):
        lot = await db_session.get(Lot, consignment.lot_id)
        assert lot is not None and lot.supplier_grew_it and lot.grower_exception_reason is None


# ---- API: consignments --------------------------------------------------------------------------


def consignment_body(sku: str, supplier_code: str, **kw: Any) -> dict[str, Any]:
    return {
        "sku": sku,
        "supplier_code": supplier_code,
        "weight_kg": "12.345",
        "harvest_date": TODAY.isoformat(),
        "grade": "特级",
        "certificate_no": "HG-9",
        "value_minor": 24690,
        **kw,
    }


async def test_a_retried_consignment_creates_one_lot_and_one_transfer(
    client: httpx.AsyncClient, db_session: AsyncSession, desk: Desk
) -> None:
    taro = await make_variant(db_session, unit=Unit.kg)
    grower = await make_supplier(db_session, grows=[taro])
    body = consignment_body(taro.sku, grower.code)
    headers = {**desk.headers, "Idempotency-Key": "up-0001"}
    first = await client.post("/api/v1/pda/consignments", json=body, headers=headers)
    assert first.status_code == 201, first.text
    again = await client.post("/api/v1/pda/consignments", json=body, headers=headers)
    assert again.status_code == 201
    assert again.json() == first.json()
    out = first.json()
    assert (out["station_code"], out["sku"], out["quantity"], out["weight_kg"], out["value_minor"]) == (
        desk.station.code,
        taro.sku,
        "12.345",
        "12.345",
        24690,
    )
    assert out["label_url"] == f"/api/v1/admin/lots/{out['lot_code']}/label.pdf"
    assert out["trace_url"].endswith(f"/t/{out['lot_code']}")

    lots = (await db_session.scalars(select(Lot).where(Lot.variant_id == taro.id))).all()
    assert [lot.code for lot in lots] == [out["lot_code"]]
    station_location = await supply_repository.location_for_station(db_session, desk.station.id)
    assert station_location is not None
    shipped = (await db_session.scalars(select(Transfer).where(Transfer.from_location_id == station_location.id))).all()
    assert [t.number for t in shipped] == [out["transfer_number"]]
    assert await db_session.scalar(select(func.count()).select_from(Consignment)) == 1

    # The operator can print the lot's label with the URL it was given.
    label = await client.get(out["label_url"], headers=desk.headers)
    assert label.status_code == 200 and label.content.startswith(b"%PDF")

    reused = await client.post("/api/v1/pda/consignments", json={**body, "weight_kg": "1.000"}, headers=headers)
    assert reused.status_code == 422 and reused.json()["error"] == "idempotency_key_reused"


async def test_consignment_bad_input_and_wrong_station_change_nothing(
    client: httpx.AsyncClient, db_session: AsyncSession, desk: Desk
) -> None:
    taro = await make_variant(db_session, unit=Unit.kg)
    box = await make_variant(db_session, unit=Unit.box)
    grower = await make_supplier(db_session, grows=[taro, box])
    # A co-operative that is not a registered grower of taro: a station cannot take it in as one.
    stranger = await make_supplier(db_session)
    no_harvest_date = consignment_body(taro.sku, grower.code)
    del no_harvest_date["harvest_date"]
    before = await snapshot(db_session)
    cases_: list[tuple[dict[str, Any], int, str]] = [
        (consignment_body(taro.sku, grower.code, station_code=desk.other.code), 403, "station_forbidden"),
        (consignment_body(taro.sku, grower.code, weight_kg="0"), 422, "invalid_weight"),
        (consignment_body(taro.sku, grower.code, weight_kg="1.2345"), 422, "validation_error"),
        (consignment_body(taro.sku, grower.code, weight_kg=12.5), 422, "validation_error"),
        (consignment_body(box.sku, grower.code), 422, "whole_count_required"),
        (consignment_body("NO-SKU", grower.code), 404, "variant_not_found"),
        (consignment_body(taro.sku, grower.code, value_minor=-1), 422, "validation_error"),
        (consignment_body(taro.sku, grower.code, price_minor=100), 422, "validation_error"),
        (
            consignment_body(taro.sku, grower.code, household={"name": "张三", "phone": "13800138000"}),
            422,
            "supplier_choice_invalid",
        ),
        (
            consignment_body(taro.sku, grower.code, harvest_date=(TODAY + timedelta(days=2)).isoformat()),
            422,
            "invalid_input",
        ),
        (no_harvest_date, 422, "validation_error"),
        (consignment_body(taro.sku, grower.code, harvest_date=""), 422, "validation_error"),
        (consignment_body(taro.sku, stranger.code), 422, "supplier_not_grower"),
    ]
    for n, (body, status_code, code) in enumerate(cases_):
        response = await client.post(
            "/api/v1/pda/consignments", json=body, headers={**desk.headers, "Idempotency-Key": f"bad-{n}"}
        )
        assert (response.status_code, response.json()["error"]) == (status_code, code), body
    missing_key = await client.post(
        "/api/v1/pda/consignments", json=consignment_body(taro.sku, grower.code), headers=desk.headers
    )
    assert (missing_key.status_code, missing_key.json()["error"]) == (422, "validation_error")
    admin = await make_user(db_session, Role.admin)
    as_admin = await client.post(
        "/api/v1/pda/consignments",
        json=consignment_body(taro.sku, grower.code),
        headers={**auth(await token_for(db_session, admin)), "Idempotency-Key": "admin-1"},
    )
    assert (as_admin.status_code, as_admin.json()["error"]) == (403, "role_not_allowed")
    assert await snapshot(db_session) == before
    assert before["upstream_consignments"] == []


# ---- cases --------------------------------------------------------------------------------------


async def test_record_case_checks_the_photo_and_stores_it_under_the_station(
    db_session: AsyncSession, desk: Desk, tmp_path: Path
) -> None:
    uploads = tmp_path / "uploads"
    case = await cases.record_case(
        db_session,
        station_id=desk.station.id,
        kind=CaseKind.assist_farmer,
        title="帮黄所村农户网上卖出香芋 200 斤",
        note="拍照上架、打包发货",
        person_phone="13800138000",
        photo=png_bytes(),
        uploads_dir=uploads,
        max_bytes=1_000_000,
        actor_user_id=desk.operator.id,
    )
    assert case.person_phone == "+8613800138000"
    assert case.photo_path is not None and case.photo_path.startswith(f"cases/{desk.station.id}/")
    assert case.photo_path.endswith(".png")
    assert (uploads / case.photo_path).read_bytes() == png_bytes()

    before = await snapshot(db_session)
    bad: list[tuple[dict[str, Any], type[Exception]]] = [
        ({"photo": b"not an image at all"}, InvalidImage),
        ({"photo": b""}, InvalidImage),
        ({"photo": b"GIF89a" + b"\x00" * 20}, InvalidImage),
        ({"photo": png_bytes((400, 400)), "max_bytes": 100}, ImageTooLarge),
        ({"person_phone": "12345"}, InvalidInput),
        ({"title": "  "}, InvalidInput),
    ]
    for change, error in bad:
        args: dict[str, Any] = {
            "station_id": desk.station.id,
            "kind": CaseKind.convenience,
            "title": "代缴电费",
            "note": "",
            "person_phone": None,
            "photo": None,
            "uploads_dir": uploads,
            "max_bytes": 1_000_000,
            "actor_user_id": desk.operator.id,
            **change,
        }
        with pytest.raises(error):
            await cases.record_case(db_session, **args)
    assert await snapshot(db_session) == before
    assert len(list((uploads / "cases" / str(desk.station.id)).iterdir())) == 1  # refused photos left no file


async def test_an_operator_records_cases_only_for_its_own_station(
    client: httpx.AsyncClient, db_session: AsyncSession, desk: Desk, settings: Settings
) -> None:
    before = await snapshot(db_session)
    other_station = await client.post(
        "/api/v1/pda/cases",
        data={"kind": "convenience", "title": "代收快递", "station_code": desk.other.code},
        headers={**desk.headers, "Idempotency-Key": "case-b-1"},
    )
    assert (other_station.status_code, other_station.json()["error"]) == (403, "station_forbidden")
    bad_photo = await client.post(
        "/api/v1/pda/cases",
        data={"kind": "convenience", "title": "代收快递"},
        files={"photo": ("x.png", b"not a png", "image/png")},
        headers={**desk.headers, "Idempotency-Key": "case-a-bad"},
    )
    assert (bad_photo.status_code, bad_photo.json()["error"]) == (422, "invalid_image")
    bad_kind = await client.post(
        "/api/v1/pda/cases",
        data={"kind": "other", "title": "代收快递"},
        headers={**desk.headers, "Idempotency-Key": "case-a-kind"},
    )
    assert (bad_kind.status_code, bad_kind.json()["error"]) == (422, "validation_error")
    assert await snapshot(db_session) == before
    assert not (settings.uploads_dir / "cases").exists()

    form = {"kind": "assist_farmer", "title": "帮农户直播卖枇杷", "note": "卖出 80 斤", "person_phone": "13900000002"}
    own = await client.post(
        "/api/v1/pda/cases",
        data={**form, "station_code": desk.station.code},
        files={"photo": ("live.png", png_bytes(), "image/png")},
        headers={**desk.headers, "Idempotency-Key": "case-a-1"},
    )
    assert own.status_code == 201, own.text
    out = own.json()
    assert (out["station_code"], out["kind"], out["kind_zh"], out["has_person_phone"]) == (
        desk.station.code,
        "assist_farmer",
        "助农",
        True,
    )
    assert out["photo_url"].startswith(f"/media/cases/{desk.station.id}/")
    assert "13900000002" not in own.text  # the person's phone is counted, never shown
    replay = await client.post(
        "/api/v1/pda/cases",
        data={**form, "station_code": desk.station.code},
        files={"photo": ("live.png", png_bytes(), "image/png")},
        headers={**desk.headers, "Idempotency-Key": "case-a-1"},
    )
    assert replay.status_code == 201 and replay.json() == out
    stored = (await db_session.scalars(select(ServiceCase))).all()
    assert [(c.station_id, c.person_phone) for c in stored] == [(desk.station.id, "+8613900000002")]
    assert len(list((settings.uploads_dir / "cases" / str(desk.station.id)).iterdir())) == 1

    mine = await client.get("/api/v1/pda/cases", headers=desk.headers)
    theirs = await client.get("/api/v1/pda/cases", headers=desk.other_headers)
    assert [c["id"] for c in mine.json()] == [out["id"]]
    assert theirs.status_code == 200 and theirs.json() == []


# ---- case photos: re-encoded on upload, served to the staff and the case's own station only ------


async def post_case_photo(client: httpx.AsyncClient, headers: dict[str, str], photo: bytes, key: str) -> httpx.Response:
    return await client.post(
        "/api/v1/pda/cases",
        data={"kind": "assist_farmer", "title": "帮农户拍照上架香芋"},
        files={"photo": ("field.jpg", photo, "image/jpeg")},
        headers={**headers, "Idempotency-Key": key},
    )


async def test_a_case_photo_is_stored_without_gps_or_trailing_bytes(
    client: httpx.AsyncClient, db_session: AsyncSession, desk: Desk, settings: Settings
) -> None:
    posted = await post_case_photo(client, desk.headers, phone_jpeg((40, 20), orientation=6), "photo-1")
    assert posted.status_code == 201, posted.text
    case = await db_session.scalar(select(ServiceCase).where(ServiceCase.id == posted.json()["id"]))
    assert case is not None and case.photo_path is not None
    assert re.fullmatch(rf"cases/{desk.station.id}/[0-9a-f]{{32}}\.jpg", case.photo_path)
    assert posted.json()["photo_url"] == f"/media/{case.photo_path}"
    assert_clean_jpeg((settings.uploads_dir / case.photo_path).read_bytes(), (20, 40))

    not_image = await post_case_photo(client, desk.headers, b"GIF89a<script>alert(1)</script>", "photo-2")
    assert (not_image.status_code, not_image.json()["error"]) == (422, "invalid_image")
    assert len(list((settings.uploads_dir / "cases" / str(desk.station.id)).iterdir())) == 1


async def test_case_photos_are_for_staff_and_their_own_station_only(
    client: httpx.AsyncClient, db_session: AsyncSession, desk: Desk, settings: Settings
) -> None:
    posted = await post_case_photo(client, desk.headers, phone_jpeg(), "photo-3")
    url = posted.json()["photo_url"]
    stored = (settings.uploads_dir / url.removeprefix("/media/")).read_bytes()

    anonymous = await client.get(url)
    assert (anonymous.status_code, anonymous.json()["error"]) == (401, "not_authenticated")
    browser = await client.get(url, headers={"accept": "text/html"})
    assert browser.status_code == 303 and browser.headers["location"] == f"/login?next={url}"
    theirs = await client.get(url, headers=desk.other_headers)
    assert (theirs.status_code, theirs.json()["error"]) == (404, "case_photo_not_found")
    clerk = await client.get(url, headers=auth(await token_for(db_session, await make_user(db_session, Role.clerk))))
    assert clerk.status_code == 403  # not a role that sees station photos at all
    customer = await client.get(url, headers=auth(await token_for(db_session, await make_user(db_session))))
    assert customer.status_code == 403

    for role in (Role.admin, Role.warehouse):
        staff = await client.get(url, headers=auth(await token_for(db_session, await make_user(db_session, role))))
        assert staff.status_code == 200 and staff.content == stored
        assert staff.headers["content-type"] == "image/jpeg"
        assert staff.headers["cache-control"] == "private, max-age=3600"
    own = await client.get(url, headers=desk.headers)
    assert own.status_code == 200 and own.content == stored


@pytest.mark.parametrize(
    "path",
    [
        "/media/products/../cases/{station}/{name}",
        "/media/products/%2e%2e/cases/{station}/{name}",
        "/media/products/..%2fcases/{station}/{name}",
        "/media/cases/{station}/../{station}/{name}",
        "/media/cases/{station}/{name}.png",
        "/media/cases/{station}/%2e%2e%2f{name}",
    ],
)
async def test_no_other_address_reaches_a_case_photo(
    client: httpx.AsyncClient, desk: Desk, settings: Settings, path: str
) -> None:
    posted = await post_case_photo(client, desk.headers, phone_jpeg(), "photo-4")
    station, name = posted.json()["photo_url"].split("/")[-2:]
    raw = path.format(station=station, name=name)
    response = await client.get(httpx.URL("http://testserver").copy_with(raw_path=raw.encode()))
    assert response.status_code in (401, 404), (raw, response.status_code)
    assert not response.content.startswith(b"\xff\xd8")


async def test_a_photo_stored_before_this_change_is_served_by_the_new_route(
    client: httpx.AsyncClient, db_session: AsyncSession, desk: Desk, settings: Settings
) -> None:
    """Photos already on disk keep their path; only who may fetch them changed."""
    relative = f"cases/{desk.station.id}/{uuid.uuid4().hex}.png"
    legacy = io.BytesIO()
    Image.new("RGB", (8, 6), (47, 93, 58)).save(legacy, "PNG")
    (settings.uploads_dir / relative).parent.mkdir(parents=True, exist_ok=True)
    (settings.uploads_dir / relative).write_bytes(legacy.getvalue())
    admin = auth(await token_for(db_session, await make_user(db_session, Role.admin)))
    served = await client.get(f"/media/{relative}", headers=admin)
    assert served.status_code == 200 and served.content == legacy.getvalue()
    assert served.headers["content-type"] == "image/png"
    assert (await client.get(f"/media/{relative}")).status_code == 401
