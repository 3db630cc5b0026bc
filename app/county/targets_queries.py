"""SQL of the targets register: targets, evidence, assets, and the platform records progress is
computed from (stations, device tokens, listings, wholesale lines of supply SKUs, POS sales).

Instants are half-open ``[since, until)`` (China-day bounds from ``app.kit.clock``); dates are
inclusive China dates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import distinct, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.accounts.models import ApiToken, TokenKind
from app.catalog.models import Variant
from app.channels import SalesChannel
from app.county.models import Asset, AssetKind, Evidence, EvidenceKind, EvidencePhoto, Target
from app.crossborder.models import Listing, ListingState
from app.events.models import EventSlot, EventStatus, FarmEvent, Ticket
from app.orders.models import Order, OrderLine, OrderStatus
from app.pos.sale_models import Sale
from app.stations.models import Station
from app.streamers.models import OrderAttribution, Seller

# Orders that never became a sale.
_NOT_SALES = (OrderStatus.cancelled, OrderStatus.expired, OrderStatus.pending_payment)


# ---- targets ------------------------------------------------------------------------------------


async def all_targets(session: AsyncSession) -> Sequence[Target]:
    return (await session.scalars(select(Target).order_by(Target.position, Target.id))).all()


async def target_by_code(session: AsyncSession, code: str) -> Target | None:
    return await session.scalar(select(Target).where(Target.code == code))


async def next_target_position(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.coalesce(func.max(Target.position), 0))) or 0) + 1


# ---- evidence -----------------------------------------------------------------------------------


async def evidence_count(session: AsyncSession, kind: EvidenceKind, first: date, last: date) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Evidence)
            .where(Evidence.kind == kind, Evidence.happened_on >= first, Evidence.happened_on <= last)
        )
        or 0
    )


async def evidence_between(
    session: AsyncSession, kinds: Sequence[EvidenceKind], first: date, last: date
) -> Sequence[Evidence]:
    return (
        await session.scalars(
            select(Evidence)
            .where(Evidence.kind.in_(kinds), Evidence.happened_on >= first, Evidence.happened_on <= last)
            .order_by(Evidence.happened_on, Evidence.id)
        )
    ).all()


async def list_evidence(session: AsyncSession, kind: EvidenceKind | None, *, limit: int = 200) -> Sequence[Evidence]:
    stmt = select(Evidence).options(selectinload(Evidence.photos))
    if kind is not None:
        stmt = stmt.where(Evidence.kind == kind)
    return (await session.scalars(stmt.order_by(Evidence.happened_on.desc(), Evidence.id.desc()).limit(limit))).all()


async def evidence_with_photos(session: AsyncSession, evidence_id: int) -> Evidence | None:
    return await session.scalar(
        select(Evidence).options(selectinload(Evidence.photos)).where(Evidence.id == evidence_id)
    )


async def photo_by_path(session: AsyncSession, path: str) -> EvidencePhoto | None:
    return await session.scalar(select(EvidencePhoto).where(EvidencePhoto.path == path))


# ---- assets -------------------------------------------------------------------------------------


async def assets_in_service(session: AsyncSession, kind: AssetKind, first: date, cutoff: date) -> int:
    """Assets of ``kind`` deployed between ``first`` and ``cutoff`` and not retired by ``cutoff``."""
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Asset)
            .where(
                Asset.kind == kind,
                Asset.deployed_on >= first,
                Asset.deployed_on <= cutoff,
                or_(Asset.retired_on.is_(None), Asset.retired_on > cutoff),
            )
        )
        or 0
    )


async def unregistered_pda_tokens(session: AsyncSession, since: datetime, until: datetime) -> int:
    """Station PDA tokens issued in ``[since, until)`` and live at ``until`` that no asset names:
    a PDA the register does not know yet. A token an asset names counts only through its asset."""
    named = select(Asset.api_token_id).where(Asset.api_token_id.is_not(None))
    return int(
        await session.scalar(
            select(func.count())
            .select_from(ApiToken)
            .where(
                ApiToken.kind == TokenKind.station_pda,
                ApiToken.created_at >= since,
                ApiToken.created_at < until,
                or_(ApiToken.revoked_at.is_(None), ApiToken.revoked_at >= until),
                ApiToken.expires_at >= until,
                ApiToken.id.not_in(named),
            )
        )
        or 0
    )


async def list_assets(session: AsyncSession) -> Sequence[tuple[Asset, str, str]]:
    """Every asset with its station's code and name, printers first, by serial."""
    rows = await session.execute(
        select(Asset, Station.code, Station.name)
        .join(Station, Station.id == Asset.station_id)
        .order_by(Asset.kind, Asset.serial)
    )
    return [(asset, code, name) for asset, code, name in rows]


async def asset_by_id(session: AsyncSession, asset_id: int) -> Asset | None:
    return await session.get(Asset, asset_id)


async def serial_taken(session: AsyncSession, serial: str, *, other_than: int | None = None) -> bool:
    stmt = select(Asset.id).where(Asset.serial == serial)
    if other_than is not None:
        stmt = stmt.where(Asset.id != other_than)
    return await session.scalar(stmt) is not None


async def asset_naming_token(session: AsyncSession, token_id: int) -> Asset | None:
    return await session.scalar(select(Asset).where(Asset.api_token_id == token_id))


async def pda_token(session: AsyncSession, token_id: int) -> ApiToken | None:
    return await session.scalar(select(ApiToken).where(ApiToken.id == token_id, ApiToken.kind == TokenKind.station_pda))


async def live_pda_tokens(session: AsyncSession) -> Sequence[tuple[int, int, str, str, str]]:
    """(token id, station id, station name, label, prefix) of the unrevoked station PDA tokens."""
    rows = await session.execute(
        select(ApiToken.id, Station.id, Station.name, ApiToken.label, ApiToken.prefix)
        .join(Station, Station.id == ApiToken.station_id)
        .where(ApiToken.kind == TokenKind.station_pda, ApiToken.revoked_at.is_(None))
        .order_by(Station.code, ApiToken.id)
    )
    return [(t, s, name, label, prefix) for t, s, name, label, prefix in rows]


async def station_choices(session: AsyncSession) -> Sequence[tuple[int, str, str]]:
    rows = await session.execute(select(Station.id, Station.code, Station.name).order_by(Station.code))
    return [(i, code, name) for i, code, name in rows]


async def station_exists(session: AsyncSession, station_id: int) -> bool:
    return await session.scalar(select(Station.id).where(Station.id == station_id)) is not None


# ---- computed progress --------------------------------------------------------------------------


async def stations_created(session: AsyncSession, since: datetime, until: datetime) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(Station).where(Station.created_at >= since, Station.created_at < until)
        )
        or 0
    )


async def listings_online(session: AsyncSession, until: datetime) -> int:
    """Listings online now that existed before ``until`` (the listing keeps no state history)."""
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Listing)
            .where(Listing.state == ListingState.online, Listing.created_at < until)
        )
        or 0
    )


async def supply_skus_sold(session: AsyncSession, since: datetime, until: datetime) -> int:
    """Distinct supply SKUs on wholesale orders placed in ``[since, until)`` that became sales."""
    return int(
        await session.scalar(
            select(func.count(distinct(OrderLine.variant_id)))
            .join(Order, Order.id == OrderLine.order_id)
            .join(Variant, Variant.id == OrderLine.variant_id)
            .where(
                Variant.is_supply_sku.is_(True),
                Order.channel == SalesChannel.wholesale,
                Order.status.not_in(_NOT_SALES),
                Order.placed_at >= since,
                Order.placed_at < until,
            )
        )
        or 0
    )


async def stores_with_sales(session: AsyncSession, since: datetime, until: datetime) -> int:
    return int(
        await session.scalar(
            select(func.count(distinct(Sale.store_id))).where(Sale.sold_at >= since, Sale.sold_at < until)
        )
        or 0
    )


async def sellers_incubated(session: AsyncSession, since: datetime, until: datetime) -> int:
    """Live-stream sellers the centre registered in ``[since, until)`` that have brought at least
    one order paid (in part or whole) placed before ``until``: a registration alone is not an
    incubated seller."""
    brought = (
        select(OrderAttribution.id)
        .join(Order, Order.id == OrderAttribution.order_id)
        .where(OrderAttribution.seller_id == Seller.id, Order.paid_minor > 0, Order.placed_at < until)
        .exists()
    )
    return int(
        await session.scalar(
            select(func.count(Seller.id)).where(Seller.created_at >= since, Seller.created_at < until, brought)
        )
        or 0
    )


async def events_attended(session: AsyncSession, since: datetime, until: datetime) -> int:
    """农旅结合活动 held: farm events (``app.events``) not cancelled by the centre with a slot that
    started in ``[since, until)`` and at least one ticket of such a slot checked in at the event.
    An event with several slots counts once; an event nobody came to (or only sold) counts none:
    the plan counts activities that took place, and a check-in is the platform's proof of that."""
    held = (
        select(Ticket.id)
        .join(EventSlot, EventSlot.id == Ticket.slot_id)
        .where(
            Ticket.event_id == FarmEvent.id,
            Ticket.checked_in_at.is_not(None),
            EventSlot.starts_at >= since,
            EventSlot.starts_at < until,
        )
        .exists()
    )
    return int(
        await session.scalar(
            select(func.count(FarmEvent.id)).where(FarmEvent.status == EventStatus.scheduled.value, held)
        )
        or 0
    )
