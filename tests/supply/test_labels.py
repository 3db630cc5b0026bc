"""Lot labels: a 70 × 50 mm PDF whose QR opens the trace page and whose Code128 is the lot code,
checked by rendering the page and decoding it as a scanner would."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx
import pypdfium2 as pdfium
import pytest
import zxingcpp
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.config import Settings
from app.kit import clock
from app.supply import errors, labels, service
from app.supply.models import Lot
from tests.fixtures.builders import (
    auth,
    ensure_warehouse,
    make_product,
    make_supplier,
    make_user,
    make_variant,
    receive,
    token_for,
)

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
MM = 72 / 25.4


async def loquat_lot(session: AsyncSession) -> Lot:
    product = await make_product(session, name_zh="始兴枇杷", name_en="Shixing Loquat", shelf_life_days=10)
    variant = await make_variant(session, product=product, name_zh="特级鲜果 5 千克礼盒", grade="特级")
    supplier = await make_supplier(
        session,
        name="始兴县太平镇东湖坪枇杷种植专业合作社",
        township="太平镇",
        village="东湖坪村",
        contact_name="李永红",
        contact_phone="+8613902201001",
    )
    return await receive(session, variant, "40", supplier=supplier)


def decode(pdf: bytes, name: str) -> tuple[tuple[float, float], str, dict[str, list[str]]]:
    """Page size (points), page text, and every barcode found at 300 dpi, by format."""
    document = pdfium.PdfDocument(pdf)
    try:
        assert len(document) == 1
        page = document[0]
        size = page.get_size()
        textpage = page.get_textpage()
        text = textpage.get_text_range()
        image = page.render(scale=300 / 72).to_pil()
        textpage.close()
        page.close()
    finally:
        document.close()
    OUTPUT.mkdir(exist_ok=True)
    image.save(OUTPUT / name)
    found: dict[str, list[str]] = {}
    for barcode in zxingcpp.read_barcodes(image):
        found.setdefault(str(barcode.format), []).append(barcode.text)
    return size, text, found


async def test_label_pdf_scans_as_trace_url_and_lot_code(db_session: AsyncSession) -> None:
    lot = await loquat_lot(db_session)
    info = await labels.lot_label(db_session, lot.code, base_url="https://trace.example.cn/")
    assert info.trace_url == f"https://trace.example.cn/t/{lot.code}"
    assert (info.product_name_zh, info.grade, info.certificate_no) == ("始兴枇杷", "特级", "HG-TEST-1")

    size, text, found = decode(labels.lot_label_pdf(info), "lot-label.png")

    assert size[0] == pytest.approx(70 * MM, abs=0.01) and size[1] == pytest.approx(50 * MM, abs=0.01)
    assert found.get(str(zxingcpp.BarcodeFormat.QRCode)) == [info.trace_url]
    assert found.get(str(zxingcpp.BarcodeFormat.Code128)) == [lot.code]
    flat = text.replace("\r", "").replace("\n", "")
    for shown in ("南岭明珠", "始兴枇杷", "特级鲜果 5 千克礼盒", "太平镇东湖坪村", "HG-TEST-1", lot.code):
        assert shown in flat
    assert lot.harvest_date.isoformat() in flat and lot.best_before.isoformat() in flat
    # The grower's name may wrap onto a second line, but all of it is there.
    assert "始兴县太平镇东湖坪枇杷种植专业合作社" in flat
    # The label is for the public: the grower's contact person and phone are not on it.
    assert "李永红" not in flat and "13902201001" not in flat


def test_long_names_stay_clear_of_the_codes() -> None:
    """A long product name wraps and a long grower name is cut, never drawn over the QR code."""
    info = labels.LotLabel(
        code="LT260101-ABCDEF",
        product_name_zh="始兴县深渡水瑶族乡野生山茶油（古法压榨一级）",
        variant_name_zh="特级 500 毫升玻璃瓶装礼盒（两瓶装）",
        grade="特级",
        supplier_name="始兴县深渡水瑶族乡大坪村瑶山野生山茶油加工专业合作社联合社",
        township="深渡水瑶族乡",
        village="大坪村",
        harvest_date=date(2026, 1, 1),
        best_before=date(2026, 12, 31),
        certificate_no="HGZ-440222-2026-000123456",
        trace_url="https://www.nanlingpearl.example.cn/t/LT260101-ABCDEF",
    )
    _, _, found = decode(labels.lot_label_pdf(info), "lot-label-long.png")
    assert found.get(str(zxingcpp.BarcodeFormat.QRCode)) == [info.trace_url]
    assert found.get(str(zxingcpp.BarcodeFormat.Code128)) == [info.code]


async def test_the_label_of_a_grower_exception_lot_names_a_source_not_a_grower(db_session: AsyncSession) -> None:
    product = await make_product(db_session, name_zh="瑶山百花蜜", shelf_life_days=540)
    variant = await make_variant(db_session, product=product, name_zh="500 克瓶装")
    dealer = await make_supplier(db_session, name="满堂竹笋专业合作社", township="隘子镇", village="满堂村")
    keeper = await make_user(db_session, Role.warehouse)
    await ensure_warehouse(db_session)
    lot = await service.receive_lot(
        db_session,
        service.ReceiptInput(
            sku=variant.sku,
            supplier_code=dealer.code,
            quantity=Decimal(12),
            harvest_date=clock.today(),
            grower_exception=True,
            grower_exception_reason="邻村蜂农托收",
        ),
        actor_user_id=keeper.id,
    )
    grown = await loquat_lot(db_session)

    info = await labels.lot_label(db_session, lot.code, base_url="https://trace.example.cn")
    _, text, _ = decode(labels.lot_label_pdf(info), "lot-label-exception.png")
    _, grown_text, _ = decode(labels.lot_label_pdf(await labels.lot_label(db_session, grown.code)), "lot-label-2.png")

    flat = text.replace("\r", "").replace("\n", "")
    assert "供货方（经销/代收）：满堂竹笋专业合作社" in flat and "所在地：始兴县隘子镇满堂村" in flat
    # Not called the grower; the reason is for the warehouse, not for the package.
    assert "生产者" not in flat and "产地：" not in flat and "邻村蜂农托收" not in flat
    grown_flat = grown_text.replace("\r", "").replace("\n", "")
    assert "生产者：" in grown_flat and "产地：" in grown_flat and "供货方" not in grown_flat


async def test_label_of_unknown_lot(db_session: AsyncSession) -> None:
    with pytest.raises(errors.LotNotFound):
        await labels.lot_label(db_session, "LT000000-NOSUCH")


async def test_label_route_access(client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings) -> None:
    lot = await loquat_lot(db_session)
    url = f"/api/v1/admin/lots/{lot.code}/label.pdf"
    staff = auth(await token_for(db_session, await make_user(db_session, Role.warehouse)))
    clerk = auth(await token_for(db_session, await make_user(db_session, Role.clerk)))
    customer = auth(await token_for(db_session, await make_user(db_session, Role.customer)))

    response = await client.get(url, headers=staff)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == f'inline; filename="lot-{lot.code}.pdf"'
    _, _, found = decode(response.content, "lot-label-route.png")
    # The app's own PUBLIC_BASE_URL goes into the QR code.
    assert found.get(str(zxingcpp.BarcodeFormat.QRCode)) == [f"{settings.public_base_url}/t/{lot.code}"]

    # The back office and station operators (upstream lots) print labels; a till does not.
    assert (await client.get(url, headers=clerk)).status_code == 403
    anonymous = await client.get(url)
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "not_authenticated"
    refused = await client.get(url, headers=customer)
    assert refused.status_code == 403 and refused.json()["error"] == "role_not_allowed"
    missing = await client.get("/api/v1/admin/lots/LT000000-NOSUCH/label.pdf", headers=staff)
    assert missing.status_code == 404 and missing.json()["error"] == "lot_not_found"
