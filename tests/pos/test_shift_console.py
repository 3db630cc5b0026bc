"""Shifts in the console (issue 14, items 7 and 10): the list by store and date with open shifts
marked, one shift's X report while open and Z report once closed (page and A4 PDF, QR takings
listed), a store manager confirming a variance an offline close left pending; only an admin or a
manager of the shift's store gets any of it. The till prints its own store's Z report; the
console reprints receipts."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.pos.models import StoreManager
from app.pos.sale_models import Shift
from tests.fixtures.pos_counter import LineSpec, SaleSpec, TenderSpec, make_sale, open_shift
from tests.fixtures.pos_sales import Shop, make_shop, sign_in
from tests.kit.test_pdf import check
from tests.pos.test_receipts import pdftotext
from tests.web.test_stock_pages import HTML, form_post, log_in

OPENED = datetime(2026, 12, 6, 0, 30, tzinfo=UTC)  # 08:30 China time


async def closed_shift(session: AsyncSession, shop: Shop, *, pending: bool = True) -> Shift:
    """A shift with a cash sale (¥25.60) and a WeChat sale (¥33.60, reference 8765), closed offline
    with the drawer ¥1.00 short: variance −¥1.00, pending a manager's word."""
    shift = await open_shift(session, shop, at=OPENED)
    await make_sale(
        session, shop, shift, SaleSpec(lines=[LineSpec(shop.box, "2", 1280)], sold_at=OPENED + timedelta(hours=1))
    )
    await make_sale(
        session,
        shop,
        shift,
        SaleSpec(
            lines=[LineSpec(shop.jin, "2", 1680, source="plu_key")],
            tenders=[TenderSpec("qr", None, wallet="wechat", reference_tail="8765")],
            sold_at=OPENED + timedelta(hours=2),
        ),
    )
    shift.status = "closed"
    shift.closed_at = OPENED + timedelta(hours=9)
    shift.closed_by_id = shop.clerk.id
    shift.closed_offline = pending
    shift.counted_denominations = {"10000": 2, "2000": 1, "100": 4, "10": 6}  # ¥225.60 − ¥1.00
    shift.counted_cash_minor = 22460
    shift.expected_cash_minor = 22560
    shift.variance_minor = -100
    shift.variance_status = "pending" if pending else "approved"
    await session.flush()
    return shift


async def admin_signed_in(client: httpx.AsyncClient, session: AsyncSession) -> None:
    await log_in(client, session, Role.admin)


async def manager_of(client: httpx.AsyncClient, session: AsyncSession, shop: Shop) -> int:
    user_id = await log_in(client, session, Role.store_manager)
    session.add(StoreManager(store_id=shop.store.id, user_id=user_id))
    await session.flush()
    return user_id


async def test_the_shifts_list_filters_by_store_and_date_newest_first(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    shop = await make_shop(db_session)
    done = await closed_shift(db_session, shop)
    current = await open_shift(db_session, shop, at=OPENED + timedelta(days=1))
    other = await make_shop(db_session)
    elsewhere = await open_shift(db_session, other, at=OPENED)
    await admin_signed_in(client, db_session)

    page = await client.get(f"/admin/pos/shifts?store={shop.store.code}", headers=HTML)
    assert page.status_code == 200, page.text
    links = re.findall(r'href="/admin/pos/shifts/(\d+)"', page.text)
    assert links == [str(current.id), str(done.id)]  # newest first, only this store
    assert "进行中" in page.text and "待店长确认" in page.text

    day = await client.get(f"/admin/pos/shifts?store={shop.store.code}&date=2026-12-06", headers=HTML)
    assert re.findall(r'href="/admin/pos/shifts/(\d+)"', day.text) == [str(done.id)]
    everyone = await client.get("/admin/pos/shifts?date=2026-12-06", headers=HTML)
    found = set(re.findall(r'href="/admin/pos/shifts/(\d+)"', everyone.text))
    assert {str(done.id), str(elsewhere.id)} <= found and str(current.id) not in found

    store_page = await client.get(f"/admin/pos/stores/{shop.store.code}", headers=HTML)
    assert f'href="/admin/pos/shifts?store={shop.store.code}"' in store_page.text


async def test_the_z_report_page_and_pdf(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    shop = await make_shop(db_session)
    shift = await closed_shift(db_session, shop)
    await admin_signed_in(client, db_session)
    page = await client.get(f"/admin/pos/shifts/{shift.id}", headers=HTML)
    assert page.status_code == 200, page.text
    text = page.text
    assert "Z 报表" in text
    for expected in ("¥59.20", "¥25.60", "¥33.60", "8765", "¥225.60", "¥224.60", "-¥1.00", "待店长在后台确认"):
        assert expected in text, expected
    # An admin sees the pending variance but only a manager of the store may confirm it.
    assert "confirm-variance" not in text

    document = await client.get(f"/admin/pos/shifts/{shift.id}/z.pdf")
    assert document.status_code == 200
    assert document.headers["content-type"] == "application/pdf"
    check(document.content, "pos-z-report")  # fonts embedded, every glyph present
    pdf_text = pdftotext(document.content, "pos-z-report")
    for expected in ("Z 报表", shop.store.name, "¥59.20", "扫码收款明细（1 笔", "8765", "微信", "¥224.60", "-¥1.00"):
        assert expected in pdf_text, (expected, pdf_text)


async def test_an_open_shift_shows_its_x_report(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    shop = await make_shop(db_session)
    shift = await open_shift(db_session, shop, at=OPENED)
    await make_sale(db_session, shop, shift, SaleSpec(lines=[LineSpec(shop.box, "1", 1280)]))
    await admin_signed_in(client, db_session)
    page = await client.get(f"/admin/pos/shifts/{shift.id}", headers=HTML)
    assert page.status_code == 200
    assert "X 报表" in page.text and "¥212.80" in page.text  # float ¥200 + ¥12.80 cash
    pdf_text = pdftotext((await client.get(f"/admin/pos/shifts/{shift.id}/z.pdf")).content, "pos-x-report")
    assert "X 报表" in pdf_text


async def test_a_manager_of_another_store_cannot_open_the_shift(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    shop_a, shop_b = await make_shop(db_session), await make_shop(db_session)
    shift = await closed_shift(db_session, shop_a)
    sale_number = (await make_sale(db_session, shop_a, shift, SaleSpec(lines=[LineSpec(shop_a.box, "1", 1280)]))).number
    await manager_of(client, db_session, shop_b)
    for path in (
        f"/admin/pos/shifts/{shift.id}",
        f"/admin/pos/shifts/{shift.id}/z.pdf",
        f"/admin/pos/sales/{sale_number}/receipt.pdf",
    ):
        answer = await client.get(path, headers=HTML)
        assert answer.status_code == 404, path  # as if it did not exist
    listed = await client.get("/admin/pos/shifts", headers=HTML)
    assert f'href="/admin/pos/shifts/{shift.id}"' not in listed.text
    assert (await client.get(f"/admin/pos/shifts?store={shop_a.store.code}", headers=HTML)).status_code == 403


async def test_a_clerk_or_nobody_gets_nothing(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    shop = await make_shop(db_session)
    shift = await closed_shift(db_session, shop)
    assert (await client.get(f"/admin/pos/shifts/{shift.id}")).status_code == 401
    await log_in(client, db_session, Role.clerk)
    assert (await client.get(f"/admin/pos/shifts/{shift.id}")).status_code == 403
    assert (await client.get("/admin/pos/shifts")).status_code == 403


async def test_a_manager_of_the_store_confirms_the_pending_variance(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    shop = await make_shop(db_session)
    shift = await closed_shift(db_session, shop)
    manager_id = await manager_of(client, db_session, shop)
    page = f"/admin/pos/shifts/{shift.id}"
    answer = await form_post(client, page, f"{page}/confirm-variance", {})
    assert answer.status_code == 303, answer.text
    await db_session.refresh(shift)
    assert shift.variance_status == "approved"
    assert shift.variance_approved_by_id == manager_id
    shown = await client.get(page, headers=HTML)
    assert "店长已批准" in shown.text and "confirm-variance" not in shown.text


async def test_the_till_prints_its_own_stores_z_report(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    shop, other = await make_shop(db_session), await make_shop(db_session)
    shift = await closed_shift(db_session, shop)
    theirs = await open_shift(db_session, other)
    headers = await sign_in(client, shop)
    answer = await client.get(f"/api/v1/pos/shifts/{shift.client_id}/z.pdf", headers=headers)
    assert answer.status_code == 200
    assert "Z 报表" in pdftotext(answer.content, "pos-z-till")
    for client_id in (theirs.client_id, uuid.uuid4()):
        missing = await client.get(f"/api/v1/pos/shifts/{client_id}/z.pdf", headers=headers)
        assert missing.status_code == 404
        assert missing.json()["error"] == "shift_unknown"


async def test_the_console_reprints_a_receipt(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    shop = await make_shop(db_session)
    shift = await open_shift(db_session, shop)
    sale = await make_sale(db_session, shop, shift, SaleSpec(lines=[LineSpec(shop.box, "1", 1280)]))
    await admin_signed_in(client, db_session)
    answer = await client.get(f"/admin/pos/sales/{sale.number}/receipt.pdf?width=58")
    assert answer.status_code == 200
    assert sale.number in pdftotext(answer.content, "pos-receipt-console")
    assert (await client.get("/admin/pos/sales/NOPE-0001/receipt.pdf")).status_code == 404
