"""The wholesale ordering API, as a purchasing system and a signed-in buyer use it (rolled back per
test): the catalog at the company's prices, placing with an Idempotency-Key (prices sent are
ignored), every bad line in one 422, the confirmation PDF, the centre's approval — and company A
cannot read company B's orders, by API key or by session (404, as a missing order)."""

from __future__ import annotations

import httpx
import pypdfium2 as pdfium
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.wholesale import service
from tests.fixtures.builders import auth, make_user, token_for
from tests.fixtures.wholesale_orders import (
    Buyer,
    buyer,
    own_price,
    supply_sku,
)
from tests.wholesale.helpers import sign_in

pytestmark = pytest.mark.usefixtures("sunday_noon", "guangzhou_route")


async def company_key(session: AsyncSession, who: Buyer) -> str:
    return (await service.issue_key(session, who.principal, "ERP")).token


def order_body(who: Buyer, *lines: dict[str, object]) -> dict[str, object]:
    return {"address_id": who.address.id, "lines": list(lines)}


async def test_a_purchasing_system_orders_once_at_its_own_prices(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    sausage = await supply_sku(db_session, wholesale_minor=4680, tiers=[("400", 4500)])
    ours = await buyer(db_session)
    await own_price(db_session, ours.company, sausage, 3450)
    key = await company_key(db_session, ours)

    catalog = await client.get("/api/v1/wholesale/catalog", headers=auth(key))
    assert catalog.status_code == 200, catalog.text
    (item,) = [i for i in catalog.json() if i["sku"] == sausage.sku]
    assert item["unit_price_minor"] == 3450 and item["price_list"] == f"co-{ours.company.id}"
    assert item["case_pack"] == 20
    assert [p["departure_date"] for p in item["promisable"]] == ["2026-12-08", "2026-12-10", "2026-12-12"]
    assert item["promisable"][0]["cases"] == 20 and item["promisable"][0]["quantity"] == "400"

    # The purchasing system sends its own (retail) price: it is not read.
    body = order_body(ours, {"sku": sausage.sku, "cases": 10, "unit_price_minor": 4680, "price": "46.80"})
    headers = {**auth(key), "Idempotency-Key": "erp-po-0001"}
    first = await client.post("/api/v1/wholesale/orders", json=body, headers=headers)
    again = await client.post("/api/v1/wholesale/orders", json=body, headers=headers)

    assert first.status_code == 201, first.text
    placed = first.json()
    assert again.status_code == 201 and again.json()["number"] == placed["number"]
    assert placed["total_minor"] == 200 * 3450  # ¥6,900.00, not ¥9,360.00
    assert placed["lines"][0]["unit_price_minor"] == 3450 and placed["lines"][0]["quantity"] == "200"
    assert placed["status"] == "confirmed" and placed["credit_state"] == "clear"
    assert placed["trip"]["departure_date"] == "2026-12-08" and placed["trip"]["reason_code"] == "earliest"
    assert placed["payment_method"] == "bank_transfer"
    listed = await client.get("/api/v1/wholesale/orders", headers=auth(key))
    assert [o["number"] for o in listed.json()] == [placed["number"]]


async def test_every_bad_line_comes_back_in_one_answer(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    moq = await supply_sku(db_session, min_quantity="100")
    packed = await supply_sku(db_session, case_pack=12)
    ours = await buyer(db_session)
    key = await company_key(db_session, ours)

    answer = await client.post(
        "/api/v1/wholesale/orders",
        json=order_body(
            ours,
            {"sku": moq.sku, "cases": 1},
            {"sku": packed.sku, "quantity": "13"},
            {"sku": "NOPE-1", "cases": 1},
        ),
        headers=auth(key),
    )

    assert answer.status_code == 422, answer.text
    error = answer.json()
    assert error["error"] == "basket_invalid"
    assert [(p["line"], p["sku"], p["code"]) for p in error["detail"]["lines"]] == [
        (0, moq.sku, "below_minimum_order"),
        (1, packed.sku, "not_case_pack_multiple"),
        (2, "NOPE-1", "unknown_sku"),
    ]
    assert (await client.get("/api/v1/wholesale/orders", headers=auth(key))).json() == []


async def test_the_confirmation_pdf_of_an_own_order(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    sausage = await supply_sku(db_session)
    ours = await buyer(db_session)
    key = await company_key(db_session, ours)
    placed = await client.post(
        "/api/v1/wholesale/orders", json=order_body(ours, {"sku": sausage.sku, "cases": 2}), headers=auth(key)
    )
    number = placed.json()["number"]

    pdf = await client.get(f"/api/v1/wholesale/orders/{number}/confirmation.pdf", headers=auth(key))

    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    document = pdfium.PdfDocument(pdf.content)
    text = "".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    assert "订货确认单" in text and number in text and sausage.sku in text
    assert "车次" in text and "06:00–10:00" in text and "月结 30 天" in text


async def test_company_a_cannot_read_company_bs_orders(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    sausage = await supply_sku(db_session)
    a, b = await buyer(db_session), await buyer(db_session)
    a_key, b_key = await company_key(db_session, a), await company_key(db_session, b)
    theirs = await client.post(
        "/api/v1/wholesale/orders", json=order_body(b, {"sku": sausage.sku, "cases": 1}), headers=auth(b_key)
    )
    number = theirs.json()["number"]
    assert (await client.get(f"/api/v1/wholesale/orders/{number}", headers=auth(b_key))).status_code == 200

    for path in (f"/api/v1/wholesale/orders/{number}", f"/api/v1/wholesale/orders/{number}/confirmation.pdf"):
        by_key = await client.get(path, headers=auth(a_key))
        assert by_key.status_code == 404 and by_key.json()["error"] == "wholesale_order_not_found"
    assert (await client.get("/api/v1/wholesale/orders", headers=auth(a_key))).json() == []
    # A's address cannot be used to order to B's, nor B's by A.
    refused = await client.post(
        "/api/v1/wholesale/orders", json=order_body(b, {"sku": sausage.sku, "cases": 1}), headers=auth(a_key)
    )
    assert refused.status_code == 404 and refused.json()["error"] == "delivery_address_not_found"

    await sign_in(client, a.user.username)
    by_session = await client.get(f"/api/v1/wholesale/orders/{number}")
    assert by_session.status_code == 404
    assert (await client.get(f"/api/v1/wholesale/orders/{number}/confirmation.pdf")).status_code == 404
    assert (await client.get("/api/v1/wholesale/orders")).json() == []


async def test_the_centre_approves_a_held_order(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    sausage = await supply_sku(db_session, wholesale_minor=1000)
    ours = await buyer(db_session, credit_limit_minor=10_000)
    key = await company_key(db_session, ours)
    held = await client.post(
        "/api/v1/wholesale/orders", json=order_body(ours, {"sku": sausage.sku, "cases": 1}), headers=auth(key)
    )
    assert held.status_code == 201, held.text
    body = held.json()
    assert body["credit_state"] == "held" and body["status_label"] == "超出信用额度，待服务中心审批"
    assert "超出贵司信用额度" in body["message"]
    number = body["number"]

    as_buyer = await client.post(f"/api/v1/admin/wholesale/orders/{number}/approve", headers=auth(key))
    assert as_buyer.status_code == 403
    admin = await token_for(db_session, await make_user(db_session, Role.admin))
    approved = await client.post(
        f"/api/v1/admin/wholesale/orders/{number}/approve", json={"note": "老客户"}, headers=auth(admin)
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "confirmed" and approved.json()["credit_state"] == "approved"
    assert any(e["kind"] == "credit_approved" and "老客户" in e["message_zh"] for e in approved.json()["events"])
    twice = await client.post(f"/api/v1/admin/wholesale/orders/{number}/approve", headers=auth(admin))
    assert twice.status_code == 409 and twice.json()["error"] == "order_not_held"
