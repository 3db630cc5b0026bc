"""Check-ins racing on committed PostgreSQL: the same QR scanned at two gates at once is admitted
once; two PDAs uploading their offline scans of the same ticket at the same moment count it once
and flag the other as a duplicate; the same upload sent twice at once records each scan once."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.models import Role
from app.db import create_sessionmaker
from app.events import checkin, errors, repository
from app.events.models import CheckIn, Ticket
from app.kit import clock
from tests.events.builders import buy, make_event, pay
from tests.fixtures.builders import make_user


async def test_racing_scans_admit_each_ticket_once(committed_engine: AsyncEngine) -> None:
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        setup = await make_event(session, starts_in=timedelta(hours=1))  # check-in opens 2 h before
        order = await buy(session, setup, adults=2)
        await pay(session, order)
        operator = await make_user(session, Role.station_operator, station_id=setup.station.id)
        await session.commit()
        first, second = (t.token for t in await repository.tickets_of_order(session, order.id))
        station_id, operator_id, event_id = setup.station.id, operator.id, setup.event.id

    async def online(gate: int) -> str:
        async with sessionmaker() as session:
            try:
                await checkin.check_in_online(
                    session, scanned=first, station_id=station_id, operator_id=operator_id, device=f"gate {gate}"
                )
                await session.commit()
                return "admitted"
            except errors.TicketAlreadyCheckedIn:
                return "refused"

    assert Counter(await asyncio.gather(*(online(gate) for gate in range(8)))) == {"admitted": 1, "refused": 7}

    scanned = clock.now() - timedelta(minutes=10)
    client_id = uuid.uuid4().hex

    async def upload(device: str) -> list[str]:
        async with sessionmaker() as session:
            results = await checkin.sync_offline(
                session,
                device_id=device,
                station_id=station_id,
                operator_id=operator_id,
                scans=[checkin.OfflineScan(client_id, second, scanned)],
            )
            await session.commit()
            return [r.outcome for r in results]

    # PDA-A's upload twice at once (a retry racing its original) and PDA-B's at the same moment.
    outcomes = await asyncio.gather(upload("PDA-A"), upload("PDA-A"), upload("PDA-B"))
    flat = [outcome for batch in outcomes for outcome in batch]
    assert sorted(flat) in (["counted", "counted", "duplicate"], ["counted", "duplicate", "duplicate"])
    assert outcomes[0] == outcomes[1]  # the retry answers what the original recorded

    async with sessionmaker() as session:
        logged = await session.scalar(
            select(func.count()).select_from(CheckIn).where(CheckIn.event_id == event_id, CheckIn.offline)
        )
        assert logged == 2  # one row per (device, client id)
        attended = await session.scalar(
            select(func.count())
            .select_from(Ticket)
            .where(Ticket.event_id == event_id, Ticket.checked_in_at.is_not(None))
        )
        assert attended == 2
        assert len(await repository.duplicates(session, event_id)) == 1
