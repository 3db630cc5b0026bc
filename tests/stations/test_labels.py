"""Parcel labels and the dispatch manifest: rendered to pixels and read back as a scanner and a
person would — the Code128 and the QR code decode to the tracking number, the text says where the
box goes and who may collect it, and never the recipient's full name or phone number."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx
import pypdfium2 as pdfium
import pytest
import zxingcpp
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.channels import SalesChannel
from app.config import get_settings
from app.kit.errors import InvalidInput
from app.orders.models import DeliveryMethod, Order, OrderLine, OrderStatus, PaymentMethod, PaymentStatus
from app.stations import errors, labels
from app.stations.models import DeliveryRoute, DispatchRun, Parcel, ParcelStatus, RouteStop, Station
from app.supply.models import Location
from tests.fixtures.builders import auth, ensure_warehouse, make_station, make_user, make_variant, seq, token_for

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
MM = 72 / 25.4
RUN_DATE = date(2026, 11, 29)


@dataclass
class World:
    route: DeliveryRoute
    run: DispatchRun
    stations: list[Station]  # in stop order
    parcels: list[Parcel]  # one per station, created in reverse stop order
    orders: list[Order]


async def make_order(
    session: AsyncSession,
    station: Station,
    location: Location,
    *,
    name: str,
    phone: str,
    total: int,
    pay_at_pickup: bool,
    lines: int = 1,
) -> Order:
    n = seq()
    order = Order(
        number=f"NP26112900{n:04d}",
        channel=SalesChannel.shop,
        status=OrderStatus.confirmed,
        payment_status=PaymentStatus.unpaid if pay_at_pickup else PaymentStatus.paid,
        contact_name=name,
        contact_phone=phone,
        delivery_method=DeliveryMethod.station_pickup,
        station_id=station.id,
        payment_method=PaymentMethod.pay_at_pickup if pay_at_pickup else PaymentMethod.stripe,
        currency="CNY",
        subtotal_minor=total,
        delivery_fee_minor=0,
        total_minor=total,
        paid_minor=0 if pay_at_pickup else total,
        location_id=location.id,
    )
    session.add(order)
    await session.flush()
    for i in range(lines):
        variant = await make_variant(session, name_zh=f"始兴枇杷 特级 5 千克礼盒{i + 1}")
        session.add(
            OrderLine(
                order_id=order.id,
                variant_id=variant.id,
                sku=variant.sku,
                name_zh=variant.name_zh,
                unit="box",
                quantity=Decimal(2),
                unit_price_minor=total // (2 * lines),
                line_total_minor=total // lines,
                price_list="retail",
                price_rule="base",
            )
        )
    await session.flush()
    return order


async def make_world(session: AsyncSession) -> World:
    n = seq()
    stations = [
        await make_station(
            session, code=f"ST-L{n}-{i}", name=f"{village}电商物流服务站", village=village, township=town
        )
        for i, (town, village) in enumerate((("太平镇", "东湖坪村"), ("城南镇", "东风村"), ("城南镇", "石下村")), 1)
    ]
    route = DeliveryRoute(code=f"RT-L{n}", name="城区线 太平—城南")
    session.add(route)
    await session.flush()
    for position, station in enumerate(stations, start=1):
        session.add(RouteStop(route_id=route.id, station_id=station.id, position=position))
    run = DispatchRun(number=f"RUN-L{n}-261129", route_id=route.id, run_date=RUN_DATE)
    session.add(run)
    await session.flush()
    warehouse = await ensure_warehouse(session)
    people = (
        ("李小红", "+8613800138000", 15885, True, 4),
        ("王五", "+8613900001234", 5000, False, 1),
        ("欧阳明月", "+8613711112222", 9900, True, 2),
    )
    orders, parcels = [], []
    # Parcels are packed in reverse stop order; the run's labels and manifest come out in stop order.
    for index in reversed(range(3)):
        name, phone, total, cod, lines = people[index]
        order = await make_order(
            session, stations[index], warehouse, name=name, phone=phone, total=total, pay_at_pickup=cod, lines=lines
        )
        parcel = Parcel(
            tracking_number=f"NPP261129{n % 1000:03d}{index:04d}",
            order_id=order.id,
            station_id=stations[index].id,
            route_id=route.id,
            run_id=run.id,
            status=ParcelStatus.packed,
        )
        session.add(parcel)
        await session.flush()
        orders.insert(0, order)
        parcels.insert(0, parcel)
    return World(route, run, stations, parcels, orders)


@dataclass
class Page:
    size: tuple[float, float]
    text: str
    codes: dict[str, list[str]]


def read_pdf(pdf: bytes, name: str, *, dpi: int = 203) -> list[Page]:
    """Every page's size (points), text and barcodes; the pages are saved as PNG under
    test-output/ (rendered at the thermal printer's 203 dpi unless told otherwise)."""
    OUTPUT.mkdir(exist_ok=True)
    document = pdfium.PdfDocument(pdf)
    pages = []
    try:
        for index in range(len(document)):
            page = document[index]
            textpage = page.get_textpage()
            text = textpage.get_text_range()
            image = page.render(scale=dpi / 72).to_pil()
            textpage.close()
            size = page.get_size()
            page.close()
            image.save(OUTPUT / (f"{name}.png" if len(document) == 1 else f"{name}-{index + 1}.png"))
            codes: dict[str, list[str]] = {}
            for barcode in zxingcpp.read_barcodes(image):
                codes.setdefault(str(barcode.format), []).append(barcode.text)
            pages.append(Page(size, text.replace("\r", "").replace("\n", ""), codes))
    finally:
        document.close()
    return pages


CODE128 = str(zxingcpp.BarcodeFormat.Code128)
QR = str(zxingcpp.BarcodeFormat.QRCode)


async def test_label_scans_as_the_tracking_number_and_masks_the_recipient(db_session: AsyncSession) -> None:
    world = await make_world(db_session)
    first = world.parcels[0]

    found = await labels.parcel_labels(db_session, tracking_numbers=[first.tracking_number.lower() + " "])

    assert len(found) == 1
    info = found[0]
    assert (info.recipient, info.phone_last4, info.amount_due_minor, info.line_count) == ("李**", "8000", 15885, 4)
    assert (info.route_code, info.stop_position, info.stop_count, info.dispatch_date) == (
        world.route.code,
        1,
        3,
        RUN_DATE,
    )
    # "扫码查件": the QR code opens the parcel's public status page (PUBLIC_BASE_URL by default).
    assert info.status_url == f"{get_settings().public_base_url}/p/{first.tracking_number}"
    [page] = read_pdf(labels.parcel_label_pdf(found), "parcel-label")
    assert page.size[0] == pytest.approx(100 * MM, abs=0.01) and page.size[1] == pytest.approx(150 * MM, abs=0.01)
    assert page.codes == {CODE128: [first.tracking_number], QR: [info.status_url]}
    assert "扫码查件" in page.text
    for shown in (
        "南岭明珠",
        "东湖坪村电商物流服务站",
        world.stations[0].code,
        "太平镇",
        "东湖坪村",
        world.route.code,
        "第 1 站 / 共 3 站",
        first.tracking_number,
        world.orders[0].number,
        "李**",
        "尾号 8000",
        "共 4 种",
        "到付 ¥158.85",
        "发车 2026-11-29",
    ):
        assert shown in page.text, shown
    # Four lines, three printed: the rest is counted, not dropped silently.
    assert "另有 1 种" in page.text
    # The box travels and waits on an open shelf: no full name, no full phone number.
    assert "李小红" not in page.text and "小红" not in page.text
    assert "13800138000" not in page.text and "138001" not in page.text


async def test_paid_order_and_long_names_still_scan(db_session: AsyncSession) -> None:
    world = await make_world(db_session)
    paid = world.parcels[1]
    [info] = await labels.parcel_labels(
        db_session, tracking_numbers=[paid.tracking_number], base_url="https://shop.example.cn/"
    )
    assert (info.recipient, info.phone_last4, info.amount_due_minor) == ("王*", "1234", 0)
    assert info.status_url == f"https://shop.example.cn/p/{paid.tracking_number}"
    long = labels.ParcelLabel(
        tracking_number="NPP2611299999999",
        order_number="NP2611290000001",
        station_code="ST-SDS-02",
        station_name="深渡水瑶族乡大坪村瑶山电子商务物流综合服务站（示范点）",
        township="深渡水瑶族乡",
        village="大坪村瑶山自然村第三村民小组",
        route_code="RT-03",
        route_name="西南线 马市—深渡水（经马市镇红梨村、寨头村、黄所村，往返约 96 公里山路）",
        stop_position=12,
        stop_count=12,
        recipient=labels.mask_name("欧阳明月"),
        phone_last4="2222",
        line_count=9,
        items=("始兴县深渡水瑶族乡野生山茶油（古法压榨一级）500 毫升玻璃瓶装礼盒 ×10瓶",) * 3,
        amount_due_minor=12345678,
        currency="CNY",
        dispatch_date=RUN_DATE,
        # A long public address still fits the QR box at a whole-dot module.
        status_url="https://nanling-pearl.shixing-county.example.gov.cn/p/NPP2611299999999",
    )
    pages = read_pdf(labels.parcel_label_pdf([info, long]), "parcel-label-paid-and-long")
    assert [p.codes for p in pages] == [
        {CODE128: [paid.tracking_number], QR: [info.status_url]},
        {CODE128: ["NPP2611299999999"], QR: [long.status_url]},
    ]
    assert "已付款" in pages[0].text and "到付" not in pages[0].text.replace("无需到付", "")
    assert "深渡水瑶族乡大坪村瑶山电子商务物流综合服务站（示范点）" in pages[1].text
    assert "欧***" in pages[1].text and "到付 ¥123,456.78" in pages[1].text and "另有 6 种" in pages[1].text


async def test_a_run_prints_one_page_per_parcel_in_stop_order(db_session: AsyncSession) -> None:
    world = await make_world(db_session)

    found = await labels.parcel_labels(db_session, run_number=world.run.number)

    assert [f.tracking_number for f in found] == [p.tracking_number for p in world.parcels]
    pages = read_pdf(labels.parcel_label_pdf(found), "parcel-labels-run")
    assert len(pages) == 3
    assert [p.codes[CODE128] for p in pages] == [[p.tracking_number] for p in world.parcels]
    assert [p.codes[QR] for p in pages] == [[f.status_url] for f in found]
    assert [f"第 {i} 站 / 共 3 站" in p.text for i, p in enumerate(pages, 1)] == [True, True, True]


async def test_label_requests_that_cannot_be_printed(db_session: AsyncSession) -> None:
    world = await make_world(db_session)
    with pytest.raises(errors.ParcelNotFound) as missing:
        await labels.parcel_labels(db_session, tracking_numbers=[world.parcels[0].tracking_number, "NPP000"])
    assert missing.value.detail == {"tracking_numbers": ["NPP000"]}
    with pytest.raises(errors.RunNotFound):
        await labels.parcel_labels(db_session, run_number="RUN-NOSUCH")
    for kwargs in ({}, {"run_number": world.run.number, "tracking_numbers": ["X"]}, {"tracking_numbers": [" "]}):
        with pytest.raises(InvalidInput):
            await labels.parcel_labels(db_session, **kwargs)  # type: ignore[arg-type]


async def test_manifest_lists_every_parcel_by_stop(db_session: AsyncSession) -> None:
    world = await make_world(db_session)
    quiet = await make_station(db_session, code=f"{world.stations[0].code}-Q", village="无件村")
    db_session.add(RouteStop(route_id=world.route.id, station_id=quiet.id, position=4))
    await db_session.flush()

    manifest = await labels.run_manifest(db_session, world.run.number)

    assert [s.station_code for s in manifest.stops] == [*(s.code for s in world.stations), quiet.code]
    assert [len(s.parcels) for s in manifest.stops] == [1, 1, 1, 0]
    assert (manifest.total_parcels, manifest.total_due_minor) == (3, 15885 + 9900)
    pages = read_pdf(labels.manifest_pdf(manifest), "run-manifest", dpi=110)
    assert len(pages) == 1
    assert pages[0].size[0] == pytest.approx(210 * MM, abs=0.5) and pages[0].size[1] == pytest.approx(297 * MM, abs=0.5)
    text = pages[0].text
    for shown in (world.run.number, world.route.code, "2026-11-29", "合计 3 件", "第 1 页 / 共 1 页", "本次无包裹"):
        assert shown in text, shown
    for parcel, order in zip(world.parcels, world.orders, strict=True):
        assert parcel.tracking_number in text and order.number in text
    positions = [text.index(s.code) for s in world.stations] + [text.index(quiet.code)]
    assert positions == sorted(positions)
    assert text.count("签收人") == 3  # one signature line per stop with parcels
    assert "李**" in text and "李小红" not in text and "13800138000" not in text


async def test_label_batch_render_time(db_session: AsyncSession) -> None:
    """Not a limit: prints how long 300 labels take (one canvas, barcodes drawn in place)."""
    world = await make_world(db_session)
    [info] = await labels.parcel_labels(db_session, tracking_numbers=[world.parcels[0].tracking_number])
    batch = [replace(info, tracking_number=f"NPP261129{i:07d}") for i in range(300)]
    labels.parcel_label_pdf(batch[:1])  # font registration and imports out of the measurement
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        pdf = labels.parcel_label_pdf(batch)
        timings.append(time.perf_counter() - started)
    assert len(pdfium.PdfDocument(pdf)) == 300
    report = (
        f"300 parcel labels: best {min(timings):.2f} s, worst {max(timings):.2f} s of 3 runs "
        f"({min(timings) / 300 * 1000:.1f} ms a label), {len(pdf) / 1024:.0f} KiB"
    )
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / "label-render-time.txt").write_text(report + "\n", encoding="utf-8")
    print(report)


async def test_document_routes(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    world = await make_world(db_session)
    keeper = auth(await token_for(db_session, await make_user(db_session, Role.warehouse)))
    customer = auth(await token_for(db_session, await make_user(db_session, Role.customer)))
    operator = auth(await token_for(db_session, await make_user(db_session, Role.station_operator)))
    tracking = ",".join(p.tracking_number for p in world.parcels[:2])

    by_tracking = await client.get(f"/api/v1/admin/parcels/labels.pdf?tracking={tracking}", headers=keeper)
    assert by_tracking.status_code == 200, by_tracking.text
    assert by_tracking.headers["content-type"] == "application/pdf"
    assert [p.codes[CODE128] for p in read_pdf(by_tracking.content, "parcel-labels-route")] == [
        [p.tracking_number] for p in world.parcels[:2]
    ]
    by_run = await client.get(f"/api/v1/admin/parcels/labels.pdf?run={world.run.number}", headers=keeper)
    assert by_run.status_code == 200 and len(pdfium.PdfDocument(by_run.content)) == 3
    assert by_run.headers["content-disposition"] == f'inline; filename="labels-{world.run.number}.pdf"'
    manifest = await client.get(f"/api/v1/admin/runs/{world.run.number}/manifest.pdf", headers=keeper)
    assert manifest.status_code == 200 and manifest.content.startswith(b"%PDF")

    neither = await client.get("/api/v1/admin/parcels/labels.pdf", headers=keeper)
    assert neither.status_code == 422 and neither.json()["error"] == "invalid_input"
    unknown = await client.get("/api/v1/admin/parcels/labels.pdf?tracking=NPP0000000000001", headers=keeper)
    assert unknown.status_code == 404 and unknown.json()["detail"] == {"tracking_numbers": ["NPP0000000000001"]}
    no_run = await client.get("/api/v1/admin/runs/RUN-NOSUCH/manifest.pdf", headers=keeper)
    assert no_run.status_code == 404 and no_run.json()["error"] == "run_not_found"
    for url in (
        f"/api/v1/admin/parcels/labels.pdf?run={world.run.number}",
        f"/api/v1/admin/runs/{world.run.number}/manifest.pdf",
    ):
        assert (await client.get(url)).status_code == 401
        for headers in (customer, operator):
            refused = await client.get(url, headers=headers)
            assert refused.status_code == 403 and refused.json()["error"] == "role_not_allowed"
