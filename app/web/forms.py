"""The small toolkit of the server-rendered forms: reading fields, parsing what people type,
running a post once per rendered form, and the one path of a refused form.

A refused form is an :class:`~app.kit.errors.AppError` (a rule of a domain, or :class:`FormError`
for a field that cannot be read) or a pydantic ``ValidationError`` of the page's input schema: the
post is rolled back and the page is shown again with the messages (:func:`submit`). Anything else
— a ``ValueError`` or ``KeyError`` from our own code included — is a bug: it propagates and
becomes a logged 500, never a message on the page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Final, Protocol, TypeVar
from urllib.parse import urlencode
from uuid import uuid4

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from app.accounts.access import Principal
from app.catalog import repository as catalog_repository
from app.kit import clock
from app.kit.errors import AppError, InvalidInput
from app.kit.idempotency import run_idempotent
from app.kit.money import parse_major
from app.kit.quantities import QuantityError, Unit, parse_quantity
from app.supply import repository as supply_repository
from app.web.errors import FormError

IDEMPOTENCY_FIELD: Final[str] = "idempotency_key"
# Form fields left out of the idempotency fingerprint: the CSRF token changes per page view.
NOT_FINGERPRINTED: Final[frozenset[str]] = frozenset({"csrf_token", IDEMPOTENCY_FIELD})

# What a form post may raise to be shown on the page again; everything else is a 500.
Refusal = AppError | ValidationError
REFUSALS: Final = (AppError, ValidationError)
E = TypeVar("E")

# ---- reading fields ---------------------------------------------------------------------------


def text(form: FormData | dict[str, Any], name: str, limit: int | None = None, *, strip: bool = True) -> str:
    """A field's text ("" when absent or a file), trimmed unless ``strip=False`` (a form that keeps
    what was typed as it was), cut to ``limit`` characters if given."""
    value = form.get(name)
    typed = "" if not isinstance(value, str) else value.strip() if strip else value
    return typed[:limit] if limit is not None else typed


def texts(form: FormData, name: str) -> list[str]:
    """Every value of a repeated field (table rows), trimmed, in the order sent."""
    return [v.strip() if isinstance(v, str) else "" for v in form.getlist(name)]


def url(path: str, **params: Any) -> str:
    """``path`` with the non-empty ``params`` as its query string."""
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"{path}?{query}" if query else path


def new_key() -> str:
    """A fresh idempotency key for a rendered form."""
    return uuid4().hex


# ---- parsing what people type -----------------------------------------------------------------


def required(raw: str, label: str, hint: str = "请填写") -> str:
    if not raw:
        raise FormError(f"{label}：{hint}")
    return raw


def parse_date(raw: str, label: str) -> date | None:
    """A date typed as 年-月-日; None when left blank."""
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise FormError(f"{label}：日期格式应为 年-月-日，例如 {clock.today().isoformat()}") from exc


def chosen_day(raw: str, label: str = "日期") -> date:
    """A board's day (``?date=`` or its hidden field): today's China date when left blank."""
    return parse_date(raw.strip(), label) or clock.today()


def chosen_day_or_today(raw: str) -> date:
    """The day to show a board again on after a refused post: today when what was sent is not a date."""
    try:
        return chosen_day(raw)
    except FormError:
        return clock.today()


def parse_required_date(raw: str, label: str) -> date:
    parsed = parse_date(required(raw, label), label)
    assert parsed is not None  # required() refused the blank
    return parsed


def parse_decimal_quantity(raw: str, label: str) -> Decimal:
    """A quantity typed into a form: exact Decimal (to the gram), never float."""
    try:
        return parse_quantity(required(raw, label))
    except QuantityError as exc:
        raise FormError(f"{label}：{exc}") from exc


def parse_fen(raw: str, label: str, *, hint: str = "请填写金额，如 86.50") -> int:
    """An amount typed in yuan (``¥1,086.50`` allowed) → integer fen."""
    cleaned = raw.replace("¥", "").replace(",", "").strip()
    try:
        return parse_major(cleaned)
    except ArithmeticError as exc:  # not a number at all (decimal.InvalidOperation)
        raise FormError(f"{label}：{hint}") from exc
    except ValueError as exc:  # parse_major's own refusals (3 decimals, negative) carry their reason
        raise FormError(f"{label}：{exc}") from exc


def choice(kind: Callable[[str], E], raw: str, label: str, hint: str = "取值无效") -> E:
    """``raw`` as one of an enumeration's values (``LedgerKind(raw)``)."""
    try:
        return kind(raw)
    except ValueError as exc:
        raise FormError(f"{label}：{hint}") from exc


# ---- pickers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VariantChoice:
    """One sellable variant in a page's product picker (scanned by barcode or chosen by name)."""

    sku: str
    barcode: str
    label: str
    unit: str
    unit_zh: str
    is_weight: bool
    supplier_code: str
    active: bool
    product_slug: str = ""


async def variant_choices(session: AsyncSession, *, include_inactive: bool = True) -> list[VariantChoice]:
    """Every variant, product by product in catalogue order; ``include_inactive=False`` leaves out
    stopped products and variants (what a station may take in)."""
    products = await catalog_repository.list_products(session, include_inactive=include_inactive)
    suppliers = await supply_repository.suppliers_by_ids(
        session, [p.supplier_id for p in products if p.supplier_id is not None]
    )
    choices = []
    for product in products:
        supplier = suppliers.get(product.supplier_id) if product.supplier_id is not None else None
        for variant in sorted(product.variants, key=lambda v: (v.sort_order, v.id)):
            if not include_inactive and not variant.is_active:
                continue
            unit = Unit(variant.unit)
            choices.append(
                VariantChoice(
                    sku=variant.sku,
                    barcode=variant.barcode or "",
                    label=f"{product.name_zh} · {variant.name_zh}",
                    unit=unit.value,
                    unit_zh=unit.label_zh,
                    is_weight=unit.is_weight,
                    supplier_code=supplier.code if supplier else "",
                    active=variant.is_active and product.is_active,
                    product_slug=product.slug,
                )
            )
    return choices


async def scanned_sku(session: AsyncSession, code: str, *, refused_for: str) -> str:
    """What a keyboard-wedge scanner typed (an EAN-13 barcode) or a person typed (a SKU) → the SKU
    of an active variant; ``refused_for`` says what a stopped variant cannot be used for (收货, 登记)."""
    variant = await catalog_repository.variant_by_barcode(session, code) if code.isdigit() else None
    if variant is None:
        variant = await catalog_repository.variant_by_sku(session, code.upper())
    if variant is None:
        raise InvalidInput(f"没有找到条码或 SKU 为 {code} 的商品规格")
    if not variant.is_active:
        raise InvalidInput(f"规格 {variant.sku} 已停用，不能{refused_for}")
    return variant.sku


# ---- posting once, and the refused form -------------------------------------------------------


def error_status(exc: Refusal) -> int:
    return exc.status_code if isinstance(exc, AppError) else 422


async def run_once(
    session: AsyncSession,
    request: Request,
    form: FormData,
    work: Callable[[], Awaitable[Any]],
    *,
    scope: str,
    body: dict[str, Any],
    status_code: int = 200,
) -> Any:
    """Run ``work`` once per rendered form (its hidden idempotency key, ``body`` its fingerprint):
    a repeat with the same key returns the first payload without doing the work again."""
    _, payload = await run_idempotent(
        session,
        scope=scope,
        key=text(form, IDEMPOTENCY_FIELD) or None,
        method=request.method,
        path=request.url.path,
        body=body,
        work=work,
        status_code=status_code,
    )
    return payload


async def once(
    session: AsyncSession, request: Request, principal: Principal, form: FormData, work: Callable[[], Awaitable[str]]
) -> Response:
    """Run a form post once per rendered form: ``work`` returns where to go next, and a repeat with
    the same idempotency key goes there again without doing the work a second time."""

    async def run() -> dict[str, str]:
        return {"redirect": await work()}

    body = {k: texts(form, k) for k in sorted(set(form.keys())) if k not in NOT_FINGERPRINTED}
    payload = await run_once(session, request, form, run, scope=f"user:{principal.user_id}", body=body, status_code=303)
    return RedirectResponse(str(payload["redirect"]), status_code=303)


Refused = Callable[[Refusal], Awaitable[Response]]


class Rerender(Protocol):
    """Shows the form's page again: with the messages, at the refusal's status."""

    def __call__(self, *, errors: list[str], status_code: int) -> Awaitable[Response]: ...


def show_again(rerender: Rerender, messages: Callable[[Refusal], list[str]]) -> Refused:
    """The usual answer to a refusal: the page again with ``messages`` at the refusal's status."""

    async def refused(exc: Refusal) -> Response:
        return await rerender(errors=messages(exc), status_code=error_status(exc))

    return refused


async def submit(session: AsyncSession, post: Callable[[], Awaitable[Response]], refused: Refused) -> Response:
    """The one path of a page's form post: ``post``'s response, or — when it is refused — the
    session rolled back (nothing the post did stays) and ``refused``'s page (see :func:`show_again`)."""
    try:
        return await post()
    except REFUSALS as exc:
        await session.rollback()
        return await refused(exc)
