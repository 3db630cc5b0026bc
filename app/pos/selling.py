"""A sale uploaded by a till: checked, re-priced, recorded on the order pipeline, taken off the
store's book.

Checks (each refusal records nothing): every line's variant exists, is sold (has a retail price)
and has the SKU the till says; its quantity is valid for its unit; the till's arithmetic holds —
line total = unit price × quantity rounded half-up once (a price label's line total is the
label's), subtotal = Σ lines, discount ≤ subtotal, tenders − change = total, change ≤ cash
tendered, a QR tender names its wallet. A discount beyond ``POS_CLERK_DISCOUNT_LIMIT_PERCENT`` of
the subtotal needs a store manager (signed in, or an approval token for this sale, action
``discount``, covering the discount).

Each line is priced again on the server by the one pricing function
(``catalog.pricing.price_counter_line``). The till's price stands — it is what the customer paid —
and where the list's differs, the list's is kept on the line and the sale is marked
``price_differs`` for staff to see.

Recording: an ``orders`` row of channel ``pos`` numbered with the till's sale number, completed,
paid and handed over (``orders.service.create_counter_order``), its lines, the ``pos_sales`` row,
a ``pos_sale_lines`` row per line, the tenders. Then the stock (``supply.counter_sales``): what
the book covers is taken FEFO; the rest is the line's short quantity and a stock exception. A sale
is never refused for stock.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.access import Principal
from app.catalog import pricing
from app.catalog import repository as catalog_repository
from app.catalog.models import Variant
from app.catalog.pricing import PricedLine
from app.channels import SalesChannel
from app.config import get_settings
from app.kit import clock
from app.kit.money import line_total_minor
from app.kit.quantities import QuantityError, Unit, parse_quantity
from app.orders import service as orders_service
from app.orders.models import DeliveryMethod, PaymentMethod
from app.pos import approvals, errors, repository, sale_queries, shifts
from app.pos.approvals import ApprovalAction
from app.pos.models import Till
from app.pos.sale_models import SaleLine, Shift, ShiftStatus, StockExceptionStatus, Tender
from app.pos.sync_schemas import SaleLineIn, SaleOp, TenderIn
from app.supply import counter_sales
from app.supply import service as supply_service
from app.supply.errors import InvalidStockQuantity

WALK_IN_CUSTOMER = "门店顾客"


@dataclass(frozen=True)
class Recorded:
    duplicate: bool
    number: str
    public_url: str


def public_url(client_id: uuid.UUID) -> str:
    """The sale's public page (the receipt's QR code): its lots' trace pages once it has synced."""
    return f"{get_settings().public_base_url.rstrip('/')}/r/{client_id}"


def sale_number(prefix: str, seq: int) -> str:
    """How a till numbers its sales: its prefix and its own sequence."""
    return f"{prefix}-{seq:06d}"


@dataclass(frozen=True)
class SalePlace:
    """Where the till's sales are made: the till and its store's stock location (read once per upload)."""

    till: Till
    location_id: int


async def sale_place(session: AsyncSession, principal: Principal) -> SalePlace:
    assert principal.till_id is not None and principal.store_id is not None
    till = await repository.till_by_id(session, principal.till_id)
    location = await repository.location_of_store(session, principal.store_id)
    assert till is not None
    if location is None:
        raise errors.StoreNotFound()
    return SalePlace(till, location.id)


async def record_sale(session: AsyncSession, principal: Principal, op: SaleOp, place: SalePlace) -> Recorded:
    assert principal.till_id is not None and principal.store_id is not None
    existing = await sale_queries.sale_by_client_id(session, op.client_id)
    if existing is not None:
        return duplicate_of(existing.till_id, existing.number, principal, op)
    shift = await shifts.till_shift(session, principal, op.shift_client_id)
    skus = [line.sku for line in op.lines]
    variants = await catalog_repository.active_variants_with_products(session, skus)
    prices = await pricing.counter_prices(session, skus, channel=SalesChannel.pos, variants=variants)
    checked = await check_sale(session, principal, op, place, shift, prices)

    order = await orders_service.create_counter_order(session, *checked.order(principal, place))
    if order is None:
        # The number is taken: by this very sale (uploaded meanwhile from another connection, whose
        # transaction this one waited for), or by another one.
        existing = await sale_queries.sale_by_client_id(session, op.client_id)
        if existing is None:
            raise errors.SaleNumberTaken(detail={"number": op.number})
        return duplicate_of(existing.till_id, existing.number, principal, op)
    sale_id = await sale_queries.insert_sale(session, checked.sale_values(principal, place, order.id))
    if sale_id is None:
        raise errors.ClientIdTaken()  # the savepoint takes the order back
    order_line_ids = await sale_queries.order_line_ids(session, order.id)
    taken = await counter_sales.take_for_counter_sale(
        session,
        location_id=place.location_id,
        sale_number=op.number,
        lines=checked.counter_lines(order_line_ids),
        actor_user_id=principal.user_id,
    )
    for values in checked.line_values(sale_id, order_line_ids, taken):
        session.add(SaleLine(**values))
    for values in checked.exception_values(principal, place, sale_id, taken):
        sale_queries.add_stock_exception(session, **values)
    for values in checked.tender_values(sale_id):
        session.add(Tender(**values))
    await session.flush()
    return Recorded(False, op.number, public_url(op.client_id))


@dataclass(frozen=True)
class CheckedSale:
    """A sale that passed every check, with what recording it writes."""

    op: SaleOp
    shift_id: int
    variants: Mapping[str, Variant]
    priced: list[tuple[PricedLine, PricedLine | None]]
    subtotal: int
    total: int
    discount_approved_by: int | None

    def order(
        self, principal: Principal, place: SalePlace
    ) -> tuple[orders_service.NewOrder, orders_service.CounterSale]:
        op = self.op
        return (
            orders_service.NewOrder(
                channel=SalesChannel.pos,
                lines=[line for line, _ in self.priced],
                location_id=place.location_id,
                contact_name=WALK_IN_CUSTOMER,
                contact_phone="",
                payment_method=_payment_method(op.tenders, op.change_minor),
                delivery_method=DeliveryMethod.counter,
                awaiting_payment=False,
                placed_message_zh=f"门店柜台售出（{op.number}），当场付款交货",
                event_detail={"sale": op.number, "till_id": place.till.id, "made_offline": op.made_offline},
            ),
            orders_service.CounterSale(
                number=op.number,
                discount_minor=op.discount_minor,
                sold_by_user_id=principal.user_id,
                variants=self.variants,
            ),
        )

    def sale_values(self, principal: Principal, place: SalePlace, order_id: int) -> dict[str, Any]:
        op = self.op
        return {
            "client_id": op.client_id,
            "number": op.number,
            "order_id": order_id,
            "store_id": principal.store_id,
            "till_id": place.till.id,
            "shift_id": self.shift_id,
            "clerk_id": principal.user_id,
            "sold_at": op.at,
            "recorded_at": clock.now(),
            "made_offline": op.made_offline,
            "subtotal_minor": self.subtotal,
            "discount_minor": op.discount_minor,
            "discount_reason": op.discount_reason.strip()[:100],
            "discount_approved_by_id": self.discount_approved_by,
            "total_minor": self.total,
            "tendered_minor": sum(tender.amount_minor for tender in op.tenders),
            "change_minor": op.change_minor,
            "refunded_minor": 0,
            "price_differs": any(listed is not None for _, listed in self.priced),
        }

    def counter_lines(self, order_line_ids: Sequence[int]) -> list[counter_sales.CounterLine]:
        return [
            counter_sales.CounterLine(line_id, line.variant_id, line.quantity)
            for line_id, (line, _) in zip(order_line_ids, self.priced, strict=True)
        ]

    def line_values(
        self, sale_id: int, order_line_ids: Sequence[int], taken: Sequence[counter_sales.LineTaken]
    ) -> list[dict[str, Any]]:
        return [
            {
                "order_line_id": line_id,
                "sale_id": sale_id,
                "source": sent.source,
                "code": sent.code,
                "grams": sent.grams,
                "list_unit_price_minor": listed.unit_price_minor if listed else None,
                "list_line_total_minor": listed.line_total_minor if listed else None,
                "returned_quantity": Decimal(0),
                "short_quantity": took.short,
            }
            for line_id, sent, (_, listed), took in zip(order_line_ids, self.op.lines, self.priced, taken, strict=True)
        ]

    def exception_values(
        self, principal: Principal, place: SalePlace, sale_id: int, taken: Sequence[counter_sales.LineTaken]
    ) -> list[dict[str, Any]]:
        """A stock exception per line the book could not cover."""
        return [
            {
                "store_id": principal.store_id,
                "location_id": place.location_id,
                "sale_id": sale_id,
                "variant_id": took.variant_id,
                "quantity": took.short,
                "status": StockExceptionStatus.open.value,
                "note": f"销售 {self.op.number} 时账面库存不足",
            }
            for took in taken
            if took.short > 0
        ]

    def tender_values(self, sale_id: int) -> list[dict[str, Any]]:
        return [
            {
                "sale_id": sale_id,
                "method": tender.method,
                "wallet": tender.wallet if tender.method == "qr" else None,
                "amount_minor": tender.amount_minor,
                "reference_tail": tender.reference_tail,
            }
            for tender in self.op.tenders
        ]


async def check_sale(
    session: AsyncSession,
    principal: Principal,
    op: SaleOp,
    place: SalePlace,
    shift: Shift,
    prices: pricing.CounterPrices,
) -> CheckedSale:
    """Every check of a sale (its shift read already, its lines' variants and prices too); the
    first that fails raises its ``AppError``. Reads nothing but a manager's approval, when needed."""
    if shift.status != ShiftStatus.open.value:
        raise errors.ShiftClosed()
    if not op.number.startswith(f"{place.till.sale_prefix}-"):
        raise errors.SaleNumberInvalid(detail={"number": op.number, "prefix": place.till.sale_prefix})
    priced = _checked_lines(op.lines, prices)
    subtotal = sum(line.line_total_minor for line, _ in priced)
    total = _check_totals(op, subtotal)
    approver = await _discount_approver(session, principal, op, subtotal)
    return CheckedSale(op, shift.id, prices.variants, priced, subtotal, total, approver)


def duplicate_of(till_id: int, number: str, principal: Principal, op: SaleOp) -> Recorded:
    if till_id != principal.till_id:
        raise errors.ClientIdTaken()
    return Recorded(True, number, public_url(op.client_id))


def _checked_lines(
    lines: Sequence[SaleLineIn], prices: pricing.CounterPrices
) -> list[tuple[PricedLine, PricedLine | None]]:
    """Each line as the till sold it (its price), with the list's price when that differs."""
    quantities: list[Decimal] = []
    for n, line in enumerate(lines, start=1):
        variant = prices.variants.get(line.sku)
        if variant is None or variant.id != line.variant_id:
            raise errors.SaleLineInvalid(f"第 {n} 行：商品不存在、已下架或 SKU 与商品不符", detail={"line": n})
        try:
            quantity = parse_quantity(line.quantity)
            supply_service.check_quantity_for_unit(quantity, Unit(variant.unit))
        except (QuantityError, InvalidStockQuantity) as exc:
            raise errors.SaleLineInvalid(f"第 {n} 行：数量不对（{exc}）", detail={"line": n}) from exc
        if line.source != "price_label" and line.line_total_minor != line_total_minor(line.unit_price_minor, quantity):
            raise errors.SaleArithmeticWrong(f"第 {n} 行：单价 × 数量与行金额不符", detail={"line": n})
        quantities.append(quantity)
    listed = prices.price([(line.sku, quantity) for line, quantity in zip(lines, quantities, strict=True)])
    out: list[tuple[PricedLine, PricedLine | None]] = []
    for line, server in zip(lines, listed, strict=True):
        sold = dataclasses.replace(
            server, unit_price_minor=line.unit_price_minor, line_total_minor=line.line_total_minor
        )
        differs = server.unit_price_minor != line.unit_price_minor or (
            line.source != "price_label" and server.line_total_minor != line.line_total_minor
        )
        out.append((sold, server if differs else None))
    return out


def _check_totals(op: SaleOp, subtotal: int) -> int:
    """The sale's total, when the till's discount and tenders add up; else ``sale_arithmetic_wrong``."""
    if op.discount_minor > subtotal:
        raise errors.SaleArithmeticWrong("折扣不能超过小计")
    total = subtotal - op.discount_minor
    for tender in op.tenders:
        if (tender.method == "qr") != (tender.wallet is not None):
            raise errors.SaleArithmeticWrong("扫码收款须注明微信或支付宝；现金收款不写钱包")
    cash = sum(tender.amount_minor for tender in op.tenders if tender.method == "cash")
    if op.change_minor > cash:
        raise errors.SaleArithmeticWrong("找零不能超过现金实收")
    if sum(tender.amount_minor for tender in op.tenders) - op.change_minor != total:
        raise errors.SaleArithmeticWrong("收款减找零不等于应收金额")
    return total


async def _discount_approver(session: AsyncSession, principal: Principal, op: SaleOp, subtotal: int) -> int | None:
    limit = get_settings().pos_clerk_discount_limit_percent
    if op.discount_minor * 100 <= subtotal * limit:
        return None
    return await approvals.approver(
        session,
        principal,
        op.approval_token,
        action=ApprovalAction.discount,
        op_client_id=op.client_id,
        amount_minor=op.discount_minor,
        needed=errors.DiscountNeedsApproval(detail={"limit_percent": limit}),
    )


def _payment_method(tenders: Sequence[TenderIn], change_minor: int) -> PaymentMethod:
    """The order's payment method: the one that took the larger part of the money."""
    cash = sum(t.amount_minor for t in tenders if t.method == "cash") - change_minor
    qr = sum(t.amount_minor for t in tenders if t.method == "qr")
    return PaymentMethod.pos_cash if cash >= qr else PaymentMethod.pos_qr
