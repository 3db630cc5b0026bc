"""What the fault tests share: a stocked product of their own in a committed database, orders
placed the way a phone places them, and the stock invariants checked in SQL afterwards."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.catalog.models import PriceListKind
from app.db import create_sessionmaker
from app.kit.quantities import Unit
from tests.fixtures.builders import (
    ensure_price_list,
    ensure_warehouse,
    make_product,
    make_station,
    make_variant,
    receive,
    set_price,
)

ROOT = Path(__file__).resolve().parent.parent.parent
PRICE_MINOR = 3000


@dataclass(frozen=True)
class StockedShop:
    """One variant (boxes at ¥30.00) with ``on_hand`` boxes in one lot, and a pickup station."""

    tag: str
    sku: str
    variant_id: int
    station_code: str
    on_hand: int

    def order_body(self, *, payment_method: str = "pay_at_pickup", quantity: int = 1, n: int = 0) -> dict[str, Any]:
        return {
            "lines": [{"sku": self.sku, "quantity": str(quantity)}],
            "payment_method": payment_method,
            "delivery": {"method": "station_pickup", "station_code": self.station_code},
            "contact": {"name": "王阿姨", "phone": phone(n)},
        }


def phone(n: int) -> str:
    """A valid mainland mobile number per order, so per-phone limits never meet."""
    return f"139{n % 100_000_000:08d}"


async def stock_a_shop(engine: AsyncEngine, *, on_hand: int) -> StockedShop:
    tag = uuid.uuid4().hex[:6].upper()
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as session:
        await ensure_price_list(session, "retail", PriceListKind.retail)
        await ensure_warehouse(session)
        variant = await make_variant(
            session, product=await make_product(session, slug=f"fault-{tag.lower()}"), unit=Unit.box, sku=f"FLT-{tag}"
        )
        await set_price(session, "retail", variant, PRICE_MINOR)
        await receive(session, variant, str(on_hand))
        station = await make_station(session, code=f"ST-F{tag}", latitude=Decimal("24.9"), longitude=Decimal("114.1"))
        await session.commit()
        return StockedShop(tag, variant.sku, variant.id, station.code, on_hand)


async def stock_figures(engine: AsyncEngine, shop: StockedShop) -> dict[str, Any]:
    """The variant's stock as the book has it, and as its reservations and ledger say it must be."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    """
                    SELECT
                      (SELECT coalesce(sum(on_hand), 0) FROM stock_levels WHERE variant_id = :v) AS on_hand,
                      (SELECT coalesce(sum(reserved), 0) FROM stock_levels WHERE variant_id = :v) AS reserved,
                      (SELECT coalesce(sum(rl.quantity), 0) FROM reservation_lines rl
                         JOIN reservations r ON r.id = rl.reservation_id
                        WHERE rl.variant_id = :v AND r.status = 'active') AS held,
                      (SELECT coalesce(sum(on_hand_delta), 0) FROM stock_ledger WHERE variant_id = :v)
                        AS ledger_on_hand,
                      (SELECT coalesce(sum(reserved_delta), 0) FROM stock_ledger WHERE variant_id = :v)
                        AS ledger_reserved
                    """
                ),
                {"v": shop.variant_id},
            )
        ).one()
    return dict(row._mapping)


def assert_stock_book_agrees(figures: dict[str, Any]) -> None:
    """Reserved equals what active reservations hold, and both figures equal the ledger's sums."""
    assert figures["reserved"] == figures["held"], figures
    assert figures["on_hand"] == figures["ledger_on_hand"], figures
    assert figures["reserved"] == figures["ledger_reserved"], figures


def spawn_group(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``python -m app.cli *argv`` in a process group (session) of its own, its output in ``log``."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "app.cli", *argv],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def kill_process_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL a process started with ``start_new_session`` and every process it started."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


async def wait_until(predicate: Callable[[], Awaitable[bool]], timeout: float, interval: float = 0.3) -> float | None:
    """Seconds until ``predicate`` held, or None when it did not within ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if await predicate():
            return time.monotonic() - started
        await asyncio.sleep(interval)
    return None


def log_tail(path: Path, chars: int = 4000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"

