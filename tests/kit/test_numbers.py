"""A random document number that clashes with an existing one is drawn again, not a 500."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.numbers import NumberClash
from app.supply import service, transfers
from app.supply.models import Lot, Transfer
from tests.fixtures.builders import ensure_warehouse, make_location, make_variant, receive


def _draws(monkeypatch: pytest.MonkeyPatch, module: object, name: str, values: list[str]) -> None:
    sequence: Iterator[str] = iter(values)
    monkeypatch.setattr(module, name, lambda *_: next(sequence))


async def test_a_lot_code_clash_is_drawn_again(db_session: AsyncSession, monkeypatch: pytest.MonkeyPatch) -> None:
    variant = await make_variant(db_session)
    first = await receive(db_session, variant, "5")
    _draws(monkeypatch, service, "new_lot_code", [first.code, first.code, "LT991231-ZZZZZZ"])
    second = await receive(db_session, variant, "7")
    assert second.code == "LT991231-ZZZZZZ"
    codes = (await db_session.scalars(select(Lot.code).where(Lot.variant_id == variant.id))).all()
    assert sorted(codes) == sorted([first.code, "LT991231-ZZZZZZ"])


async def test_a_transfer_number_clash_is_drawn_again_and_gives_up_cleanly(
    db_session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    variant = await make_variant(db_session)
    warehouse = await ensure_warehouse(db_session)
    store = await make_location(db_session, "store")
    lot = await receive(db_session, variant, "10")
    line = [transfers.ShipLine(lot.code, Decimal("1"))]
    first = await transfers.ship(
        db_session, from_code=warehouse.code, to_code=store.code, lines=line, note="", actor_user_id=None
    )
    _draws(monkeypatch, transfers, "new_transfer_number", [first.number, "TR991231-ABCDEF"])
    second = await transfers.ship(
        db_session, from_code=warehouse.code, to_code=store.code, lines=line, note="", actor_user_id=None
    )
    assert second.number == "TR991231-ABCDEF"
    _draws(monkeypatch, transfers, "new_transfer_number", [first.number] * 10)
    with pytest.raises(NumberClash):
        await transfers.ship(
            db_session, from_code=warehouse.code, to_code=store.code, lines=line, note="", actor_user_id=None
        )
    assert len((await db_session.scalars(select(Transfer.id))).all()) >= 2
