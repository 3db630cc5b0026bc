"""The county official sees no private person's name or phone anywhere it can read: not a
customer's, not a household grower's (a farmer family delivering produce upward is a private
person: named only by family name, the rule of the public trace page), not a private payee of
the plan's funds. Admins see them in full (they call these people)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.county import performance
from app.county.models import BudgetLine, Spending
from app.kit import clock
from app.kit.quantities import Unit
from app.stations.models import Consignment
from app.supply.models import LotOrigin, Supplier
from app.supply.service import household_supplier
from tests.county.fixture import MIDNIGHT, NAME_A, NAME_D, NAME_G, P1, P2, SAT, SUN, Fixture, build, lot
from tests.fixtures.builders import make_variant, seq
from tests.fixtures.routes import iter_routes
from tests.web.test_stock_pages import HTML, log_in

SUNDAY_NOON = MIDNIGHT + timedelta(hours=12)
SPAN = f"from={SAT}&to={SUN}"
FARMER = "王大福"
FARMER_PHONE = "+8613912345678"
SELLER = "黄丽娟"  # a household that delivered a lot at the warehouse
PAYEE = "陈志强"  # a private person rewarded under line 2021.1.5 (入驻企业/个人奖励扶持)
ATTENTION_KEYS = ("overdue-parcels", "expiring-lots", "below-reorder", "stuck-orders", "alibaba-sync")
PRIVATE = (NAME_A, NAME_D, NAME_G, FARMER, SELLER, PAYEE, P1, P2, FARMER_PHONE, P1[3:], P2[3:], FARMER_PHONE[3:])


async def households_and_a_private_payee(session: AsyncSession, made: Fixture) -> None:
    """A household's consignment at a station and a household's lot received on Sunday, and a
    payment to a private person under line 2021.1.5."""
    farmer = await household_supplier(
        session, name=FARMER, phone=FARMER_PHONE, township="太平镇", village="澄江村", today=SUN
    )
    seller = await household_supplier(
        session, name=SELLER, phone="+8613912345679", township="马市镇", village="马市村", today=SUN
    )
    loose = await make_variant(session, unit=Unit.kg, net_weight_grams=1000)
    up = await lot(session, loose.id, "5", MIDNIGHT + timedelta(hours=3), None, origin=LotOrigin.upstream)
    session.add(
        Consignment(
            number=f"UP-T{seq()}",
            station_id=made.station.id,
            supplier_id=farmer.id,
            lot_id=up.id,
            weight_kg=Decimal("5"),
            value_minor=1_000,
            created_at=MIDNIGHT + timedelta(hours=3),
        )
    )
    received = await lot(session, loose.id, "3", MIDNIGHT + timedelta(hours=4), 500)
    received.supplier_id = seller.id
    line = await session.scalar(select(BudgetLine).where(BudgetLine.code == "2021.1.5"))
    assert line is not None
    session.add(
        Spending(line_id=line.id, spent_on=date(2022, 1, 5), amount_fen=200_000, payee=PAYEE, voucher_number="V-P1")
    )
    await session.flush()


async def test_the_official_sees_a_household_grower_by_family_name_and_the_admin_in_full(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    made = await build(db_session)
    await households_and_a_private_payee(db_session, made)
    cooperative = await db_session.scalar(
        select(Supplier.name).where(Supplier.name.like("测试合作社%")).order_by(Supplier.id.desc())
    )
    assert cooperative is not None
    await log_in(client, db_session, Role.county_official)
    with clock.pinned(SUNDAY_NOON):
        page = await client.get(f"/admin/county/upward?{SPAN}", headers=HTML)
    assert page.status_code == 200
    shown = re.findall(r'data-label="(?:供货人|供应商)">([^<]*)<', page.text)
    assert FARMER not in page.text and SELLER not in page.text
    assert "王**" in shown and "黄**" in shown
    # A co-operative is an organisation: named in full (as on the trace page).
    assert any(name.startswith("测试合作社") for name in shown)

    await log_in(client, db_session, Role.admin)
    with clock.pinned(SUNDAY_NOON):
        page = await client.get(f"/admin/county/upward?{SPAN}", headers=HTML)
    shown = re.findall(r'data-label="(?:供货人|供应商)">([^<]*)<', page.text)
    assert FARMER in shown and SELLER in shown


async def test_the_official_sees_a_private_payee_masked_and_the_admin_in_full(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    made = await build(db_session)
    await households_and_a_private_payee(db_session, made)
    await log_in(client, db_session, Role.county_official)
    page = await client.get("/admin/county/funds/2021.1.5", headers=HTML)
    assert page.status_code == 200
    assert PAYEE not in page.text
    assert re.search(r'<th scope="row">陈\*\*</th>', page.text)
    await log_in(client, db_session, Role.admin)
    page = await client.get("/admin/county/funds/2021.1.5", headers=HTML)
    assert re.search(rf'<th scope="row">{PAYEE}</th>', page.text)


async def test_no_page_the_official_can_read_shows_a_private_name_or_phone(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    """Every GET route of the app (path ids replaced by 1) and every list behind a dashboard
    figure for the fixture's days: what answers 200 to the official names no private person."""
    made = await build(db_session)
    await households_and_a_private_payee(db_session, made)
    with clock.pinned(SUNDAY_NOON):
        await performance.refresh_figures(db_session)
    await log_in(client, db_session, Role.county_official)
    gets = sorted(
        {re.sub(r"\{[^}]+\}", "1", r.path) for r in iter_routes(app) if not r.is_mount and "GET" in r.methods}
    )
    extras = [
        *(f"/admin/county/orders?channel={c}&{SPAN}" for c in ("shop", "wholesale", "pos", "crossborder")),
        f"/admin/county/upward?{SPAN}",
        f"/admin/county/downward?{SPAN}",
        f"/admin/county/served?{SPAN}",
        "/admin?period=7d",
        "/admin?period=30d",
        "/admin/county/funds/2021.1.5",
        f"/admin/county/orders?channel=shop&channel=wholesale&channel=pos&{SPAN}",
        *(f"/admin/county/attention/{key}" for key in ATTENTION_KEYS),
    ]
    read = 0
    leaks: dict[str, list[str]] = {}
    with clock.pinned(SUNDAY_NOON):
        for url in [*gets, *extras]:
            response = await client.get(url, headers=HTML)
            if response.status_code != 200:
                continue
            read += 1
            shown = [value for value in PRIVATE if value in response.text]
            if shown:
                leaks[url] = shown
    assert leaks == {}
    assert read >= 20 + len(extras)
