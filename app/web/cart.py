"""The shop cart: SKUs and quantities in a signed cookie, priced by the server on every page.

Storage, decided: the cart lives **only** in the ``np_cart`` cookie, for guests and signed-in
customers alike — there is no carts table. The cookie is signed (itsdangerous, keyed with the app's
``SECRET_KEY``) and holds ``[{"sku", "quantity"}]`` with quantities as decimal strings, at most
``MAX_LINES`` lines. "Merge on login" is therefore nothing to do: signing in does not touch the
cookie, so the cart filled as a guest is the customer's cart once signed in (and it stays in that
browser after signing out). The price of that simplicity: a cart does not follow a customer to
another device.

What the cookie never holds is a price: cart, checkout and order pages price through
``app.catalog.pricing.price_lines`` (shop channel) each time, so an old or edited cookie can only
name SKUs and quantities. A cookie with a bad signature, an unexpected shape, a bad quantity or
too many lines is ignored as a whole — the visitor simply sees an empty cart, never an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fastapi import Request, Response
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import errors as catalog_errors
from app.catalog import pricing
from app.catalog import repository as catalog_repository
from app.channels import SalesChannel
from app.kit.quantities import QuantityError, Unit, format_quantity, parse_quantity
from app.supply import service as supply_service
from app.supply.errors import LocationNotFound
from app.web.errors import FormError

CART_COOKIE = "np_cart"
MAX_LINES = 30
MAX_SKU_LENGTH = 40
MAX_AGE_SECONDS = 30 * 24 * 3600
_SALT = "np-cart"


class CartFull(FormError):
    """One more kind of product than the cart holds: shown on the page like a form's refusal."""

    code = "cart_full"


@dataclass(frozen=True)
class CartLine:
    sku: str
    quantity: Decimal


def _serializer(request: Request) -> URLSafeTimedSerializer:
    secret = request.app.state.settings.secret_key.get_secret_value()
    return URLSafeTimedSerializer(secret, salt=_SALT)


def _valid_lines(data: Any) -> list[CartLine] | None:
    if not isinstance(data, list) or len(data) > MAX_LINES:
        return None
    lines: list[CartLine] = []
    for item in data:
        if not isinstance(item, dict) or set(item) != {"sku", "quantity"}:
            return None
        sku, raw = item["sku"], item["quantity"]
        if not isinstance(sku, str) or not 0 < len(sku) <= MAX_SKU_LENGTH or not isinstance(raw, str):
            return None
        try:
            quantity = parse_quantity(raw)
        except QuantityError:
            return None
        if quantity <= 0 or any(line.sku == sku for line in lines):
            return None
        lines.append(CartLine(sku, quantity))
    return lines


def read_cart(request: Request) -> list[CartLine]:
    """The visitor's cart lines (cached per request); empty when the cookie is missing or not ours."""
    cached: list[CartLine] | None = request.scope.get("np.cart")
    if cached is not None:
        return cached
    lines: list[CartLine] = []
    raw = request.cookies.get(CART_COOKIE)
    if raw:
        try:
            lines = _valid_lines(_serializer(request).loads(raw, max_age=MAX_AGE_SECONDS)) or []
        except BadData:
            lines = []
    request.scope["np.cart"] = lines
    return lines


def write_cart(request: Request, response: Response, lines: list[CartLine]) -> None:
    request.scope["np.cart"] = lines
    if not lines:
        clear_cart(request, response)
        return
    payload = [{"sku": line.sku, "quantity": format_quantity(line.quantity)} for line in lines[:MAX_LINES]]
    response.set_cookie(
        CART_COOKIE,
        _serializer(request).dumps(payload),
        max_age=MAX_AGE_SECONDS,
        httponly=True,
        samesite="lax",
        secure=bool(request.app.state.settings.session_cookie_secure),
    )


def clear_cart(request: Request, response: Response) -> None:
    response.delete_cookie(
        CART_COOKIE, httponly=True, samesite="lax", secure=bool(request.app.state.settings.session_cookie_secure)
    )


def with_added(lines: list[CartLine], sku: str, quantity: Decimal) -> list[CartLine]:
    """Adding a SKU already in the cart adds to its quantity; a new SKU goes last."""
    if any(line.sku == sku for line in lines):
        return [CartLine(line.sku, line.quantity + quantity) if line.sku == sku else line for line in lines]
    if len(lines) >= MAX_LINES:
        raise CartFull(f"购物车最多放 {MAX_LINES} 种商品，请先结算或移除一些")
    return [*lines, CartLine(sku, quantity)]


def with_quantity(lines: list[CartLine], sku: str, quantity: Decimal) -> list[CartLine]:
    if quantity <= 0:
        return without(lines, sku)
    return [CartLine(line.sku, quantity) if line.sku == sku else line for line in lines]


def without(lines: list[CartLine], sku: str) -> list[CartLine]:
    return [line for line in lines if line.sku != sku]


# ---- the priced view of a cart ------------------------------------------------------------------


@dataclass(frozen=True)
class CartRow:
    sku: str
    quantity: Decimal
    name: str
    product_name: str
    product_slug: str | None
    unit: str
    unit_label: str
    is_weight: bool
    unit_price_minor: int | None = None
    line_total_minor: int | None = None
    min_quantity: Decimal | None = None
    increment: Decimal | None = None
    error: str | None = None
    available: Decimal | None = None

    @property
    def priced(self) -> bool:
        return self.error is None and self.line_total_minor is not None

    @property
    def short(self) -> bool:
        return self.available is not None and self.available < self.quantity


@dataclass(frozen=True)
class CartView:
    rows: list[CartRow]
    currency: str = "CNY"

    @property
    def subtotal_minor(self) -> int:
        return sum(row.line_total_minor or 0 for row in self.rows if row.priced)

    @property
    def priced_rows(self) -> list[CartRow]:
        return [row for row in self.rows if row.priced]

    @property
    def has_problems(self) -> bool:
        return any(not row.priced for row in self.rows)


async def _price_what_prices(
    session: AsyncSession, lines: list[CartLine]
) -> tuple[dict[str, pricing.PricedLine], dict[str, str]]:
    """Price every line that still prices; the others get their Chinese reason. ``price_lines``
    refuses a whole request when one line is bad, naming each bad line, so the bad ones are set
    aside and the rest priced again."""
    remaining = list(lines)
    problems: dict[str, str] = {}
    for _ in range(3):
        if not remaining:
            break
        try:
            priced = await pricing.price_lines(
                session,
                [pricing.LineRequest(line.sku, line.quantity) for line in remaining],
                channel=SalesChannel.shop,
            )
        except catalog_errors.PricingError as exc:
            bad = exc.detail.get("lines", []) if isinstance(exc.detail, dict) else []
            for problem in bad:
                index = problem.get("line")
                if isinstance(index, int) and 0 <= index < len(remaining):
                    problems[remaining[index].sku] = str(problem.get("message") or exc.text)
            if not bad:
                problems.update({line.sku: exc.text for line in remaining})
            remaining = [line for line in remaining if line.sku not in problems]
            continue
        return {line.sku: line for line in priced}, problems
    problems.update({line.sku: "暂时无法计价" for line in remaining})
    return {}, problems


async def cart_view(session: AsyncSession, lines: list[CartLine], *, with_stock: bool = True) -> CartView:
    """The cart as pages show it: names, server prices, line totals, and what no longer prices."""
    variants = await catalog_repository.active_variants_with_products(session, [line.sku for line in lines])
    priced, problems = await _price_what_prices(session, lines)
    available: dict[int, Decimal] = {}
    if with_stock and priced:
        try:
            available = await supply_service.available_to_sell(
                session, [p.variant_id for p in priced.values()], channel=SalesChannel.shop
            )
        except LocationNotFound:
            available = {}
    rows = []
    for line in lines:
        variant = variants.get(line.sku)
        unit = Unit(variant.unit) if variant else None
        found = priced.get(line.sku)
        rows.append(
            CartRow(
                sku=line.sku,
                quantity=line.quantity,
                name=variant.name_zh if variant else line.sku,
                product_name=variant.product.name_zh if variant else "已下架的商品",
                product_slug=variant.product.slug if variant else None,
                unit=unit.value if unit else "",
                unit_label=unit.label_zh if unit else "",
                is_weight=unit.is_weight if unit else False,
                unit_price_minor=found.unit_price_minor if found else None,
                line_total_minor=found.line_total_minor if found else None,
                min_quantity=found.min_quantity if found else None,
                increment=found.increment if found else None,
                error=problems.get(line.sku) if not found else None,
                available=available.get(found.variant_id, Decimal(0)) if found and with_stock else None,
            )
        )
    return CartView(rows)
