"""Demo data: complete, plausible, and idempotent (a second run creates nothing).

The demo's lots follow each product's season relative to today, so every test here runs at a
pinned date: 15 April 2026 (loquat season) unless it pins another.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import phonenumbers
import pytest
from PIL import Image
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from stdnum import ean
from stdnum.cn import uscc

from app.accounts.models import BuyerCompany, CompanyStatus, PaymentTerms, Role, User
from app.accounts.security import verify_password
from app.catalog.models import (
    Category,
    PriceList,
    PriceListItem,
    PriceListKind,
    PriceTier,
    Product,
    ProductImage,
    Variant,
)
from app.catalog.pricing import price_line
from app.catalog.schemas import Certification
from app.channels import SalesChannel
from app.config import Settings
from app.crossborder.models import Listing, ListingState
from app.crossborder.validation import validate_listing
from app.demo import DEMO_PASSWORD, DEMO_PIN, JIANGNAN, database_is_empty, seed_demo
from app.kit import clock
from app.kit.models import Base
from app.kit.quantities import Unit
from app.pos.models import Store, StoreManager, Till
from app.stations.models import DeliveryRoute, RouteStop, Station
from app.supply import repository as supply_repository
from app.supply.models import (
    LedgerKind,
    Location,
    LocationKind,
    Lot,
    StockLedgerEntry,
    StockLevel,
    Supplier,
    Transfer,
    TransferLine,
)
from app.wholesale.models import DeliveryAddress
from app.wholesale.trip_models import WholesaleRoute

SUPPLY_SKUS = {
    "NLP-LOQ-A-5KG",
    "NLP-BAY-2500G",
    "NLP-PEAR-10KG",
    "NLP-TARO-10KG",
    "NLP-SWP-5KG",
    "NLP-SAUS-500G",
    "NLP-RICE-10KG",
    "NLP-TEA-250G",
    "NLP-HONEY-500G",
    "NLP-BSH-500G",
}
# 10:00 in China on 15 April 2026: loquat season; bayberry, sand pear and taro out of season.
APRIL = datetime(2026, 4, 15, 2, 0, tzinfo=UTC)
# 10:00 in China on 10 December 2026: taro, sweet potato and cured meats in season; no fresh fruit.
DECEMBER = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)

COUNTS = (
    "stations 36, routes 5, route_stops 36, stores 2, suppliers 9, categories 7, products 11, supplier_products 11, "
    "variants 20, product_images 11, price_lists 3, price_items 33, price_tiers 24, buyer_companies 4, "
    "company_delivery_addresses 3, users 9, tills 1, store_managers 1, streamer_sellers 1, presale_waves 1, "
    "farm_events 1, "
    "locations 39, lots 20, transfers 1, "
    "alibaba_listings 3, wholesale_routes 2, county_evidence 10, county_assets 14, county_spending 6"
)


@pytest.fixture(autouse=True)
def _in_loquat_season() -> Iterator[None]:
    with clock.pinned(APRIL):
        yield


@pytest.fixture
def uploads(tmp_path: Path) -> Path:
    return tmp_path / "uploads"


TOWNSHIPS = {"太平镇", "马市镇", "澄江镇", "顿岗镇", "罗坝镇", "司前镇", "隘子镇", "城南镇", "沈所镇", "深渡水瑶族乡"}


async def _count(session: AsyncSession, model: type[Base], *where: ColumnElement[bool]) -> int:
    return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def _counts(session: AsyncSession) -> dict[str, int]:
    return {
        "stations": await _count(session, Station),
        "demonstration": await _count(session, Station, Station.is_demonstration.is_(True)),
        "routes": await _count(session, DeliveryRoute),
        "route_stops": await _count(session, RouteStop),
        "stores": await _count(session, Store),
        "suppliers": await _count(session, Supplier),
        "categories": await _count(session, Category),
        "products": await _count(session, Product),
        "variants": await _count(session, Variant),
        "product_images": await _count(session, ProductImage),
        "supply_skus": await _count(session, Variant, Variant.is_supply_sku.is_(True)),
        "price_lists": await _count(session, PriceList),
        "price_items": await _count(session, PriceListItem),
        "price_tiers": await _count(session, PriceTier),
        "companies": await _count(session, BuyerCompany),
        "approved": await _count(session, BuyerCompany, BuyerCompany.status == CompanyStatus.approved),
        "pending": await _count(session, BuyerCompany, BuyerCompany.status == CompanyStatus.pending),
        "users": await _count(session, User),
        "locations": await _count(session, Location),
        "lots": await _count(session, Lot),
        "stock_levels": await _count(session, StockLevel),
        "ledger": await _count(session, StockLedgerEntry),
        "transfers": await _count(session, Transfer),
        "alibaba_listings": await _count(session, Listing),
        "alibaba_not_connected": await _count(session, Listing, Listing.state == ListingState.not_connected),
        "wholesale_routes": await _count(session, WholesaleRoute),
    }


EXPECTED_COUNTS = {
    "stations": 36,
    "demonstration": 6,
    # Five delivery routes cover the 36 stations, each station once.
    "routes": 5,
    "route_stops": 36,
    "stores": 2,
    "suppliers": 9,
    # The demo's 7 categories, 11 products and 20 variants, and the hidden event-ticket category,
    # product and its two variants (app.events: never listed, never stocked).
    "categories": 8,
    "products": 12,
    "variants": 22,
    # One drawn picture per listed product.
    "product_images": 11,
    "supply_skus": 10,
    "price_lists": 3,
    "price_items": 33,
    "price_tiers": 24,
    "companies": 4,
    "approved": 3,
    "pending": 1,
    "users": 9,
    # WH-SX, 2 stores, 36 stations, plus IN-TRANSIT from the migration.
    "locations": 40,
    # In April: no bayberry, sand pear or taro lot (out of season), nor the sweet potato lot that
    # passed its best-before in March (test_demo_lots_follow_the_season has them lot by lot).
    "lots": 20,
    # 20 lots in the warehouse; 4 delivered to STORE-01, whose in-transit rows remain at zero.
    "stock_levels": 28,
    # 20 receipts; shipping 4 lines = 8 rows, receiving them 8 more, plus 1 for the broken jar.
    "ledger": 37,
    "transfers": 1,
    # Loquat, honey and tea on Alibaba.com; no ALIBABA_APP_KEY in tests, so all "not connected".
    "alibaba_listings": 3,
    "alibaba_not_connected": 3,
    # Two PRD truck routes: Guangzhou/Foshan (cold chain) and Shenzhen/Dongguan.
    "wholesale_routes": 2,
}


async def _items(session: AsyncSession, list_code: str) -> dict[str, PriceListItem]:
    rows = await session.execute(
        select(Variant.sku, PriceListItem)
        .join(PriceListItem, PriceListItem.variant_id == Variant.id)
        .join(PriceList, PriceList.id == PriceListItem.price_list_id)
        .where(PriceList.code == list_code)
        .options(selectinload(PriceListItem.tiers))
    )
    return {sku: item for sku, item in rows}


async def test_seed_demo_loads_everything_once(db_session: AsyncSession, uploads: Path) -> None:
    assert await database_is_empty(db_session) is True

    first = await seed_demo(db_session, uploads_dir=uploads)

    assert first == f"created: {COUNTS}; already present: none"
    assert await _counts(db_session) == EXPECTED_COUNTS
    assert await database_is_empty(db_session) is False
    supply = set(await db_session.scalars(select(Variant.sku).where(Variant.is_supply_sku.is_(True))))
    assert supply == SUPPLY_SKUS
    users = {u.username: u for u in await db_session.scalars(select(User))}
    assert {name: u.role for name, u in users.items()} == {
        "admin": Role.admin,
        "warehouse": Role.warehouse,
        "clerk": Role.clerk,
        "operator": Role.station_operator,
        "buyer": Role.buyer,
        "customer": Role.customer,
        "manager": Role.store_manager,
        "official": Role.county_official,
        "streamer": Role.streamer,
    }
    assert all(verify_password(u.password_hash, DEMO_PASSWORD) for u in users.values())
    retail = await _items(db_session, "retail")
    active = set(await db_session.scalars(select(Variant.sku).where(Variant.is_active.is_(True))))
    assert len(active) == 20
    assert set(retail) == active
    assert set(await _items(db_session, "wholesale")) == SUPPLY_SKUS

    second = await seed_demo(db_session, uploads_dir=uploads)

    assert second == f"created: none; already present: {COUNTS}"
    assert await _counts(db_session) == EXPECTED_COUNTS
    assert set(await _items(db_session, "retail")) == active
    assert await database_is_empty(db_session) is False


async def test_demo_stations_and_accounts_are_plausible(db_session: AsyncSession, uploads: Path) -> None:
    await seed_demo(db_session, uploads_dir=uploads)

    stations = list(await db_session.scalars(select(Station).order_by(Station.code)))
    assert {s.township for s in stations} == TOWNSHIPS
    assert all(re.fullmatch(r"ST-[A-Z]{2,3}-\d{2}", s.code) for s in stations)
    assert all(Decimal("24.75") <= s.latitude <= Decimal("25.15") for s in stations)
    assert all(Decimal("113.95") <= s.longitude <= Decimal("114.45") for s in stations)
    assert all(s.village in s.villages_served and s.phone for s in stations)
    assert [s.code for s in stations if s.is_demonstration] == [
        "ST-AZ-01",
        "ST-CN-01",
        "ST-DG-02",
        "ST-LB-02",
        "ST-MS-01",
        "ST-TP-01",
    ]

    users = {u.username: u for u in await db_session.scalars(select(User))}
    operator_station = await db_session.get(Station, users["operator"].station_id)
    assert operator_station is not None and operator_station.is_demonstration is True
    clerk_store = await db_session.get(Store, users["clerk"].store_id)
    assert clerk_store is not None and clerk_store.code == "STORE-01"
    # STORE-01 has a till to enrol and a manager; clerk and manager sign in there with the demo PIN.
    till = await db_session.scalar(select(Till).where(Till.store_id == clerk_store.id))
    assert till is not None and (till.code, till.sale_prefix) == ("T1", "S01A")
    managed = await db_session.scalar(select(StoreManager).where(StoreManager.user_id == users["manager"].id))
    assert managed is not None and managed.store_id == clerk_store.id
    assert verify_password(users["clerk"].pin_hash, DEMO_PIN) and verify_password(users["manager"].pin_hash, DEMO_PIN)
    buyer_company = await db_session.get(BuyerCompany, users["buyer"].company_id)
    assert buyer_company is not None
    assert (buyer_company.name, buyer_company.status) == (JIANGNAN, CompanyStatus.approved)
    company_list = await db_session.scalar(select(PriceList).where(PriceList.company_id == buyer_company.id))
    assert company_list is not None
    assert (company_list.code, company_list.kind) == ("company-gz-jiangnan", PriceListKind.company)
    # The demo buyer owns its company, which has terms, delivery days and a Guangzhou address.
    assert users["buyer"].is_company_owner is True
    assert (buyer_company.payment_terms, buyer_company.credit_limit_minor) == (PaymentTerms.net_30, 50_000_000)
    assert buyer_company.delivery_weekdays == [2, 5]
    addresses = list(
        await db_session.scalars(select(DeliveryAddress).where(DeliveryAddress.company_id == buyer_company.id))
    )
    assert [(a.city, a.receiving_hours) for a in addresses] == [("广州", "05:00–09:00")]

    companies = list(await db_session.scalars(select(BuyerCompany)))
    assert {c.city for c in companies} == {"广州", "深圳", "佛山", "东莞"}
    for company in companies:
        assert company.credit_code is not None
        assert re.fullmatch(r"[0-9A-HJ-NPQRTUWXY]{18}", company.credit_code)
        assert uscc.is_valid(company.credit_code)
        assert (company.approved_at is not None) == (company.status is CompanyStatus.approved)
    phones = (
        [c.contact_phone for c in companies]
        + [s.phone for s in stations]
        + [u.phone for u in users.values()]
        + list(await db_session.scalars(select(Supplier.contact_phone)))
    )
    for phone in phones:
        assert phone is not None and phone.startswith("+86")
        assert phonenumbers.is_valid_number(phonenumbers.parse(phone)), phone

    for certs in [
        *await db_session.scalars(select(Product.certifications)),
        *await db_session.scalars(select(Supplier.certifications)),
    ]:
        for cert in certs:
            assert Certification.model_validate(cert).number.startswith("DEMO-")


async def test_demo_routes_cover_every_station_once(db_session: AsyncSession, uploads: Path) -> None:
    """Five routes from the county warehouse; every station on exactly one, stops numbered 1..n
    and each route's stops nearest-neighbour from the warehouse (each hop is to the closest
    station of that route not yet visited)."""
    from app.stations.routing import haversine_km

    await seed_demo(db_session, uploads_dir=uploads)

    stations = {s.id: s for s in await db_session.scalars(select(Station))}
    routes = {r.id: r for r in await db_session.scalars(select(DeliveryRoute))}
    assert sorted(r.code for r in routes.values()) == ["RT-01", "RT-02", "RT-03", "RT-04", "RT-05"]
    stops = list(await db_session.scalars(select(RouteStop).order_by(RouteStop.route_id, RouteStop.position)))
    assert sorted(s.station_id for s in stops) == sorted(stations)
    by_route: dict[str, list[Station]] = {}
    for stop in stops:
        by_route.setdefault(routes[stop.route_id].code, []).append(stations[stop.station_id])
    for code, ordered in by_route.items():
        positions = [s.position for s in stops if routes[s.route_id].code == code]
        assert positions == list(range(1, len(ordered) + 1))
        here = (24.95, 114.07)
        for i, station in enumerate(ordered):
            rest = ordered[i:]
            nearest = min(haversine_km(*here, float(s.latitude), float(s.longitude)) for s in rest)
            assert haversine_km(*here, float(station.latitude), float(station.longitude)) == nearest
            here = (float(station.latitude), float(station.longitude))
    assert {s.township for s in by_route["RT-05"]} == {"太平镇", "城南镇"}
    assert len(by_route["RT-02"]) == 11


async def test_demo_prices_are_consistent(db_session: AsyncSession, uploads: Path) -> None:
    await seed_demo(db_session, uploads_dir=uploads)

    variants = {v.sku: v for v in await db_session.scalars(select(Variant))}
    assert all(re.fullmatch(r"[A-Z0-9][A-Z0-9-]*", sku) for sku in variants)
    # Inactive variants are never sold over a counter: the hidden event-ticket variants (app.events).
    packaged = [v for v in variants.values() if v.is_active and not Unit(v.unit).is_weight]
    assert all(v.barcode and v.barcode.startswith("69") and ean.is_valid(v.barcode) for v in packaged)
    weighed = {sku for sku, v in variants.items() if Unit(v.unit).is_weight}
    assert weighed == {"NLP-LOQ-A-JIN", "NLP-BAY-JIN", "NLP-PEAR-KG", "NLP-TARO-KG", "NLP-SWP-KG"}

    retail = await _items(db_session, "retail")
    assert (retail["NLP-TARO-KG"].min_quantity, retail["NLP-TARO-KG"].increment) == (Decimal("0.500"), Decimal("0.001"))
    assert (retail["NLP-LOQ-A-JIN"].min_quantity, retail["NLP-LOQ-A-JIN"].increment) == (
        Decimal("1.000"),
        Decimal("0.100"),
    )

    for sku, item in (await _items(db_session, "wholesale")).items():
        pack = Decimal(variants[sku].case_pack)
        assert item.increment == pack
        assert item.min_quantity >= 2 * pack and item.min_quantity % pack == 0
        prices = [item.unit_price_minor] + [t.unit_price_minor for t in item.tiers]
        assert len(item.tiers) == 2 and prices == sorted(prices, reverse=True)
        assert all(t.min_quantity > item.min_quantity and t.min_quantity % pack == 0 for t in item.tiers)

    # The pricing function reads the demo lists: a weighed sale, a wholesale tier, the company price.
    taro = await price_line(db_session, "NLP-TARO-KG", "1.235", channel=SalesChannel.shop)
    assert (taro.unit_price_minor, taro.line_total_minor) == (760, 939)
    loquat = await price_line(db_session, "NLP-LOQ-A-5KG", "100", channel=SalesChannel.wholesale)
    assert (loquat.unit_price_minor, loquat.rule.price_list_code) == (11800, "wholesale")
    company_id = await db_session.scalar(select(BuyerCompany.id).where(BuyerCompany.name == JIANGNAN))
    agreed = await price_line(db_session, "NLP-LOQ-A-5KG", "100", channel=SalesChannel.wholesale, company_id=company_id)
    assert (agreed.unit_price_minor, agreed.rule.price_list_code) == (11200, "company-gz-jiangnan")


async def test_demo_stock_is_received_as_lots(db_session: AsyncSession, uploads: Path) -> None:
    await seed_demo(db_session, uploads_dir=uploads)

    locations = {loc.code: loc for loc in await db_session.scalars(select(Location))}
    assert locations["WH-SX"].kind is LocationKind.warehouse
    assert locations["WH-SX"].name == "始兴县电商公共服务中心仓库"
    store = await db_session.scalar(select(Store).where(Store.code == "STORE-01"))
    assert store is not None and locations["STORE-01"].store_id == store.id
    station = await db_session.scalar(select(Station).where(Station.code == "ST-TP-01"))
    assert station is not None
    assert (locations["ST-TP-01"].kind, locations["ST-TP-01"].station_id) == (LocationKind.station, station.id)
    assert sum(1 for loc in locations.values() if loc.kind is LocationKind.station) == 36

    # In April 14 variants have 1–3 lots in the warehouse, each with a demo certificate number.
    lots = list(await db_session.scalars(select(Lot)))
    per_variant = Counter(lot.variant_id for lot in lots)
    assert len(per_variant) == 14 and set(per_variant.values()) <= {1, 2, 3}
    assert all(lot.certificate_no.startswith("DEMO-HG-") for lot in lots)
    assert all(lot.received_location_id == locations["WH-SX"].id for lot in lots)
    today = clock.today()
    skus = {v.id: v.sku for v in await db_session.scalars(select(Variant))}
    # The lots page shows one loquat lot past its best-before and a sweet potato lot on its last day.
    assert [skus[lot.variant_id] for lot in lots if lot.best_before < today] == ["NLP-LOQ-A-2500G"]
    assert [skus[lot.variant_id] for lot in lots if today <= lot.best_before <= today + timedelta(days=1)] == [
        "NLP-SWP-KG"
    ]

    # The store delivery: shipped and received, the honey line one jar short with its reason.
    transfer = await db_session.scalar(select(Transfer))
    assert transfer is not None and transfer.status.value == "received"
    lines = list(await db_session.scalars(select(TransferLine).where(TransferLine.transfer_id == transfer.id)))
    short = [
        (line.quantity_shipped, line.quantity_received, line.difference_reason)
        for line in lines
        if line.difference_reason
    ]
    assert short == [(Decimal(12), Decimal(11), "运输途中破损 1 瓶（演示）")]
    spoiled = list(
        await db_session.scalars(select(StockLedgerEntry).where(StockLedgerEntry.kind == LedgerKind.spoilage))
    )
    assert [e.on_hand_delta for e in spoiled] == [Decimal(-1)]

    # On hand figures are the ledger summed (invariant 4), including the demo's own movements.
    assert await supply_repository.rebuilt_levels(db_session) == await supply_repository.stored_levels(db_session)
    store_stock = await supply_repository.stock_rows(db_session, location_id=locations["STORE-01"].id)
    assert sorted(level.on_hand for level, _, _ in store_stock) == [Decimal(11), Decimal(12), Decimal(20), Decimal(20)]


async def test_demo_crossborder_listings(db_session: AsyncSession, uploads: Path) -> None:
    await seed_demo(db_session, uploads_dir=uploads)
    rows = (await db_session.scalars(select(Listing).order_by(Listing.model_number))).all()
    variants = {vid: sku for vid, sku in (await db_session.execute(select(Variant.id, Variant.sku))).all()}
    assert [(r.model_number, variants[r.variant_id], r.state) for r in rows] == [
        ("NLP-XB-HONEY-500G", "NLP-HONEY-500G", ListingState.not_connected),
        ("NLP-XB-LOQ-A-5KG", "NLP-LOQ-A-5KG", ListingState.not_connected),
        ("NLP-XB-TEA-250G", "NLP-TEA-250G", ListingState.not_connected),
    ]
    # Shipped complete: an ICBU leaf category (honey, loquats, green tea) and the product's picture.
    assert [r.category_id for r in rows] == ["100002721", "100003013", "100002683"]
    for row in rows:
        assert row.remote_product_id is None and row.synced_content_version == 0
        assert row.price_tiers[0]["min_quantity"] == row.moq
        assert validate_listing(row) == []
        picture = await db_session.scalar(select(ProductImage.path).where(ProductImage.product_id == row.product_id))
        assert row.image_paths == [picture] and (uploads / row.image_paths[0]).is_file()
    assert [t["price_cents"] for t in rows[1].price_tiers] == [1980, 1850, 1720]


async def test_an_earlier_demo_listing_is_completed_unless_edited(db_session: AsyncSession, uploads: Path) -> None:
    """A database loaded by the demo before it shipped categories and pictures: running the seeder
    again completes the listings nobody has touched, and leaves an edited one as the team left it."""
    await seed_demo(db_session, uploads_dir=uploads)
    rows = {r.model_number: r for r in await db_session.scalars(select(Listing))}
    for row in rows.values():
        row.category_id, row.image_paths = None, []
    rows["NLP-XB-TEA-250G"].content_version = 2  # edited in the console since
    await db_session.flush()

    await seed_demo(db_session, uploads_dir=uploads)

    await db_session.refresh(rows["NLP-XB-LOQ-A-5KG"])
    await db_session.refresh(rows["NLP-XB-TEA-250G"])
    assert rows["NLP-XB-LOQ-A-5KG"].category_id == "100003013"
    assert validate_listing(rows["NLP-XB-LOQ-A-5KG"]) == []
    assert (rows["NLP-XB-TEA-250G"].category_id, rows["NLP-XB-TEA-250G"].image_paths) == (None, [])


async def test_every_demo_product_has_a_drawn_picture_and_a_thumbnail(db_session: AsyncSession, uploads: Path) -> None:
    await seed_demo(db_session, uploads_dir=uploads)

    # The hidden event-ticket product (app.events) is never listed: it has no picture.
    products = {p.id: p for p in await db_session.scalars(select(Product).where(Product.is_active))}
    images = list(await db_session.scalars(select(ProductImage).order_by(ProductImage.product_id)))
    assert sorted(i.product_id for i in images) == sorted(products)  # one each
    for image in images:
        name = products[image.product_id].name_zh
        assert image.alt_zh == f"{name}（示意插图）"  # labelled as a drawing, like all invented data
        assert image.path.startswith(f"products/{image.product_id}/") and image.path.endswith(".jpg")
        assert image.thumb_path is not None and image.thumb_path == image.path[: -len(".jpg")] + "-480.jpg"
        original, thumb = uploads / image.path, uploads / image.thumb_path
        assert (image.content_type, image.width, image.height) == ("image/jpeg", 960, 720)
        assert image.byte_size == original.stat().st_size
        with Image.open(original) as drawn:
            assert (drawn.format, drawn.size) == ("JPEG", (960, 720))
            assert "exif" not in drawn.info and "icc_profile" not in drawn.info  # through the upload cleaner
        with Image.open(thumb) as small:
            assert (small.format, small.size) == ("JPEG", (480, 360))
        # Light enough for a list page: the thumbnail a list shows is a small fraction of the original.
        assert original.stat().st_size < 120_000 and thumb.stat().st_size < 40_000
    # Drawn, not copied: the pictures differ from one product to the next.
    assert len({(uploads / i.path).read_bytes() for i in images}) == len(images)

    again = await seed_demo(db_session, uploads_dir=uploads)
    assert "product_images 11" in again.split("already present:")[1]
    assert await _count(db_session, ProductImage) == 11


LOTS_IN_APRIL = {
    "NLP-LOQ-S-2500G": ["2026-04-13"],
    "NLP-LOQ-S-5KG": ["2026-04-13"],
    "NLP-LOQ-A-2500G": ["2026-04-06", "2026-04-14"],
    "NLP-LOQ-A-5KG": ["2026-04-11", "2026-04-14"],
    "NLP-LOQ-A-JIN": ["2026-04-14"],
    # Out of season since February: what was dug in February and keeps 60 days is still here.
    "NLP-SWP-KG": ["2026-02-14"],
    "NLP-SWP-5KG": ["2026-02-19"],
    # Made last winter (cured meats keep 180 days).
    "NLP-SAUS-500G": ["2025-11-25", "2026-01-24"],
    "NLP-BACON-500G": ["2025-12-30"],
    "NLP-RICE-5KG": ["2026-02-24"],
    "NLP-RICE-10KG": ["2025-11-16", "2026-02-24"],
    "NLP-TEA-250G": ["2025-09-17", "2026-03-06"],
    "NLP-HONEY-500G": ["2025-12-16"],
    "NLP-BSH-500G": ["2025-09-27", "2026-02-14"],
}
LOTS_IN_DECEMBER = {
    "NLP-TARO-KG": ["2026-11-30"],
    "NLP-TARO-10KG": ["2026-11-10", "2026-12-02"],
    "NLP-SWP-KG": ["2026-11-26"],
    "NLP-SWP-5KG": ["2026-10-31", "2026-12-01"],
    # The 95-day-old sausage lot would date from September, before the curing season.
    "NLP-SAUS-500G": ["2026-11-05"],
    "NLP-BACON-500G": ["2026-10-11"],
    "NLP-RICE-5KG": ["2026-10-21"],
    "NLP-RICE-10KG": ["2026-07-13", "2026-10-21"],
    "NLP-TEA-250G": ["2026-05-14", "2026-10-31"],
    "NLP-HONEY-500G": ["2026-08-12"],
    "NLP-BSH-500G": ["2026-05-24", "2026-10-11"],
}


@pytest.mark.parametrize(
    ("at", "expected", "expired"),
    [(APRIL, LOTS_IN_APRIL, ["NLP-LOQ-A-2500G"]), (DECEMBER, LOTS_IN_DECEMBER, [])],
    ids=["april", "december"],
)
async def test_demo_lots_follow_the_season(
    db_session: AsyncSession, uploads: Path, at: datetime, expected: dict[str, list[str]], expired: list[str]
) -> None:
    with clock.pinned(at):
        await seed_demo(db_session, uploads_dir=uploads)
        today = clock.today()
    rows = sorted(
        (
            await db_session.execute(
                select(Variant.sku, Lot.harvest_date, Lot.best_before, Product.season_months)
                .join(Lot, Lot.variant_id == Variant.id)
                .join(Product, Product.id == Variant.product_id)
            )
        ).all()
    )
    found: dict[str, list[str]] = {}
    for sku, harvested, _, season in rows:
        found.setdefault(sku, []).append(harvested.isoformat())
        assert not season or harvested.month in season, sku  # picked (or made) in its season
    assert found == expected
    # Past its best-before only the loquat lot left on hand for the lots page, in loquat season.
    assert [sku for sku, _, best_before, _ in rows if best_before < today] == expired


async def test_the_shop_lists_the_pictures_as_light_thumbnails(
    db_session: AsyncSession, settings: Settings, client: httpx.AsyncClient
) -> None:
    """Every card on the home page shows its product's 480 px thumbnail, loaded lazily with its
    size declared; the thumbnails are served and together stay small."""
    await seed_demo(db_session, uploads_dir=settings.uploads_dir)
    home = (await client.get("/")).text
    images = re.findall(r'<img class="thumb" ([^>]*)>', home)
    assert len(images) == 11 and "thumb ph" not in home  # no coloured placeholder tile left
    total = 0
    for attributes in images:
        src = re.search(r'src="([^"]+)"', attributes)
        assert src is not None and re.fullmatch(r"/media/products/\d+/[0-9a-f]{32}-480\.jpg", src[1])
        assert 'loading="lazy"' in attributes and 'width="480" height="360"' in attributes
        assert re.search(r'alt="[^"]+（示意插图）"', attributes)
        served = await client.get(src[1])
        assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
        total += len(served.content)
    assert total < 11 * 40_000


def _home_sections(html: str) -> dict[str, str]:
    """The shop home page's sections by heading id (h-in-season, h-coming, h-year-round)."""
    parts = re.findall(r'<section class="section" aria-labelledby="([\w-]+)">(.*?)</section>', html, re.S)
    return dict(parts)


def _card(section: str, name: str) -> str:
    [card] = [c for c in re.findall(r'<li class="card">.*?</li>', section, re.S) if name in c]
    return card


async def test_out_of_season_fresh_fruit_is_not_sold_in_december(
    db_session: AsyncSession, uploads: Path, client: httpx.AsyncClient
) -> None:
    """Fresh loquat (March–May) in December: no lot, so not "现货" but coming in March and sold
    out; taro, in season, and the year-round rice are in stock."""
    with clock.pinned(DECEMBER):
        await seed_demo(db_session, uploads_dir=uploads)
        loquat = (await client.get("/api/v1/products/shixing-loquat")).json()
        taro = (await client.get("/api/v1/products/shixing-taro")).json()
        home = (await client.get("/")).text
    assert loquat["in_season"] is False
    assert {v["sku"]: v["stock_state"] for v in loquat["variants"]} == dict.fromkeys(
        ["NLP-LOQ-S-2500G", "NLP-LOQ-S-5KG", "NLP-LOQ-A-2500G", "NLP-LOQ-A-5KG", "NLP-LOQ-A-JIN"], "out_of_stock"
    )
    assert taro["in_season"] is True and {v["stock_state"] for v in taro["variants"]} == {"in_stock"}

    sections = _home_sections(home)
    assert "始兴枇杷" not in sections["h-in-season"]
    loquat_card = _card(sections["h-coming"], "始兴枇杷")
    assert "3月上市" in loquat_card and "售罄" in loquat_card and "现货" not in loquat_card
    assert "现货" in _card(sections["h-in-season"], "始兴香芋")
    assert "现货" in _card(sections["h-year-round"], "始兴丝苗米")
