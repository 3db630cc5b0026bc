"""Ops console (/admin): catalog editing. Admin role only (users: ``users_admin``; buyer companies:
``companies_admin``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from app.accounts import repository as accounts_repository
from app.accounts.access import AdminUser, CountyReader
from app.accounts.models import CompanyStatus, Role
from app.catalog import listing, repository, schemas, service
from app.catalog.models import PriceListKind, StorageClass
from app.db import DbSession
from app.kit import outbox
from app.kit.backup import backup_status
from app.kit.errors import AppError
from app.kit.money import parse_major
from app.kit.quantities import Unit
from app.kit.validation import field_name, zh_message
from app.supply import products as supply_products
from app.supply.repository import list_suppliers
from app.web import county
from app.web.errors import FormError
from app.web.templating import CsrfProtected, render

router = APIRouter(prefix="/admin", include_in_schema=False)

FIELD_LABELS = {
    "slug": "标识（slug）",
    "category_slug": "分类",
    "name_zh": "中文名称",
    "name_en": "英文名称",
    "description_zh": "中文介绍",
    "description_en": "英文介绍",
    "origin_township": "产地乡镇",
    "origin_village": "产地村",
    "growing_base": "种植基地",
    "supplier_code": "供应商",
    "season_months": "上市月份",
    "storage_class": "储存方式",
    "shelf_life_days": "保质期（天）",
    "sku": "SKU 编码",
    "barcode": "条码",
    "plu": "PLU（称重键号）",
    "unit": "单位",
    "net_weight_grams": "净重（克）",
    "case_pack": "每箱件数",
    "grade": "等级",
    "unit_price_minor": "单价",
    "min_quantity": "起订量",
    "increment": "订购倍数",
    "sort_order": "排序",
    "username": "用户名",
    "password": "密码",
    "role": "角色",
    "display_name": "姓名",
    "phone": "手机",
    "station_id": "村站",
    "store_id": "门店",
    "company_id": "采购商企业",
}
CERT_TYPES = {
    "geographical_indication": "国家地理标志",
    "green_food": "绿色食品",
    "organic": "有机产品",
    "pollution_free": "无公害农产品",
    "compliance": "承诺达标合格证",
    "other": "其他",
}


def form_errors(exc: ValidationError | AppError) -> list[str]:
    if isinstance(exc, ValidationError):
        return [f"{FIELD_LABELS.get(field_name(e), field_name(e))}：{zh_message(e)}" for e in exc.errors()]
    lines = exc.detail.get("lines") if isinstance(exc.detail, dict) else None
    return [exc.text] + [str(line.get("message") or line) for line in lines or [] if isinstance(line, dict)]


def _yuan(raw: str) -> int:
    """A price typed in yuan → fen; parse_major's own refusals (3 decimals, negative) keep their words."""
    try:
        return parse_major(raw)
    except ValueError as exc:
        raise FormError(str(exc)) from exc
    except ArithmeticError as exc:  # not a number at all
        raise FormError("价格格式不正确") from exc


def back(url: str, notice: str = "") -> Response:
    from urllib.parse import quote

    return RedirectResponse(f"{url}?notice={quote(notice)}" if notice else url, status_code=303)


@router.get("")
async def dashboard(request: Request, session: DbSession, principal: CountyReader, period: str = "") -> Response:
    """The county operations dashboard (figures of today / 7 / 30 days, charts, what needs
    attention); admins also get the platform's overview (counts, background backlog, backups)."""
    context = await county.dashboard_context(session, principal, period or None)
    if principal.role is Role.admin:
        context["counts"] = {
            "products": await repository.count_products(session),
            "variants": await repository.count_variants(session),
            "supply_skus": await repository.count_variants(session, supply_skus_only=True),
            "pending_companies": await accounts_repository.count_companies(session, status=CompanyStatus.pending),
        }
        context["backlog"] = await outbox.backlog(
            session, stall_after_seconds=request.app.state.settings.outbox_stall_seconds
        )
        context["backup"] = await backup_status(session, request.app.state.settings)
    return render(request, "admin/dashboard.html", {**context, "waited": waited_zh})


def waited_zh(seconds: int) -> str:
    """A wait as an operator reads it: 45 秒, 12 分钟, 3 小时 5 分钟, 2 天 4 小时."""
    if seconds < 60:
        return f"{seconds} 秒"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} 分钟"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} 小时 {minutes} 分钟" if minutes else f"{hours} 小时"
    days, hours = divmod(hours, 24)
    return f"{days} 天 {hours} 小时" if hours else f"{days} 天"


# ---- products -----------------------------------------------------------------------------------


@router.get("/products")
async def products_page(request: Request, session: DbSession, _: AdminUser, q: str | None = None) -> Response:
    products = await repository.list_products(session, q=q, include_inactive=True)
    views = await supply_products.products_out(
        session, products, listing.Viewer(sees_wholesale=True), include_inactive_variants=True
    )
    return render(request, "admin/products.html", {"products": views, "q": q or ""})


async def _product_form_context(session: DbSession) -> dict[str, Any]:
    return {
        "categories": await repository.list_categories(session),
        "suppliers": await list_suppliers(session),
        "storage_classes": list(StorageClass),
        "cert_types": CERT_TYPES,
        "units": list(Unit),
    }


def _product_values(form: Any) -> dict[str, Any]:
    certs = []
    for kind, name, number in zip(
        form.getlist("cert_type"), form.getlist("cert_name"), form.getlist("cert_number"), strict=False
    ):
        if str(name).strip():
            certs.append({"type": kind, "name": name, "number": number})
    return {
        "name_zh": form.get("name_zh", ""),
        "name_en": form.get("name_en", ""),
        "description_zh": form.get("description_zh", ""),
        "description_en": form.get("description_en", ""),
        "origin_township": form.get("origin_township", ""),
        "origin_village": form.get("origin_village", ""),
        "growing_base": form.get("growing_base", ""),
        "supplier_code": form.get("supplier_code") or None,
        "season_months": [int(m) for m in form.getlist("season_months") if str(m).isdigit()],
        "storage_class": form.get("storage_class", "ambient"),
        "shelf_life_days": form.get("shelf_life_days") or 0,
        "certifications": certs,
        "is_active": form.get("is_active") == "on",
    }


@router.get("/products/new")
async def new_product_page(request: Request, session: DbSession, _: AdminUser) -> Response:
    return render(
        request,
        "admin/product_form.html",
        {**await _product_form_context(session), "product": None, "values": {}, "errors": []},
    )


@router.post("/products/new", dependencies=[CsrfProtected])
async def create_product(request: Request, session: DbSession, _: AdminUser) -> Response:
    form = await request.form()
    values = {**_product_values(form), "slug": form.get("slug", ""), "category_slug": form.get("category_slug", "")}
    try:
        product = await supply_products.create_product(session, schemas.ProductIn.model_validate(values))
    except (ValidationError, AppError) as exc:
        await session.rollback()
        return render(
            request,
            "admin/product_form.html",
            {**await _product_form_context(session), "product": None, "values": values, "errors": form_errors(exc)},
            status_code=422,
        )
    return back(f"/admin/products/{product.id}", "商品已创建")


@router.get("/products/{product_id}")
async def product_page(
    request: Request, product_id: int, session: DbSession, _: AdminUser, notice: str = ""
) -> Response:
    return await _render_product(request, session, product_id, notice=notice)


async def _render_product(
    request: Request,
    session: DbSession,
    product_id: int,
    *,
    notice: str = "",
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    product = await service.get_product(session, product_id)
    view = (
        await supply_products.products_out(
            session, [product], listing.Viewer(sees_wholesale=True), include_inactive_variants=True
        )
    )[0]
    price_lists = await repository.list_price_lists(session)
    values = view.model_dump(mode="json")
    values["category_slug"] = view.category.slug
    return render(
        request,
        "admin/product_edit.html",
        {
            **await _product_form_context(session),
            "product": view,
            "values": values,
            # Each variant's reorder point (staff only: not on the public VariantOut).
            "reorder_points": {variant.id: variant.reorder_point for variant in product.variants},
            "notice": notice,
            "errors": errors or [],
            "price_lists": [p for p in price_lists if p.kind is not PriceListKind.company]
            + [p for p in price_lists if p.kind is PriceListKind.company],
        },
        status_code=status_code,
    )


@router.post("/products/{product_id}", dependencies=[CsrfProtected])
async def update_product(request: Request, product_id: int, session: DbSession, _: AdminUser) -> Response:
    form = await request.form()
    values = {**_product_values(form), "category_slug": form.get("category_slug") or None}
    try:
        await supply_products.update_product(session, product_id, schemas.ProductPatch.model_validate(values))
    except (ValidationError, AppError) as exc:
        await session.rollback()
        return await _render_product(request, session, product_id, errors=form_errors(exc), status_code=422)
    return back(f"/admin/products/{product_id}", "商品信息已保存")


@router.post("/products/{product_id}/variants", dependencies=[CsrfProtected])
async def add_variant(request: Request, product_id: int, session: DbSession, _: AdminUser) -> Response:
    form = await request.form()
    values: dict[str, Any] = {
        k: form.get(k) or None
        for k in ("sku", "barcode", "plu", "name_zh", "name_en", "unit", "net_weight_grams", "grade")
    }
    values["case_pack"] = form.get("case_pack") or 1
    values["grade"] = values["grade"] or ""
    values["is_supply_sku"] = form.get("is_supply_sku") == "on"
    try:
        await service.create_variant(session, product_id, schemas.VariantIn.model_validate(values))
    except (ValidationError, AppError) as exc:
        await session.rollback()
        return await _render_product(request, session, product_id, errors=form_errors(exc), status_code=422)
    return back(f"/admin/products/{product_id}", "规格已添加")


@router.post("/products/{product_id}/variants/{variant_id}", dependencies=[CsrfProtected])
async def edit_variant(
    request: Request, product_id: int, variant_id: int, session: DbSession, _: AdminUser
) -> Response:
    form = await request.form()
    values: dict[str, Any] = {k: form.get(k) for k in ("barcode", "name_zh", "name_en", "grade")}
    values["plu"] = form.get("plu") or None
    values["net_weight_grams"] = form.get("net_weight_grams") or None
    values["case_pack"] = form.get("case_pack") or None
    values["is_supply_sku"] = form.get("is_supply_sku") == "on"
    values["is_active"] = form.get("is_active") == "on"
    values["reorder_point"] = form.get("reorder_point") or None
    try:
        variant = await repository.variant_by_id(session, variant_id)
        if variant is None or variant.product_id != product_id:
            from app.catalog.errors import VariantNotFound

            raise VariantNotFound()
        await service.update_variant(session, variant_id, schemas.VariantPatch.model_validate(values))
    except (ValidationError, AppError) as exc:
        await session.rollback()
        return await _render_product(request, session, product_id, errors=form_errors(exc), status_code=422)
    return back(f"/admin/products/{product_id}", "规格已保存")


@router.post("/products/{product_id}/prices", dependencies=[CsrfProtected])
async def set_price(request: Request, product_id: int, session: DbSession, _: AdminUser) -> Response:
    """One price row: list, SKU, price in yuan, MOQ, increment and up to three tiers."""
    form = await request.form()
    try:
        tiers = []
        for tier_qty, tier_price in zip(form.getlist("tier_min_quantity"), form.getlist("tier_price"), strict=False):
            if str(tier_qty).strip() and str(tier_price).strip():
                tiers.append({"min_quantity": str(tier_qty), "unit_price_minor": _yuan(str(tier_price))})
        body = schemas.PriceItemIn.model_validate(
            {
                "unit_price_minor": _yuan(str(form.get("unit_price", "0") or "0")),
                "min_quantity": str(form.get("min_quantity") or "") or None,
                "increment": str(form.get("increment") or "") or None,
                "tiers": tiers,
            }
        )
        await service.set_price(session, str(form.get("price_list", "")), str(form.get("sku", "")), body)
    except (ValidationError, AppError) as exc:
        await session.rollback()
        return await _render_product(request, session, product_id, errors=form_errors(exc), status_code=422)
    return back(f"/admin/products/{product_id}", "价格已保存")


@router.post("/products/{product_id}/images", dependencies=[CsrfProtected])
async def upload_image(
    request: Request,
    product_id: int,
    session: DbSession,
    _: AdminUser,
    image: Annotated[UploadFile, File()],
    alt_zh: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    settings = request.app.state.settings
    content = await image.read(settings.max_image_bytes + 1)
    try:
        await service.add_image(
            session,
            product_id,
            content=content,
            uploads_dir=settings.uploads_dir,
            max_bytes=settings.max_image_bytes,
            alt_zh=alt_zh,
        )
    except AppError as exc:
        await session.rollback()
        return await _render_product(request, session, product_id, errors=form_errors(exc), status_code=exc.status_code)
    return back(f"/admin/products/{product_id}", "图片已上传，缩略图稍后生成")


@router.post("/products/{product_id}/images/{image_id}/delete", dependencies=[CsrfProtected])
async def delete_image(product_id: int, image_id: int, session: DbSession, _: AdminUser) -> Response:
    await service.remove_image(session, product_id, image_id)
    return back(f"/admin/products/{product_id}", "图片已删除")


# ---- categories ---------------------------------------------------------------------------------


@router.get("/categories")
async def categories_page(request: Request, session: DbSession, _: AdminUser, notice: str = "") -> Response:
    return render(
        request,
        "admin/categories.html",
        {"categories": await repository.list_categories(session), "notice": notice, "errors": [], "values": {}},
    )


@router.post("/categories", dependencies=[CsrfProtected])
async def create_category(request: Request, session: DbSession, _: AdminUser) -> Response:
    form = await request.form()
    values = {
        "slug": form.get("slug", ""),
        "name_zh": form.get("name_zh", ""),
        "name_en": form.get("name_en", ""),
        "sort_order": form.get("sort_order") or 0,
    }
    try:
        await service.create_category(session, schemas.CategoryIn.model_validate(values))
    except (ValidationError, AppError) as exc:
        await session.rollback()
        return render(
            request,
            "admin/categories.html",
            {
                "categories": await repository.list_categories(session),
                "notice": "",
                "errors": form_errors(exc),
                "values": values,
            },
            status_code=422,
        )
    return back("/admin/categories", "分类已创建")
