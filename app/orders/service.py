"""The channel-neutral order service: what every sales channel does with an order, whatever sells
it (the shop's checkout today; the wholesale portal and the brand-store tills next).

An order of any channel holds its stock through :func:`hold_stock` — the one reservation path —
with the channel's policy (``app.channels``) deciding the shelf life a lot must still have (FEFO)
and, through :func:`hold_deadline`, how long an unpaid order may keep it. Channel-specific layers
(station routing, delivery fees, payment choice) sit in front and call in here.

Seam for later: lines that hold *capacity* instead of stock (a harvest pre-sale wave, an event
ticket) will be held by their own counter next to :func:`hold_stock`; an order made only of such
lines carries no delivery. Nothing of that is built yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import repository as catalog_repository
from app.channels import SalesChannel
from app.supply import reservations
from app.supply import service as supply_service


@dataclass(frozen=True)
class StockLine:
    """A line to hold: which variant, how much."""

    variant_id: int
    quantity: Decimal


def hold_deadline(channel: SalesChannel, placed_at: datetime, *, unpaid: bool) -> datetime | None:
    """Until when an order placed at ``placed_at`` holds its stock unpaid; None when it does not
    wait for money (paid, on account, or a channel whose policy holds nothing)."""
    hold = SalesChannel(channel).policy.hold_for()
    return placed_at + hold if unpaid and hold is not None else None


async def hold_stock(
    session: AsyncSession,
    *,
    channel: SalesChannel,
    reference: str,
    location_id: int,
    lines: Sequence[StockLine],
    expires_at: datetime | None,
    actor_user_id: int | None = None,
) -> reservations.Held:
    """Hold ``lines`` at ``location_id`` for an order of ``channel`` (FEFO by the channel's shelf-life
    rule), all or nothing: ``InsufficientStock`` names every short line. Called last in the
    transaction: the hot stock rows stay locked until it commits."""
    lives = await catalog_repository.shelf_life_days(session, [line.variant_id for line in lines])
    return await reservations.reserve(
        session,
        reference=reference,
        channel=SalesChannel(channel),
        location_id=location_id,
        expires_at=expires_at,
        actor_user_id=actor_user_id,
        lines=[
            reservations.ReserveLine(
                line.variant_id,
                line.quantity,
                supply_service.min_best_before(SalesChannel(channel), lives[line.variant_id]),
            )
            for line in lines
        ],
    )
