"""Wholesale ordering: the wholesale channel's thin layer over the order service
(``app/orders/service.py``), as ``app/shop/checkout.py`` is the shop's.

What only the wholesale channel decides happens here:

- **The basket** (:func:`check_basket`): supply SKUs only, ordered in cases or in units, in
  multiples of the case pack, at or above the price list's minimum; priced from the company's own
  list, else the wholesale list (``app.catalog.pricing`` — whatever price a client sent is never
  read); enough stock that still has the channel's shelf life (≥ 60 %) on the trip's date. Every
  problem at once, per line: one 422 ``basket_invalid``.
- **The trip** (``trips.assign``): the requested date's truck or the next one with room, the
  reason recorded as an order event and returned to the buyer.
- **Credit** (net 15 / 30 companies): exposure = what the company owes + its open orders + this
  order. Over the limit the order is still created, but *held* for the centre's approval: it holds
  its stock and truck room for ``WHOLESALE_CREDIT_HOLD_HOURS``; :func:`approve_held_order` confirms
  it, :func:`release_lapsed_hold` (the beat's sweep) expires it and releases both. The company row
  is locked ``FOR UPDATE`` before the credit check, so two orders of one company are checked one
  after the other and never together pass a limit each would pass alone. The basket (prices, the
  trip's choice, stock) is checked and the order written before that turn: only the credit check,
  the wholesale row, the trip's booking and the stock hold wait for it (see :func:`place_order`).
- **Overdue invoices** hold an on-account order too: a company with an invoice past its due date
  and not paid in full (``receivables.overdue_invoices``) has its next order held for approval,
  the message naming the overdue invoices and amounts.
- **Prepay** companies: the order waits for the bank transfer (the channel's unpaid hold); its
  pro-forma (``receivables.create_proforma``) asks for the money by the trip's cut-off day.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.access import Principal
from app.accounts.models import BuyerCompany, PaymentTerms
from app.catalog import errors as pricing_errors
from app.catalog import pricing
from app.catalog.models import Variant
from app.catalog.repository import PriceCandidate
from app.channels import SalesChannel
from app.config import get_settings
from app.kit import clock
from app.kit import repository as kit_repository
from app.kit.quantities import QuantityError, Unit, format_quantity, is_multiple_of, parse_quantity
from app.orders import repository as orders_repository
from app.orders import service as order_service
from app.orders import states
from app.orders.models import DeliveryMethod, Order, OrderStatus, PaymentMethod
from app.supply import service as supply_service
from app.wholesale import errors, notices, receivables, repository, service, trip_queries, trips
from app.wholesale import order_queries as queries
from app.wholesale.document_data import DeliveryAddress as DeliveryBlock
from app.wholesale.document_data import OrderConfirmation
from app.wholesale.document_data import OrderLine as ConfirmationLine
from app.wholesale.invoice_models import WholesaleInvoice
from app.wholesale.models import CreditState, DeliveryAddress, WholesaleOrder
from app.wholesale.trip_models import WholesaleTrip

TERMS_ZH = {
    PaymentTerms.prepay: "预付款（银行转账）",
    PaymentTerms.net_15: "月结 15 天",
    PaymentTerms.net_30: "月结 30 天",
}


class LineProblem:
    """The codes of ``basket_invalid``'s lines beyond the pricing ones (``unknown_sku``,
    ``not_for_sale``, ``below_minimum_order``, ``quantity_not_in_increment``, ...)."""

    not_supply_sku = "not_supply_sku"
    not_case_pack_multiple = "not_case_pack_multiple"
    quantity_missing = "quantity_missing"
    insufficient_stock = "insufficient_stock"


@dataclass(frozen=True)
class BasketLine:
    """One line as a buyer sends it: a SKU and either whole cases or a quantity in the unit of sale."""

    sku: str
    cases: int | None = None
    quantity: str | Decimal | None = None


@dataclass(frozen=True)
class CheckedLine:
    priced: pricing.PricedLine
    variant: Variant
    cases: int

    @property
    def weight_kg(self) -> Decimal:
        grams = self.variant.net_weight_grams or 0
        return Decimal(grams) * self.priced.quantity / 1000


@dataclass(frozen=True)
class CheckedBasket:
    lines: tuple[CheckedLine, ...]
    shelf_life_on: date

    @property
    def total_minor(self) -> int:
        return sum(line.priced.line_total_minor for line in self.lines)

    @property
    def weight_kg(self) -> Decimal:
        return sum((line.weight_kg for line in self.lines), Decimal(0))

    @property
    def cases(self) -> int:
        return sum(line.cases for line in self.lines)


def _problem(index: int, sku: str, code: str, message: str) -> dict[str, object]:
    return {"line": index, "sku": sku, "code": code, "message": message}


def _quantity_of(line: BasketLine, variant: Variant) -> Decimal:
    """The line's quantity in the unit of sale (cases × case pack when given in cases)."""
    if line.cases is not None:
        if line.quantity is not None:
            raise QuantityError("箱数和数量只填一项")
        return Decimal(line.cases) * variant.case_pack
    if line.quantity is None:
        raise QuantityError("请填写箱数或数量")
    return parse_quantity(line.quantity)


TripFor = Callable[[Decimal, int], Awaitable[date]]
"""Chooses the trip of the basket's load (kg, cases) and gives its departure date."""


async def check_basket(
    session: AsyncSession,
    company: BuyerCompany,
    lines: Sequence[BasketLine],
    *,
    trip_date: date | None = None,
    trip_for: TripFor | None = None,
) -> CheckedBasket:
    """Check and price every line for ``company`` with stock that keeps the wholesale shelf life on
    ``trip_date`` (default today), or raise one ``BasketInvalid`` naming every bad line.

    ``trip_for``: when every line is good so far, the trip of the basket's load is chosen and the
    stock is checked for that trip's date instead, so placing an order checks its basket once."""
    if not lines:
        raise errors.BasketInvalid("订单中没有商品", detail={"lines": []})
    on = max(trip_date or clock.today(), clock.today())
    variants = await queries.variants_by_sku(session, [line.sku for line in lines])
    problems: list[dict[str, object]] = []
    wanted: list[tuple[int, BasketLine, Variant, Decimal]] = []
    for index, line in enumerate(lines):
        variant = variants.get(line.sku)
        if variant is None:
            problems.append(
                _problem(index, line.sku, pricing_errors.UnknownSku.code, f"{line.sku}：SKU 不存在或已下架")
            )
            continue
        if not variant.is_supply_sku:
            problems.append(
                _problem(index, line.sku, LineProblem.not_supply_sku, f"{line.sku} 不是批发供货商品，请在零售商城购买")
            )
            continue
        try:
            quantity = _quantity_of(line, variant)
        except QuantityError as exc:
            problems.append(_problem(index, line.sku, pricing_errors.InvalidQuantity.code, f"{line.sku}：{exc}"))
            continue
        if quantity <= 0:
            problems.append(
                _problem(index, line.sku, pricing_errors.QuantityNotPositive.code, f"{line.sku}：数量必须大于 0")
            )
            continue
        if not is_multiple_of(quantity, Decimal(variant.case_pack)):
            unit = Unit(variant.unit).label_zh
            problems.append(
                _problem(
                    index,
                    line.sku,
                    LineProblem.not_case_pack_multiple,
                    f"{line.sku} 按整箱订购：每箱 {variant.case_pack} {unit}，"
                    f"{format_quantity(quantity)} {unit}不是整箱",
                )
            )
            continue
        wanted.append((index, line, variant, quantity))

    priced = await _price(session, company, wanted, problems)
    if trip_for is not None and priced and not problems:
        load = _basket(priced, on)
        on = max(await trip_for(load.weight_kg, load.cases), clock.today())
    await _check_stock(session, priced, problems, on)
    if problems:
        problems.sort(key=lambda p: int(str(p["line"])))
        raise errors.BasketInvalid(detail={"lines": problems})
    return _basket(priced, on)


def _basket(priced: list[tuple[int, Variant, pricing.PricedLine]], on: date) -> CheckedBasket:
    return CheckedBasket(
        tuple(
            CheckedLine(line, variant, math.ceil(line.quantity / variant.case_pack))
            for _, variant, line in sorted(priced, key=lambda item: item[0])
        ),
        on,
    )


async def _price(
    session: AsyncSession,
    company: BuyerCompany,
    wanted: list[tuple[int, BasketLine, Variant, Decimal]],
    problems: list[dict[str, object]],
) -> list[tuple[int, Variant, pricing.PricedLine]]:
    """Price the lines that passed the basket's own checks by the company's lists; the pricing
    problems (no price, below the minimum, off the increment) join ``problems`` under their line."""
    requests = [pricing.LineRequest(variant.sku, quantity) for _, _, variant, quantity in wanted]
    # The variants the basket has read, as pricing would read them (active, of an active product).
    read = {variant.sku: variant for _, _, variant, _ in wanted if variant.product.is_active}
    try:
        priced = await pricing.price_lines(
            session, requests, channel=SalesChannel.wholesale, company_id=company.id, variants=read
        )
    except pricing_errors.PricingError as exc:
        bad = {int(p["line"]) for p in exc.detail["lines"]}
        for p in exc.detail["lines"]:
            index, line, _, _ = wanted[int(p["line"])]
            problems.append(_problem(index, line.sku, str(p["error"]), str(p["message"])))
        wanted = [item for position, item in enumerate(wanted) if position not in bad]
        if not wanted:
            return []
        requests = [pricing.LineRequest(variant.sku, quantity) for _, _, variant, quantity in wanted]
        priced = await pricing.price_lines(
            session, requests, channel=SalesChannel.wholesale, company_id=company.id, variants=read
        )
    return [(index, variant, line) for (index, _, variant, _), line in zip(wanted, priced, strict=True)]


async def _check_stock(
    session: AsyncSession,
    priced: list[tuple[int, Variant, pricing.PricedLine]],
    problems: list[dict[str, object]],
    on: date,
) -> None:
    """Every line of a SKU the warehouse cannot cover (the basket's lines of one SKU together)
    from lots that still have the wholesale shelf life on ``on``."""
    if not priced:
        return
    needed: dict[int, Decimal] = defaultdict(Decimal)
    for _, variant, line in priced:
        needed[variant.id] += line.quantity
    available = await supply_service.available_to_sell(session, list(needed), channel=SalesChannel.wholesale, today=on)
    for index, variant, _ in priced:
        have = available.get(variant.id, Decimal(0))
        if needed[variant.id] > have:
            unit = Unit(variant.unit).label_zh
            problems.append(
                _problem(
                    index,
                    variant.sku,
                    LineProblem.insufficient_stock,
                    f"{variant.sku} 库存不足：{on:%m月%d日}车次可供 {format_quantity(max(have, Decimal(0)))} {unit}"
                    f"（保质期余量不低于 {get_settings().wholesale_min_shelf_life_percent}%），"
                    f"订购 {format_quantity(needed[variant.id])} {unit}",
                )
            )


# ---- credit ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Exposure:
    """What a company would owe with this order: its unpaid debts and open orders, plus the order."""

    owed_minor: int
    this_order_minor: int
    limit_minor: int

    @property
    def total_minor(self) -> int:
        return self.owed_minor + self.this_order_minor

    @property
    def over_limit(self) -> bool:
        return self.total_minor > self.limit_minor


async def owed_minor(session: AsyncSession, company_id: int) -> int:
    """What the company owes and has on order: its open orders not yet invoiced (their unpaid
    totals), plus what its invoices still owe, less money it has paid that is not yet set against
    an invoice (``receivable_queries.balance_owed_of``). Delivery invoices an order (on the packed
    quantities), so from then on its invoice counts instead of the order: never both. One statement."""
    return await queries.owed_minor(session, company_id)


def is_on_account(company: BuyerCompany) -> bool:
    return PaymentTerms(company.payment_terms) is not PaymentTerms.prepay


# ---- placing --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlacedOrder:
    order: Order
    wholesale: WholesaleOrder
    trip: trips.TripChoice
    message_zh: str
    address: DeliveryAddress


PlacedAnswer = Callable[[PlacedOrder], Awaitable[None]]
"""The caller's writes of its answer, given the order as written before the company's turn."""


@dataclass(frozen=True)
class Credit:
    """What the company's turn read: its exposure with this order, and its overdue invoices."""

    exposure: Exposure
    overdue: tuple[WholesaleInvoice, ...]

    @property
    def held(self) -> bool:
        return self.exposure.over_limit or bool(self.overdue)


def _address_block(address: DeliveryAddress) -> dict[str, object]:
    return {
        "address_id": address.id,
        "city": address.city,
        "detail": address.address,
        "receiving_hours": address.receiving_hours,
        "contact": address.contact_name,
        "phone": address.contact_phone,
    }


_WRITES = "wholesale_order_writes"  # the savepoint an order's writes are undone to (see place_order)


class _WriteAgain(Exception):
    """The company's or the truck's turn said otherwise than the order was written."""

    def __init__(self, *, credit: Credit | None = None, full_trip: int | None = None) -> None:
        super().__init__("write the order again")
        self.credit = credit
        self.full_trip = full_trip


async def place_order(
    session: AsyncSession,
    principal: Principal,
    lines: Sequence[BasketLine],
    *,
    address_id: int,
    requested_trip_date: date | None = None,
    note: str = "",
    answer: PlacedAnswer | None = None,
) -> PlacedOrder:
    """Place a wholesale order for the principal's company (the caller's ``Idempotency-Key`` makes
    a retry return the first answer). See the module's rules.

    Every order of a company takes its turn on the company's row for the credit check, every order
    of a truck on the trip's row for its room, and every order of a lot on its stock rows: those
    turns come last, after the basket is checked and the order, its events and the caller's
    ``answer`` are written, in the order company, trip, stock (as packing and cancelling lock trip
    before stock: no two transactions can each wait for the other). The order is written as the
    credit check is expected to come out (clear, or as the previous attempt's check said); when the
    check says otherwise, or the truck filled up meanwhile, the writes are rolled back to a
    savepoint and made again (rolling back also releases the rows locked after it). An order written
    held whose second check comes out clear stays held, its message the first check's: the centre's
    approval settles it."""
    company = await service.ordering_company(session, principal)
    address = await queries.delivery_address(session, company.id, address_id)
    if address is None:
        raise errors.DeliveryAddressNotFound(detail={"field": "address_id"})
    credit: Credit | None = None  # what an earlier attempt's turn read
    full: frozenset[int] = frozenset()  # trips found full when booking
    # The order's writes can be undone until its turns have said yes; the savepoint is not released
    # (the commit does it): a RELEASE would be one more round trip inside the company's turn.
    await kit_repository.set_savepoint(session, _WRITES)
    while True:
        choice, basket = await _trip_and_basket(session, company, address, lines, requested_trip_date, full)
        try:
            placed = await _write_order(
                session,
                principal,
                company,
                address,
                basket,
                choice,
                credit,
                requested=requested_trip_date,
                note=note,
                answer=answer,
            )
        except _WriteAgain as again:
            await kit_repository.rollback_to_savepoint(session, _WRITES)
            credit = again.credit or credit
            full = full | ({again.full_trip} if again.full_trip is not None else set())
            continue
        return placed


async def _trip_and_basket(
    session: AsyncSession,
    company: BuyerCompany,
    address: DeliveryAddress,
    lines: Sequence[BasketLine],
    requested_trip_date: date | None,
    full: frozenset[int],
) -> tuple[trips.TripChoice, CheckedBasket]:
    """The lines checked and priced, the load's trip chosen (not ``full`` ones), then the stock
    checked for that trip's date (the lots must keep until the truck leaves): the basket read once."""
    chosen: list[trips.TripChoice] = []

    async def choose_trip(weight_kg: Decimal, cases: int) -> date:
        chosen.append(
            await trips.choose_trip(
                session,
                city=address.city,
                weight_kg=weight_kg,
                cases=cases,
                requested_date=requested_trip_date,
                exclude=full,
            )
        )
        return chosen[-1].trip.departure_date

    basket = await check_basket(session, company, lines, trip_date=requested_trip_date, trip_for=choose_trip)
    return chosen[0], basket


async def _credit_turn(
    session: AsyncSession, wholesale: WholesaleOrder, order_minor: int, *, held: bool
) -> tuple[Credit, bool]:
    """The company's turn (``order_queries.take_turn_and_book``): its row locked, then read again (a
    suspension decided meanwhile counts) with what it owes and how many invoices are overdue, in
    the statement that writes the wholesale row and books the truck; the overdue invoices
    themselves only when there are some. The credit as read, and whether the truck took the load."""
    turn = await queries.take_turn_and_book(
        session, wholesale, order_minor=order_minor, keep_exposure=held, today=clock.today(), now=clock.now()
    )
    assert turn is not None  # read at the start of this transaction; companies are never deleted
    service.ensure_may_order(turn.company)
    overdue = tuple(await receivables.overdue_invoices(session, wholesale.company_id)) if turn.overdue_count else ()
    return Credit(Exposure(turn.owed_minor, order_minor, turn.company.credit_limit_minor), overdue), turn.booked


async def _write_order(
    session: AsyncSession,
    principal: Principal,
    company: BuyerCompany,
    address: DeliveryAddress,
    basket: CheckedBasket,
    choice: trips.TripChoice,
    credit: Credit | None,
    *,
    requested: date | None,
    note: str,
    answer: PlacedAnswer | None,
) -> PlacedOrder:
    """The order as ``credit`` says (None: clear) with its events, notices and the caller's
    answer; then the company's turn (on account), the wholesale row, the truck's turn and the stock
    hold. Raises :class:`_WriteAgain` when a turn says otherwise."""
    on_account = is_on_account(company)
    held = on_account and credit is not None and credit.held
    trip_date = choice.trip.departure_date
    hold_until = clock.now() + timedelta(hours=get_settings().wholesale_credit_hold_hours) if held else None
    trip_text = f"车次 {choice.trip.number}（{trips.departure_text(trip_date)}发车）"
    if held and credit is not None and not credit.exposure.over_limit:
        message = (
            f"订单已提交，但贵司有逾期未付的结算单：{receivables.overdue_text(credit.overdue)}，"
            f"需服务中心审批；库存和车位保留至 {_local(hold_until)}"
        )
    elif held and credit is not None:
        message = (
            f"订单已提交，但超出贵司信用额度（额度 {_yuan(credit.exposure.limit_minor)}，"
            f"含本单应付 {_yuan(credit.exposure.total_minor)}），需服务中心审批；"
            f"库存和车位保留至 {_local(hold_until)}"
        )
    elif on_account:
        message = f"订单已确认，{TERMS_ZH[PaymentTerms(company.payment_terms)]}，{trip_text}"
    else:
        message = f"订单已提交，请在 48 小时内银行转账付款，到账后确认发货，{trip_text}"

    user_id = principal.user_id
    written: list[PlacedOrder] = []
    # Written with the order's ``placed`` event, in one statement (``NewOrder.more_events``).
    events = [
        order_service.EventNote(
            "trip_assigned",
            f"安排{trip_text}" + (f"：{choice.reason_zh}" if choice.reason_zh else ""),
            {"trip": choice.trip.number, "reason": choice.reason_code, "requested": str(requested or "")},
        )
    ]
    if held and credit is not None and hold_until is not None:
        events.append(
            order_service.EventNote(
                "credit_hold",
                message,
                {
                    "limit_minor": credit.exposure.limit_minor,
                    "owed_minor": credit.exposure.owed_minor,
                    "order_minor": credit.exposure.this_order_minor,
                    "hold_until": hold_until.isoformat(),
                    "overdue_invoices": [i.number for i in credit.overdue],
                },
            )
        )

    async def turns(order: Order) -> None:
        """After the order's own writes, before its stock is held (``create_order(before_hold=…)``):
        its notices and answer, then the company's and the truck's turns."""
        if held and hold_until is not None:
            await notices.order_held(session, order, hold_until)
        if not on_account:
            await receivables.create_proforma(
                session, order, company, cutoff_at=choice.trip.cutoff_at, actor_user_id=user_id
            )
        # ``order`` is as written (the order service sets its lines and events): the answer is
        # built without reading the order back.
        wholesale = WholesaleOrder(
            order_id=order.id,
            company_id=company.id,
            trip_id=choice.trip.trip_id,
            delivery_address_id=address.id,
            requested_date=requested,
            trip_reason_code=choice.reason_code,
            trip_reason_zh=choice.reason_zh,
            weight_kg=basket.weight_kg,
            cases=basket.cases,
            credit_state=(CreditState.held if held else CreditState.clear).value,
            exposure_minor=credit.exposure.total_minor if credit is not None else 0,
            credit_hold_until=hold_until,
            trip_released_at=None,
        )
        written.append(PlacedOrder(order, wholesale, choice, message, address))
        if answer is not None:
            await answer(written[0])
        if on_account:
            # One statement after the lock reads the credit, writes the wholesale row (its
            # exposure: this check's, or the first check's when written held) and books the truck.
            turn, booked = await _credit_turn(session, wholesale, basket.total_minor, held=held)
            if turn.held and not held:
                raise _WriteAgain(credit=turn)
        else:
            await queries.add(session, wholesale)
            booked = await trips.book(session, choice.trip.trip_id, basket.weight_kg, basket.cases)
        if not booked:
            raise _WriteAgain(full_trip=choice.trip.trip_id)

    await order_service.create_order(
        session,
        order_service.NewOrder(
            channel=SalesChannel.wholesale,
            lines=[line.priced for line in basket.lines],
            location_id=await supply_service.warehouse_id(session),
            contact_name=address.contact_name,
            contact_phone=address.contact_phone,
            payment_method=PaymentMethod.bank_transfer,
            delivery_method=DeliveryMethod.home_delivery,
            awaiting_payment=not on_account,
            awaiting_approval=held,
            customer_user_id=user_id,
            company_id=company.id,
            delivery_address=_address_block(address),
            note=note,
            placed_message_zh=message,
            shelf_life_on=trip_date,
            event_detail={"trip": choice.trip.number, "credit_state": "held" if held else "clear"},
            more_events=events,
        ),
        before_hold=turns,
    )
    return written[0]


def _local(instant: datetime | None) -> str:
    return instant.astimezone(clock.business_tz()).strftime("%m-%d %H:%M") if instant else ""


def _yuan(minor: int) -> str:
    return f"¥{Decimal(minor) / 100:,.2f}"


# ---- the centre's decision on a held order, and holds that lapse ------------------------------------


async def _held_order(session: AsyncSession, number: str) -> tuple[Order, WholesaleOrder]:
    found = await queries.order_of_company(session, number, None)
    if found is None:
        raise errors.WholesaleOrderNotFound(detail={"order": number})
    order, wholesale = found[0], found[1]
    if wholesale.credit_state != CreditState.held.value:
        raise errors.OrderNotHeld(
            f"订单 {number} 现在是“{CreditState(wholesale.credit_state).label_zh}”，不需要审批",
            detail={"order": number, "credit_state": wholesale.credit_state},
        )
    return order, wholesale


async def approve_held_order(
    session: AsyncSession, number: str, *, actor: Principal, note: str = ""
) -> WholesaleOrderView:
    """The centre accepts an order over its company's limit: it is confirmed and keeps its stock
    and truck room (held without a deadline from now on, as every on-account order)."""
    await _held_order(session, number)
    # The order's row before the wholesale row's, as the lapse sweep and cancelling lock them: taking
    # the wholesale row first (the compare-and-set) deadlocked with a sweep lapsing the same hold.
    order = await orders_repository.order_by_number(session, number, for_update=True)
    if order is None or not await queries.set_credit_state(
        session, order.id, expected=CreditState.held, to=CreditState.approved
    ):
        raise errors.OrderNotHeld(detail={"order": number})
    await states.transition(
        session,
        order,
        OrderStatus.confirmed,
        kind="credit_approved",
        message_zh="服务中心已审批超额订单，订单已确认" + (f"：{note}" if note else ""),
        actor_user_id=actor.user_id,
    )
    found = await queries.order_of_company(session, number, None)
    assert found is not None
    await notices.hold_approved(session, found[0], found[2].departure_date)
    return WholesaleOrderView(*found)


async def release_lapsed_hold(session: AsyncSession, *, now: datetime | None = None, limit: int = 1) -> list[str]:
    """The beat's sweep: held orders not approved by their deadline expire; their stock and truck
    room are released and the buyer reads why on the order. Returns the orders' numbers."""
    numbers = await queries.lapsed_holds(session, now or clock.now(), limit)
    for number in numbers:
        await _lock_trip_of(session, number=number)
        order = await orders_repository.order_by_number(session, number, for_update=True)
        wholesale = await queries.of_order(session, order.id, for_update=True) if order else None
        if order is None or wholesale is None:
            continue
        if not await queries.set_credit_state(session, order.id, expected=CreditState.held, to=CreditState.lapsed):
            continue  # approved a moment ago
        hours = get_settings().wholesale_credit_hold_hours
        reason = f"待信用审批的订单 {hours} 小时内未获批准，已自动取消并释放库存和车位"
        await states.transition(session, order, OrderStatus.expired, kind="credit_hold_lapsed", message_zh=reason)
        await order_service.release_held_stock(session, order, reason=reason, actor_user_id=None)
        await _release_trip_room(session, wholesale)
        await notices.hold_lapsed(session, order)
    return numbers


async def _lock_trip_of(session: AsyncSession, *, order_id: int | None = None, number: str | None = None) -> None:
    """A sweep's first lock: the order's trip row, then the order's, then its wholesale row, the
    order packing, dispatch and a buyer's cancel take them in. Taking the trip last (to release the
    load) deadlocked with a buyer cancelling the same order, who holds the trip and waits for the
    order (``tests/wholesale/test_lock_order.py``)."""
    trip_id = await queries.trip_id_of(session, order_id=order_id, number=number)
    if trip_id is not None:
        await trip_queries.trip_by_id(session, trip_id, for_update=True)


async def _release_trip_room(session: AsyncSession, wholesale: WholesaleOrder) -> bool:
    """Take the order's load off its truck, once (the trip has not left: an ended order's load is
    still booked only while the trip takes orders or loads)."""
    if not await queries.mark_trip_released(session, wholesale.order_id, clock.now()):
        return False
    return await trips.release(session, wholesale.trip_id, wholesale.weight_kg, wholesale.cases)


async def release_freed_trip_room(session: AsyncSession, *, limit: int = 1) -> list[str]:
    """The beat's sweep: an order that ended another way — a prepaid order expired unpaid (the
    orders' expiry task), a cancelled one — gives its truck room back. Returns the orders' numbers."""
    done: list[str] = []
    for order_id in await queries.ended_with_booked_load(session, limit):
        await _lock_trip_of(session, order_id=order_id)
        wholesale = await queries.of_order(session, order_id, for_update=True)
        order = await orders_repository.order_by_id(session, order_id)
        if wholesale is None or order is None:
            continue
        await _release_trip_room(session, wholesale)
        done.append(order.number)
    return done


async def sweep(session: AsyncSession) -> list[str]:
    """One step of the wholesale sweep: a lapsed credit hold, else an ended order's truck room."""
    return await release_lapsed_hold(session, limit=1) or await release_freed_trip_room(session, limit=1)


# ---- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WholesaleOrderView:
    order: Order
    wholesale: WholesaleOrder
    trip: WholesaleTrip
    address: DeliveryAddress


async def company_orders(
    session: AsyncSession,
    principal: Principal,
    *,
    limit: int = 50,
    before_id: int | None = None,
    status: OrderStatus | None = None,
    placed_on_or_after: date | None = None,
    placed_on_or_before: date | None = None,
) -> Sequence[tuple[Order, WholesaleOrder, WholesaleTrip]]:
    """The principal's company's orders, newest first (only its own); ``status`` and the China
    dates the order was placed between (both days included) narrow the list when given."""
    if principal.company_id is None:
        return []
    return await queries.company_orders(
        session,
        principal.company_id,
        limit=limit,
        before_id=before_id,
        status=status,
        placed_from=clock.start_of_day(placed_on_or_after) if placed_on_or_after else None,
        placed_before=clock.start_of_day(placed_on_or_before + timedelta(days=1)) if placed_on_or_before else None,
    )


async def order_for(session: AsyncSession, principal: Principal, number: str) -> WholesaleOrderView:
    """One order of the principal's company; another company's order is a 404, as a missing one."""
    if principal.company_id is None:
        raise errors.WholesaleOrderNotFound(detail={"order": number})
    found = await queries.order_of_company(session, number, principal.company_id)
    if found is None:
        raise errors.WholesaleOrderNotFound(detail={"order": number})
    return WholesaleOrderView(*found)


async def confirmation(session: AsyncSession, view: WholesaleOrderView) -> OrderConfirmation:
    """The 订货确认单's data, from the order as placed."""
    company = await repository.company(session, view.wholesale.company_id)
    assert company is not None
    variants = await queries.variants_by_sku(session, [line.sku for line in view.order.lines])
    return OrderConfirmation(
        order_number=view.order.number,
        placed_at=view.order.placed_at,
        buyer=service.buyer_party(company),
        delivery=DeliveryBlock(
            city=view.address.city,
            address=view.address.address,
            receiving_hours=view.address.receiving_hours,
            contact=view.order.contact_name,
            phone=view.order.contact_phone,
        ),
        trip_number=view.trip.number,
        trip_date=view.trip.departure_date,
        departure=get_settings().wholesale_departure_time,
        payment_terms=TERMS_ZH[PaymentTerms(company.payment_terms)],
        lines=tuple(
            ConfirmationLine(
                sku=line.sku,
                name=line.name_zh,
                unit=Unit(line.unit),
                case_pack=Decimal(variants[line.sku].case_pack if line.sku in variants else 1),
                quantity=line.quantity,
                unit_price_minor=line.unit_price_minor,
            )
            for line in view.order.lines
        ),
        note=view.order.note,
    )


# ---- the buyer's catalog ----------------------------------------------------------------------------

PROMISE_TRIPS = 3  # the open trips a catalog shows promisable stock for


@dataclass(frozen=True)
class Promise:
    trip: trips.TripSlot
    quantity: Decimal
    cases: int


@dataclass(frozen=True)
class CatalogItem:
    variant: Variant
    price: PriceCandidate
    promisable: tuple[Promise, ...]


async def catalog_for(session: AsyncSession, principal: Principal, *, city: str | None = None) -> list[CatalogItem]:
    """The supply SKUs the principal's company can order, at its prices (its own list, else the
    wholesale list; a SKU with neither is left out), and how much each of the next open trips to
    ``city`` (default the company's) can be promised: stock with the wholesale shelf life on that
    trip's date, in whole cases."""
    company = await service.ordering_company(session, principal)
    variants = await queries.supply_variants(session)
    prices = await pricing.price_items(
        session, [v.id for v in variants], channel=SalesChannel.wholesale, company_id=company.id
    )
    slots = [s for s in await trips.upcoming_trips(session, city or company.city) if s.is_open][:PROMISE_TRIPS]
    ids = [v.id for v in variants if v.id in prices]
    stock_on = {
        slot.trip_id: await supply_service.available_to_sell(
            session, ids, channel=SalesChannel.wholesale, today=slot.departure_date
        )
        for slot in slots
    }
    items: list[CatalogItem] = []
    for variant in variants:
        price = prices.get(variant.id)
        if price is None:
            continue
        promises = []
        for slot in slots:
            have = max(stock_on[slot.trip_id].get(variant.id, Decimal(0)), Decimal(0))
            cases = int(have // variant.case_pack)
            promises.append(Promise(slot, Decimal(cases * variant.case_pack), cases))
        items.append(CatalogItem(variant, price, tuple(promises)))
    return items


# ---- the ops console's lists --------------------------------------------------------------------


@dataclass(frozen=True)
class ConsoleOrder:
    """One wholesale order as the ops console lists it: held ones with their exposure (when placed)
    against the company's credit limit."""

    order: Order
    wholesale: WholesaleOrder
    trip: WholesaleTrip
    company: BuyerCompany
    address: DeliveryAddress

    @property
    def status_zh(self) -> str:
        return status_label(self.order, self.wholesale)

    @property
    def credit_state(self) -> CreditState:
        return CreditState(self.wholesale.credit_state)

    @property
    def is_held(self) -> bool:
        return self.credit_state is CreditState.held

    @property
    def over_limit_minor(self) -> int:
        return max(0, self.wholesale.exposure_minor - self.company.credit_limit_minor)


@dataclass(frozen=True)
class TripOrder:
    """One order on a trip, as the trip board lists it (a stop of the truck)."""

    number: str
    company_name: str
    city: str
    address: str
    cases: int
    weight_kg: Decimal
    status: OrderStatus
    credit_state: CreditState


async def console_orders(
    session: AsyncSession,
    *,
    status: OrderStatus | None = None,
    held_only: bool = False,
    trip_date: date | None = None,
    company_id: int | None = None,
) -> list[ConsoleOrder]:
    """Wholesale orders for the ops console, held ones first."""
    rows = await queries.console_orders(
        session, status=status, held_only=held_only, trip_date=trip_date, company_id=company_id
    )
    return [ConsoleOrder(*row) for row in rows]


async def company_choices(session: AsyncSession) -> list[tuple[int, str]]:
    return await queries.company_choices(session)


async def orders_by_trip(session: AsyncSession, trip_ids: Sequence[int]) -> dict[int, list[TripOrder]]:
    """The orders on each of ``trip_ids`` (read in one statement for the whole board)."""
    by_trip: dict[int, list[TripOrder]] = defaultdict(list)
    for order, wholesale, company, address in await queries.orders_on_trips(session, trip_ids):
        by_trip[wholesale.trip_id].append(
            TripOrder(
                number=order.number,
                company_name=company.name,
                city=address.city,
                address=address.address,
                cases=wholesale.cases,
                weight_kg=wholesale.weight_kg,
                status=order.status,
                credit_state=CreditState(wholesale.credit_state),
            )
        )
    return dict(by_trip)


def status_label(order: Order, wholesale: WholesaleOrder) -> str:
    """A held order waits for the centre, not for money: say so rather than 待付款."""
    if order.status is OrderStatus.pending_payment and wholesale.credit_state == CreditState.held.value:
        return CreditState.held.label_zh
    if order.status is OrderStatus.pending_payment:
        return "待银行转账"
    return order.status.label_zh
