"""The Alibaba.com pacer's rate holds across processes: two pacers (as two worker processes have)
reserving their starts in one PostgreSQL keep every start one interval after the previous one,
whichever made it, and a ban one of them was told about holds back the other (issue 16, item 3)."""

from __future__ import annotations

import asyncio
import time
import uuid

from sqlalchemy.ext.asyncio import AsyncEngine

from app.crossborder.pacing import DatabaseSchedule, Pacer
from app.db import create_sessionmaker

RATE = 20.0  # calls a second: starts 50 ms apart


async def test_two_processes_pacers_share_one_rate(committed_engine: AsyncEngine) -> None:
    sessionmaker = create_sessionmaker(committed_engine)
    name = f"test-{uuid.uuid4().hex[:8]}"
    pacers = [Pacer(RATE, shared=DatabaseSchedule(sessionmaker, name)) for _ in range(2)]
    starts: list[float] = []

    async def calls(pacer: Pacer) -> None:
        for _ in range(6):
            async with pacer.slot():
                starts.append(time.monotonic())

    await asyncio.gather(*(calls(p) for p in pacers))

    starts.sort()
    # Each pacer alone would start its 6 calls 50 ms apart: the two together 12 calls within 250 ms.
    # Shared, the starts reserved are 50 ms apart, 550 ms from the first to the twelfth, and no call
    # starts before its reserved time (a call can start late on a busy machine, never early).
    assert starts[-1] - starts[0] >= 11 * 0.05 * 0.95, starts
    assert sum(1 for t in starts if t - starts[0] < 0.3) <= 7, starts


async def test_a_ban_told_to_one_process_holds_back_the_other(committed_engine: AsyncEngine) -> None:
    sessionmaker = create_sessionmaker(committed_engine)
    name = f"test-{uuid.uuid4().hex[:8]}"
    told, other = (Pacer(RATE, shared=DatabaseSchedule(sessionmaker, name)) for _ in range(2))
    started = time.monotonic()
    await told.ban_everywhere(0.6)
    async with other.slot():
        waited = time.monotonic() - started
    assert waited >= 0.55, waited
