"""The X and Z reports (issue 14, item 7): a shift's figures equal what was worked out by hand —
sales by payment method and by SKU, discounts, refunds, cash in and out, expected vs counted cash
and the variance a store manager approved — and the QR takings are listed for the merchant bill."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit import clock
from app.pos.sale_models import Sale, SaleReturn, Shift
from tests.fixtures.pos import PIN
from tests.fixtures.pos_sales import T0, cash, line, make_shop, sale, shift_close, shift_open, sign_in, upload


async def test_the_z_report_equals_the_hand_computed_figures(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    with clock.pinned(T0):
        shop = await make_shop(db_session)
        clerk = await sign_in(client, shop)
        opened = shift_open(20000)
        sid = opened["client_id"]
        first = sale(
            shop,
            sid,
            [line(shop.box, "2", 1280), line(shop.jin, "1.5", 1680)],
            tenders=[{"method": "cash", "amount_minor": 10000}],
            minute=10,
        )
        second = sale(
            shop,
            sid,
            [line(shop.jin, "2", 1680)],
            discount_minor=300,
            discount_reason="老顾客",
            tenders=[{"method": "qr", "wallet": "wechat", "amount_minor": 3060, "reference_tail": "8831"}],
            minute=20,
        )
        third = sale(
            shop,
            sid,
            [line(shop.box, "1", 1280), line(shop.jin, "0.5", 1680)],
            tenders=[
                {"method": "cash", "amount_minor": 1000},
                {"method": "qr", "wallet": "alipay", "amount_minor": 1120, "reference_tail": "0042"},
            ],
            minute=30,
        )
        cash_in = cash("in", 5000, sid, reason="补零钱")
        cash_out = cash("out", 3000, sid, reason="买塑料袋")
        approval = await client.post(
            "/api/v1/pos/approvals",
            headers=clerk,
            json={
                "username": shop.manager.username,
                "pin": PIN,
                "action": "cash_out",
                "op_client_id": cash_out["client_id"],
                "amount_minor": 3000,
            },
        )
        assert approval.status_code == 200, approval.text
        assert approval.json()["manager_name"] == "王店长"
        cash_out["approval_token"] = approval.json()["approval_token"]
        results = await upload(client, clerk, opened, first, second, third, cash_in, cash_out)
        assert [r["outcome"] for r in results] == ["recorded"] * 6, results

        # A return of one box of the first sale, refunded from this drawer (the returns API is
        # another part's; the figures only sum the table).
        shift = await db_session.scalar(select(Shift).where(Shift.client_id == uuid.UUID(sid)))
        first_sale = await db_session.scalar(select(Sale).where(Sale.number == first["number"]))
        assert shift is not None and first_sale is not None
        db_session.add(
            SaleReturn(
                client_id=uuid.uuid4(),
                number=f"{first['number']}-R1",
                sale_id=first_sale.id,
                store_id=shop.store.id,
                till_id=shop.till.id,
                shift_id=shift.id,
                clerk_id=shop.clerk.id,
                refund_minor=1280,
                reason="破损",
            )
        )
        await db_session.flush()

        x = await client.get("/api/v1/pos/shifts/current/report", headers=clerk)
        assert x.status_code == 200, x.text
        # Expected cash by hand: float 200.00 + cash sales (100.00 + 10.00 − 49.20 change = 60.80)
        # + in 50.00 − out 30.00 − refund 12.80 = 268.00.
        assert (x.json()["status"], x.json()["expected_cash_minor"], x.json()["counted_cash_minor"]) == (
            "open",
            26800,
            None,
        )

        # Counted 267.00: one yuan short, approved by the manager's PIN at the till.
        close = shift_close(sid, {10000: 2, 5000: 1, 1000: 1, 100: 7})
        token = await client.post(
            "/api/v1/pos/approvals",
            headers=clerk,
            json={
                "username": shop.manager.username,
                "pin": PIN,
                "action": "variance",
                "op_client_id": close["client_id"],
                "amount_minor": 100,
            },
        )
        close["approval_token"] = token.json()["approval_token"]
        assert (await upload(client, clerk, close))[0]["outcome"] == "recorded"
        z = await client.get(f"/api/v1/pos/shifts/{sid}/report", headers=clerk)
    assert z.status_code == 200, z.text
    figures = z.json()
    assert figures["status"] == "closed"
    assert (figures["store_code"], figures["till_code"], figures["float_minor"]) == (
        shop.store.code,
        shop.till.code,
        20000,
    )
    assert (figures["sales_count"], figures["gross_minor"], figures["discounts_minor"], figures["net_minor"]) == (
        3,
        10560,
        300,
        10260,
    )
    assert (figures["cash_minor"], figures["qr_wechat_minor"], figures["qr_alipay_minor"]) == (6080, 3060, 1120)
    assert [(s["sku"], s["quantity"], s["amount_minor"]) for s in figures["by_sku"]] == sorted(
        [(shop.box.sku, "3", 3840), (shop.jin.sku, "4", 6720)]
    )
    assert (figures["refunds_count"], figures["refunds_minor"]) == (1, 1280)
    assert (figures["cash_in_minor"], figures["cash_out_minor"]) == (5000, 3000)
    assert [(m["direction"], m["amount_minor"], m["reason"]) for m in figures["cash_movements"]] == [
        ("in", 5000, "补零钱"),
        ("out", 3000, "买塑料袋"),
    ]
    assert (figures["expected_cash_minor"], figures["counted_cash_minor"], figures["variance_minor"]) == (
        26800,
        26700,
        -100,
    )
    assert (figures["variance_status"], figures["variance_approved_by"]) == ("approved", "王店长")
    assert [(d["denomination_minor"], d["count"], d["amount_minor"]) for d in figures["counted"]] == [
        (10000, 2, 20000),
        (5000, 1, 5000),
        (1000, 1, 1000),
        (100, 7, 700),
    ]
    assert [(q["sale_number"], q["wallet"], q["amount_minor"], q["reference_tail"]) for q in figures["qr_tenders"]] == [
        (second["number"], "wechat", 3060, "8831"),
        (third["number"], "alipay", 1120, "0042"),
    ]
