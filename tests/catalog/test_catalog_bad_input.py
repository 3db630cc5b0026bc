"""Bad input on every catalog write route: a 4xx with an error code, and nothing changed."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.catalog.models import PriceListKind
from app.kit.quantities import Unit
from tests.catalog.test_catalog_access import png_bytes
from tests.fixtures.builders import (
    auth,
    ensure_price_list,
    make_category,
    make_product,
    make_user,
    make_variant,
    set_price,
    token_for,
)

TABLES = [
    "categories",
    "products",
    "variants",
    "product_images",
    "price_lists",
    "price_list_items",
    "price_tiers",
    "outbox_messages",
]


async def snapshot(session: AsyncSession) -> dict[str, Any]:
    """Every row of every catalog table, so 'nothing changed' is checked on content, not counts."""
    state = {}
    for table in TABLES:
        rows = await session.execute(text(f"SELECT * FROM {table} ORDER BY id"))
        state[table] = [tuple(r) for r in rows]
    return state


@pytest.fixture
async def ctx(db_session: AsyncSession) -> dict[str, Any]:
    await ensure_price_list(db_session, "retail", PriceListKind.retail)
    category = await make_category(db_session, slug="fruit")
    product = await make_product(db_session, category=category, slug="loquat")
    variant = await make_variant(db_session, product=product, unit=Unit.box, sku="LOQ-BOX", barcode="6901234567892")
    await make_variant(db_session, product=product, unit=Unit.kg, sku="LOQ-KG")
    await set_price(db_session, "retail", variant, 6800)
    admin = await make_user(db_session, Role.admin)
    return {
        "headers": auth(await token_for(db_session, admin)),
        "category": category.id,
        "product": product.id,
        "variant": variant.id,
    }


VALID_PRODUCT = {
    "slug": "taro",
    "category_slug": "fruit",
    "name_zh": "香芋",
    "name_en": "Taro",
    "origin_township": "马市镇",
    "shelf_life_days": 30,
}
VALID_VARIANT = {"sku": "TARO-KG", "name_zh": "香芋 散装", "name_en": "Taro loose", "unit": "kg"}

CASES: list[tuple[str, str, str, dict[str, Any], int, str]] = [
    # (name, method, path template, body, status, error)
    (
        "category bad slug",
        "POST",
        "/api/v1/admin/categories",
        {"slug": "Bad Slug", "name_zh": "x", "name_en": "x"},
        422,
        "validation_error",
    ),
    (
        "category duplicate slug",
        "POST",
        "/api/v1/admin/categories",
        {"slug": "fruit", "name_zh": "x", "name_en": "x"},
        409,
        "slug_taken",
    ),
    (
        "category unknown field",
        "POST",
        "/api/v1/admin/categories",
        {"slug": "veg", "name_zh": "蔬菜", "name_en": "Veg", "colour": "red"},
        422,
        "validation_error",
    ),
    ("category empty name", "PATCH", "/api/v1/admin/categories/{category}", {"name_zh": ""}, 422, "validation_error"),
    ("category missing", "PATCH", "/api/v1/admin/categories/999999", {"name_zh": "x"}, 404, "category_not_found"),
    (
        "product negative shelf life",
        "POST",
        "/api/v1/admin/products",
        {**VALID_PRODUCT, "shelf_life_days": -1},
        422,
        "validation_error",
    ),
    (
        "product month 13",
        "POST",
        "/api/v1/admin/products",
        {**VALID_PRODUCT, "season_months": [4, 13]},
        422,
        "validation_error",
    ),
    (
        "product unknown category",
        "POST",
        "/api/v1/admin/products",
        {**VALID_PRODUCT, "category_slug": "nope"},
        404,
        "category_not_found",
    ),
    (
        "product unknown supplier",
        "POST",
        "/api/v1/admin/products",
        {**VALID_PRODUCT, "supplier_code": "NOPE"},
        422,
        "invalid_input",
    ),
    (
        "product duplicate slug",
        "POST",
        "/api/v1/admin/products",
        {**VALID_PRODUCT, "slug": "loquat"},
        409,
        "slug_taken",
    ),
    (
        "product bad certification",
        "PATCH",
        "/api/v1/admin/products/{product}",
        {"certifications": [{"type": "made-up", "name": "x"}]},
        422,
        "validation_error",
    ),
    (
        "product wrong type",
        "PATCH",
        "/api/v1/admin/products/{product}",
        {"shelf_life_days": "soon"},
        422,
        "validation_error",
    ),
    ("product missing", "PATCH", "/api/v1/admin/products/999999", {"name_zh": "x"}, 404, "product_not_found"),
    (
        "variant bad unit",
        "POST",
        "/api/v1/admin/products/{product}/variants",
        {**VALID_VARIANT, "unit": "tonne"},
        422,
        "validation_error",
    ),
    (
        "variant bad barcode",
        "POST",
        "/api/v1/admin/products/{product}/variants",
        {**VALID_VARIANT, "barcode": "6901234567890"},
        422,
        "invalid_barcode",
    ),
    (
        "variant duplicate barcode",
        "POST",
        "/api/v1/admin/products/{product}/variants",
        {**VALID_VARIANT, "barcode": "6901234567892"},
        409,
        "barcode_taken",
    ),
    (
        "variant duplicate sku",
        "POST",
        "/api/v1/admin/products/{product}/variants",
        {**VALID_VARIANT, "sku": "LOQ-KG"},
        409,
        "sku_taken",
    ),
    (
        "variant zero case pack",
        "POST",
        "/api/v1/admin/products/{product}/variants",
        {**VALID_VARIANT, "case_pack": 0},
        422,
        "validation_error",
    ),
    (
        "variant lowercase sku",
        "POST",
        "/api/v1/admin/products/{product}/variants",
        {**VALID_VARIANT, "sku": "taro"},
        422,
        "validation_error",
    ),
    (
        "variant patch bad barcode",
        "PATCH",
        "/api/v1/admin/variants/{variant}",
        {"barcode": "123"},
        422,
        "invalid_barcode",
    ),
    ("variant patch unit change", "PATCH", "/api/v1/admin/variants/{variant}", {"unit": "kg"}, 422, "validation_error"),
    ("variant missing", "PATCH", "/api/v1/admin/variants/999999", {"grade": "x"}, 404, "variant_not_found"),
    (
        "price zero",
        "PUT",
        "/api/v1/admin/price-lists/retail/items/LOQ-BOX",
        {"unit_price_minor": 0},
        422,
        "validation_error",
    ),
    (
        "price negative",
        "PUT",
        "/api/v1/admin/price-lists/retail/items/LOQ-BOX",
        {"unit_price_minor": -100},
        422,
        "validation_error",
    ),
    (
        "price as float yuan",
        "PUT",
        "/api/v1/admin/price-lists/retail/items/LOQ-BOX",
        {"unit_price_minor": 68.5},
        422,
        "validation_error",
    ),
    (
        "price float quantity",
        "PUT",
        "/api/v1/admin/price-lists/retail/items/LOQ-KG",
        {"unit_price_minor": 1800, "min_quantity": 0.5},
        422,
        "validation_error",
    ),
    (
        "price moq not multiple",
        "PUT",
        "/api/v1/admin/price-lists/retail/items/LOQ-BOX",
        {"unit_price_minor": 6800, "min_quantity": "3", "increment": "2"},
        422,
        "invalid_input",
    ),
    (
        "price tiers rising",
        "PUT",
        "/api/v1/admin/price-lists/retail/items/LOQ-BOX",
        {"unit_price_minor": 6800, "tiers": [{"min_quantity": "10", "unit_price_minor": 7000}]},
        422,
        "invalid_tiers",
    ),
    (
        "price unknown list",
        "PUT",
        "/api/v1/admin/price-lists/nope/items/LOQ-BOX",
        {"unit_price_minor": 100},
        404,
        "price_list_not_found",
    ),
    (
        "price unknown sku",
        "PUT",
        "/api/v1/admin/price-lists/retail/items/NOPE",
        {"unit_price_minor": 100},
        404,
        "variant_not_found",
    ),
    (
        "price list company without company",
        "POST",
        "/api/v1/admin/price-lists",
        {"code": "c1", "name": "x", "kind": "company"},
        422,
        "invalid_input",
    ),
    (
        "price list duplicate",
        "POST",
        "/api/v1/admin/price-lists",
        {"code": "retail", "name": "x", "kind": "retail"},
        409,
        "slug_taken",
    ),
    ("not json", "POST", "/api/v1/admin/categories", "{not json", 422, "validation_error"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
async def test_bad_catalog_write(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    ctx: dict[str, Any],
    case: tuple[str, str, str, dict[str, Any], int, str],
) -> None:
    _, method, path, body, status, error = case
    before = await snapshot(db_session)
    url = path.format(**ctx)
    if isinstance(body, str):
        response = await client.request(
            method, url, headers={**ctx["headers"], "content-type": "application/json"}, content=body
        )
    else:
        response = await client.request(method, url, headers=ctx["headers"], json=body)
    assert response.status_code == status, response.text
    payload = response.json()
    assert payload["error"] == error and payload["message"]
    assert await snapshot(db_session) == before


IMAGE_CASES = [
    ("not an image", ("a.png", b"this is text", "image/png"), 422, "invalid_image"),
    ("gif is refused", ("a.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "image/gif"), 422, "invalid_image"),
    ("empty file", ("a.png", b"", "image/png"), 422, "invalid_image"),
    ("lies about type", ("a.jpg", b"%PDF-1.4 not a jpeg", "image/jpeg"), 422, "invalid_image"),
]


@pytest.mark.parametrize("case", IMAGE_CASES, ids=[c[0] for c in IMAGE_CASES])
async def test_bad_image_upload(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    ctx: dict[str, Any],
    case: tuple[str, tuple[str, bytes, str], int, str],
    settings: Any,
) -> None:
    _, upload, status, error = case
    before = await snapshot(db_session)
    response = await client.post(
        f"/api/v1/admin/products/{ctx['product']}/images", headers=ctx["headers"], files={"image": upload}
    )
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert await snapshot(db_session) == before
    assert not list(settings.uploads_dir.rglob("*.*"))


async def test_oversized_image_and_body(
    client: httpx.AsyncClient, db_session: AsyncSession, ctx: dict[str, Any], settings: Any
) -> None:
    before = await snapshot(db_session)
    huge = png_bytes() + b"\0" * (settings.max_image_bytes + 10)
    image = await client.post(
        f"/api/v1/admin/products/{ctx['product']}/images",
        headers=ctx["headers"],
        files={"image": ("big.png", huge, "image/png")},
    )
    assert image.status_code == 413 and image.json()["error"] in ("payload_too_large", "image_too_large")
    body = await client.post(
        "/api/v1/admin/categories",
        headers=ctx["headers"],
        json={"slug": "big", "name_zh": "x" * (settings.max_body_bytes + 1), "name_en": "x"},
    )
    assert body.status_code == 413 and body.json()["error"] == "payload_too_large"

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(40):
            yield b"a" * 65536

    streamed = await client.post(
        "/api/v1/admin/categories", headers={**ctx["headers"], "content-type": "application/json"}, content=chunks()
    )
    assert streamed.status_code == 413 and streamed.json()["error"] == "payload_too_large"
    assert await snapshot(db_session) == before


async def test_good_image_upload_enqueues_a_thumbnail(
    client: httpx.AsyncClient, db_session: AsyncSession, ctx: dict[str, Any], settings: Any, task_sender: Any
) -> None:
    response = await client.post(
        f"/api/v1/admin/products/{ctx['product']}/images",
        headers=ctx["headers"],
        files={"image": ("p.png", png_bytes(), "image/png")},
        data={"alt_zh": "枇杷"},
    )
    assert response.status_code == 201, response.text
    image = response.json()
    assert (image["width"], image["height"], image["thumb_url"]) == (40, 30, None)
    stored = settings.uploads_dir / image["url"].removeprefix("/media/")
    assert stored.read_bytes() == png_bytes()
    assert [(name, payload) for _, name, payload in task_sender.sent] == [
        ("catalog.make_thumbnail", {"image_id": image["id"]})
    ]
    served = await client.get(image["url"])
    assert served.status_code == 200 and served.content == png_bytes()
