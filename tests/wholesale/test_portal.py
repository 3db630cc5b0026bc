"""The buyer portal (/wholesale) through the app (rolled back per test): the grid at the company's
price, a pasted basket with one line below the minimum (that line's message, the others kept), a
GBK CSV, placing (303 to the order's page, its PDF), reordering, the orders list's filters — and
company A cannot open company B's order page (404)."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.models import Variant
from app.kit import clock
from tests.fixtures.wholesale_orders import Buyer, buyer, own_price, supply_sku
from tests.wholesale.helpers import sign_in

pytestmark = pytest.mark.usefixtures("sunday_noon", "guangzhou_route")

HTML = {"accept": "text/html"}


def hidden(page: httpx.Response, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page.text)
    assert found is not None, page.text[:2000]
    return found.group(1)


def row(page: httpx.Response, sku: str) -> str:
    found = re.search(rf'<tr id="row-{re.escape(sku)}".*?</tr>', page.text, re.S)
    assert found is not None, page.text[:3000]
    return html.unescape(found.group(0))


def typed_cases(page: httpx.Response, sku: str) -> str:
    found = re.search(rf'name="cases\.{re.escape(sku)}"[^>]*value="([^"]*)"', page.text, re.S)
    assert found is not None
    return found.group(1)


async def signed_in(client: httpx.AsyncClient, who: Buyer) -> str:
    return await sign_in(client, who.user.username)


async def grid(client: httpx.AsyncClient, path: str = "/wholesale") -> httpx.Response:
    page = await client.get(path, headers=HTML)
    assert page.status_code == 200, page.text[:2000]
    return page


async def order(client: httpx.AsyncClient, who: Buyer, cases: dict[Variant, str], **extra: str) -> httpx.Response:
    page = await grid(client)
    data = {
        "csrf_token": hidden(page, "csrf_token"),
        "idempotency_key": hidden(page, "idempotency_key"),
        "address_id": str(who.address.id),
        **{f"cases.{v.sku}": n for v, n in cases.items()},
        **extra,
    }
    return await client.post("/wholesale/orders", data=data, headers=HTML)


async def test_the_grid_shows_the_companys_price_and_what_each_trip_can_promise(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    sausage = await supply_sku(db_session, wholesale_minor=4680, tiers=[("400", 4500)], stock="400")
    ours = await buyer(db_session)
    await own_price(db_session, ours.company, sausage, 3450, tiers=[("200", 3300)])
    await signed_in(client, ours)

    page = await grid(client)
    line = row(page, sausage.sku)
    assert "¥34.50/个" in line and "满 200个 ¥33.00" in line and "46.80" not in line and "45.00" not in line
    assert "<td>20 个</td>" in line  # case pack
    assert "20 箱" in line  # 400 pieces promisable = 20 cases on the next trips
    text = html.unescape(page.text)
    assert ours.company.name in text and "月结 30 天" in text
    assert "箱数 × 每箱件数" in text and "SKU, 箱数" in text
    assert "广州" in text and "截单" in text
    assert '<a href="/wholesale" aria-current="page">批发订货</a>' in text  # in the header for a buyer


async def test_a_pasted_basket_shows_the_line_below_the_minimum_and_keeps_the_others(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    a = await supply_sku(db_session)
    moq = await supply_sku(db_session, min_quantity="100")
    c = await supply_sku(db_session)
    ours = await buyer(db_session)
    token = await signed_in(client, ours)

    paste = f"SKU,数量\n{a.sku}, 2\n{moq.sku}\t1箱\n{c.sku} 3\nNOPE-1, 1\n{a.sku},1"
    filled = await client.post("/wholesale/basket", data={"csrf_token": token, "paste": paste}, headers=HTML)
    assert filled.status_code == 200, filled.text[:2000]
    assert (typed_cases(filled, a.sku), typed_cases(filled, moq.sku), typed_cases(filled, c.sku)) == ("3", "1", "3")
    assert "第 5 行 NOPE-1：不在贵司可订的供货目录中" in html.unescape(filled.text)

    refused = await client.post(
        "/wholesale/orders",
        data={
            "csrf_token": hidden(filled, "csrf_token"),
            "idempotency_key": hidden(filled, "idempotency_key"),
            "address_id": str(ours.address.id),
            f"cases.{a.sku}": "3",
            f"cases.{moq.sku}": "1",
            f"cases.{c.sku}": "3",
        },
        headers=HTML,
    )
    assert refused.status_code == 422
    assert "field-error" in row(refused, moq.sku) and "起订" in row(refused, moq.sku)
    assert "field-error" not in row(refused, a.sku) and "field-error" not in row(refused, c.sku)
    assert (typed_cases(refused, a.sku), typed_cases(refused, moq.sku), typed_cases(refused, c.sku)) == ("3", "1", "3")
    orders = await client.get("/wholesale/orders", headers=HTML)
    assert "没有符合条件的订单" in orders.text

    # A row that is not a whole number of cases is named together with the service's problems.
    again = await order(client, ours, {a: "2.5", moq: "1"}, note="请走后门")
    assert again.status_code == 422
    assert "箱数应为正整数" in row(again, a.sku) and "起订" in row(again, moq.sku)
    assert 'value="请走后门"' in again.text
    only_bad = await order(client, ours, {a: "两箱"})
    assert only_bad.status_code == 422 and "箱数应为正整数" in row(only_bad, a.sku)
    assert "订单中没有商品" not in only_bad.text


async def test_a_gbk_csv_fills_the_grid(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    a = await supply_sku(db_session)
    b = await supply_sku(db_session)
    ours = await buyer(db_session)
    token = await signed_in(client, ours)
    content = f'SKU,数量\r\n{a.sku},4\r\n"{b.sku}",2箱\r\n'.encode("gbk")
    filled = await client.post(
        "/wholesale/basket",
        data={"csrf_token": token},
        files={"csv_file": ("订货.csv", content, "text/csv")},
        headers=HTML,
    )
    assert filled.status_code == 200, filled.text[:2000]
    assert (typed_cases(filled, a.sku), typed_cases(filled, b.sku)) == ("4", "2")
    assert "已填入 2 个商品" in filled.text

    bom = f"\ufeff{a.sku},1\n".encode()
    again = await client.post(
        "/wholesale/basket", data={"csrf_token": token}, files={"csv_file": ("a.csv", bom, "text/csv")}, headers=HTML
    )
    assert typed_cases(again, a.sku) == "1"


async def test_an_order_placed_goes_to_its_page_and_can_be_ordered_again(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    a = await supply_sku(db_session, wholesale_minor=3000)
    b = await supply_sku(db_session, wholesale_minor=2000, case_pack=10)
    ours = await buyer(db_session)
    await signed_in(client, ours)

    page = await grid(client)
    form = {
        "csrf_token": hidden(page, "csrf_token"),
        "idempotency_key": hidden(page, "idempotency_key"),
        "address_id": str(ours.address.id),
        f"cases.{a.sku}": "2",
        f"cases.{b.sku}": "3",
        "trip_date": "2026-12-10",
        "note": "早上送",
    }
    placed = await client.post("/wholesale/orders", data=form, headers=HTML)
    again = await client.post("/wholesale/orders", data=form, headers=HTML)  # a double click
    assert placed.status_code == 303, placed.text[:2000]
    location = placed.headers["location"]
    number = location.rsplit("/", 1)[1]
    assert location == f"/wholesale/orders/{number}"
    assert again.status_code == 303 and again.headers["location"] == location

    page = await client.get(location, headers=HTML)
    text = html.unescape(page.text)
    assert page.status_code == 200
    assert '<dd id="order-status">已确认</dd>' in text
    assert re.search(r'<dd id="order-trip">[^<]*12月10日[^<]*</dd>', text)
    assert 'id="trip-reason"' not in text and 'id="credit-hold"' not in text
    assert '<td id="order-total" data-label="总额">¥1,800.00</td>' in text  # 40 × 30 + 30 × 20
    assert f"/api/v1/wholesale/orders/{number}/confirmation.pdf" in text
    pdf = await client.get(f"/api/v1/wholesale/orders/{number}/confirmation.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    listing = await client.get("/wholesale/orders", headers=HTML)
    assert listing.text.count('<tr id="order-') == 1
    assert number in listing.text and f"/wholesale?reorder={number}" in listing.text
    filtered = await client.get("/wholesale/orders?status=cancelled", headers=HTML)
    assert number not in filtered.text
    dated = await client.get("/wholesale/orders?from=2026-12-07", headers=HTML)
    assert number not in dated.text
    same_day = await client.get("/wholesale/orders?from=2026-12-06&to=2026-12-06&status=confirmed", headers=HTML)
    assert number in same_day.text
    bad = await client.get("/wholesale/orders?status=lost", headers=HTML)
    assert "状态：取值无效" in html.unescape(bad.text)

    refill = await grid(client, f"/wholesale?reorder={number}")
    assert (typed_cases(refill, a.sku), typed_cases(refill, b.sku)) == ("2", "3")
    assert f"已按订单 {number} 填好数量" in html.unescape(refill.text)


async def test_company_a_cannot_open_company_bs_order_page(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    a_sku = await supply_sku(db_session)
    theirs = await buyer(db_session)
    ours = await buyer(db_session)
    await signed_in(client, theirs)
    placed = await order(client, theirs, {a_sku: "1"})
    assert placed.status_code == 303
    number = placed.headers["location"].rsplit("/", 1)[1]
    client.cookies.clear()

    await signed_in(client, ours)
    assert (await client.get(f"/wholesale/orders/{number}", headers=HTML)).status_code == 404
    assert (await client.get(f"/wholesale?reorder={number}", headers=HTML)).status_code == 404
    assert number not in (await client.get("/wholesale/orders", headers=HTML)).text


async def test_the_order_page_says_why_the_trip_moved_and_that_credit_holds_it(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    sku = await supply_sku(db_session, wholesale_minor=3000)
    ours = await buyer(db_session, credit_limit_minor=50_000)  # ¥500: a ¥600 order is held
    await signed_in(client, ours)

    placed = await order(client, ours, {sku: "1"}, trip_date="2026-12-09")  # a Wednesday: no truck
    assert placed.status_code == 303, placed.text[:2000]
    page = html.unescape((await client.get(placed.headers["location"], headers=HTML)).text)
    reason = re.search(r'<dd id="trip-reason">(.*?)</dd>', page)
    assert reason is not None and "没有发往广州的车次" in reason.group(1) and "改为" in reason.group(1)
    assert "12月10日" in reason.group(1)
    assert 'id="credit-hold"' in page and "超出贵司信用额度" in page


async def test_a_trip_past_its_cutoff_cannot_be_chosen(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    await supply_sku(db_session)
    ours = await buyer(db_session)
    with clock.pinned(datetime(2026, 12, 7, 11, 0, tzinfo=UTC)):  # Monday 19:00: Tuesday's trip is closed
        await signed_in(client, ours)
        page = html.unescape((await grid(client)).text)
    tuesday = re.search(r'<option value="2026-12-08"[^>]*>[^<]*</option>', page)
    thursday = re.search(r'<option value="2026-12-10"[^>]*>[^<]*</option>', page)
    assert tuesday is not None and " disabled" in tuesday.group(0) and "已截单" in tuesday.group(0)
    assert thursday is not None and "disabled" not in thursday.group(0) and "截单 12-09" in thursday.group(0)
