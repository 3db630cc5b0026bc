"""Every sales channel has a complete policy, and the rest of the code reads it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.channels import CHANNEL_LABELS_ZH, POLICIES, RETAIL_LIST, WHOLESALE_LIST, SalesChannel
from app.config import AppEnv, Settings
from app.orders.models import DeliveryMethod, PaymentMethod
from app.supply import service as supply_service
from app.supply.models import LocationKind


@pytest.mark.parametrize("channel", list(SalesChannel))
def test_each_channel_has_a_complete_policy(channel: SalesChannel) -> None:
    policy = POLICIES[channel]
    settings = Settings(app_env=AppEnv.test)
    assert channel.policy is policy and policy.label_zh and CHANNEL_LABELS_ZH[channel.value] == policy.label_zh
    assert set(policy.price_lists) <= {RETAIL_LIST, WHOLESALE_LIST}
    assert policy.payment_methods <= {m.value for m in PaymentMethod}
    assert policy.delivery_methods <= {m.value for m in DeliveryMethod}
    assert policy.stock_location_kind in {k.value for k in LocationKind}
    assert Decimal(0) <= policy.min_remaining_fraction(settings) < Decimal(1)
    hold = policy.hold_for(settings)
    assert hold is None or hold > timedelta(0)
    # A channel that takes orders here says how they are paid and delivered; one priced by our
    # lists takes orders here.
    if policy.price_lists:
        assert policy.payment_methods and policy.delivery_methods


def test_policies_carry_the_settings_they_depend_on() -> None:
    settings = Settings(app_env=AppEnv.test, reservation_ttl_minutes=20, wholesale_min_shelf_life_percent=70)
    assert SalesChannel.shop.policy.hold_for(settings) == timedelta(minutes=20)
    assert SalesChannel.wholesale.policy.min_remaining_fraction(settings) == Decimal("0.7")
    assert SalesChannel.crossborder.policy.min_remaining_fraction(settings) == Decimal("0.7")
    assert SalesChannel.shop.policy.min_remaining_fraction(settings) == 0
    assert SalesChannel.pos.policy.hold_for(settings) is None
    assert supply_service.min_remaining_fraction(SalesChannel.pos) == 0


async def test_the_database_knows_every_channel(db_session: AsyncSession) -> None:
    labels = (await db_session.execute(text("SELECT unnest(enum_range(NULL::order_channel))::text"))).scalars().all()
    assert sorted(labels) == sorted(channel.value for channel in SalesChannel)


def test_no_module_spells_a_channel_out() -> None:
    """Channels are read from ``app.channels``: no other module lists them as strings."""
    import re
    from pathlib import Path

    app_dir = Path(__file__).resolve().parent.parent / "app"
    spelled = re.compile(r"""["'](shop|pos|crossborder)["']\s*[,:)]|Literal\[["']shop""")
    offenders = [
        f"{path.relative_to(app_dir)}:{number}"
        for path in sorted(app_dir.rglob("*.py"))
        if path.name not in ("channels.py", "demo.py") and "migrations" not in path.parts
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if spelled.search(line) and "Scope" not in line and "scope" not in line
    ]
    assert offenders == []
