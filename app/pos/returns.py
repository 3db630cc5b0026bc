"""Returns at the till (退货): goods brought back against a receipt number, some lines, at most what
was sold less what earlier returns took back, refunded in cash from the drawer of the till's open
shift.

Rules, in the order they are checked (bad input changes nothing):

- the sale belongs to the till's store (another store's receipt is 404, as if it did not exist);
- the till has an open shift (the refund leaves its drawer: ``pos_returns.shift_id``);
- every line is a line of the sale, once, with 0 < quantity ≤ sold − already returned; the sale
  row is locked ``FOR UPDATE`` first, so two returns of one receipt at once are weighed one after
  the other and cannot both take back the last unit;
- a manager of the store signed in at the till, or a manager's approval token for this return's
  client id and refund amount (``approvals``), else 403 ``approval_required``.

The refund of a line is its share of what the customer paid: the basket discount is spread over
the lines in proportion to their totals (largest remainder, so the lines' net amounts add up to
the sale's total exactly), and a partial return refunds ``net × returned ÷ sold`` of it, rounded
to the fen once on the running total of the line's returns — so returning a line in several goes
refunds exactly what returning it at once would, and a sale never refunds more than it took.

The goods go back on hand at the store's location, into the lots the sale took them from
(``return`` ledger rows of the return's number); what the book could not cover when it was sold
(a short line, see ``StockException``) has no lot to go back to and stays out of the book until
the manager's count.

A retry with the same ``client_id`` answers the return already recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.access import Principal
from app.accounts.models import User
from app.kit import clock
from app.kit.money import format_minor, round_minor
from app.kit.numbers import add_with_unique_number
from app.kit.quantities import QuantityError, Unit, format_quantity, is_multiple_of, parse_quantity
from app.orders import repository as orders_repository
from app.orders import states
from app.orders.models import OrderLine
from app.pos import approvals, errors, return_queries, sale_queries
from app.pos.approvals import ApprovalAction
from app.pos.models import Till
from app.pos.return_queries import RETURN_DOCUMENT
from app.pos.return_schemas import ReturnIn
from app.pos.sale_models import Sale, SaleLine, SaleReturn, SaleReturnLine
from app.supply import repository as supply_repository
from app.supply.models import LedgerKind
from app.supply.stock import Movement, add_on_hand


@dataclass(frozen=True)
class ReturnRecord:
    """A return as the till sees it: the return, its sale, its lines and who allowed it."""

    record: SaleReturn
    sale: Sale
    lines: list[tuple[SaleReturnLine, OrderLine]]
    approved_by: User | None
    created: bool


def net_line_amounts(line_totals: list[int], discount_minor: int) -> list[int]:
    """Each line's share of what was paid: its total less its part of the basket discount, the
    discount spread in proportion to the totals by largest remainder (the parts add up to it)."""
    subtotal = sum(line_totals)
    if subtotal == 0 or discount_minor == 0:
        return list(line_totals)
    exact = [Fraction(total * discount_minor, subtotal) for total in line_totals]
    parts = [int(share) for share in exact]  # floor: the shares are non-negative
    short = discount_minor - sum(parts)
    by_remainder = sorted(range(len(exact)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in by_remainder[:short]:
        parts[i] += 1
    return [total - part for total, part in zip(line_totals, parts, strict=True)]


def line_refund(net_minor: int, sold: Decimal, returned_before: Decimal, quantity: Decimal) -> int:
    """What returning ``quantity`` more of a line refunds: the running share of its net amount,
    rounded once, less what its earlier returns refunded."""

    def share(returned: Decimal) -> int:
        return round_minor(Decimal(net_minor) * returned / sold)

    return share(returned_before + quantity) - share(returned_before)


def _quantity(raw: str, unit: str) -> Decimal:
    """The quantity given back: positive, to the gram at most, whole for pieces and boxes."""
    try:
        quantity = parse_quantity(raw)
    except QuantityError as exc:
        raise errors.ReturnQuantityInvalid() from exc
    if quantity <= 0:
        raise errors.ReturnQuantityInvalid()
    if not Unit(unit).is_weight and not is_multiple_of(quantity, Decimal(1)):
        raise errors.ReturnQuantityInvalid(f"按{Unit(unit).label_zh}销售的商品只能整{Unit(unit).label_zh}退货")
    return quantity


async def _put_back(
    session: AsyncSession, sale: Sale, record: SaleReturn, taken: list[tuple[OrderLine, Decimal]], location_id: int
) -> None:
    """The returned goods back on hand, into the lots the sale took them from (what the sale took
    less what earlier returns put back), lot by lot in id order."""
    sold = {lot_id: -delta for lot_id, delta in await supply_repository.sold_per_lot(session, sale.number)}
    back = await return_queries.returned_per_lot(session, sale.id)
    lots = await return_queries.lots_by_id(session, sorted(sold))
    room = {lot_id: sold[lot_id] - back.get(lot_id, Decimal(0)) for lot_id in sorted(sold)}
    movement = Movement(
        LedgerKind.return_, RETURN_DOCUMENT, record.number, record.clerk_id, f"门店退货：{record.reason}", "pos"
    )
    for order_line, quantity in taken:
        left = quantity
        for lot_id, free in room.items():
            if left <= 0:
                break
            lot = lots[lot_id]
            if lot.variant_id != order_line.variant_id or free <= 0:
                continue
            put = min(left, free)
            await add_on_hand(session, location_id=location_id, lot=lot, quantity=put, movement=movement)
            room[lot_id] = free - put
            left -= put


async def take_return(session: AsyncSession, principal: Principal, body: ReturnIn) -> ReturnRecord:
    """Record the return ``body`` at the principal's till (see the module's rules)."""
    assert principal.store_id is not None and principal.till_id is not None
    existing = await return_queries.return_by_client_id(session, body.client_id)
    if existing is not None:
        return await _replay(session, principal, existing, body)
    sale = await return_queries.sale_for_update(session, body.sale_number.strip())
    if sale is None or sale.store_id != principal.store_id:
        raise errors.SaleNotFound()
    # The sale's lock serialises returns of it; one with this client id may have landed meanwhile.
    existing = await return_queries.return_by_client_id(session, body.client_id)
    if existing is not None:
        return await _replay(session, principal, existing, body)
    shift = await sale_queries.open_shift_of_till(session, principal.till_id)
    if shift is None:
        raise errors.NoOpenShift()

    lines = {
        order_line.id: (order_line, sale_line)
        for order_line, sale_line in await return_queries.sale_lines(session, sale.id)
    }
    order = await return_queries.order_of(session, sale.order_id)
    nets = dict(
        zip(
            lines,
            net_line_amounts([order_line.line_total_minor for order_line, _ in lines.values()], sale.discount_minor),
            strict=True,
        )
    )
    asked: list[tuple[OrderLine, SaleLine, Decimal, int]] = []
    seen: set[int] = set()
    for line in body.lines:
        if line.order_line_id not in lines or line.order_line_id in seen:
            raise errors.ReturnLineUnknown(detail={"order_line_id": line.order_line_id})
        seen.add(line.order_line_id)
        order_line, sale_line = lines[line.order_line_id]
        quantity = _quantity(line.quantity, order_line.unit)
        returnable = Decimal(order_line.quantity) - Decimal(sale_line.returned_quantity)
        if quantity > returnable:
            raise errors.ReturnExceedsSold(
                f"{order_line.name_zh}：最多可退 {format_quantity(returnable)}，本次填了 {format_quantity(quantity)}",
                detail={
                    "order_line_id": order_line.id,
                    "sold": format_quantity(Decimal(order_line.quantity)),
                    "returned": format_quantity(Decimal(sale_line.returned_quantity)),
                    "requested": format_quantity(quantity),
                },
            )
        refund = line_refund(
            nets[order_line.id], Decimal(order_line.quantity), Decimal(sale_line.returned_quantity), quantity
        )
        asked.append((order_line, sale_line, quantity, refund))
    refund_minor = sum(refund for *_, refund in asked)
    if refund_minor <= 0:
        raise errors.NothingToRefund()
    approved_by_id = await approvals.approver(
        session,
        principal,
        body.approval_token,
        action=ApprovalAction.return_,
        op_client_id=body.client_id,
        amount_minor=refund_minor,
        needed=errors.ApprovalRequired(),
    )

    till = await session.get(Till, principal.till_id)
    assert till is not None
    count = await return_queries.returns_of_till(session, till.id)
    record = SaleReturn(
        client_id=body.client_id,
        number=return_number(till, count + 1),
        sale_id=sale.id,
        store_id=sale.store_id,
        till_id=till.id,
        shift_id=shift.id,
        clerk_id=principal.user_id,
        approved_by_id=approved_by_id,
        refund_minor=refund_minor,
        reason=body.reason,
        returned_at=clock.now(),
    )
    drawn = iter(range(count + 2, count + 100))
    await add_with_unique_number(session, record, field="number", draw=lambda: return_number(till, next(drawn)))
    for order_line, sale_line, quantity, refund in asked:
        session.add(
            SaleReturnLine(return_id=record.id, order_line_id=order_line.id, quantity=quantity, refund_minor=refund)
        )
        sale_line.returned_quantity = Decimal(sale_line.returned_quantity) + quantity
    sale.refunded_minor += refund_minor
    await orders_repository.add_refunded(session, order.id, refund_minor)
    await states.record(
        session,
        order,
        kind="pos_return",
        message_zh=f"门店退货 {record.number}，现金退款 {format_minor(refund_minor)}：{body.reason}",
        actor_user_id=principal.user_id,
        detail={
            "return": record.number,
            "refund_minor": refund_minor,
            "approved_by_id": approved_by_id,
            "lines": [
                {"order_line_id": order_line.id, "quantity": format_quantity(quantity), "refund_minor": refund}
                for order_line, _, quantity, refund in asked
            ],
        },
    )
    await _put_back(session, sale, record, [(o, q) for o, _, q, _ in asked], order.location_id)
    await session.flush()
    return await _loaded(session, record, sale, created=True)


def return_number(till: Till, n: int) -> str:
    """``{sale prefix}-R0001``: the till's own sequence of returns, told apart from its sales."""
    return f"{till.sale_prefix}-R{n:04d}"


async def _replay(session: AsyncSession, principal: Principal, record: SaleReturn, body: ReturnIn) -> ReturnRecord:
    """The same request again: the return already recorded, if it is this till's store's and of
    this receipt (a client id reused for something else is a conflict)."""
    if record.store_id != principal.store_id:
        raise errors.SaleNotFound()
    sale = await session.get(Sale, record.sale_id)
    assert sale is not None
    if sale.number != body.sale_number.strip():
        raise errors.ReturnClientIdTaken()
    return await _loaded(session, record, sale, created=False)


async def _loaded(session: AsyncSession, record: SaleReturn, sale: Sale, *, created: bool) -> ReturnRecord:
    approver = await session.get(User, record.approved_by_id) if record.approved_by_id is not None else None
    return ReturnRecord(record, sale, await return_queries.return_lines(session, record.id), approver, created)
