"""The warehouse side of a trip through the app (rolled back per test): the board's document links
and PDFs, the packing page (a scanned order number opens the order, each wrong line is shown next
to it, case labels once packed), dispatch refused on the board while an order is unpacked, the
buyer's view of the trip's status and the packed quantities — and buyers kept out."""

from __future__ import annotations

import html
import re
from datetime import date

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.wholesale import ordering
from app.wholesale.ordering import BasketLine, PlacedOrder
from tests.fixtures.builders import auth, token_for
from tests.fixtures.wholesale_documents import page_count
from tests.fixtures.wholesale_orders import Buyer, buyer, supply_sku
from tests.web.test_stock_pages import HTML, field, log_in
from tests.wholesale.helpers import sign_in
from tests.wholesale.test_tripops import weighed_sku

pytestmark = pytest.mark.usefixtures("sunday_noon", "guangzhou_route")

TUE = date(2026, 12, 8)


async def _order(session: AsyncSession) -> tuple[PlacedOrder, Buyer, dict[str, int]]:
    sku = await supply_sku(session, stock="400")
    kg = await weighed_sku(session)
    who = await buyer(session)
    placed = await ordering.place_order(
        session,
        who.principal,
        [BasketLine(sku.sku, cases=2), BasketLine(kg.sku, cases=2)],
        address_id=who.address.id,
        requested_trip_date=TUE,
    )
    lines = {("piece" if line.unit == "piece" else "kg"): line.id for line in placed.order.lines}
    return placed, who, lines


def text(page: httpx.Response) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page.text))


async def test_the_board_links_the_trip_documents_and_they_are_pdfs(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    placed, _, _ = await _order(db_session)
    number = placed.trip.trip.number
    await log_in(client, db_session, Role.warehouse)
    board = await client.get(f"/admin/wholesale/trips?date={TUE.isoformat()}", headers=HTML)
    assert board.status_code == 200
    for link, label in (("pick-list.pdf", "拣货单 PDF"), ("manifest.pdf", "装车清单 PDF"), ("packing", "打包")):
        assert f'<a href="/admin/wholesale/trips/{number}/{link}">{label}</a>' in board.text
    for link in ("pick-list.pdf", "manifest.pdf"):
        document = await client.get(f"/admin/wholesale/trips/{number}/{link}")
        assert document.status_code == 200 and document.headers["content-type"] == "application/pdf"
        assert page_count(document.content) >= 1
    assert (await client.get("/admin/wholesale/trips/PRD-NONE-261208/pick-list.pdf")).status_code == 404


async def test_packing_through_the_page_then_dispatch_from_the_board(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    placed, _, lines = await _order(db_session)
    number, order_number = placed.trip.trip.number, placed.order.number
    await log_in(client, db_session, Role.warehouse)
    page = await client.get(f"/admin/wholesale/trips/{number}/packing", headers=HTML)
    assert page.status_code == 200 and "已打包 0 / 1 单" in text(page)
    assert '<input id="scan-order" name="order"' in page.text and "autofocus" in page.text

    # The board's 发车 is refused while the order is not packed, naming it.
    board = await client.get(f"/admin/wholesale/trips?date={TUE.isoformat()}", headers=HTML)
    start = await client.post(
        f"/admin/wholesale/trips/{number}/status",
        data={
            "csrf_token": field(board, "csrf_token"),
            "idempotency_key": field(board, "idempotency_key"),
            "action": "loading",
            "expected": "planned",
            "date": TUE.isoformat(),
        },
        headers=HTML,
    )
    assert start.status_code == 303
    board = await client.get(f"/admin/wholesale/trips?date={TUE.isoformat()}", headers=HTML)
    keys = re.findall(r'name="idempotency_key" value="([^"]+)"', board.text)
    dispatch = {
        "csrf_token": field(board, "csrf_token"),
        "idempotency_key": keys[0],
        "action": "dispatched",
        "expected": "loading",
        "date": TUE.isoformat(),
    }
    refused = await client.post(f"/admin/wholesale/trips/{number}/status", data=dispatch, headers=HTML)
    assert refused.status_code == 409 and order_number in text(refused) and "未打包" in text(refused)

    # A scanner types the order number and Enter: the order opens with its lines.
    opened = await client.get(f"/admin/wholesale/trips/{number}/packing?order={order_number}", headers=HTML)
    assert opened.status_code == 200 and f'id="pack-{order_number}"' in opened.text
    assert f'name="packed.{lines["piece"]}" value="40"' in opened.text  # the ordered count by default
    assert f'name="packed.{lines["kg"]}" value=""' in opened.text  # the scale's reading to come
    missing = await client.get(f"/admin/wholesale/trips/{number}/packing?order=NOPE", headers=HTML)
    assert missing.status_code == 404 and "没有待发订单 NOPE" in text(missing)

    action = f"/admin/wholesale/trips/{number}/packing/{order_number}"
    form = {"csrf_token": field(opened, "csrf_token"), "idempotency_key": field(opened, "idempotency_key")}
    wrong = await client.post(
        action, data={**form, f"packed.{lines['piece']}": "41", f"packed.{lines['kg']}": ""}, headers=HTML
    )
    assert wrong.status_code == 422
    assert re.search(rf'id="err-{lines["piece"]}" class="field-error">不能多于订购数量 40 个<', wrong.text)
    assert re.search(rf'id="err-{lines["kg"]}" class="field-error">请填写称重后的数量<', wrong.text)
    assert f'name="packed.{lines["piece"]}" value="41"' in wrong.text  # what was typed, shown again

    form["idempotency_key"] = field(wrong, "idempotency_key")
    done = await client.post(
        action, data={**form, f"packed.{lines['piece']}": "40", f"packed.{lines['kg']}": "19.6"}, headers=HTML
    )
    assert done.status_code == 303, done.text
    after = await client.get(done.headers["location"], headers=HTML)
    assert "已打包 1 / 1 单，可以发车" in text(after) and f"订单 {order_number}（第 1 站）已打包" in text(after)
    labels = await client.get(f"{action}/labels.pdf")
    assert labels.status_code == 200 and page_count(labels.content) == 4  # 2 cases of 20 + 10 kg + 9.6 kg

    dispatched = await client.post(f"/admin/wholesale/trips/{number}/status", data=dispatch, headers=HTML)
    assert dispatched.status_code == 303, dispatched.text
    assert "已发车" in text(await client.get(dispatched.headers["location"], headers=HTML))


async def test_the_buyer_sees_the_trip_status_and_the_packed_quantities(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    from app.wholesale import packing

    placed, who, lines = await _order(db_session)
    number = placed.order.number
    await sign_in(client, who.user.username)
    page = await client.get(f"/wholesale/orders/{number}", headers=HTML)
    assert '<dd id="trip-status">待装车</dd>' in page.text and "已打包" not in page.text
    await packing.pack_order(db_session, placed.trip.trip.number, number, {lines["kg"]: "19.25"}, actor_user_id=None)
    page = await client.get(f"/wholesale/orders/{number}", headers=HTML)
    assert '<dd id="trip-status">装车中</dd>' in page.text
    assert '<td class="packed-quantity" data-label="已打包">19.25 千克</td>' in page.text
    assert '<td class="packed-quantity" data-label="已打包">40 个</td>' in page.text

    key = await token_for(db_session, who.user)
    detail = (await client.get(f"/api/v1/wholesale/orders/{number}", headers=auth(key))).json()
    assert (detail["trip"]["status"], detail["trip"]["status_label"]) == ("loading", "装车中")
    assert sorted(line["packed_quantity"] for line in detail["lines"]) == ["19.25", "40"]


@pytest.mark.parametrize("role", [Role.buyer, Role.customer, Role.clerk])
async def test_only_the_warehouse_and_admins_reach_the_trip_operations(
    client: httpx.AsyncClient, db_session: AsyncSession, role: Role
) -> None:
    placed, _, _ = await _order(db_session)
    number, order_number = placed.trip.trip.number, placed.order.number
    await log_in(client, db_session, role)
    for path in (
        f"/admin/wholesale/trips/{number}/pick-list.pdf",
        f"/admin/wholesale/trips/{number}/manifest.pdf",
        f"/admin/wholesale/trips/{number}/packing",
        f"/admin/wholesale/trips/{number}/packing/{order_number}/labels.pdf",
    ):
        assert (await client.get(path, headers=HTML)).status_code == 403, path
    await log_in(client, db_session, Role.admin)
    assert (await client.get(f"/admin/wholesale/trips/{number}/packing", headers=HTML)).status_code == 200
