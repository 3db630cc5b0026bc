"""Product JSON routes: the catalog's products with what the supply domain adds (each product's
usual supplier, each variant's stock state; a product edit registers its supplier as a grower).
They live here because supply depends on the catalog; the catalog's own routes (categories,
variants, prices, images, quotes) are in ``app.catalog.endpoints``. Thin: access, one call, a schema.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import TypeAdapter
from pydantic_core import to_json

from app.accounts.access import AdminUser, MaybeUser
from app.catalog import errors, listing, repository, schemas
from app.catalog.cache import ListingCache
from app.db import DbSession
from app.kit import clock
from app.supply import products as supply_products

router = APIRouter(prefix="/api/v1", tags=["catalog"])

ERRORS: dict[int | str, dict[str, Any]] = {422: {"description": "输入有误（error 字段给出错误码）"}}

PRODUCTS_ADAPTER = TypeAdapter(Sequence[schemas.ProductSummaryOut])
PRODUCT_ADAPTER = TypeAdapter(schemas.ProductOut)


@router.get("/products", response_model=list[schemas.ProductSummaryOut])
async def list_products(
    request: Request,
    session: DbSession,
    principal: MaybeUser,
    q: Annotated[str | None, Query(max_length=50, description="按名称、SKU 或条码搜索")] = None,
    category: Annotated[str | None, Query(max_length=60, description="分类 slug")] = None,
    supply: Annotated[bool, Query(description="只列出珠三角供应的 10 个 SKU 所属商品")] = False,
) -> Response:
    """Active products with variants, units and the prices this caller may see (without the long
    descriptions: a product's own answer has them)."""
    viewer = listing.viewer_for(principal)

    async def build() -> Any:
        products = await repository.list_products(session, q=q, category_slug=category, supply_only=supply)
        return PRODUCTS_ADAPTER.dump_python(await supply_products.products_out(session, products, viewer), mode="json")

    cache: ListingCache = request.app.state.listing_cache
    cached = await cache.get_or_build(session, ("products", viewer, q, category, supply, clock.today()), build)
    return Response(to_json(await supply_products.with_stock(session, cached, viewer)), media_type="application/json")


@router.get(
    "/products/{slug}", response_model=schemas.ProductOut, responses={404: {"description": "product_not_found"}}
)
async def get_product(slug: str, request: Request, session: DbSession, principal: MaybeUser) -> Response:
    viewer = listing.viewer_for(principal)

    async def build() -> Any:
        product = await repository.product_by_slug(session, slug)
        if product is None or not product.is_active:
            raise errors.ProductNotFound()
        [view] = await supply_products.products_out(session, [product], viewer)
        return [PRODUCT_ADAPTER.dump_python(view, mode="json")]

    cache: ListingCache = request.app.state.listing_cache
    cached = await cache.get_or_build(session, ("product", viewer, slug, clock.today()), build)
    return Response(
        to_json((await supply_products.with_stock(session, cached, viewer))[0]), media_type="application/json"
    )


# ---- admin --------------------------------------------------------------------------------------

admin = APIRouter(prefix="/api/v1/admin", tags=["catalog admin"])

STAFF_VIEW = listing.Viewer(sees_wholesale=True)


@admin.get("/products", response_model=list[schemas.ProductOut])
async def admin_list_products(session: DbSession, _: AdminUser) -> list[schemas.ProductOut]:
    """Every product, inactive ones and inactive variants included."""
    products = await repository.list_products(session, include_inactive=True)
    return await supply_products.products_out(session, products, STAFF_VIEW, include_inactive_variants=True)


@admin.post("/products", response_model=schemas.ProductOut, status_code=status.HTTP_201_CREATED, responses=ERRORS)
async def create_product(body: schemas.ProductIn, session: DbSession, _: AdminUser) -> schemas.ProductOut:
    product = await supply_products.create_product(session, body)
    return (await supply_products.products_out(session, [product], STAFF_VIEW))[0]


@admin.patch("/products/{product_id}", response_model=schemas.ProductOut, responses=ERRORS)
async def update_product(
    product_id: int, body: schemas.ProductPatch, session: DbSession, _: AdminUser
) -> schemas.ProductOut:
    product = await supply_products.update_product(session, product_id, body)
    return (await supply_products.products_out(session, [product], STAFF_VIEW, include_inactive_variants=True))[0]
