"""Fixtures of the wholesale tests, used by name (``pytest.mark.usefixtures``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit import clock
from tests.fixtures.trips import make_prd_route
from tests.fixtures.wholesale_orders import SUNDAY_NOON


@pytest.fixture
def sunday_noon() -> Iterator[None]:
    """The ordering tests' moment (``SUNDAY_NOON``), pinned."""
    with clock.pinned(SUNDAY_NOON):
        yield


@pytest.fixture
async def guangzhou_route(db_session: AsyncSession) -> None:
    """The route to 广州 / 佛山: Tue / Thu / Sat, 18:00 the day before."""
    await make_prd_route(db_session, cities=("广州", "佛山"), weekdays=(2, 4, 6))
