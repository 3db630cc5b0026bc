"""Each catalog route tried as anonymous, customer, buyer, clerk, operator, warehouse and admin."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.catalog.models import PriceListKind
from app.kit.quantities import Unit
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

ROLES = ["anonymous", "customer", "buyer", "clerk", "station_operator", "warehouse", "admin"]


@dataclass
class World:
    headers: dict[str, dict[str, str]]
    category_id: int
    product_id: int
    product_slug: str
    variant_id: int
    sku: str


@pytest.fixture
async def world(db_session: AsyncSession) -> World:
    await ensure_price_list(db_session, "retail", PriceListKind.retail)
    await ensure_price_list(db_session, "wholesale", PriceListKind.wholesale)
    category = await make_category(db_session)
    product = await make_product(db_session, category=category)
    variant = await make_variant(db_session, product=product, unit=Unit.box, case_pack=2)
    await set_price(db_session, "retail", variant, 6800)
    await set_price(db_session, "wholesale", variant, 5200)
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    for role in ROLES[1:]:
        user = await make_user(db_session, Role(role))
        headers[role] = auth(await token_for(db_session, user))
    return World(headers, category.id, product.id, product.slug, variant.id, variant.sku)


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 120, 40)).save(buffer, "PNG")
    return buffer.getvalue()


Call = Callable[[httpx.AsyncClient, World, dict[str, str]], Awaitable[httpx.Response]]

ADMIN_WRITES: dict[str, tuple[Call, int]] = {
    "create category": (
        lambda c, w, h: c.post(
            "/api/v1/admin/categories", headers=h, json={"slug": "new-cat", "name_zh": "新分类", "name_en": "New"}
        ),
        201,
    ),
    "update category": (
        lambda c, w, h: c.patch(f"/api/v1/admin/categories/{w.category_id}", headers=h, json={"name_zh": "改名"}),
        200,
    ),
    "list all products": (lambda c, w, h: c.get("/api/v1/admin/products", headers=h), 200),
    "create product": (
        lambda c, w, h: c.post(
            "/api/v1/admin/products",
            headers=h,
            json={
                "slug": "new-product",
                "category_slug": "cat-x",
                "name_zh": "新商品",
                "name_en": "New",
                "origin_township": "太平镇",
                "shelf_life_days": 5,
            },
        ),
        404,
    ),  # admin passes access, then unknown category
    "update product": (
        lambda c, w, h: c.patch(f"/api/v1/admin/products/{w.product_id}", headers=h, json={"name_en": "Renamed"}),
        200,
    ),
    "create variant": (
        lambda c, w, h: c.post(
            f"/api/v1/admin/products/{w.product_id}/variants",
            headers=h,
            json={"sku": "NEW-SKU-1", "name_zh": "新规格", "name_en": "New", "unit": "kg"},
        ),
        201,
    ),
    "update variant": (
        lambda c, w, h: c.patch(f"/api/v1/admin/variants/{w.variant_id}", headers=h, json={"grade": "特级"}),
        200,
    ),
    "upload image": (
        lambda c, w, h: c.post(
            f"/api/v1/admin/products/{w.product_id}/images",
            headers=h,
            files={"image": ("a.png", png_bytes(), "image/png")},
        ),
        201,
    ),
    "delete image": (lambda c, w, h: c.delete(f"/api/v1/admin/products/{w.product_id}/images/999999", headers=h), 404),
    "list price lists": (lambda c, w, h: c.get("/api/v1/admin/price-lists", headers=h), 200),
    "create price list": (
        lambda c, w, h: c.post(
            "/api/v1/admin/price-lists", headers=h, json={"code": "promo", "name": "促销", "kind": "retail"}
        ),
        201,
    ),
    "set price": (
        lambda c, w, h: c.put(
            f"/api/v1/admin/price-lists/retail/items/{w.sku}", headers=h, json={"unit_price_minor": 7000}
        ),
        200,
    ),
}


@pytest.mark.parametrize("name", sorted(ADMIN_WRITES))
@pytest.mark.parametrize("role", ROLES)
async def test_admin_catalog_routes(client: httpx.AsyncClient, world: World, name: str, role: str) -> None:
    call, admin_status = ADMIN_WRITES[name]
    response = await call(client, world, world.headers[role])
    expected = {"anonymous": 401, "admin": admin_status}.get(role, 403)
    assert response.status_code == expected, response.text
    if role == "anonymous":
        assert response.json()["error"] == "not_authenticated"
    elif role != "admin":
        assert response.json()["error"] in ("role_not_allowed", "scope_missing")


@pytest.mark.parametrize("role", ROLES)
async def test_public_catalog_reads(client: httpx.AsyncClient, world: World, role: str) -> None:
    h = world.headers[role]
    categories = await client.get("/api/v1/categories", headers=h)
    listing = await client.get("/api/v1/products", headers=h)
    one = await client.get(f"/api/v1/products/{world.product_slug}", headers=h)
    quote = await client.post("/api/v1/pricing/quote", headers=h, json={"lines": [{"sku": world.sku, "quantity": "2"}]})
    assert [r.status_code for r in (categories, listing, one, quote)] == [200, 200, 200, 200]
    variant = one.json()["variants"][0]
    assert variant["price"]["unit_price_minor"] == 6800
    # Wholesale prices are for approved buyers and staff who price things, not for the public.
    sees_wholesale = role in ("buyer", "clerk", "warehouse", "admin")
    assert (variant["wholesale_price"] is not None) == sees_wholesale
    if sees_wholesale:
        assert variant["wholesale_price"]["unit_price_minor"] == 5200
    assert quote.json()["total_minor"] == 13600


async def test_unknown_product_is_404(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get("/api/v1/products/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {"error": "product_not_found", "message": "找不到该商品", "detail": None}
