"""Parcels from the county warehouse to the village stations (下行), and their handover.

Plan a day's run per route (every confirmed pickup order for the route's stations gets a parcel
with a tracking number), dispatch it, scan each parcel in at its station (it gets a shelf slot and
a pickup code, the customer is told), hand it over against the pickup code or the order's QR,
collecting the money of pay-at-pickup orders, and send back what nobody collected in time.

Stock: an order paid online was sold when it was paid; a pay-at-pickup order's stock stays
reserved in the warehouse's books until the handover sells it (or a return releases it). The box
is physically at the station meanwhile — the books follow the money, not the truck.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.config import get_settings
from app.kit import clock
from app.kit.errors import AppError
from app.kit.numbers import add_with_unique_number
from app.orders import payments, service, states
from app.orders.access import order_link
from app.orders.models import FulfilmentStatus, Order, OrderStatus, PaymentMethod, PaymentStatus
from app.orders.notices import send_order_notice
from app.stations import errors
from app.stations import parcel_queries as queries
from app.stations.models import DispatchRun, Parcel, ParcelStatus, RunStatus
from app.stations.tracking import tracking_from_scan
from app.supply import service as supply_service

MAX_CODE_ATTEMPTS = 5
PICKUP_SECRET_DIGITS = 6
# Draws of a secret before a scan gives up: with the largest shelf (5,000 of 10**6 secrets held)
# a draw is taken one time in 200, so 50 taken draws in a row do not happen by chance.
SECRET_DRAWS = 50
QR_PREFIX = "NPO"


def new_tracking_number(today: date) -> str:
    return f"NPP{today:%y%m%d}{secrets.randbelow(10**7):07d}"


def pickup_qr(order_number: str) -> str:
    """What the customer's order page shows as a QR code: the order number and a signature, so a
    screenshot of someone else's order number alone does not open a parcel."""
    return f"{QR_PREFIX}:{order_number}:{_sign(order_number)}"


def _sign(order_number: str) -> str:
    key = get_settings().secret_key.get_secret_value().encode()
    return hmac.new(key, f"pickup:{order_number}".encode(), hashlib.sha256).hexdigest()[:16]


def qr_order_number(qr: str) -> str | None:
    """The order a pickup QR was signed for, or None when it is not one of ours. Case is ignored:
    a scanner with caps lock on types the hex signature in capitals."""
    parts = qr.strip().split(":")
    if len(parts) != 3 or parts[0].upper() != QR_PREFIX:
        return None
    number = parts[1].upper()
    return number if hmac.compare_digest(parts[2].lower().encode(), _sign(number).encode()) else None


def is_pickup_qr(text: str) -> bool:
    """Whether a scan looks like a pickup QR (signed or not): what a counter form routes to the
    code field, whichever field the scanner typed it into."""
    return text.strip().upper().startswith(QR_PREFIX + ":")


def qr_matches(qr: str, order_number: str) -> bool:
    return qr_order_number(qr) == order_number


# ---- runs -----------------------------------------------------------------------------------------


async def plan_run(session: AsyncSession, *, route_code: str, run_date: date, actor_user_id: int | None) -> DispatchRun:
    """Pack every confirmed, unfulfilled pickup order bound for the route's stations into the day's
    run (creating the run the first time). Running it again adds only orders not yet packed."""
    route = await queries.route_with_stops(session, route_code)
    if route is None:
        raise errors.RouteNotFound(detail={"route": route_code})
    run = await queries.run_of_route(session, route.id, run_date)
    if run is None:
        run = DispatchRun(number=f"RUN{run_date:%y%m%d}-{route.code}", route_id=route.id, run_date=run_date)
        session.add(run)
        await session.flush()
    elif run.status is RunStatus.dispatched:
        raise errors.RunAlreadyDispatched()
    station_ids = [stop.station_id for stop in route.stops]
    orders = await queries.lock_orders_to_pack(session, station_ids)
    for order in orders:
        assert order.station_id is not None
        parcel = Parcel(
            tracking_number=new_tracking_number(run_date),
            order_id=order.id,
            station_id=order.station_id,
            route_id=route.id,
            run_id=run.id,
            status=ParcelStatus.packed,
        )
        await add_with_unique_number(
            session, parcel, field="tracking_number", draw=lambda: new_tracking_number(run_date)
        )
        await service.record_packed(
            session, order, message_zh=f"已打包，随 {run.number} 配送", actor_user_id=actor_user_id
        )
    await session.flush()
    return run


async def dispatch_run(session: AsyncSession, run_number: str, *, actor_user_id: int | None) -> DispatchRun:
    run = await queries.run_by_number(session, run_number)
    if run is None:
        raise errors.RunNotFound()
    if not await queries.mark_run_dispatched(session, run.id):
        raise errors.RunAlreadyDispatched()
    parcels = await queries.parcels_of_run(session, run.id, status=ParcelStatus.packed)
    for parcel in parcels:
        order = await session.get(Order, parcel.order_id)
        assert order is not None
        if order.status is not OrderStatus.confirmed:
            continue  # no longer to be delivered: the box stays in the warehouse
        parcel.status = ParcelStatus.dispatched
        await service.record_dispatched(session, order, message_zh="已发车，正在送往村站", actor_user_id=actor_user_id)
    await session.flush()
    await session.refresh(run)
    return run


# ---- at the station -------------------------------------------------------------------------------


async def _parcel_for_update(session: AsyncSession, tracking_number: str) -> Parcel:
    parcel = await queries.lock_parcel(session, tracking_from_scan(tracking_number))
    if parcel is None:
        raise errors.ParcelNotFound(detail={"tracking_number": tracking_from_scan(tracking_number)})
    return parcel


def _slot(shelf: queries.StationShelf, loads: dict[str, int]) -> str:
    """The shelf-layer slot holding the fewest parcels (lowest shelf, then layer, on ties)."""
    return min(
        (loads.get(slot, 0), shelf_no, layer, slot)
        for shelf_no in range(1, shelf.shelves + 1)
        for layer in range(1, shelf.layers_per_shelf + 1)
        for slot in (f"{shelf_no}-{layer}",)
    )[3]


def new_pickup_secret(held_secrets: set[str]) -> str:
    """A random secret of ``PICKUP_SECRET_DIGITS`` digits, unused among the station's held parcels.

    It is what the customer proves, so it comes from ``secrets`` and says nothing about the shelf
    or the order of arrival: a neighbour's code gives no clue to another's."""
    while True:
        secret = f"{secrets.randbelow(10**PICKUP_SECRET_DIGITS):0{PICKUP_SECRET_DIGITS}d}"
        if secret not in held_secrets:
            return secret


def customer_pickup_code(parcel: Parcel) -> str | None:
    """The code the customer is given and says at the counter: the shelf slot (so the operator
    finds the box) and the secret, e.g. ``2-3-480915``."""
    if not parcel.pickup_code:
        return None
    if parcel.pickup_code.count("-") == 2 or not parcel.shelf_slot:  # a code issued before secrets
        return parcel.pickup_code
    return f"{parcel.shelf_slot}-{parcel.pickup_code}"


def _secret_part(code: str) -> str:
    """What is checked of a typed code: the part after the last dash, spaces ignored, so a customer
    may say the whole code or only the secret."""
    return "".join(code.split()).rsplit("-", 1)[-1]


def pickup_code_matches(typed: str | None, parcel: Parcel) -> bool:
    if not typed or not parcel.pickup_code:
        return False
    return hmac.compare_digest(_secret_part(typed).encode(), _secret_part(parcel.pickup_code).encode())


@dataclass(frozen=True)
class Shelved:
    """A parcel on its station's shelf after a scan, with its order and the station's code (what
    the PDA's answer shows, so nothing is read again)."""

    parcel: Parcel
    order: Order
    station_code: str


async def scan_in(session: AsyncSession, *, station_id: int, tracking_number: str, actor_user_id: int | None) -> Parcel:
    """The parcel arrives at its station (see :func:`receive`)."""
    return (
        await receive(session, station_id=station_id, tracking_number=tracking_number, actor_user_id=actor_user_id)
    ).parcel


async def receive(
    session: AsyncSession,
    *,
    station_id: int,
    tracking_number: str,
    actor_user_id: int | None,
    before_capacity_check: Callable[[Shelved], Awaitable[None]] | None = None,
) -> Shelved:
    """The parcel arrives at its station: a shelf slot and a pickup code, the order is ready for
    pickup and the customer is told. Scanning it again changes nothing.

    Scans at one station run side by side until their last step. The secret is unique among the
    station's held parcels: a scan claims it against the scans in flight (an advisory lock to the
    end of the transaction) and then writes it only where no held parcel has it. The shelf's
    capacity is checked last, under the station row's lock, counting this parcel: scans take turns
    only for that count and their commit, and one that would overfill the shelf is undone whole.
    ``before_capacity_check``: the caller's own writes for a parcel just shelved (its stored
    answer), made before the station row is locked so that they are not inside that turn.
    The slot is the least loaded one as the scan read the loads (two scans at the same moment may
    pick the same slot: a slot is where the box is put, not a limit)."""
    found = await queries.lock_parcel_with_order(session, tracking_from_scan(tracking_number))
    if found is None:
        raise errors.ParcelNotFound(detail={"tracking_number": tracking_from_scan(tracking_number)})
    parcel, order, shelf = found
    if parcel.station_id != station_id:
        raise errors.ParcelWrongStation()
    if parcel.status is ParcelStatus.at_station:
        return Shelved(parcel, order, shelf.code)
    if parcel.status is not ParcelStatus.dispatched:
        raise errors.ParcelWrongState(f"包裹{parcel.status.label_zh}，不能入站")
    now = clock.now()
    retention_until = now + timedelta(days=shelf.retention_days)
    for _ in range(SECRET_DRAWS):
        secret = new_pickup_secret(set())
        loads, claimed = await queries.slot_loads_claiming_secret(session, station_id, secret)
        if not claimed:
            continue  # another scan is giving out this secret right now
        slot = _slot(shelf, loads)
        if await queries.shelve_parcel(
            session, parcel.id, station_id, slot=slot, secret=secret, arrived_at=now, retention_until=retention_until
        ):
            break
    else:
        raise errors.ShelfFull()  # no free secret after many draws: the shelf holds far too much
    for name, value in (
        ("status", ParcelStatus.at_station),
        ("shelf_slot", slot),
        ("pickup_code", secret),
        ("arrived_at", now),
        ("retention_until", retention_until),
        ("failed_code_attempts", 0),
    ):
        set_committed_value(parcel, name, value)
    order = await states.transition(
        session,
        order,
        OrderStatus.ready_for_pickup,
        kind="ready_for_pickup",
        # The timeline is read by staff too: the slot, never the secret.
        message_zh=f"已到{shelf.name}（货架 {slot}），凭取货码取件",
        actor_user_id=actor_user_id,
        fulfilment_status=FulfilmentStatus.at_station,
    )
    await send_order_notice(
        session,
        order,
        "order_ready_for_pickup",
        pickup_code=customer_pickup_code(parcel),
        order_url=order_link(order.number),
        station_name=shelf.name,
        pickup_deadline=retention_until,
    )
    shelved = Shelved(parcel, order, shelf.code)
    if before_capacity_check is not None:
        await before_capacity_check(shelved)
    capacity, held = await queries.lock_station_and_count_shelf(session, station_id)
    if held > capacity:
        raise errors.ShelfFull()
    return shelved


@dataclass(frozen=True)
class Handover:
    parcel: Parcel
    error: AppError | None = None  # a wrong code: the attempt is counted, so the caller commits
    order: Order | None = None  # with the station's code: what the PDA's answer shows
    station_code: str = ""


async def hand_over(
    session: AsyncSession,
    *,
    station_id: int,
    tracking_number: str,
    pickup_code: str | None = None,
    order_qr: str | None = None,
    collect_method: str | None = None,
    collected_by_name: str = "",
    proxy: bool = False,
    actor_user_id: int,
    before_sale: Callable[[Handover], Awaitable[None]] | None = None,
) -> Handover:
    """Give the parcel to the customer (or someone collecting for them, 代取) against its pickup
    code or the order's QR. Wrong codes are counted on the parcel; after ``MAX_CODE_ATTEMPTS`` it
    is locked until staff check the collector's identity. Pay-at-pickup money is recorded as the
    order's payment and the held stock becomes a sale — the last write, after ``before_sale`` (the
    caller's own writes: its stored answer), so that the stock rows every handover of a popular
    SKU waits for stay locked only until the commit."""
    found = await queries.lock_parcel_with_order(session, tracking_from_scan(tracking_number))
    if found is None:
        raise errors.ParcelNotFound(detail={"tracking_number": tracking_from_scan(tracking_number)})
    parcel, order, shelf = found
    if parcel.station_id != station_id:
        raise errors.ParcelWrongStation()
    if parcel.status is ParcelStatus.handed_over:
        return Handover(parcel, order=order, station_code=shelf.code)  # a retried scan: already done
    if parcel.status is not ParcelStatus.at_station:
        raise errors.ParcelWrongState(f"包裹{parcel.status.label_zh}，不能交付")
    if parcel.failed_code_attempts >= MAX_CODE_ATTEMPTS:
        raise errors.PickupLocked()
    if not (pickup_code or "").strip() and not (order_qr or "").strip():
        raise errors.WrongPickupCode("请输入取货码或扫描订单二维码")  # nothing tried: not counted
    signed_for = qr_order_number(order_qr) if order_qr else None
    if signed_for is not None and signed_for != order.number:
        # A genuine QR of another order: the wrong box was scanned, nobody is guessing — not counted.
        raise errors.QrForAnotherParcel(
            f"这个取货二维码是订单 {signed_for} 的，扫描的包裹属于订单 {order.number}，请核对包裹",
            detail={"qr_order_number": signed_for, "parcel_order_number": order.number},
        )
    code_ok = pickup_code_matches(pickup_code, parcel)
    qr_ok = bool(order_qr) and qr_matches(order_qr or "", order.number)
    if not (code_ok or qr_ok):
        parcel.failed_code_attempts += 1
        await session.flush()
        left = MAX_CODE_ATTEMPTS - parcel.failed_code_attempts
        error: AppError = (
            errors.PickupLocked()
            if left <= 0
            else errors.WrongPickupCode(f"取货码不正确，还可尝试 {left} 次", detail={"attempts_left": left})
        )
        return Handover(parcel, error, order, shelf.code)
    if order.payment_method is PaymentMethod.pay_at_pickup and order.payment_status is PaymentStatus.unpaid:
        if collect_method not in ("cash", "qr"):
            raise errors.PaymentRequired(detail={"amount_due_minor": order.total_minor - order.paid_minor})
        collected = await payments.collect_at_pickup(
            session, order, method=collect_method, actor_user_id=actor_user_id, sell_later=True
        )
        stock_to_sell = collected.stock_to_sell
    else:
        stock_to_sell = False
    now = clock.now()
    parcel.status = ParcelStatus.handed_over
    parcel.handed_over_at = now
    parcel.handed_over_by_id = actor_user_id
    parcel.collected_by_name = collected_by_name.strip()[:50]
    parcel.proxy_pickup = proxy
    # The order is as the statement above read it, or as the payment left it (it reads the order
    # again after adding the money): the transition below flushes the parcel with the order.
    who = f"由 {parcel.collected_by_name} 代取" if proxy and parcel.collected_by_name else "顾客本人取件"
    await states.transition(
        session,
        order,
        OrderStatus.completed,
        kind="handed_over",
        message_zh=f"已取件（{who}）",
        actor_user_id=actor_user_id,
        fulfilment_status=FulfilmentStatus.handed_over,
    )
    done = Handover(parcel, order=order, station_code=shelf.code)
    if before_sale is not None:
        await before_sale(done)
    if stock_to_sell:
        await payments.sell_held_stock(session, order, actor_user_id=actor_user_id)
    return done


async def on_shelf(session: AsyncSession, station_id: int) -> Sequence[tuple[Parcel, Order]]:
    return await queries.shelf_of_station(session, station_id)


# ---- retention ------------------------------------------------------------------------------------


async def return_overdue(session: AsyncSession, *, now: datetime | None = None, limit: int = 200) -> list[str]:
    """Parcels left past their station's retention days go back to the warehouse: the order is
    cancelled — its held stock released, or its payment refunded. Locked rows are skipped and a
    parcel leaves ``at_station`` once, so running this twice returns nothing twice."""
    now = now or clock.now()
    overdue = await queries.lock_overdue_parcels(session, now, limit)
    returned = []
    for parcel in overdue:
        parcel.status = ParcelStatus.returning
        await session.flush()
        order = await session.get(Order, parcel.order_id, populate_existing=True)
        assert order is not None
        order = await states.transition(
            session,
            order,
            OrderStatus.cancelled,
            kind="returned",
            message_zh="超过保留期未取，包裹退回仓库，订单取消",
            fulfilment_status=FulfilmentStatus.returned,
        )
        await service.release_held_stock(session, order, reason="超期未取退回", actor_user_id=None)
        refundable = await payments.refundable_minor(session, order)
        if refundable > 0:
            await payments.request_refund(
                session, order, amount_minor=refundable, reason="超期未取退回", actor_user_id=None
            )
        await send_order_notice(session, order, "order_cancelled")
        returned.append(parcel.tracking_number)
    return returned


async def receive_return(session: AsyncSession, *, tracking_number: str, actor_user_id: int) -> Parcel:
    """A returned parcel is back at the warehouse: goods that were sold (paid online) go back into
    stock as returns; goods of a pay-at-pickup order never left the books (their hold was released)."""
    parcel = await _parcel_for_update(session, tracking_number)
    if parcel.status is ParcelStatus.returned:
        return parcel
    if parcel.status is not ParcelStatus.returning:
        raise errors.ParcelWrongState("包裹不在退回途中")
    order = await session.get(Order, parcel.order_id)
    assert order is not None
    warehouse = await supply_service.warehouse(session)
    await supply_service.return_sale(
        session,
        sale_ref=order.number,
        location_id=warehouse.id,
        document_type="parcel",
        document_ref=parcel.tracking_number,
        actor_user_id=actor_user_id,
        reason=f"订单 {order.number} 超期退回",
    )
    parcel.status = ParcelStatus.returned
    parcel.returned_at = clock.now()
    await session.flush()
    return parcel


# ---- reads for the station console -----------------------------------------------------------------


@dataclass(frozen=True)
class StationDay:
    """A station's figures at a glance: what is on its shelf now, what came in and went out since
    the start of the local day, and what has stayed past its retention (due to go back)."""

    on_shelf: int
    arrived: int
    handed_over: int
    overdue: int


async def station_day(session: AsyncSession, station_id: int, *, since: datetime, now: datetime) -> StationDay:
    return StationDay(*await queries.station_day_counts(session, station_id, since=since, now=now))


async def parcel_for_qr(session: AsyncSession, station_id: int, qr: str) -> tuple[Parcel, Order] | None:
    """The parcel at ``station_id`` of the order a pickup QR was signed for (its latest one), for
    showing the shelf slot before the box is scanned; None for a QR that is not ours or an order
    with no parcel here."""
    number = qr_order_number(qr)
    if number is None:
        return None
    return await queries.latest_parcel_of_order_at(session, number, station_id)


async def find_parcel(session: AsyncSession, tracking_number: str) -> tuple[Parcel, Order] | None:
    """A parcel and its order by tracking number, unlocked: for showing, never for changing (the
    caller checks the station)."""
    return await queries.parcel_and_order(session, tracking_from_scan(tracking_number))


async def unlock(session: AsyncSession, *, tracking_number: str, actor_user_id: int, note: str) -> Parcel:
    """After checking the collector's identity, county-centre staff clear the wrong-code count."""
    parcel = await _parcel_for_update(session, tracking_number)
    if parcel.status is not ParcelStatus.at_station:
        raise errors.ParcelWrongState("包裹不在架上")
    parcel.failed_code_attempts = 0
    await session.flush()
    order = await session.get(Order, parcel.order_id)
    assert order is not None
    await states.record(
        session, order, kind="pickup_unlocked", message_zh=f"核实身份后解锁取件：{note}", actor_user_id=actor_user_id
    )
    return parcel
