"""Storefront pages (/): the catalog as consumers see it, with stock state, and the cart.

The cart is a signed cookie (see :mod:`app.web.cart`); these pages only ever send SKUs and
quantities, and every amount shown is priced by the server.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import TypeAdapter

from app.accounts.access import MaybeUser, Principal, PublicAccess
from app.catalog import errors, listing, pricing, repository, schemas
from app.catalog.cache import ListingCache
from app.channels import SalesChannel
from app.config import get_settings
from app.db import DbSession
from app.kit import clock
from app.kit.errors import AppError
from app.kit.quantities import QuantityError, Unit, format_quantity, parse_quantity
from app.kit.short_memo import ShortMemo
from app.supply import products as supply_products
from app.web import cart
from app.web import presales as presale_pages
from app.web.auth import safe_next
from app.web.errors import FormError
from app.web.templating import CsrfProtected, render

router = APIRouter(include_in_schema=False)

PRODUCTS = TypeAdapter(list[schemas.ProductOut])
STOCK_LABELS = {"in_stock": "现货", "low_stock": "库存紧张", "out_of_stock": "售罄"}
STOCK_RANK = {"in_stock": 2, "low_stock": 1, "out_of_stock": 0}
# Weight choices offered for weighed goods, before the variant's minimum and step filter them.
WEIGHT_CHOICES = {
    Unit.kg: ("0.5", "1", "1.5", "2"),
    Unit.jin: ("1", "2", "3", "5"),
}


def weight_options(variant: dict[str, Any]) -> list[str]:
    """The ready-made weights a weighed variant offers: those its minimum and step allow."""
    unit = Unit(variant["unit"])
    price = variant.get("price")
    if not unit.is_weight or not price:
        return []
    minimum, step = Decimal(price["min_quantity"]), Decimal(price["increment"])
    options = [q for q in WEIGHT_CHOICES[unit] if Decimal(q) >= minimum and Decimal(q) % step == 0]
    return options or [format_quantity(minimum)]


def product_stock_state(product: dict[str, Any]) -> str | None:
    """A product card's state: its best-stocked variant that has a retail price."""
    states = [v["stock_state"] for v in product["variants"] if v.get("price") and "stock_state" in v]
    return max(states, key=STOCK_RANK.__getitem__) if states else None


async def _listing(
    request: Request, session: DbSession, viewer: listing.Viewer, q: str | None, category: str | None
) -> list[dict[str, Any]]:

    async def build() -> Any:
        products = await repository.list_products(session, q=q, category_slug=category)
        return PRODUCTS.dump_python(await supply_products.products_out(session, products, viewer), mode="json")

    cache: ListingCache = request.app.state.listing_cache
    cached = await cache.get_or_build(session, ("shop-home", viewer, q, category, clock.today()), build)
    return await supply_products.with_stock(session, cached, viewer)


@router.get("/")
async def home(
    request: Request, session: DbSession, principal: MaybeUser, q: str | None = None, category: str | None = None
) -> Response:
    """In season now first, then the rest; search by name and filter by category."""
    q = (q or "").strip()[:50] or None
    category = (category or "").strip()[:60] or None
    viewer = listing.viewer_for(principal)
    month = clock.today().month

    async def build() -> dict[str, Any]:
        views = await _listing(request, session, viewer, q, category)
        for view in views:
            view["stock_state"] = product_stock_state(view)
        return {
            "in_season": [p for p in views if p["in_season"]],
            "coming": sorted(
                (p for p in views if not p["in_season"] and p["season_months"]),
                key=lambda p: min((m - month) % 12 for m in p["season_months"]),
            ),
            "year_round": [p for p in views if not p["season_months"]],
            # Open pre-sale waves (countdown, what is left): kept with the page a second like the rest.
            "presales": await presale_pages.open_wave_cards(session),
            # Plain values, not rows: the memo outlives this request's session.
            "categories": [{"slug": c.slug, "name_zh": c.name_zh} for c in await repository.list_categories(session)],
        }

    # What every visitor of this kind sees alike, kept a second (app.kit.short_memo).
    shared = await _page_memo(request).get_or_build(
        ("home", viewer, q, category, clock.today()), _memo_seconds(request), build
    )
    return render(
        request,
        "shop/home.html",
        {**shared, "q": q or "", "category": category or "", "month": month, "stock_labels": STOCK_LABELS},
    )


def _page_memo(request: Request) -> ShortMemo:
    memo: ShortMemo = request.app.state.page_memo
    return memo


def _memo_seconds(request: Request) -> float:
    return float(request.app.state.settings.public_cache_seconds)


async def _product(request: Request, session: DbSession, principal: Principal | None, slug: str) -> dict[str, Any]:
    """The product with its variants' stock state — cached texts and prices, fresh stock, like
    ``GET /api/v1/products/{slug}``."""
    viewer = listing.viewer_for(principal)

    async def build() -> Any:
        product = await repository.product_by_slug(session, slug)
        if product is None or not product.is_active:
            raise errors.ProductNotFound()
        return PRODUCTS.dump_python(await supply_products.products_out(session, [product], viewer), mode="json")

    async def with_stock() -> dict[str, Any]:
        cache: ListingCache = request.app.state.listing_cache
        cached = await cache.get_or_build(session, ("shop-product", viewer, slug, clock.today()), build)
        view: dict[str, Any] = (await supply_products.with_stock(session, cached, viewer))[0]
        for variant in view["variants"]:
            variant["weight_options"] = weight_options(variant)
        return view

    # Shared read-only by the visitors of this kind for a second (app.kit.short_memo).
    view: dict[str, Any] = await _page_memo(request).get_or_build(
        ("product", viewer, slug, clock.today()), _memo_seconds(request), with_stock
    )
    return view


async def _render_product(
    request: Request,
    session: DbSession,
    principal: Principal | None,
    slug: str,
    *,
    errors: list[str] | None = None,
    added: str | None = None,
    status_code: int = 200,
) -> Response:
    view = await _product(request, session, principal, slug)
    added_line = None
    if added:
        names = {v["sku"]: v for v in view["variants"]}
        for line in cart.read_cart(request):
            if line.sku == added and added in names:
                added_line = {"variant": names[added], "quantity": line.quantity}
    return render(
        request,
        "shop/product.html",
        {
            "product": view,
            "stock_labels": STOCK_LABELS,
            "errors": errors or [],
            "added": added_line,
            "line_max": get_settings().cart_line_maximums,  # as pricing reads it
            # Kept a second with the product, as the home page keeps its own (app.kit.short_memo).
            "presales": await _page_memo(request).get_or_build(
                ("product-presales", slug, clock.today()),
                _memo_seconds(request),
                lambda: presale_pages.open_wave_cards(session, product_slug=slug),
            ),
        },
        status_code=status_code,
    )


@router.get("/products/{slug}")
async def product_page(
    request: Request, slug: str, session: DbSession, principal: MaybeUser, added: str | None = None
) -> Response:
    return await _render_product(request, session, principal, slug, added=(added or "")[:40] or None)


# ---- cart -----------------------------------------------------------------------------------------


def _cart_quantity(raw: str, other: str = "") -> Decimal:
    """The quantity a form asked for: the free "其他重量" field wins when it is filled."""
    text = (other or "").strip() or (raw or "").strip()
    if not text:
        raise FormError("请填写数量")
    try:
        quantity = parse_quantity(text)
    except QuantityError as exc:
        raise FormError(str(exc)) from exc
    if quantity <= 0:
        raise FormError("数量必须大于 0")
    return quantity


async def _check_prices(session: DbSession, sku: str, quantity: Decimal) -> None:
    """Refuse a quantity the shop would not sell (minimum, step, unknown SKU) before it is stored."""
    await pricing.price_line(session, sku, quantity, channel=SalesChannel.shop)


def _problem_text(exc: AppError) -> list[str]:
    lines = exc.detail.get("lines") if isinstance(exc.detail, dict) else None
    messages = [str(line.get("message")) for line in lines or [] if isinstance(line, dict) and line.get("message")]
    return messages or [exc.text]


@router.post("/cart/add", dependencies=[PublicAccess, CsrfProtected])
async def add_to_cart(
    request: Request,
    session: DbSession,
    sku: Annotated[str, Form(max_length=cart.MAX_SKU_LENGTH)],
    quantity: Annotated[str, Form(max_length=20)] = "",
    quantity_other: Annotated[str, Form(max_length=20)] = "",
    next: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    principal = request.scope.get("np.principal")
    variant = await repository.variant_by_sku(session, sku)
    if variant is None or not variant.is_active or not variant.product.is_active:
        raise errors.VariantNotFound()
    lines = cart.read_cart(request)
    try:
        wanted = _cart_quantity(quantity, quantity_other)
        updated = cart.with_added(lines, sku, wanted)
        total = next_line.quantity if (next_line := _line(updated, sku)) else wanted
        await _check_prices(session, sku, total)
    except AppError as exc:
        return await _render_product(
            request, session, principal, variant.product.slug, errors=_problem_text(exc), status_code=exc.status_code
        )
    target = safe_next(next) or f"/products/{variant.product.slug}"
    response = RedirectResponse(f"{target.split('?')[0]}?added={quote(sku)}", status_code=303)
    cart.write_cart(request, response, updated)
    return response


def _line(lines: list[cart.CartLine], sku: str) -> cart.CartLine | None:
    return next((line for line in lines if line.sku == sku), None)


async def _render_cart(
    request: Request, session: DbSession, *, errors: list[str] | None = None, status_code: int = 200
) -> Response:
    view = await cart.cart_view(session, cart.read_cart(request))
    return render(request, "shop/cart.html", {"cart": view, "errors": errors or []}, status_code=status_code)


@router.get("/cart", dependencies=[PublicAccess])
async def cart_page(request: Request, session: DbSession) -> Response:
    return await _render_cart(request, session)


@router.post("/cart/update", dependencies=[PublicAccess, CsrfProtected])
async def update_cart(
    request: Request,
    session: DbSession,
    sku: Annotated[str, Form(max_length=cart.MAX_SKU_LENGTH)],
    quantity: Annotated[str, Form(max_length=20)],
) -> Response:
    lines = cart.read_cart(request)
    if _line(lines, sku) is None:
        return RedirectResponse("/cart", status_code=303)
    try:
        text = quantity.strip()
        wanted = Decimal(0) if text in ("0", "0.0", "0.00", "0.000") else _cart_quantity(text)
        if wanted > 0:
            await _check_prices(session, sku, wanted)
    except AppError as exc:
        return await _render_cart(request, session, errors=_problem_text(exc), status_code=exc.status_code)
    response = RedirectResponse("/cart", status_code=303)
    cart.write_cart(request, response, cart.with_quantity(lines, sku, wanted))
    return response


@router.post("/cart/remove", dependencies=[PublicAccess, CsrfProtected])
async def remove_from_cart(request: Request, sku: Annotated[str, Form(max_length=cart.MAX_SKU_LENGTH)]) -> Response:
    response = RedirectResponse("/cart", status_code=303)
    cart.write_cart(request, response, cart.without(cart.read_cart(request), sku))
    return response
