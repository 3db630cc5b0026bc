"""The buyer portal (/wholesale): a quick-order grid of the supply SKUs at the company's prices,
filled by hand, by a pasted list or a CSV file, or from an earlier order (再来一单); placing the
order through ``app.wholesale.ordering``; the order's page and the company's orders.

Quantities on these pages are whole CASES (quantity = cases × case pack). A basket refused with
``basket_invalid`` comes back with every problem next to its row and what was typed kept.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile

from app.accounts.access import BuyerUser, Principal
from app.db import DbSession
from app.kit.errors import AppError
from app.orders.models import OrderStatus
from app.web import forms
from app.web.templating import CsrfProtected, render
from app.wholesale import cancelling, invoices, ordering, packing, service, trips
from app.wholesale import errors as wholesale_errors
from app.wholesale.models import CreditState

router = APIRouter(prefix="/wholesale", include_in_schema=False)

CASES_FIELD = "cases."  # one number input per grid row: cases.<SKU>
MAX_CASES = 100_000
CSV_LIMIT_BYTES = 512 * 1024
# A pasted or uploaded line: SKU, then the number of cases (箱 may follow); comma (also the
# full-width one), tab or spaces between.
LINE_SPLIT = re.compile(r"[,，\t;；]|\s+")


# ---- the basket as typed ----------------------------------------------------------------------


@dataclass
class TypedBasket:
    """What the grid holds: cases typed per SKU (text, kept as typed) and a message per SKU."""

    cases: dict[str, str] = field(default_factory=dict)
    row_errors: dict[str, list[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def problem(self, sku: str, message: str) -> None:
        self.row_errors.setdefault(sku, []).append(message)


def _cases_number(raw: str) -> int | None:
    """Whole cases typed (``3`` or ``3箱``); None when it is not a whole positive number."""
    cleaned = raw.strip().removesuffix("箱").strip()
    if not cleaned.isdigit():
        return None
    value = int(cleaned)
    return value if 0 < value <= MAX_CASES else None


def parse_pasted(text: str, known: set[str]) -> TypedBasket:
    """``SKU, 箱数`` per line (tab or spaces also separate; a header line is skipped). A SKU named
    twice adds up; a line that cannot be read is named by its number."""
    basket = TypedBasket()
    totals: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        parts = [p for p in LINE_SPLIT.split(line.strip()) if p]
        if not parts:
            continue
        if len(parts) == 2 and parts[1].removesuffix("箱").strip() == "":
            parts = parts[:1]
        sku = parts[0].upper()
        if number == 1 and sku in ("SKU", "商品编号"):
            continue
        if len(parts) != 2 and not (len(parts) == 3 and parts[2] == "箱"):
            basket.errors.append(f"第 {number} 行“{line.strip()[:40]}”：应为“SKU, 箱数”")
            continue
        cases = _cases_number(parts[1])
        if cases is None:
            basket.errors.append(f"第 {number} 行 {sku}：箱数应为正整数，如 3")
            continue
        if sku not in known:
            basket.errors.append(f"第 {number} 行 {sku}：不在贵司可订的供货目录中")
            continue
        totals[sku] = totals.get(sku, 0) + cases
    basket.cases = {sku: str(n) for sku, n in totals.items()}
    return basket


def decode_csv(raw: bytes) -> str:
    """An uploaded CSV's text: UTF-8 (with or without the BOM Excel writes), else GBK — what
    Excel on a Chinese Windows saves as "CSV"."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return raw.decode("gbk")
        except UnicodeDecodeError as exc:
            raise wholesale_errors.BasketInvalid("CSV 文件无法读取：请保存为 UTF-8 或 GBK 编码的 CSV") from exc


def csv_as_lines(text: str) -> str:
    """The CSV's rows as ``SKU, 箱数`` lines for :func:`parse_pasted` (quoted cells allowed)."""
    return "\n".join(",".join(cell.strip() for cell in row[:2]) for row in csv.reader(io.StringIO(text)) if row)


def typed_from_grid(form: FormData) -> TypedBasket:
    return TypedBasket(
        cases={
            key.removeprefix(CASES_FIELD): value.strip()
            for key, value in form.items()
            if key.startswith(CASES_FIELD) and isinstance(value, str) and value.strip()
        }
    )


def basket_lines(typed: TypedBasket) -> list[ordering.BasketLine]:
    """The rows with a whole number of cases; the others get their message here."""
    lines = []
    for sku, raw in typed.cases.items():
        cases = _cases_number(raw)
        if cases is None:
            typed.problem(sku, "箱数应为正整数")
        else:
            lines.append(ordering.BasketLine(sku, cases=cases))
    return lines


def basket_problems(typed: TypedBasket, lines: Sequence[ordering.BasketLine], exc: AppError) -> None:
    """``basket_invalid``'s problems, each next to its row; any other refusal above the grid."""
    detail: dict[str, Any] = exc.detail if isinstance(exc.detail, dict) else {}
    problems = detail.get("lines") if exc.code == wholesale_errors.BasketInvalid.code else None
    if not problems:
        typed.errors.append(exc.text)
        return
    for p in problems:
        sku = lines[int(p["line"])].sku if int(p["line"]) < len(lines) else str(p.get("sku", ""))
        typed.problem(sku, str(p["message"]))


# ---- the grid page ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CityTrips:
    city: str
    slots: list[trips.TripSlot]


async def _grid_page(
    request: Request,
    session: DbSession,
    principal: Principal,
    typed: TypedBasket | None = None,
    *,
    chosen: dict[str, str] | None = None,
    notice: str = "",
    status_code: int = 200,
    catalog: list[ordering.CatalogItem] | None = None,
) -> Response:
    typed = typed or TypedBasket()
    company = await service.ordering_company(session, principal)
    profile = await service.profile(session, company.id)
    if catalog is None:
        catalog = await ordering.catalog_for(session, principal)
    cities = list(dict.fromkeys(a.city for a in profile.addresses))
    by_city = [CityTrips(city, await trips.upcoming_trips(session, city)) for city in cities]
    return render(
        request,
        "wholesale/portal.html",
        {
            "company": company,
            "terms": ordering.TERMS_ZH[company.payment_terms],
            "addresses": profile.addresses,
            "by_city": by_city,
            "catalog": catalog,
            "promise_trips": catalog[0].promisable if catalog else (),
            "typed": typed,
            "errors": typed.errors,
            "chosen": chosen or {},
            "notice": notice,
            "idempotency_key": forms.new_key(),
        },
        status_code=status_code,
    )


@router.get("")
async def portal(
    request: Request,
    session: DbSession,
    principal: BuyerUser,
    reorder: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """The quick-order grid; ``?reorder=<订单号>`` fills it with that order's lines (its own only)."""
    if not reorder:
        return await _grid_page(request, session, principal)
    view = await ordering.order_for(session, principal, reorder)
    catalog = await ordering.catalog_for(session, principal)
    packs = {item.variant.sku: item.variant.case_pack for item in catalog}
    typed = TypedBasket()
    for line in view.order.lines:
        if line.sku not in packs:
            typed.errors.append(f"{line.sku} {line.name_zh}：目前不可订购，已略去")
            continue
        typed.cases[line.sku] = str(int(line.quantity // packs[line.sku]))
    chosen = {"address_id": str(view.wholesale.delivery_address_id)}
    notice = f"已按订单 {view.order.number} 填好数量，请核对后下单"
    return await _grid_page(request, session, principal, typed, chosen=chosen, notice=notice, catalog=catalog)


@router.post("/basket", dependencies=[CsrfProtected])
async def fill_basket(request: Request, session: DbSession, principal: BuyerUser) -> Response:
    """A pasted list or an uploaded CSV fills the grid (nothing is ordered yet)."""
    form = await request.form()
    catalog = await ordering.catalog_for(session, principal)
    known = {item.variant.sku for item in catalog}
    text = forms.text(form, "paste", 20_000)
    upload = form.get("csv_file")
    errors_: list[str] = []
    if isinstance(upload, UploadFile) and upload.filename:
        raw = await upload.read(CSV_LIMIT_BYTES + 1)
        if len(raw) > CSV_LIMIT_BYTES:
            errors_.append("CSV 文件不能超过 512 KB")
        else:
            try:
                text = "\n".join(filter(None, [text, csv_as_lines(decode_csv(raw))]))
            except AppError as exc:
                errors_.append(exc.text)
    typed = parse_pasted(text, known)
    typed.errors[:0] = errors_
    if not text and not errors_:
        typed.errors.append("请粘贴“SKU, 箱数”或选择 CSV 文件")
    filled = len(typed.cases)
    notice = f"已填入 {filled} 个商品，请核对后下单" if filled else ""
    return await _grid_page(request, session, principal, typed, notice=notice, catalog=catalog)


@router.post("/orders", dependencies=[CsrfProtected])
async def place(request: Request, session: DbSession, principal: BuyerUser) -> Response:
    form = await request.form()
    typed = typed_from_grid(form)
    chosen = {"address_id": forms.text(form, "address_id", 20), "trip_date": forms.text(form, "trip_date", 10)}
    chosen["note"] = forms.text(form, "note", 500)
    lines = basket_lines(typed)

    async def work() -> str:
        address = chosen["address_id"]
        if not address.isdigit():
            raise wholesale_errors.DeliveryAddressNotFound()
        placed = await ordering.place_order(
            session,
            principal,
            lines,
            address_id=int(address),
            requested_trip_date=forms.parse_date(chosen["trip_date"], "车次"),
            note=chosen["note"],
        )
        return f"/wholesale/orders/{placed.order.number}"

    async def post() -> Response:
        if typed.row_errors:
            # A row that is not a number: show the service's word on the other rows with it.
            if lines:
                company = await service.ordering_company(session, principal)
                try:
                    await ordering.check_basket(session, company, lines)
                except wholesale_errors.BasketInvalid as exc:
                    basket_problems(typed, lines, exc)
            raise wholesale_errors.BasketInvalid(detail={"lines": []})
        return await forms.once(session, request, principal, form, work)

    async def refused(exc: forms.Refusal) -> Response:
        if isinstance(exc, AppError) and not typed.row_errors:
            basket_problems(typed, lines, exc)
        elif not isinstance(exc, AppError):
            typed.errors.append("提交的内容无法读取")
        if typed.row_errors and not typed.errors:
            typed.errors.append(f"有 {len(typed.row_errors)} 个商品需要修改，见表中红字")
        return await _grid_page(request, session, principal, typed, chosen=chosen, status_code=forms.error_status(exc))

    return await forms.submit(session, post, refused)


# ---- the company's orders ---------------------------------------------------------------------

STATUS_FILTERS = list(OrderStatus)
ORDERS_SHOWN = 200


@router.get("/orders")
async def orders_page(
    request: Request,
    session: DbSession,
    principal: BuyerUser,
    status: Annotated[str, Query(max_length=40)] = "",
    start: Annotated[str, Query(alias="from", max_length=10)] = "",
    end: Annotated[str, Query(alias="to", max_length=10)] = "",
) -> Response:
    errors_: list[str] = []
    try:
        first, last = forms.parse_date(start, "起始日期"), forms.parse_date(end, "截止日期")
        chosen = forms.choice(OrderStatus, status, "状态") if status else None
    except AppError as exc:
        first = last = chosen = None
        errors_.append(exc.text)
    shown = await ordering.company_orders(
        session, principal, limit=ORDERS_SHOWN, status=chosen, placed_on_or_after=first, placed_on_or_before=last
    )
    return render(
        request,
        "wholesale/portal_orders.html",
        {
            "rows": shown,
            "statuses": STATUS_FILTERS,
            "filters": {"status": status, "from": start, "to": end},
            "errors": errors_,
            "status_label": ordering.status_label,
        },
    )


@router.get("/orders/{number}")
async def order_page(
    request: Request,
    session: DbSession,
    principal: BuyerUser,
    number: str,
    notice: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    """One of the company's orders; another company's number is a 404 as a missing one."""
    view = await ordering.order_for(session, principal, number)
    return render(
        request,
        "wholesale/portal_order.html",
        {
            "view": view,
            "held": view.wholesale.credit_state == CreditState.held.value,
            "status_label": ordering.status_label(view.order, view.wholesale),
            "terms_text": ordering.TERMS_ZH,
            "departure": trips.departure_text(view.trip.departure_date),
            "can_cancel": cancelling.can_cancel(view),
            "notice": notice,
            "packed": packing.is_packed(view.order),
            "idempotency_key": forms.new_key(),
            "invoice": await invoices.invoice_of_order(session, view.order.id),
        },
    )
