"""Standing orders (每周重复订单): a company's same basket on the same weekday's trip every week.

Rules:

- A standing order belongs to one company; the owner and every colleague (and the company's API
  key) manage it; another company's standing order is a 404 as a missing one.
- Its lines are ``ordering.BasketLine`` (whole cases, or a quantity); they are checked as a basket
  when written (SKU, price list, minimum, case pack — not stock, which is the week's business).
  Its weekday must be one a route to the delivery address's city runs on.
- **The week** of a standing order is the next open trip (planned, before its cut-off) to the
  address's city departing on its weekday that has no week recorded yet.
- **The generator** (the beat's ``wholesale.generate_standing_orders``, one standing order per
  transaction): when the week's trip closes within ``WHOLESALE_STANDING_LEAD_HOURS``, the week's
  row is inserted (``(standing_order_id, trip_date)`` is unique, so running twice — even at the
  same time on two workers — records one week and places one order), then the order is placed
  through ``ordering.place_order`` on behalf of the buyer who made the standing order: prices of
  now, minimum and case pack, stock, credit (over the limit it is held as any order). A refusal is
  recorded on the week with its reason. The buyer is told by SMS either way.
- **Skipping**: the buyer skips the next week (one week at a time) and can undo it; the generator
  then records that week as skipped and places nothing; the week after is placed as usual.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.access import ROLE_SCOPES, Principal, principal_for
from app.accounts.models import Role
from app.config import get_settings
from app.kit import clock
from app.kit.errors import AppError
from app.kit.quantities import format_quantity, parse_quantity
from app.notifications import errors as notification_errors
from app.notifications.service import notify
from app.wholesale import errors, ordering, service, standing_errors, trips
from app.wholesale import order_queries as orders
from app.wholesale import standing_queries as queries
from app.wholesale.models import DeliveryAddress
from app.wholesale.standing_models import OccurrenceStatus, StandingOccurrence, StandingOrder

log = logging.getLogger(__name__)

MAX_LINES = 200
REASON_SMS_CHARS = 38  # the failure SMS stays one segment (70 characters)


# ---- lines ---------------------------------------------------------------------------------------


def basket_lines(standing: StandingOrder) -> list[ordering.BasketLine]:
    return [
        ordering.BasketLine(str(line["sku"]), cases=line.get("cases"), quantity=line.get("quantity"))
        for line in standing.lines
    ]


def _stored(lines: Sequence[ordering.BasketLine]) -> list[dict[str, object]]:
    stored: list[dict[str, object]] = []
    for line in lines:
        if line.cases is not None:
            stored.append({"sku": line.sku, "cases": int(line.cases)})
        else:
            stored.append({"sku": line.sku, "quantity": format_quantity(parse_quantity(line.quantity or ""))})
    return stored


async def _check_lines(session: AsyncSession, principal: Principal, lines: Sequence[ordering.BasketLine]) -> None:
    """The basket as an order would check it, stock aside (refused: 422 ``basket_invalid``)."""
    if len(lines) > MAX_LINES:
        raise standing_errors.StandingOrderInvalid(f"最多 {MAX_LINES} 个商品")
    company = await service.ordering_company(session, principal)
    try:
        await ordering.check_basket(session, company, lines)
    except errors.BasketInvalid as exc:
        problems = [p for p in exc.detail.get("lines", []) if p["code"] != ordering.LineProblem.insufficient_stock]
        if problems or not exc.detail.get("lines"):
            raise errors.BasketInvalid(exc.text, detail={"lines": problems}) from exc


# ---- the week ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Week:
    """The next week of a standing order: its trip and whether the buyer skipped it."""

    trip_date: date
    trip_number: str
    cutoff_at: datetime
    skipped: bool

    @property
    def departure_zh(self) -> str:
        return trips.departure_text(self.trip_date)

    @property
    def cutoff_zh(self) -> str:
        return trips.local_cutoff_text(self.cutoff_at)


async def _next_week(
    session: AsyncSession, standing: StandingOrder, city: str, recorded: set[date], *, after: date | None = None
) -> Week | None:
    """The first open trip to ``city`` on the standing order's weekday with no week recorded
    (and later than ``after`` when given)."""
    for slot in await trips.upcoming_trips(session, city):
        day = slot.departure_date
        if day.isoweekday() != standing.weekday or not slot.is_open or day in recorded:
            continue
        if after is not None and day <= after:
            continue
        return Week(day, slot.number, slot.cutoff_at, day in standing.skipped_dates)
    return None


async def _address(session: AsyncSession, standing: StandingOrder) -> DeliveryAddress | None:
    return await orders.delivery_address(session, standing.company_id, standing.delivery_address_id)


async def next_week(session: AsyncSession, standing: StandingOrder) -> Week | None:
    address = await _address(session, standing)
    if address is None:
        return None
    recorded = (await queries.occurrence_dates(session, [standing.id], clock.today()))[standing.id]
    return await _next_week(session, standing, address.city, recorded)


async def _check_weekday(session: AsyncSession, city: str, weekday: int) -> None:
    if not 1 <= weekday <= 7:
        raise standing_errors.StandingOrderInvalid("请选择星期几", detail={"field": "weekday"})
    if not any(s.departure_date.isoweekday() == weekday for s in await trips.upcoming_trips(session, city)):
        raise standing_errors.NoTripOnWeekday(
            f"{trips.WEEKDAYS_ZH[weekday - 1]}没有发往{city}的车次", detail={"field": "weekday"}
        )


# ---- the buyer's side ----------------------------------------------------------------------------


def _company_id(principal: Principal) -> int:
    if principal.company_id is None:
        raise standing_errors.StandingOrderNotFound()
    return principal.company_id


async def standing_for(
    session: AsyncSession, principal: Principal, standing_id: int, *, for_update: bool = False
) -> StandingOrder:
    """One of the principal's company's standing orders; another company's is a 404."""
    found = await queries.one(session, standing_id, _company_id(principal), for_update=for_update)
    if found is None:
        raise standing_errors.StandingOrderNotFound(detail={"standing_order": standing_id})
    return found


async def create(
    session: AsyncSession,
    principal: Principal,
    lines: Sequence[ordering.BasketLine],
    *,
    address_id: int,
    weekday: int,
    note: str = "",
    source_order_number: str | None = None,
) -> StandingOrder:
    """A new standing order for the principal's company, placed for the first time before the
    next cut-off of a trip on ``weekday`` (ISO, 1 = Monday)."""
    company = await service.ordering_company(session, principal)
    address = await orders.delivery_address(session, company.id, address_id)
    if address is None:
        raise errors.DeliveryAddressNotFound(detail={"field": "address_id"})
    await _check_weekday(session, address.city, weekday)
    await _check_lines(session, principal, lines)
    assert principal.user_id is not None
    return await queries.add(
        session,
        StandingOrder(
            company_id=company.id,
            created_by_id=principal.user_id,
            delivery_address_id=address.id,
            weekday=weekday,
            lines=_stored(lines),
            note=note[:200],
            is_active=True,
            skipped_dates=[],
            source_order_number=source_order_number,
        ),
    )


async def from_order(session: AsyncSession, principal: Principal, number: str) -> StandingOrder:
    """每周重复: the order's lines (in whole cases where they are), to its address, on its trip's weekday."""
    view = await ordering.order_for(session, principal, number)
    variants = await orders.variants_by_sku(session, [line.sku for line in view.order.lines])
    lines: list[ordering.BasketLine] = []
    for line in view.order.lines:
        variant = variants.get(line.sku)
        pack = Decimal(variant.case_pack) if variant is not None else Decimal(0)
        if pack > 0 and line.quantity % pack == 0:
            lines.append(ordering.BasketLine(line.sku, cases=int(line.quantity // pack)))
        else:
            lines.append(ordering.BasketLine(line.sku, quantity=line.quantity))
    return await create(
        session,
        principal,
        lines,
        address_id=view.wholesale.delivery_address_id,
        weekday=view.trip.departure_date.isoweekday(),
        note=f"按订单 {number} 每周重复",
        source_order_number=number,
    )


async def edit_lines(
    session: AsyncSession, principal: Principal, standing_id: int, lines: Sequence[ordering.BasketLine]
) -> StandingOrder:
    standing = await standing_for(session, principal, standing_id, for_update=True)
    await _check_lines(session, principal, lines)
    standing.lines = _stored(lines)
    await session.flush()
    return standing


async def set_active(session: AsyncSession, principal: Principal, standing_id: int, active: bool) -> StandingOrder:
    """Pause (nothing is placed until resumed) or resume."""
    standing = await standing_for(session, principal, standing_id, for_update=True)
    standing.is_active = active
    await session.flush()
    return standing


async def skip_next(session: AsyncSession, principal: Principal, standing_id: int) -> Week:
    """Skip the next week (one week at a time: 409 ``standing_already_skipped`` when it is)."""
    standing = await standing_for(session, principal, standing_id, for_update=True)
    week = await next_week(session, standing)
    if week is None:
        raise standing_errors.NoTripOnWeekday(detail={"standing_order": standing_id})
    if week.skipped:
        raise standing_errors.AlreadySkipped(detail={"trip_date": week.trip_date.isoformat()})
    today = clock.today()
    standing.skipped_dates = sorted({d for d in standing.skipped_dates if d >= today} | {week.trip_date})
    await session.flush()
    return Week(week.trip_date, week.trip_number, week.cutoff_at, True)


async def unskip(session: AsyncSession, principal: Principal, standing_id: int, trip_date: date) -> StandingOrder:
    """Undo a skip (before that week is generated)."""
    standing = await standing_for(session, principal, standing_id, for_update=True)
    if trip_date not in standing.skipped_dates:
        raise standing_errors.NotSkipped(detail={"trip_date": trip_date.isoformat()})
    standing.skipped_dates = [d for d in standing.skipped_dates if d != trip_date]
    await session.flush()
    return standing


async def delete(session: AsyncSession, principal: Principal, standing_id: int) -> None:
    """Remove a standing order (the orders it placed stay)."""
    standing = await standing_for(session, principal, standing_id, for_update=True)
    await queries.remove(session, standing)


@dataclass(frozen=True)
class ShownLine:
    sku: str
    name: str
    amount_zh: str


@dataclass(frozen=True)
class StandingView:
    standing: StandingOrder
    address: DeliveryAddress | None
    lines: tuple[ShownLine, ...]
    week: Week | None
    following: Week | None  # the week after a skipped one
    recent: tuple[StandingOccurrence, ...]

    @property
    def weekday_zh(self) -> str:
        return trips.WEEKDAYS_ZH[self.standing.weekday - 1]


async def company_standing(session: AsyncSession, principal: Principal) -> list[StandingView]:
    """The principal's company's standing orders with their next week and latest weeks."""
    company_id = _company_id(principal)
    rows = await queries.of_company(session, company_id)
    ids = [s.id for s in rows]
    recorded = await queries.occurrence_dates(session, ids, clock.today())
    recent = await queries.recent_occurrences(session, ids)
    variants = await orders.variants_by_sku(session, [str(line["sku"]) for s in rows for line in s.lines])
    views: list[StandingView] = []
    for standing in rows:
        address = await _address(session, standing)
        week = following = None
        if address is not None:
            week = await _next_week(session, standing, address.city, recorded[standing.id])
            if week is not None and week.skipped:
                following = await _next_week(
                    session, standing, address.city, recorded[standing.id], after=week.trip_date
                )
        shown = []
        for line in standing.lines:
            sku = str(line["sku"])
            variant = variants.get(sku)
            name = f"{variant.product.name_zh} {variant.name_zh}" if variant is not None else sku
            amount = f"{line['cases']} 箱" if line.get("cases") is not None else str(line.get("quantity"))
            shown.append(ShownLine(sku, name, amount))
        views.append(StandingView(standing, address, tuple(shown), week, following, tuple(recent[standing.id])))
    return views


# ---- the generator -------------------------------------------------------------------------------


async def active_ids(session: AsyncSession) -> list[int]:
    return await queries.active_ids(session)


def _short(reason: str) -> str:
    return reason if len(reason) <= REASON_SMS_CHARS else reason[: REASON_SMS_CHARS - 1] + "…"


def _failure_text(exc: AppError) -> str:
    """The refusal in the buyer's words: the message, then each bad line's."""
    lines = exc.detail.get("lines") if isinstance(exc.detail, dict) else None
    parts = [str(p["message"]) for p in lines or []]
    return "；".join(parts) if parts else exc.text


async def _placing_principal(session: AsyncSession, standing: StandingOrder) -> Principal:
    user = await queries.user_with_company(session, standing.created_by_id)
    if user is None or not user.is_active or user.company_id != standing.company_id:
        raise standing_errors.StandingOrderInvalid("设置该重复订单的采购账号已停用，请重新设置")
    return principal_for(user, via="standing_order", scopes=frozenset(s.value for s in ROLE_SCOPES[Role.buyer]))


async def _tell(
    session: AsyncSession, standing: StandingOrder, template: str, params: dict[str, object], reference: str
) -> None:
    """SMS the buyer who made the standing order (else the company's contact); a bad number is
    logged, never undoes the week."""
    user = await queries.user_with_company(session, standing.created_by_id)
    phone = (user.phone if user is not None else None) or (user.company.contact_phone if user and user.company else "")
    if not phone:
        log.warning("standing order %s: nobody to tell", standing.id)
        return
    try:
        async with session.begin_nested():
            await notify(session, template=template, recipient=phone, params=params, reference=reference)
    except notification_errors.InvalidRecipient:
        log.warning("standing order %s: cannot text %s", standing.id, phone)


@dataclass(frozen=True)
class Generated:
    standing_order_id: int
    trip_date: date
    status: OccurrenceStatus
    order_number: str | None = None
    reason_zh: str = ""


async def generate_for(session: AsyncSession, standing_id: int, *, now: datetime | None = None) -> Generated | None:
    """One standing order's due week, if any: placed, failed or skipped (see the module). None when
    nothing is due, or the week is already recorded (by an earlier or a concurrent run)."""
    now = now or clock.now()
    standing = await queries.one(session, standing_id, None, for_update=True)
    if standing is None or not standing.is_active:
        return None
    address = await _address(session, standing)
    if address is None:
        return None
    recorded = (await queries.occurrence_dates(session, [standing.id], clock.today()))[standing.id]
    week = await _next_week(session, standing, address.city, recorded)
    lead = timedelta(hours=get_settings().wholesale_standing_lead_hours)
    if week is None or now < week.cutoff_at - lead:
        return None
    status = OccurrenceStatus.skipped if week.skipped else OccurrenceStatus.failed
    occurrence = await queries.claim_week(session, standing.id, week.trip_date, status.value)
    if occurrence is None:
        return None
    occurrence_id, lines, address_id = occurrence.id, basket_lines(standing), standing.delivery_address_id
    if week.skipped:
        standing.skipped_dates = [d for d in standing.skipped_dates if d > week.trip_date]
        await queries.finish_week(session, occurrence_id, status=status.value, reason_zh="采购商跳过了这一周")
        return Generated(standing_id, week.trip_date, status)

    departure = week.departure_zh
    try:
        async with session.begin_nested():
            principal = await _placing_principal(session, standing)
            placed = await ordering.place_order(
                session,
                principal,
                lines,
                address_id=address_id,
                requested_trip_date=week.trip_date,
                note=f"每周重复订单 #{standing_id}",
            )
    except AppError as exc:
        reason = _failure_text(exc)
        await queries.finish_week(session, occurrence_id, status=OccurrenceStatus.failed.value, reason_zh=reason[:1000])
        await _tell(
            session,
            standing,
            "wholesale_standing_failed",
            {"trip_date": departure, "reason": _short(reason)},
            f"standing:{standing_id}",
        )
        return Generated(standing_id, week.trip_date, OccurrenceStatus.failed, reason_zh=reason)

    order = placed.order
    await queries.finish_week(
        session,
        occurrence_id,
        status=OccurrenceStatus.placed.value,
        order_id=order.id,
        order_number=order.number,
        total_minor=order.total_minor,
        reason_zh=placed.wholesale.trip_reason_zh,
    )
    await _tell(
        session,
        standing,
        "wholesale_standing_placed",
        {
            "order_number": order.number,
            "trip_date": trips.departure_text(placed.trip.trip.departure_date),
            "amount_minor": order.total_minor,
            "status": ordering.status_label(order, placed.wholesale),
        },
        order.number,
    )
    return Generated(standing_id, week.trip_date, OccurrenceStatus.placed, order_number=order.number)
