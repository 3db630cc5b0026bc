"""After-sales claims for spoiled produce (坏果包赔): filing, review, refund, lot figures.

Choices (also in the README, "售后理赔"):

- **Window.** A claim may be filed from the moment the order is completed — handed over at the
  station against its pickup code, or delivered — until ``CLAIM_WINDOW_DAYS`` days later
  (``claim_window_days``, the same setting after which a live-stream seller's commission becomes
  payable: ``app.streamers.statements``). The start is the order event that first moved the order
  to ``completed``. Before completion nothing can be claimed (409 ``claim_not_open``); after the
  window, 409 ``claim_window_closed``.
- **What can be claimed.** Lines of the order, each with a quantity > 0 and at most the line's
  quantity less what earlier claims hold of it (a waiting claim its claimed quantity, a reviewed one
  its approved quantity), a reason, and 1–6 photos (JPEG / PNG / WebP by content, at most
  ``MAX_IMAGE_BYTES`` each, re-encoded without EXIF/GPS, each with a thumbnail). Filing locks the
  order row, so two claims filed at once cannot both take the same quantity.
- **Value.** A claimed (or approved) quantity is worth its share of what the line cost:
  ``round_half_up(quantity × line_total / line_quantity)`` fen — the unit price for whole units,
  and exactly the line total for the whole line. The delivery fee is never claimed.
- **Review (partial approval).** Staff give, per line, the approved quantity (0 … claimed). All
  of it → ``approved``; some → ``partly_approved``; none → ``refused``, which needs a reason. The
  refund is the sum of the approved lines' values, no more, no less. The review is a
  compare-and-set on the claim's status (``submitted`` → reviewed), so of two reviews at once (two
  staff, a double click) one wins and the other gets 409 ``claim_already_reviewed`` and refunds
  nothing; the refund row is named on the claim (``refund_id`` unique).
- **Refund path.** Through ``app.orders.payments.request_refund``: an order paid online is refunded
  by Stripe (task after commit, idempotency key ``refund:{id}``); an order paid in cash at a station
  (``pay_at_pickup``) is refunded in cash at that station, recorded at once, with a
  ``StationCashRefund`` row (station, amount, staff who recorded it, claim) that the station's
  monthly figures count.
- **Lots.** A claimed line is split over the lots the order's sale rows took of its variant, in
  proportion to what each lot gave (to the gram, the remainder on the last lot); the approved
  quantity is split the same way. **Claim rate of a lot** = Σ approved claimed quantity of that lot
  ÷ quantity of that lot sold (its ``sale`` ledger rows, every channel), in the lot's unit.
- **Notices.** The customer gets an SMS when the claim is filed, when it is approved / partly
  approved / refused, and when the refund is done (``refund_issued``, from the refund path); each
  step is also an order event on the order page's timeline.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.images import clean_upload
from app.catalog.service import make_thumbnail, thumbnail_path
from app.claims import errors, repository
from app.claims.models import Claim, ClaimLine, ClaimLineLot, ClaimPhoto, ClaimStatus
from app.config import get_settings
from app.kit import clock
from app.kit.files import save_upload
from app.kit.money import format_minor, round_minor
from app.kit.personal import is_erased_phone
from app.kit.quantities import QUANTITY_QUANTUM
from app.notifications.service import notify
from app.orders import payments, states
from app.orders import repository as orders_repository
from app.orders.models import Order, OrderLine, OrderStatus, PaymentMethod
from app.stations.models import StationCashRefund
from app.supply.models import Supplier

MAX_PHOTOS = 6
MAX_REASON = 300
MAX_NOTE = 300
# Phone photos shrink in the browser to this longest side before upload (storefront/static/claims.js).
BROWSER_MAX_SIDE = 1600


@dataclass(frozen=True)
class Window:
    opens_at: datetime
    closes_at: datetime

    def open_at(self, now: datetime) -> bool:
        return self.opens_at <= now <= self.closes_at


@dataclass(frozen=True)
class ClaimedLine:
    sku: str
    quantity: Decimal


async def window_of(session: AsyncSession, order: Order) -> Window | None:
    """The order's claim window, None while it is not completed (picked up / delivered)."""
    done = await repository.completed_at(session, order.id)
    if done is None:
        return None
    return Window(done, done + timedelta(days=get_settings().claim_window_days))


def value_of(line: OrderLine, quantity: Decimal) -> int:
    """What ``quantity`` of the line is worth, in fen: its share of the line total, half-up."""
    if line.quantity <= 0:
        return 0
    return round_minor(Decimal(line.line_total_minor) * quantity / line.quantity)


def split(quantity: Decimal, parts: Sequence[Decimal]) -> list[Decimal]:
    """``quantity`` shared in proportion to ``parts`` to the gram; the rounding remainder on the
    last part, so the shares add up to ``quantity`` exactly."""
    total = sum(parts, start=Decimal(0))
    if not parts or total <= 0:
        return []
    shares = [(quantity * part / total).quantize(QUANTITY_QUANTUM) for part in parts[:-1]]
    return [*shares, quantity - sum(shares, start=Decimal(0))]


async def file_claim(
    session: AsyncSession,
    order: Order,
    *,
    lines: Sequence[ClaimedLine],
    reason: str,
    photos: Sequence[bytes],
    uploads_dir: Path,
    max_bytes: int,
    actor_user_id: int | None,
) -> Claim:
    """File a claim on ``order`` (the caller has checked that the caller is its customer).
    Everything is checked — window, lines, quantities, reason, every photo — before anything is
    written, so a refused claim leaves no row and no file."""
    reason = " ".join(reason.split())
    if not reason or len(reason) > MAX_REASON:
        raise errors.ClaimInvalid(f"请填写问题描述（1–{MAX_REASON} 字）", detail={"field": "reason"})
    if not 1 <= len(photos) <= MAX_PHOTOS:
        raise errors.ClaimPhotoCount(detail={"photos": len(photos)})
    if not lines:
        raise errors.ClaimLineInvalid("请至少选择一件商品并填写数量", detail={"field": "lines"})
    # CPU work (decode, re-encode) off the event loop, before the order's lock is taken; a bad
    # photo refuses the whole claim.
    cleaned = [await asyncio.to_thread(clean_upload, photo, max_bytes) for photo in photos]
    # Two claims of one order at once take turns here, so both see what the other holds.
    await orders_repository.lock_order(session, order.id)
    window = await window_of(session, order)
    if window is None or order.status is not OrderStatus.completed:
        raise errors.ClaimNotYetOpen()
    now = clock.now()
    if now > window.closes_at:
        raise errors.ClaimWindowClosed(
            f"已超过售后申请期限（取货或送达后 {get_settings().claim_window_days} 天内）",
            detail={"closed_at": window.closes_at.isoformat()},
        )
    full = await repository.order_of(session, order.id)
    assert full is not None
    by_sku = {line.sku: line for line in full.lines}
    taken = await repository.taken_per_line(session, order.id)
    wanted: dict[int, tuple[OrderLine, Decimal]] = {}
    for item in lines:
        line = by_sku.get(item.sku)
        if line is None:
            raise errors.ClaimLineInvalid("所选商品不在该订单中", detail={"sku": item.sku})
        if item.quantity <= 0:
            raise errors.ClaimLineInvalid("理赔数量必须大于 0", detail={"sku": item.sku})
        so_far = wanted.get(line.id, (line, Decimal(0)))[1]
        wanted[line.id] = (line, so_far + item.quantity)
    for line, quantity in wanted.values():
        room = line.quantity - taken.get(line.id, Decimal(0))
        if quantity > room:
            raise errors.ClaimQuantityTooLarge(
                f"{line.name_zh} 最多还可申请 {room.normalize():f}",
                detail={"sku": line.sku, "most": f"{max(room, Decimal(0)).normalize():f}"},
            )
    claim = Claim(
        order_id=order.id,
        status=ClaimStatus.submitted,
        reason=reason,
        filed_by_id=actor_user_id,
        filed_at=now,
        claimed_minor=sum(value_of(line, q) for line, q in wanted.values()),
        approved_minor=0,
        currency=order.currency,
        review_note="",
    )
    if claim.claimed_minor <= 0:
        raise errors.ClaimLineInvalid("所选数量的金额为 0，无需理赔")
    session.add(claim)
    await session.flush()
    for line, quantity in wanted.values():
        claim_line = ClaimLine(
            claim_id=claim.id,
            order_line_id=line.id,
            quantity=quantity,
            amount_minor=value_of(line, quantity),
            approved_minor=0,
        )
        session.add(claim_line)
        await session.flush()
        sold = await repository.sold_lots(session, order.number, line.variant_id)
        for (lot_id, _), share in zip(sold, split(quantity, [q for _, q in sold]), strict=True):
            if share > 0:
                session.add(ClaimLineLot(claim_line_id=claim_line.id, lot_id=lot_id, quantity=share))
    folder = Path("claims") / str(claim.id)
    for position, clean in enumerate(cleaned, start=1):
        relative = await save_upload(uploads_dir, folder, clean.data, clean.ext)
        thumb = thumbnail_path(relative.as_posix())
        await asyncio.to_thread(make_thumbnail, uploads_dir / relative, uploads_dir / thumb)
        session.add(
            ClaimPhoto(
                claim_id=claim.id,
                path=relative.as_posix(),
                thumb_path=thumb,
                content_type=clean.content_type,
                width=clean.width,
                height=clean.height,
                position=position,
            )
        )
    await session.flush()
    await states.record(
        session,
        order,
        kind="claim_filed",
        actor_user_id=actor_user_id,
        message_zh=f"提交售后理赔申请（{format_minor(claim.claimed_minor, order.currency)}），等待审核",
        detail={"claim_id": claim.id},
    )
    await _tell(session, order, "claim_filed", claim_no=str(claim.id))
    found = await repository.claim_by_id(session, claim.id)
    assert found is not None
    return found


async def claim_or_404(session: AsyncSession, claim_id: int) -> Claim:
    claim = await repository.claim_by_id(session, claim_id)
    if claim is None:
        raise errors.ClaimNotFound(detail={"id": claim_id})
    return claim


async def claims_of_order(session: AsyncSession, order: Order) -> list[Claim]:
    return await repository.claims_of_order(session, order.id)


async def taken_per_line(session: AsyncSession, order_id: int) -> dict[int, Decimal]:
    """Per order line, what earlier claims hold of it (see the module docstring)."""
    return await repository.taken_per_line(session, order_id)


async def claimable_lines(session: AsyncSession, order_id: int) -> dict[int, Decimal]:
    """Order line id → the quantity still claimable, for the lines with some left."""
    order = await repository.order_of(session, order_id)
    assert order is not None
    taken = await repository.taken_per_line(session, order_id)
    room = {line.id: line.quantity - taken.get(line.id, Decimal(0)) for line in order.lines}
    return {line_id: left for line_id, left in room.items() if left > 0}


async def review_claim(
    session: AsyncSession,
    claim_id: int,
    *,
    approved: dict[int, Decimal],
    note: str,
    actor_user_id: int,
) -> Claim:
    """Review a waiting claim once. ``approved``: claim line id → approved quantity (a line left
    out approves 0). Approving nothing is a refusal and needs ``note`` (the reason told to the
    customer). The approved value is refunded through the order's payment, exactly once."""
    note = " ".join(note.split())
    if len(note) > MAX_NOTE:
        raise errors.ReviewInvalid(f"审核说明最多 {MAX_NOTE} 字", detail={"field": "note"})
    claim = await claim_or_404(session, claim_id)
    if claim.status.reviewed:
        raise errors.ClaimAlreadyReviewed(detail={"status": claim.status.value})
    order = await repository.order_of(session, claim.order_id)
    assert order is not None
    order_lines = {line.id: line for line in order.lines}
    unknown = sorted(set(approved) - {line.id for line in claim.lines})
    if unknown:
        raise errors.ReviewInvalid("审核的商品不在该理赔申请中", detail={"lines": unknown})
    plan: list[tuple[ClaimLine, Decimal, int]] = []
    for line in claim.lines:
        quantity = approved.get(line.id, Decimal(0))
        if quantity < 0 or quantity > line.quantity:
            raise errors.ReviewInvalid(
                "同意数量须在 0 到申请数量之间", detail={"line_id": line.id, "most": f"{line.quantity.normalize():f}"}
            )
        amount = line.amount_minor if quantity == line.quantity else value_of(order_lines[line.order_line_id], quantity)
        plan.append((line, quantity, amount))
    total = sum(amount for _, _, amount in plan)
    if total == 0:
        if not note:
            raise errors.ReviewInvalid("拒绝理赔须填写原因", detail={"field": "note"})
        status = ClaimStatus.refused
    elif all(quantity == line.quantity for line, quantity, _ in plan):
        status = ClaimStatus.approved
    else:
        status = ClaimStatus.partly_approved
    if not await repository.settle_review(
        session, claim.id, status=status, approved_minor=total, note=note, reviewer_id=actor_user_id, now=clock.now()
    ):
        raise errors.ClaimAlreadyReviewed()
    for line, quantity, amount in plan:
        await repository.set_line_approval(session, line.id, quantity, amount)
        for lot, share in zip(line.lots, split(quantity, [lot.quantity for lot in line.lots]), strict=True):
            await repository.set_lot_approval(session, lot.id, share)
    money = format_minor(total, claim.currency)
    if status is ClaimStatus.refused:
        await states.record(
            session,
            order,
            kind="claim_refused",
            actor_user_id=actor_user_id,
            message_zh=f"售后理赔申请未获同意：{note}"[:300],
            detail={"claim_id": claim.id},
        )
        await _tell(session, order, "claim_refused", reason=note[:60])
    else:
        word = "同意" if status is ClaimStatus.approved else "部分同意"
        await states.record(
            session,
            order,
            kind=f"claim_{status.value}",
            actor_user_id=actor_user_id,
            message_zh=f"售后理赔{word}，退款 {money}" + (f"（{note}）" if note else ""),
            detail={"claim_id": claim.id, "amount_minor": total},
        )
        await _tell(session, order, f"claim_{status.value}", amount_minor=total)
        await _refund(session, order, claim, total, actor_user_id)
    return await claim_or_404(session, claim.id)


async def _refund(session: AsyncSession, order: Order, claim: Claim, amount: int, actor_user_id: int) -> None:
    """Refund the approved value through the order's own payment; cash taken at a station is
    handed back there and recorded for its monthly figures."""
    refund = await payments.request_refund(
        session, order, amount_minor=amount, reason=f"售后理赔 #{claim.id}", actor_user_id=actor_user_id
    )
    await repository.set_refund(session, claim.id, refund.id)
    if order.payment_method is PaymentMethod.pay_at_pickup and order.station_id is not None:
        await repository.add_cash_refund(
            session,
            StationCashRefund(
                station_id=order.station_id,
                order_id=order.id,
                refund_id=refund.id,
                claim_id=claim.id,
                amount_minor=amount,
                currency=order.currency,
                recorded_by_id=actor_user_id,
            ),
        )


async def _tell(session: AsyncSession, order: Order, template: str, **params: object) -> None:
    if is_erased_phone(order.contact_phone):
        return  # the customer deleted their account: nobody to write to
    await notify(
        session,
        template=template,
        recipient=order.contact_phone,
        params={"order_number": order.number, **params},
        reference=order.number,
    )


# ---- claim rates --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimRate:
    """Approved claimed quantity ÷ sold quantity of a lot (or of a supplier's lots of one SKU)."""

    approved: Decimal
    sold: Decimal

    @property
    def percent(self) -> Decimal | None:
        if self.sold <= 0:
            return None
        return (self.approved * 100 / self.sold).quantize(Decimal("0.1"))

    @property
    def text(self) -> str:
        value = self.percent
        return "—" if value is None else f"{value}%"


RATE_DEFINITION_ZH = (
    "理赔率 = 该批次已同意理赔的数量 ÷ 该批次已售出的数量（销售出库台账，各渠道合计），按批次的计量单位计。"
)


async def lot_claim_rates(session: AsyncSession, lot_codes: list[str]) -> dict[str, ClaimRate]:
    """Lot code → its claim rate (see ``RATE_DEFINITION_ZH``)."""
    figures = await repository.lot_claim_figures(session, lot_codes)
    return {code: ClaimRate(approved, sold) for code, (approved, sold) in figures.items()}


@dataclass(frozen=True)
class SupplierSku:
    sku: str
    name_zh: str
    unit: str
    rate: ClaimRate
    lots: list[tuple[repository.LotFigure, ClaimRate]]


async def supplier_record(session: AsyncSession, code: str) -> tuple[Supplier, list[SupplierSku]]:
    """The supplier and, per SKU it supplied, the claim rate over all its lots of that SKU (units
    differ between SKUs, so they are never added up) and each lot's own rate."""
    supplier = await repository.supplier_by_code(session, code)
    if supplier is None:
        raise errors.ClaimNotFound("找不到该供应商", detail={"code": code})
    per_sku: dict[str, SupplierSku] = {}
    for figure in await repository.supplier_lot_figures(session, supplier.id):
        rate = ClaimRate(figure.approved, figure.sold)
        found = per_sku.get(figure.sku)
        if found is None:
            per_sku[figure.sku] = SupplierSku(figure.sku, figure.name_zh, figure.unit, rate, [(figure, rate)])
        else:
            total = ClaimRate(found.rate.approved + figure.approved, found.rate.sold + figure.sold)
            per_sku[figure.sku] = SupplierSku(
                found.sku, found.name_zh, found.unit, total, [*found.lots, (figure, rate)]
            )
    return supplier, list(per_sku.values())


# ---- photos -------------------------------------------------------------------------------------

PHOTO_NAME = re.compile(r"^[0-9a-f]{32}(?:-\d{2,4})?\.(jpg|png|webp)$")
PHOTO_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


async def photo_file(session: AsyncSession, uploads_dir: Path, claim: Claim, name: str) -> tuple[Path, str]:
    """A photo (or thumbnail) of ``claim``, only when a row of that claim names it: no other file
    under the uploads can be asked for. Claim photos are never public; callers check who asks."""
    match = PHOTO_NAME.match(name)
    relative = f"claims/{claim.id}/{name}"
    if match is None or await repository.photo_by_path(session, claim.id, relative) is None:
        raise errors.PhotoNotFound()
    path = uploads_dir / relative
    if not path.is_file():
        raise errors.PhotoNotFound()
    return path, PHOTO_TYPES[match.group(1)]


async def list_claims(session: AsyncSession, *, status: ClaimStatus | None) -> list[repository.ClaimRow]:
    return await repository.list_claims(session, status=status)


async def order_of_claim(session: AsyncSession, claim: Claim) -> Order:
    order = await repository.order_of(session, claim.order_id)
    assert order is not None
    return order
