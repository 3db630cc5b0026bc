"""Live-stream sellers (主播): registration, attribution of shop orders, commission.

Attribution (one seller per order, ``order_attributions.order_id`` unique):

- A seller's link ``/s/{code}`` sets a signed first-touch cookie (seller id + when). Only the FIRST
  seller within ``STREAMER_ATTRIBUTION_DAYS`` counts: a later seller's link does not replace a
  cookie still inside its window.
- Precedence: a referral code the buyer types at checkout (``referral_code`` of the order) wins
  over the cookie — it is the buyer's own statement at the moment of buying. An unknown or inactive
  typed code refuses the order (422 ``unknown_referral_code``), nothing written. A cookie whose
  seller was deactivated since, or whose window has passed, is ignored silently.

The attribution is one INSERT in the order's own unit of work, and only when there is a referral.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import get_settings
from app.kit import clock
from app.streamers import errors, repository
from app.streamers.models import AttributionVia, OrderAttribution, Seller

LINK_COOKIE = "np_ref"
# No 0/O, 1/I/L: a code read off a live stream and typed on a phone must not be ambiguous.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 6


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(get_settings().secret_key.get_secret_value(), salt="streamer-link")


def normalise_code(code: str) -> str:
    return code.strip().upper()


async def new_code(session: AsyncSession) -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if not await repository.code_taken(session, code):
            return code


@dataclass(frozen=True)
class SellerInput:
    name: str
    commission_bps: int
    phone: str | None = None
    active: bool = True
    user_id: int | None = None


async def _check(session: AsyncSession, data: SellerInput, seller_id: int | None) -> None:
    if not data.name.strip() or len(data.name.strip()) > 50:
        raise errors.SellerInvalid("请填写主播名称（50 字以内）")
    if not 0 <= data.commission_bps <= 10000:
        raise errors.SellerInvalid("佣金比例应在 0–100% 之间")
    if data.user_id is not None and await repository.user_linked_elsewhere(session, data.user_id, seller_id):
        raise errors.SellerUserTaken()


async def create_seller(session: AsyncSession, data: SellerInput) -> Seller:
    await _check(session, data, None)
    seller = Seller(
        name=data.name.strip(),
        phone=data.phone or None,
        code=await new_code(session),
        commission_bps=data.commission_bps,
        active=data.active,
        user_id=data.user_id,
    )
    session.add(seller)
    await session.flush()
    return seller


async def update_seller(session: AsyncSession, seller_id: int, data: SellerInput) -> Seller:
    seller = await get_seller(session, seller_id)
    await _check(session, data, seller_id)
    seller.name, seller.phone = data.name.strip(), data.phone or None
    seller.commission_bps, seller.active, seller.user_id = data.commission_bps, data.active, data.user_id
    await session.flush()
    return seller


async def get_seller(session: AsyncSession, seller_id: int) -> Seller:
    seller = await repository.seller(session, seller_id)
    if seller is None:
        raise errors.SellerNotFound()
    return seller


async def set_rule(session: AsyncSession, seller_id: int, product_id: int, bps: int) -> None:
    await get_seller(session, seller_id)
    if not 0 <= bps <= 10000:
        raise errors.SellerInvalid("佣金比例应在 0–100% 之间")
    if not await repository.product_exists(session, product_id):
        raise errors.SellerInvalid("商品不存在")
    await repository.upsert_rule(session, seller_id, product_id, bps)


async def remove_rule(session: AsyncSession, seller_id: int, product_id: int) -> None:
    await repository.delete_rule(session, seller_id, product_id)


# ---- attribution ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Referral:
    seller_id: int
    via: AttributionVia
    touched_at: datetime


def read_link_cookie(value: str | None) -> Referral | None:
    """The seller and first-touch time a link cookie carries, if its signature holds."""
    if not value:
        return None
    try:
        payload = _signer().loads(value)
        return Referral(int(payload["s"]), AttributionVia.link, datetime.fromisoformat(str(payload["t"])))
    except (BadSignature, KeyError, TypeError, ValueError):
        return None


def _within_window(touched_at: datetime, now: datetime) -> bool:
    return now - touched_at <= timedelta(days=get_settings().streamer_attribution_days)


async def follow_link(session: AsyncSession, code: str, current_cookie: str | None) -> str | None:
    """A visit through ``/s/{code}``: the cookie value to set, or None to leave the cookie as it
    is (an unknown / inactive code, or an earlier seller's touch still inside its window)."""
    seller = await repository.seller_by_code(session, normalise_code(code))
    if seller is None or not seller.active:
        return None
    now = clock.now()
    earlier = read_link_cookie(current_cookie)
    if earlier is not None and _within_window(earlier.touched_at, now):
        return None
    return _signer().dumps({"s": seller.id, "t": now.isoformat()})


async def resolve_referral(session: AsyncSession, typed_code: str | None, link_cookie: str | None) -> Referral | None:
    """Who an order about to be placed is attributed to (see the module's precedence rule).
    Raises :class:`errors.UnknownReferralCode` for a typed code that does not name an active seller."""
    now = clock.now()
    if typed_code and typed_code.strip():
        seller = await repository.seller_by_code(session, normalise_code(typed_code))
        if seller is None or not seller.active:
            raise errors.UnknownReferralCode(detail={"field": "referral_code"})
        return Referral(seller.id, AttributionVia.code, now)
    touch = read_link_cookie(link_cookie)
    if touch is None or not _within_window(touch.touched_at, now):
        return None
    seller = await repository.seller(session, touch.seller_id)
    return touch if seller is not None and seller.active else None


async def attribute(session: AsyncSession, order_id: int, referral: Referral) -> None:
    """One INSERT, in the order's unit of work (the request commits)."""
    session.add(
        OrderAttribution(
            order_id=order_id, seller_id=referral.seller_id, via=referral.via.value, touched_at=referral.touched_at
        )
    )
    await session.flush()
