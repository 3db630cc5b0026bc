"""Catalog JSON API: public reads, admin writes. Thin: access, one service call, a schema.

The product routes (listing with stock, product create and edit with the usual supplier) are in
``app.supply.product_endpoints``: they show supply data, and the catalog does not import supply."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile, status

from app.accounts.access import AdminUser, MaybeUser, PublicAccess, Role
from app.catalog import errors, listing, pricing, repository, schemas, service
from app.channels import SalesChannel
from app.db import DbSession

router = APIRouter(prefix="/api/v1", tags=["catalog"])

ERRORS: dict[int | str, dict[str, Any]] = {422: {"description": "输入有误（error 字段给出错误码）"}}


@router.get("/categories", response_model=list[schemas.CategoryOut], dependencies=[PublicAccess])
async def list_categories(session: DbSession) -> list[schemas.CategoryOut]:
    return [schemas.CategoryOut.model_validate(c) for c in await repository.list_categories(session)]


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
