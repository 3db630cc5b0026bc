"""Stock of a counter sale: the goods have already left the store in the customer's bag, so the
book follows what happened and never refuses.

Each line is taken from the store location's lots FEFO (``stock_queries.take_for_sale_fefo``):
only what the book holds free (on hand − reserved), a ``sale`` ledger row per lot taken. What the
book could not cover (a sale made offline when the store's stock was already sold, a miscount) is
returned as the line's short quantity; the caller records it as a stock exception for the store
manager. The book never goes below zero and ledger and levels always agree.

Lines run in variant order (then in the order given), each one statement that locks the variant's
level rows by best-before and level id — the order reservations lock them in — so a counter sale
and a reservation, a transfer or a count at the same store never wait on each other in a cycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import repository as catalog_repository
from app.channels import SalesChannel
from app.supply import counter_sale_queries, stock_queries
from app.supply import service as supply_service
from app.supply.models import LedgerKind

DOCUMENT_TYPE = "pos_sale"


@dataclass(frozen=True)
class CounterLine:
    key: int  # the caller's id of the line (its order line)
    variant_id: int
    quantity: Decimal


@dataclass(frozen=True)
class LotTaken:
    lot_id: int
    lot_code: str
    quantity: Decimal


@dataclass(frozen=True)
class LineTaken:
    key: int
    variant_id: int
    lots: list[LotTaken]
    short: Decimal  # what the book could not cover


async def take_for_counter_sale(
    session: AsyncSession,
    *,
    location_id: int,
    sale_number: str,
    lines: Sequence[CounterLine],
    actor_user_id: int,
    today: date | None = None,
) -> list[LineTaken]:
    """Take each line off the location's book as far as it holds; what it took and what was short,
    in the order of ``lines``."""
    lives = await catalog_repository.shelf_life_days(session, [line.variant_id for line in lines])
    taken: dict[int, LineTaken] = {}
    for line in sorted(lines, key=lambda item: item.variant_id):
        rows = await stock_queries.take_for_sale_fefo(
            session,
            location_id=location_id,
            variant_id=line.variant_id,
            quantity=line.quantity,
            min_best_before=supply_service.min_best_before(SalesChannel.pos, lives.get(line.variant_id, 0), today),
            document_type=DOCUMENT_TYPE,
            document_ref=sale_number,
            channel=SalesChannel.pos.value,
            actor_user_id=actor_user_id,
            reason=f"门店销售 {sale_number}",
        )
        lots = [LotTaken(lot_id, code, quantity) for lot_id, code, quantity in rows]
        got = sum((lot.quantity for lot in lots), start=Decimal(0))
        taken[line.key] = LineTaken(line.key, line.variant_id, lots, line.quantity - got)
    return [taken[line.key] for line in lines]


class BookMoved(Exception):
    """A level row locked for a batch no longer held what it did (never expected: the caller
    rolls the batch back and records its sales one by one)."""


async def take_for_counter_sales(
    session: AsyncSession,
    *,
    location_id: int,
    sales: Sequence[tuple[str, Sequence[CounterLine]]],
    actor_user_id: int,
    also_lock: Sequence[int] = (),
    today: date | None = None,
) -> list[list[LineTaken]]:
    """:func:`take_for_counter_sale` for a batch of sales (sale number, its lines), in their order,
    with three statements whatever their number: the variants' sellable level rows are locked at
    once (by variant, best-before, level id: the order every stock writer locks them in, so two
    tills' batches never wait on each other in a cycle), each sale takes FEFO from what the
    ones before it left, then the levels are updated and the ledger rows written (per sale as
    :func:`take_for_counter_sale` writes them: by variant, then as given, then FEFO).
    ``also_lock``: more variants whose rows to lock in the same statement (the caller's later
    batches in the same transaction then lock nothing new, hence nothing out of order)."""
    variant_ids = sorted({line.variant_id for _, lines in sales for line in lines})
    lives = await catalog_repository.shelf_life_days(session, variant_ids)
    levels: dict[int, list[counter_sale_queries.SellableLevel]] = {}
    locked = sorted(set(variant_ids) | set(also_lock))
    for level in await counter_sale_queries.lock_sellable_levels(session, location_id, locked):
        levels.setdefault(level.variant_id, []).append(level)
    floors = {
        variant_id: supply_service.min_best_before(SalesChannel.pos, lives.get(variant_id, 0), today)
        for variant_id in variant_ids
    }
    takes: dict[int, Decimal] = {}
    ledger: list[dict[str, object]] = []
    out: list[list[LineTaken]] = []
    for sale_number, lines in sales:
        taken: dict[int, LineTaken] = {}
        for line in sorted(lines, key=lambda item: item.variant_id):
            need = line.quantity
            lots: list[LotTaken] = []
            for level in levels.get(line.variant_id, []):
                if need <= 0:
                    break
                if level.best_before < floors[line.variant_id] or level.free <= 0:
                    continue
                part = min(need, level.free)
                level.free -= part
                need -= part
                takes[level.level_id] = takes.get(level.level_id, Decimal(0)) + part
                lots.append(LotTaken(level.lot_id, level.lot_code, part))
                ledger.append(
                    {
                        "kind": LedgerKind.sale,
                        "variant_id": line.variant_id,
                        "location_id": location_id,
                        "lot_id": level.lot_id,
                        "on_hand_delta": -part,
                        "reserved_delta": Decimal(0),
                        "actor_user_id": actor_user_id,
                        "reason": f"门店销售 {sale_number}"[:200],
                        "document_type": DOCUMENT_TYPE,
                        "document_ref": sale_number,
                        "channel": SalesChannel.pos.value,
                    }
                )
            taken[line.key] = LineTaken(line.key, line.variant_id, lots, need)
        out.append([taken[line.key] for line in lines])
    if await counter_sale_queries.take_from_levels(session, takes) != len(takes):
        raise BookMoved()
    await counter_sale_queries.insert_sale_ledger(session, ledger)
    return out


async def lots_of_counter_sale(
    session: AsyncSession, sale_number: str, lines: Sequence[tuple[CounterLine, Decimal]]
) -> dict[int, list[LotTaken]]:
    """The lots each line of a recorded sale took, read back from its ledger rows: ``lines`` are
    (line, short quantity); a variant's rows were written for its lines in the order
    ``take_for_counter_sale`` ran them (by variant, then as given), so they are dealt out again in
    that order. Lot ids are not kept (0): the read model names lots by code."""
    rows = await stock_queries.ledger_takes(session, document_type=DOCUMENT_TYPE, document_ref=sale_number)
    remaining: dict[int, list[list[object]]] = {}
    for variant_id, code, quantity in rows:
        remaining.setdefault(variant_id, []).append([code, quantity])
    out: dict[int, list[LotTaken]] = {}
    for line, short in sorted(lines, key=lambda item: item[0].variant_id):
        need = line.quantity - short
        lots: list[LotTaken] = []
        queue = remaining.get(line.variant_id, [])
        while need > 0 and queue:
            code, available = str(queue[0][0]), Decimal(str(queue[0][1]))
            part = min(need, available)
            lots.append(LotTaken(0, code, part))
            need -= part
            if part == available:
                queue.pop(0)
            else:
                queue[0][1] = available - part
        out[line.key] = lots
    return out
