"""The one pricing function: tiers, MOQ, increments, weighed quantities, company lists."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.catalog import errors
from app.catalog.models import PriceListKind
from app.catalog.pricing import LineRequest, price_line, price_lines
from app.channels import SalesChannel
from app.kit.money import line_total_minor
from app.kit.quantities import Unit
from tests.fixtures.builders import (
    auth,
    ensure_price_list,
    make_company,
    make_user,
    make_variant,
    set_price,
    token_for,
)


@pytest.fixture
async def lists(db_session: AsyncSession) -> None:
    await ensure_price_list(db_session, "retail", PriceListKind.retail)
    await ensure_price_list(db_session, "wholesale", PriceListKind.wholesale)


def test_line_total_rounds_once_half_up() -> None:
    assert line_total_minor(1800, Decimal("1.235")) == 2223
    assert line_total_minor(1850, Decimal("1.235")) == 2285  # 2284.75 → 2285
    assert line_total_minor(1999, Decimal("0.001")) == 2  # 1.999 → 2
    assert line_total_minor(333, Decimal("0.5")) == 167  # 166.5 → 167 (half-up, not banker's)


async def test_weighed_quantity_priced_to_the_fen(db_session: AsyncSession, lists: None) -> None:
    taro = await make_variant(db_session, unit=Unit.kg)
    await set_price(db_session, "retail", taro, 1800, min_quantity="0.5", increment="0.001")
    line = await price_line(db_session, taro.sku, "1.235", channel=SalesChannel.shop)
    assert (line.quantity, line.unit_price_minor, line.line_total_minor) == (Decimal("1.235"), 1800, 2223)
    assert line.rule.price_list_code == "retail" and line.rule.tier_min_quantity is None


async def test_tiers_pick_the_highest_reached(db_session: AsyncSession, lists: None) -> None:
    box = await make_variant(db_session, unit=Unit.box, case_pack=4)
    await set_price(db_session, "wholesale", box, 10000, tiers=[("20", 9500), ("100", 9000)])
    # Wholesale default increment is the case pack (4) and the MOQ defaults to it.
    quantities = {
        "4": (10000, None),
        "16": (10000, None),
        "20": (9500, Decimal(20)),
        "100": (9000, Decimal(100)),
        "104": (9000, Decimal(100)),
    }
    for qty, (price, tier) in quantities.items():
        line = await price_line(db_session, box.sku, qty, channel=SalesChannel.wholesale)
        assert line.unit_price_minor == price, qty
        assert line.rule.tier_min_quantity == tier
        assert line.line_total_minor == price * int(qty)


async def test_moq_and_increment_enforced_with_clear_errors(db_session: AsyncSession, lists: None) -> None:
    box = await make_variant(db_session, unit=Unit.box, case_pack=6)
    await set_price(db_session, "wholesale", box, 5000, min_quantity="12", increment="6")
    with pytest.raises(errors.BelowMinimumOrder) as below:
        await price_line(db_session, box.sku, "6", channel=SalesChannel.wholesale)
    assert below.value.detail["lines"][0]["message"] == f"{box.sku} 最小起订量为 12 箱"
    with pytest.raises(errors.QuantityNotInIncrement) as step:
        await price_line(db_session, box.sku, "14", channel=SalesChannel.wholesale)
    assert step.value.detail["lines"][0]["message"] == f"{box.sku} 须按 6 箱 的整数倍订购"
    for bad in ("0", "-6"):
        with pytest.raises(errors.QuantityNotPositive):
            await price_line(db_session, box.sku, bad, channel=SalesChannel.wholesale)
    for junk in ("abc", "1.2345", "NaN", "1e400"):
        with pytest.raises(errors.InvalidQuantity):
            await price_line(db_session, box.sku, junk, channel=SalesChannel.wholesale)
    assert (await price_line(db_session, box.sku, "18", channel=SalesChannel.wholesale)).line_total_minor == 90000


async def test_every_bad_line_is_named(db_session: AsyncSession, lists: None) -> None:
    good = await make_variant(db_session)
    unpriced = await make_variant(db_session)
    await set_price(db_session, "retail", good, 2500)
    with pytest.raises(errors.PricingError) as exc:
        await price_lines(
            db_session,
            [
                LineRequest(good.sku, "1"),
                LineRequest("NO-SUCH", "1"),
                LineRequest(unpriced.sku, "1"),
                LineRequest(good.sku, "0"),
            ],
            channel=SalesChannel.shop,
        )
    assert [(p["line"], p["error"]) for p in exc.value.detail["lines"]] == [
        (1, "unknown_sku"),
        (2, "not_for_sale"),
        (3, "quantity_not_positive"),
    ]


async def test_company_list_wins_over_wholesale(db_session: AsyncSession, lists: None) -> None:
    box = await make_variant(db_session, unit=Unit.box)
    other = await make_variant(db_session, unit=Unit.box)
    company = await make_company(db_session)
    await ensure_price_list(db_session, "company-test", PriceListKind.company, company)
    await set_price(db_session, "wholesale", box, 10000)
    await set_price(db_session, "wholesale", other, 7000)
    await set_price(db_session, "company-test", box, 8800)
    mine = await price_lines(
        db_session,
        [LineRequest(box.sku, "2"), LineRequest(other.sku, "1")],
        channel=SalesChannel.wholesale,
        company_id=company.id,
    )
    assert [(line.unit_price_minor, line.rule.price_list_code) for line in mine] == [
        (8800, "company-test"),
        (7000, "wholesale"),
    ]
    someone_else = await price_line(db_session, box.sku, "2", channel=SalesChannel.wholesale, company_id=None)
    assert someone_else.unit_price_minor == 10000
    # The shop never sees wholesale prices.
    with pytest.raises(errors.NotForSale):
        await price_line(db_session, box.sku, "2", channel=SalesChannel.shop)


async def test_quote_ignores_client_prices(client: httpx.AsyncClient, db_session: AsyncSession, lists: None) -> None:
    taro = await make_variant(db_session, unit=Unit.kg)
    await set_price(db_session, "retail", taro, 1850, min_quantity="0.5", increment="0.001")
    response = await client.post(
        "/api/v1/pricing/quote",
        json={
            "channel": "shop",
            "total_minor": 1,
            "lines": [
                {"sku": taro.sku, "quantity": "1.235", "unit_price_minor": 1, "price": "0.01", "line_total_minor": 1}
            ],
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["lines"][0]["unit_price_minor"] == 1850
    assert body["lines"][0]["line_total_minor"] == 2285
    assert body["lines"][0]["quantity"] == "1.235"
    assert body["total_minor"] == 2285


async def test_wholesale_quote_needs_an_approved_buyer(
    client: httpx.AsyncClient, db_session: AsyncSession, lists: None
) -> None:
    box = await make_variant(db_session, unit=Unit.box)
    await set_price(db_session, "wholesale", box, 10000)
    body = {"channel": "wholesale", "lines": [{"sku": box.sku, "quantity": "1"}]}
    anonymous = await client.post("/api/v1/pricing/quote", json=body)
    assert anonymous.status_code == 403 and anonymous.json()["error"] == "wholesale_buyers_only"
    buyer = await make_user(db_session, Role.buyer)
    ok = await client.post("/api/v1/pricing/quote", json=body, headers=auth(await token_for(db_session, buyer)))
    assert ok.status_code == 200 and ok.json()["lines"][0]["unit_price_minor"] == 10000


async def test_quote_rejects_float_and_bad_lines_with_422(
    client: httpx.AsyncClient, db_session: AsyncSession, lists: None
) -> None:
    box = await make_variant(db_session)
    await set_price(db_session, "retail", box, 3000)
    bad = await client.post("/api/v1/pricing/quote", json={"lines": [{"sku": box.sku, "quantity": "-1"}]})
    assert bad.status_code == 422
    assert bad.json()["error"] == "quantity_not_positive"
    assert bad.json()["detail"]["lines"][0]["sku"] == box.sku
    empty = await client.post("/api/v1/pricing/quote", json={"lines": []})
    assert empty.status_code == 422 and empty.json()["error"] == "validation_error"
