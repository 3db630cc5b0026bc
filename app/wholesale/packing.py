"""The warehouse side of a PRD delivery trip: pick list and load manifest from the trip's orders,
packing each order (weighing what is sold by weight), its case labels, and dispatch.

Rules:

- A trip's **live orders** are those confirmed (paid, on account, or approved over the credit
  limit) and not held, pending payment, cancelled, expired or lapsed; completed ones (delivered)
  stay on its documents. Only live orders are picked, packed and shipped.
- **Stops** are one delivery address each (a company's orders to one address together), in the
  route's city order, then by address. The documents, the packing page and the case labels number
  them the same way.
- The **lots** of a line are the ones its stock reservation holds, in the FEFO order the allocator
  took them; a line takes from them in order.
- **Packing** records each line's packed quantity: a weighed line (sold by kg / 斤) the weight read
  off the scale, a fixed-unit line a whole count, the ordered count by default. Never negative and
  never more than ordered — no tolerance over: stock is held for the ordered quantity only, and
  more would leave the warehouse unreserved. Packing is allowed while the trip is planned or
  loading; the first order packed on a planned trip moves it to loading (no more bookings). An
  order may be packed again (corrected) until the truck leaves.
- **Dispatch** refuses (409 ``trip_has_unpacked_orders``, naming them) while a live order is not
  packed. Otherwise, in the caller's one transaction: the trip becomes dispatched (a
  compare-and-set: a second click finds it dispatched and gets 409, selling nothing twice), each
  order's reservation is sold for its packed quantities FEFO and the rest released, its
  fulfilment becomes dispatched, and its buyer gets a short SMS (order number and trip only).

Reading a trip costs a constant handful of queries whatever its number of orders.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import get_settings
from app.kit import clock
from app.kit.quantities import QuantityError, Unit, format_quantity, parse_quantity
from app.notifications.errors import InvalidRecipient
from app.notifications.service import notify
from app.orders import service as orders_service
from app.orders.models import Order, OrderLine
from app.supply import reservations
from app.wholesale import packing_errors as errors
from app.wholesale import packing_queries as queries
from app.wholesale import trip_errors, trips
from app.wholesale.document_data import (
    LotPick,
    ManifestStop,
    PickRow,
    TripHeader,
    TripManifest,
    TripPickList,
)
from app.wholesale.models import DeliveryAddress, WholesaleOrder
from app.wholesale.trip_models import TripStatus, WholesaleRoute, WholesaleTrip

PACKABLE = (TripStatus.planned, TripStatus.loading)
DISPATCHED_TEMPLATE = "wholesale_trip_dispatched"


# ---- a trip's orders as the warehouse sees them ------------------------------------------------------


@dataclass(frozen=True)
class PackLine:
    line: OrderLine
    case_pack: Decimal
    lots: tuple[LotPick, ...]

    @property
    def unit(self) -> Unit:
        return Unit(self.line.unit)

    @property
    def weighed(self) -> bool:
        return self.unit.is_weight

    @property
    def default_packed(self) -> str:
        """What the packing form shows: the packed quantity once recorded, else the ordered count
        for a fixed unit and nothing for a weighed line (the scale says)."""
        if self.line.packed_quantity is not None:
            return format_quantity(self.line.packed_quantity)
        return "" if self.weighed else format_quantity(self.line.quantity)


@dataclass(frozen=True)
class PackOrder:
    stop_position: int
    order: Order
    wholesale: WholesaleOrder
    company_name: str
    address: DeliveryAddress
    lines: tuple[PackLine, ...]
    packed: bool


@dataclass(frozen=True)
class TripWork:
    trip: WholesaleTrip
    route: WholesaleRoute
    orders: tuple[PackOrder, ...]  # by stop, then order number

    @property
    def stop_count(self) -> int:
        return max((o.stop_position for o in self.orders), default=0)

    @property
    def unpacked(self) -> list[PackOrder]:
        return [o for o in self.orders if not o.packed]

    def order(self, number: str) -> PackOrder:
        found = next((o for o in self.orders if o.order.number == number.strip()), None)
        if found is None:
            raise errors.TripOrderNotFound(detail={"trip": self.trip.number, "order": number})
        return found


def _split_lots(lines: Sequence[OrderLine], held: Sequence[tuple[int, str, date, Decimal]]) -> dict[int, list[LotPick]]:
    """Each line's lots: the reservation's lots of its variant, taken in FEFO order line by line."""
    pools: dict[int, list[LotPick]] = defaultdict(list)
    for variant_id, code, best_before, quantity in held:
        pools[variant_id].append(LotPick(code, best_before, quantity))
    picks: dict[int, list[LotPick]] = {}
    for line in lines:
        need = line.quantity
        pool = pools[line.variant_id]
        taken: list[LotPick] = []
        while need > 0 and pool:
            lot = pool[0]
            take = min(lot.quantity, need)
            taken.append(LotPick(lot.lot_code, lot.best_before, take))
            need -= take
            if take == lot.quantity:
                pool.pop(0)
            else:
                pool[0] = LotPick(lot.lot_code, lot.best_before, lot.quantity - take)
        picks[line.id] = taken
    return picks


def _stop_key(route: WholesaleRoute, address: DeliveryAddress, company: str) -> tuple[int, str, str, int]:
    cities = list(route.cities)
    city_rank = cities.index(address.city) if address.city in cities else len(cities)
    return city_rank, address.address, company, address.id


async def _trip(
    session: AsyncSession, number: str, *, for_update: bool = False
) -> tuple[WholesaleTrip, WholesaleRoute]:
    found = await queries.trip_with_route(session, number, for_update=for_update)
    if found is None:
        raise trip_errors.TripNotFound(detail={"trip": number})
    return found


async def _work_of(session: AsyncSession, trip: WholesaleTrip, route: WholesaleRoute) -> TripWork:
    rows = await queries.live_orders(session, trip.id)
    orders = [row[0] for row in rows]
    packs = await queries.case_packs(session, [line.variant_id for o in orders for line in o.lines])
    held: dict[str, list[tuple[int, str, date, Decimal]]] = defaultdict(list)
    for reference, variant_id, code, best_before, quantity in await queries.held_lots(
        session, [o.reservation_reference for o in orders if o.reservation_reference]
    ):
        held[reference].append((variant_id, code, best_before, quantity))
    packed = await queries.packed_order_ids(session, [o.id for o in orders])

    keys = sorted({_stop_key(route, address, company.name) for _, _, company, address in rows})
    position = {key[3]: i for i, key in enumerate(keys, start=1)}
    built = []
    for order, wholesale, company, address in rows:
        lots = _split_lots(order.lines, held.get(order.reservation_reference or "", []))
        lines = tuple(
            PackLine(line, packs.get(line.variant_id, Decimal(1)), tuple(lots[line.id])) for line in order.lines
        )
        built.append(
            PackOrder(position[address.id], order, wholesale, company.name, address, lines, order.id in packed)
        )
    built.sort(key=lambda o: (o.stop_position, o.order.number))
    return TripWork(trip, route, tuple(built))


async def trip_work(session: AsyncSession, number: str) -> TripWork:
    """The trip's live orders with their lines, lots, stops and whether each is packed."""
    trip, route = await _trip(session, number)
    return await _work_of(session, trip, route)


# ---- pick list and load manifest ---------------------------------------------------------------------


def _header(work: TripWork) -> TripHeader:
    return TripHeader(
        trip_number=work.trip.number,
        trip_date=work.trip.departure_date,
        departure=get_settings().wholesale_departure_time,
        route_name=work.route.name,
        cold_chain=work.trip.cold_chain,
        capacity_kg=work.trip.capacity_kg,
        capacity_cases=work.trip.capacity_cases,
    )


def pick_list_of(work: TripWork) -> TripPickList:
    return TripPickList(
        trip=_header(work),
        rows=tuple(
            PickRow(
                stop_position=o.stop_position,
                order_number=o.order.number,
                company=o.company_name,
                sku=p.line.sku,
                name=p.line.name_zh,
                unit=p.unit,
                case_pack=p.case_pack,
                quantity=p.line.quantity,
                lots=p.lots,
            )
            for o in work.orders
            for p in o.lines
        ),
        printed_at=clock.now(),
    )


def manifest_of(work: TripWork) -> TripManifest:
    by_stop: dict[int, list[PackOrder]] = defaultdict(list)
    for o in work.orders:
        by_stop[o.stop_position].append(o)
    stops = []
    for position in sorted(by_stop):
        group = by_stop[position]
        first = group[0]
        stops.append(
            ManifestStop(
                position=position,
                company=first.company_name,
                order_numbers=tuple(o.order.number for o in group),
                city=first.address.city,
                address=first.address.address,
                receiving_hours=first.address.receiving_hours,
                contact=first.address.contact_name,
                phone=first.address.contact_phone,
                cases=Decimal(sum(o.wholesale.cases for o in group)),
                weight_kg=sum((o.wholesale.weight_kg for o in group), start=Decimal(0)),
                cold_chain=work.trip.cold_chain,
            )
        )
    return TripManifest(trip=_header(work), stops=tuple(stops), printed_at=clock.now())


async def pick_list(session: AsyncSession, number: str) -> TripPickList:
    """The trip's 拣货单 data, from its live orders and the lots their reservations hold."""
    return pick_list_of(await trip_work(session, number))


async def manifest(session: AsyncSession, number: str) -> TripManifest:
    """The trip's 装车清单 data: its stops in delivery order."""
    return manifest_of(await trip_work(session, number))


# ---- packing -------------------------------------------------------------------------------------


def packed_quantity(line: PackLine, raw: str | None) -> Decimal:
    """The packed quantity typed for a line (see the module's rules); ``PackingInvalid``'s message
    for the line otherwise (raised as a ValueError here, gathered by :func:`pack_order`)."""
    typed = (raw or "").strip()
    if not typed:
        if line.weighed:
            raise ValueError("请填写称重后的数量")
        return line.line.quantity
    try:
        value = parse_quantity(typed)
    except QuantityError as exc:
        raise ValueError(str(exc)) from exc
    if value < 0:
        raise ValueError("数量不能为负数")
    if not line.weighed and value != value.to_integral_value():
        raise ValueError(f"按{line.unit.label_zh}计的商品须为整数")
    if value > line.line.quantity:
        raise ValueError(f"不能多于订购数量 {format_quantity(line.line.quantity)} {line.unit.label_zh}")
    return value


async def pack_order(
    session: AsyncSession,
    trip_number: str,
    order_number: str,
    typed: Mapping[int, str],
    *,
    actor_user_id: int | None,
) -> PackOrder:
    """Record what was packed of one order of the trip (``typed``: the quantity per order line id
    as typed; a fixed-unit line left out takes its ordered count). Every wrong line is named at once
    (422 ``packing_invalid``) and nothing changes."""
    trip, route = await _trip(session, trip_number, for_update=True)
    if trip.status not in PACKABLE:
        raise errors.TripNotPackable(
            f"车次 {trip.number} 现在是“{trip.status.label_zh}”，不能再打包", detail={"trip": trip.number}
        )
    work = await _work_of(session, trip, route)
    target = work.order(order_number)
    values: dict[int, Decimal] = {}
    problems: list[dict[str, object]] = []
    for line in target.lines:
        try:
            values[line.line.id] = packed_quantity(line, typed.get(line.line.id))
        except ValueError as exc:
            problems.append({"line_id": line.line.id, "sku": line.line.sku, "message": str(exc)})
    if problems:
        raise errors.PackingInvalid(detail={"order": target.order.number, "lines": problems})
    if trip.status is TripStatus.planned:
        await trips.start_loading(session, trip.number, expected=TripStatus.planned, actor_user_id=actor_user_id)
    for line in target.lines:
        line.line.packed_quantity = values[line.line.id]
    summary = "，".join(f"{p.line.sku} {format_quantity(values[p.line.id])}" for p in target.lines)
    again = "重新" if target.packed else ""
    await orders_service.record_packed(
        session,
        target.order,
        message_zh=f"已{again}打包待发车（车次 {trip.number}）：{summary}"[:300],
        actor_user_id=actor_user_id,
    )
    return PackOrder(
        target.stop_position,
        target.order,
        target.wholesale,
        target.company_name,
        target.address,
        target.lines,
        True,
    )


# ---- case labels ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseLabel:
    """One case of a packed order: what its label prints."""

    trip_number: str
    trip_date: date
    order_number: str
    company: str
    city: str
    stop_position: int
    stop_count: int
    sku: str
    name: str
    quantity: str  # what this case holds, in words ("20 个", "9.85 千克")
    lot_codes: tuple[str, ...]
    best_before: date | None
    case_number: int
    case_count: int


def _lots_in(lots: Sequence[LotPick], start: Decimal, end: Decimal) -> list[LotPick]:
    """The lots the range [start, end) of a line's packed quantity comes from (FEFO order)."""
    found = []
    at = Decimal(0)
    for lot in lots:
        if at < end and at + lot.quantity > start:
            found.append(lot)
        at += lot.quantity
    return found or list(lots[-1:])


def case_labels_of(work: TripWork, order: PackOrder) -> list[CaseLabel]:
    """One label a case: each line's packed quantity in cases of its case pack (the last one
    partial), numbered across the whole order."""
    if not order.packed:
        raise errors.OrderNotPacked(detail={"order": order.order.number})
    cases: list[tuple[PackLine, Decimal, list[LotPick]]] = []
    for line in order.lines:
        packed = line.line.packed_quantity or Decimal(0)
        if packed <= 0:
            continue
        pack = line.case_pack if line.case_pack > 0 else packed
        count = int((packed / pack).to_integral_value(rounding=ROUND_CEILING))
        for i in range(count):
            start = pack * i
            end = min(pack * (i + 1), packed)
            cases.append((line, end - start, _lots_in(line.lots, start, end)))
    return [
        CaseLabel(
            trip_number=work.trip.number,
            trip_date=work.trip.departure_date,
            order_number=order.order.number,
            company=order.company_name,
            city=order.address.city,
            stop_position=order.stop_position,
            stop_count=work.stop_count,
            sku=line.line.sku,
            name=line.line.name_zh,
            quantity=f"{format_quantity(amount)} {line.unit.label_zh}",
            lot_codes=tuple(lot.lot_code for lot in lots),
            best_before=min((lot.best_before for lot in lots), default=None),
            case_number=n,
            case_count=len(cases),
        )
        for n, (line, amount, lots) in enumerate(cases, start=1)
    ]


async def case_labels(session: AsyncSession, trip_number: str, order_number: str) -> list[CaseLabel]:
    work = await trip_work(session, trip_number)
    return case_labels_of(work, work.order(order_number))


# ---- dispatch --------------------------------------------------------------------------------------


async def dispatch_trip(
    session: AsyncSession, number: str, *, expected: TripStatus, actor_user_id: int | None
) -> WholesaleTrip:
    """The truck leaves (see the module's rules): refused while an order is unpacked; otherwise the
    trip is dispatched and every live order's stock is sold for what was packed."""
    trip, route = await _trip(session, number, for_update=True)
    if trip.status is not expected or expected is not TripStatus.loading:
        # Not the status the page showed, or a transition dispatch does not make: the status
        # change says which, as for any other step.
        return await trips.change_status(session, number, "dispatched", expected=expected, actor_user_id=actor_user_id)
    work = await _work_of(session, trip, route)
    unpacked = work.unpacked
    if unpacked:
        numbers = [o.order.number for o in unpacked]
        shown = "、".join(numbers[:10]) + (f" 等 {len(numbers)} 单" if len(numbers) > 10 else "")
        raise errors.TripHasUnpackedOrders(
            f"车次 {number} 还有 {len(numbers)} 单未打包，不能发车：{shown}",
            detail={"trip": number, "orders": numbers},
        )
    dispatched = await trips.change_status(
        session, number, "dispatched", expected=expected, actor_user_id=actor_user_id
    )
    references = await queries.active_reservations(
        session, [o.order.reservation_reference for o in work.orders if o.order.reservation_reference]
    )
    for pack in work.orders:
        await _ship(session, dispatched, pack, references, actor_user_id)
    return dispatched


async def _ship(
    session: AsyncSession,
    trip: WholesaleTrip,
    pack: PackOrder,
    reservation_ids: Mapping[str, int],
    actor_user_id: int | None,
) -> None:
    order = pack.order
    sold: dict[int, Decimal] = defaultdict(Decimal)
    for line in pack.lines:
        sold[line.line.variant_id] += line.line.packed_quantity or Decimal(0)
    reservation_id = reservation_ids.get(order.reservation_reference or "")
    if reservation_id is not None:
        await reservations.convert_part_to_sale(
            session,
            reservation_id,
            dict(sold),
            document_type="order",
            document_ref=order.number,
            actor_user_id=actor_user_id,
            reason=f"车次 {trip.number} 发车",
        )
    await orders_service.record_dispatched(
        session, order, message_zh=f"已随车次 {trip.number} 发车", actor_user_id=actor_user_id
    )
    try:
        await notify(
            session,
            template=DISPATCHED_TEMPLATE,
            recipient=order.contact_phone,
            params={"order_number": order.number, "trip": trip.number},
            reference=order.number,
        )
    except InvalidRecipient:
        pass  # a phone the SMS gateway cannot reach must not keep the truck in the yard


# ---- what the buyer sees -------------------------------------------------------------------------


def is_packed(order: Order) -> bool:
    """Whether the order's packed quantities are known (every line weighed or counted)."""
    return bool(order.lines) and all(line.packed_quantity is not None for line in order.lines)
