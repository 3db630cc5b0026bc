"""Catalog JSON API: public reads, admin writes. Thin: access, one service call, a schema."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile, status
from pydantic import TypeAdapter
from pydantic_core import to_json

from app.accounts.access import AdminUser, MaybeUser, Principal, PublicAccess, Role
from app.catalog import errors, listing, pricing, repository, schemas, service
from app.catalog.cache import ListingCache
from app.channels import SalesChannel
from app.db import DbSession
from app.kit import clock

router = APIRouter(prefix="/api/v1", tags=["catalog"])

ERRORS: dict[int | str, dict[str, Any]] = {422: {"description": "输入有误（error 字段给出错误码）"}}


def viewer_for(principal: Principal | None) -> listing.Viewer:
    if principal is None:
        return listing.ANONYMOUS
    if principal.role is Role.buyer and principal.company_approved:
        return listing.Viewer(
            sees_wholesale=True, company_id=principal.company_id, stock_channel=SalesChannel.wholesale
        )
    if principal.role in (Role.admin, Role.warehouse, Role.clerk):
        return listing.Viewer(sees_wholesale=True, sees_quantities=True)
    return listing.ANONYMOUS


@router.get("/categories", response_model=list[schemas.CategoryOut], dependencies=[PublicAccess])
async def list_categories(session: DbSession) -> list[schemas.CategoryOut]:
    return [schemas.CategoryOut.model_validate(c) for c in await repository.list_categories(session)]


PRODUCTS_ADAPTER = TypeAdapter(list[schemas.ProductOut])
PRODUCT_ADAPTER = TypeAdapter(schemas.ProductOut)


@router.get("/products", response_model=list[schemas.ProductOut])
async def list_products(
    request: Request,
    session: DbSession,
    principal: MaybeUser,
    q: Annotated[str | None, Query(max_length=50, description="按名称、SKU 或条码搜索")] = None,
    category: Annotated[str | None, Query(max_length=60, description="分类 slug")] = None,
    supply: Annotated[bool, Query(description="只列出珠三角供应的 10 个 SKU 所属商品")] = False,
) -> Response:
    """Active products with variants, units and the prices this caller may see."""
    viewer = viewer_for(principal)

    async def build() -> Any:
        products = await repository.list_products(session, q=q, category_slug=category, supply_only=supply)
        return PRODUCTS_ADAPTER.dump_python(await listing.products_out(session, products, viewer), mode="json")

    cache: ListingCache = request.app.state.listing_cache
    cached = await cache.get_or_build(session, ("products", viewer, q, category, supply, clock.today()), build)
    return Response(to_json(await listing.with_stock(session, cached, viewer)), media_type="application/json")


@router.get(
    "/products/{slug}", response_model=schemas.ProductOut, responses={404: {"description": "product_not_found"}}
)
async def get_product(slug: str, request: Request, session: DbSession, principal: MaybeUser) -> Response:
    viewer = viewer_for(principal)

    async def build() -> Any:
        product = await repository.product_by_slug(session, slug)
        if product is None or not product.is_active:
            raise errors.ProductNotFound()
        return [PRODUCT_ADAPTER.dump_python((await listing.products_out(session, [product], viewer))[0], mode="json")]

    cache: ListingCache = request.app.state.listing_cache
    cached = await cache.get_or_build(session, ("product", viewer, slug, clock.today()), build)
    return Response(to_json((await listing.with_stock(session, cached, viewer))[0]), media_type="application/json")


@router.post("/pricing/quote", response_model=schemas.QuoteOut, responses=ERRORS)
async def quote(body: schemas.QuoteIn, session: DbSession, principal: MaybeUser) -> schemas.QuoteOut:
    """Price lines the way checkout will. Any price a client sends is ignored; wholesale quotes
    need a signed-in buyer of an approved company."""
    channel = SalesChannel(body.channel)
    company_id = None
    if channel is SalesChannel.wholesale:
        if principal is None or principal.role is not Role.buyer or not principal.company_approved:
            raise errors.WholesaleBuyersOnly()
        company_id = principal.company_id
    lines = await pricing.price_lines(
        session,
        [pricing.LineRequest(line.sku, str(line.quantity)) for line in body.lines],
        channel=channel,
        company_id=company_id,
    )
    return schemas.QuoteOut(
        channel=channel.value,
        currency="CNY",
        total_minor=sum(line.line_total_minor for line in lines),
        lines=[
            schemas.PricedLineOut(
                sku=line.sku,
                quantity=line.quantity,
                unit=line.unit,
                unit_price_minor=line.unit_price_minor,
                line_total_minor=line.line_total_minor,
                currency=line.currency,
                price_list=line.rule.price_list_code,
                rule=line.rule.description_zh,
                tier_min_quantity=line.rule.tier_min_quantity,
            )
            for line in lines
        ],
    )


# ---- admin writes -------------------------------------------------------------------------------

admin = APIRouter(prefix="/api/v1/admin", tags=["catalog admin"])


@admin.post("/categories", response_model=schemas.CategoryOut, status_code=status.HTTP_201_CREATED, responses=ERRORS)
async def create_category(body: schemas.CategoryIn, session: DbSession, _: AdminUser) -> schemas.CategoryOut:
    return schemas.CategoryOut.model_validate(await service.create_category(session, body))


@admin.patch("/categories/{category_id}", response_model=schemas.CategoryOut, responses=ERRORS)
async def update_category(
    category_id: int, body: schemas.CategoryPatch, session: DbSession, _: AdminUser
) -> schemas.CategoryOut:
    return schemas.CategoryOut.model_validate(await service.update_category(session, category_id, body))


@admin.get("/products", response_model=list[schemas.ProductOut])
async def admin_list_products(session: DbSession, _: AdminUser) -> list[schemas.ProductOut]:
    """Every product, inactive ones and inactive variants included."""
    products = await repository.list_products(session, include_inactive=True)
    return await listing.products_out(
        session, products, listing.Viewer(sees_wholesale=True), include_inactive_variants=True
    )


@admin.post("/products", response_model=schemas.ProductOut, status_code=status.HTTP_201_CREATED, responses=ERRORS)
async def create_product(body: schemas.ProductIn, session: DbSession, _: AdminUser) -> schemas.ProductOut:
    product = await service.create_product(session, body)
    return (await listing.products_out(session, [product], listing.Viewer(sees_wholesale=True)))[0]


@admin.patch("/products/{product_id}", response_model=schemas.ProductOut, responses=ERRORS)
async def update_product(
    product_id: int, body: schemas.ProductPatch, session: DbSession, _: AdminUser
) -> schemas.ProductOut:
    product = await service.update_product(session, product_id, body)
    return (
        await listing.products_out(
            session, [product], listing.Viewer(sees_wholesale=True), include_inactive_variants=True
        )
    )[0]


@admin.post(
    "/products/{product_id}/variants",
    response_model=schemas.VariantOut,
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS,
)
async def create_variant(
    product_id: int, body: schemas.VariantIn, session: DbSession, _: AdminUser
) -> schemas.VariantOut:
    variant = await service.create_variant(session, product_id, body)
    return listing.variant_out(variant, [], listing.Viewer(sees_wholesale=True))


@admin.patch("/variants/{variant_id}", response_model=schemas.VariantOut, responses=ERRORS)
async def update_variant(
    variant_id: int, body: schemas.VariantPatch, session: DbSession, _: AdminUser
) -> schemas.VariantOut:
    variant = await service.update_variant(session, variant_id, body)
    return listing.variant_out(variant, [], listing.Viewer(sees_wholesale=True))


@admin.post(
    "/products/{product_id}/images",
    response_model=schemas.ImageOut,
    status_code=status.HTTP_201_CREATED,
    responses={**ERRORS, 413: {"description": "image_too_large"}},
)
async def upload_image(
    product_id: int,
    request: Request,
    session: DbSession,
    _: AdminUser,
    image: Annotated[UploadFile, File(description="JPEG / PNG / WebP")],
    alt_zh: Annotated[str, Form(max_length=100)] = "",
) -> schemas.ImageOut:
    settings = request.app.state.settings
    content = await image.read(settings.max_image_bytes + 1)
    saved = await service.add_image(
        session,
        product_id,
        content=content,
        uploads_dir=settings.uploads_dir,
        max_bytes=settings.max_image_bytes,
        alt_zh=alt_zh,
    )
    return schemas.ImageOut(
        id=saved.id,
        url=listing.MEDIA_PREFIX + saved.path,
        thumb_url=None,
        width=saved.width,
        height=saved.height,
        alt_zh=saved.alt_zh,
    )


@admin.delete("/products/{product_id}/images/{image_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_image(product_id: int, image_id: int, session: DbSession, _: AdminUser) -> None:
    await service.remove_image(session, product_id, image_id)


@admin.get("/price-lists", response_model=list[schemas.PriceListOut])
async def list_price_lists(session: DbSession, _: AdminUser) -> list[schemas.PriceListOut]:
    return [schemas.PriceListOut.model_validate(p) for p in await repository.list_price_lists(session)]


@admin.post("/price-lists", response_model=schemas.PriceListOut, status_code=status.HTTP_201_CREATED, responses=ERRORS)
async def create_price_list(body: schemas.PriceListIn, session: DbSession, _: AdminUser) -> schemas.PriceListOut:
    return schemas.PriceListOut.model_validate(await service.create_price_list(session, body))


@admin.put("/price-lists/{code}/items/{sku}", response_model=schemas.PriceItemOut, responses=ERRORS)
async def set_price(
    code: str, sku: str, body: schemas.PriceItemIn, session: DbSession, _: AdminUser
) -> schemas.PriceItemOut:
    item = await service.set_price(session, code, sku, body)
    return schemas.PriceItemOut(
        price_list=code,
        sku=sku,
        unit_price_minor=item.unit_price_minor,
        min_quantity=item.min_quantity,
        increment=item.increment,
        tiers=[schemas.TierOut(min_quantity=t.min_quantity, unit_price_minor=t.unit_price_minor) for t in item.tiers],
    )
