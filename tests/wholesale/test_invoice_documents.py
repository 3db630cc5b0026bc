"""Invoices and credit notes as buyers, purchasing systems and the console read them, through the
app (rolled back per test): the JSON API with a company's key, the portal pages and the PDFs
(Chinese rendered and checked as images) — company A gets a 404 for company B's documents — and
the console's per-stop delivery page (with a damage photo) and invoices list."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.config import get_settings
from app.kit import clock
from app.kit.quantities import Unit
from app.wholesale import delivery, service
from app.wholesale.delivery import DeliveryReport, LineReport
from tests.fixtures.builders import auth
from tests.fixtures.deliveries import dispatched_order
from tests.fixtures.images import phone_jpeg
from tests.fixtures.wholesale_orders import Buyer, buyer, supply_sku
from tests.kit.test_pdf import check
from tests.web.test_stock_pages import HTML, field, log_in
from tests.wholesale.helpers import sign_in

pytestmark = pytest.mark.usefixtures("sunday_noon", "guangzhou_route")


async def company_key(session: AsyncSession, who: Buyer) -> str:
    return (await service.issue_key(session, who.principal, "ERP")).token


async def delivered_with_shortage(session: AsyncSession, who: Buyer, tmp_path: Path) -> delivery.Delivered:
    """Taro 12.345 kg × ¥18.80 and 40 sausages × ¥34.50 delivered 3 sausages short."""
    taro = await supply_sku(session, wholesale_minor=1880, case_pack=13, net_weight_grams=1000, unit=Unit.kg)
    sausage = await supply_sku(session, wholesale_minor=3450)
    order = await dispatched_order(session, who, [(taro, 1), (sausage, 2)], packed={taro.sku: "12.345"})
    line = next(x.id for x in order.lines if x.sku == sausage.sku)
    return await delivery.record_delivery(
        session,
        order.number,
        DeliveryReport("黄先生", lines=[LineReport(line, shortage=Decimal(3))]),
        uploads_dir=tmp_path,
        max_bytes=5_000_000,
        actor_user_id=None,
    )


async def test_a_purchasing_system_reads_its_invoice_and_credit_note_and_never_another_companys(
    client: httpx.AsyncClient, db_session: AsyncSession, tmp_path: Path
) -> None:
    ours, theirs = await buyer(db_session), await buyer(db_session)
    done = await delivered_with_shortage(db_session, ours, tmp_path)
    assert done.credit_note is not None
    invoice, note = done.invoice.number, done.credit_note.number
    key, other_key = await company_key(db_session, ours), await company_key(db_session, theirs)

    listed = await client.get("/api/v1/wholesale/invoices", headers=auth(key))
    assert listed.status_code == 200, listed.text
    assert [(d["number"], d["kind"]) for d in listed.json()] == [(note, "credit_note"), (invoice, "invoice")] or [
        (d["number"], d["kind"]) for d in listed.json()
    ] == [(invoice, "invoice"), (note, "credit_note")]

    one = await client.get(f"/api/v1/wholesale/invoices/{invoice}", headers=auth(key))
    assert one.status_code == 200, one.text
    body = one.json()
    assert body["order"] == done.order.number and body["due_date"] == "2027-01-05" and not body["overdue"]
    assert [(x["quantity"], x["amount_minor"]) for x in body["lines"]] == [("12.345", 23209), ("40", 138000)]
    # 161209 billed, 3 × ¥34.50 credited at once.
    assert (body["total_minor"], body["settled_minor"], body["outstanding_minor"]) == (161209, 10350, 150859)
    assert [(n["number"], n["total_minor"]) for n in body["credit_notes"]] == [(note, -10350)]
    credit = (await client.get(f"/api/v1/wholesale/invoices/{note}", headers=auth(key))).json()
    assert credit["against_invoice"] == invoice and credit["lines"][0]["quantity"] == "-3"

    pdf = await client.get(f"/api/v1/wholesale/invoices/{invoice}.pdf", headers=auth(key))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = check(pdf.content, "wholesale-delivered-invoice")
    for shown in ("销售结算单", invoice, "12.345 千克", "¥232.09", "¥1,612.09", "人民币壹仟陆佰壹拾贰元零玖分"):
        assert shown in text, shown
    note_text = check(
        (await client.get(f"/api/v1/wholesale/invoices/{note}.pdf", headers=auth(key))).content,
        "wholesale-delivered-credit-note",
    )
    for shown in ("红字结算单", f"冲减结算单：{invoice}", "-¥103.50", "短缺"):
        assert shown in note_text, shown

    # Company B: a 404 for each of A's documents, as for a missing one; its list is empty.
    for path in (f"/{invoice}", f"/{invoice}.pdf", f"/{note}", f"/{note}.pdf", "/JS-20991231-0001"):
        refused = await client.get(f"/api/v1/wholesale/invoices{path}", headers=auth(other_key))
        assert (refused.status_code, refused.json()["error"]) == (404, "invoice_not_found"), path
    assert (await client.get("/api/v1/wholesale/invoices", headers=auth(other_key))).json() == []


async def test_the_portal_shows_the_companys_own_invoices_and_a_404_for_anothers(
    client: httpx.AsyncClient, db_session: AsyncSession, tmp_path: Path
) -> None:
    ours, theirs = await buyer(db_session), await buyer(db_session)
    done = await delivered_with_shortage(db_session, ours, tmp_path)
    assert done.credit_note is not None
    invoice, note = done.invoice.number, done.credit_note.number

    await sign_in(client, theirs.user.username)
    for path in (f"/wholesale/invoices/{invoice}", f"/wholesale/invoices/{note}.pdf"):
        assert (await client.get(path, headers=HTML)).status_code == 404, path
    assert invoice not in (await client.get("/wholesale/invoices", headers=HTML)).text
    await client.post("/logout", data={"csrf_token": field(await client.get("/wholesale", headers=HTML), "csrf_token")})

    await sign_in(client, ours.user.username)
    listed = await client.get("/wholesale/invoices", headers=HTML)
    assert listed.status_code == 200 and invoice in listed.text and note in listed.text
    assert "¥1,508.59" in listed.text  # outstanding: ¥1,612.09 − ¥103.50
    page = await client.get(f"/wholesale/invoices/{invoice}", headers=HTML)
    assert page.status_code == 200 and 'id="credit-notes"' in page.text and note in page.text
    credit = await client.get(f"/wholesale/invoices/{note}", headers=HTML)
    assert f'<a href="/wholesale/invoices/{invoice}">{invoice}</a>' in credit.text
    pdf = await client.get(f"/wholesale/invoices/{invoice}.pdf", headers=HTML)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    order_page = await client.get(f"/wholesale/orders/{done.order.number}", headers=HTML)
    assert f'<a href="/wholesale/invoices/{invoice}">{invoice}</a>' in order_page.text


async def test_the_console_records_a_stop_with_a_damage_photo_and_lists_the_documents(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    taro = await supply_sku(db_session, wholesale_minor=1880, case_pack=13, net_weight_grams=1000, unit=Unit.kg)
    ours = await buyer(db_session)
    order = await dispatched_order(db_session, ours, [(taro, 2)], packed={taro.sku: "24.410"})
    line = order.lines[0].id
    await log_in(client, db_session, Role.warehouse)

    board = await client.get("/admin/wholesale/trips?date=2026-12-08", headers=HTML)
    assert f'href="/admin/wholesale/deliveries/{order.number}"' in board.text
    page = await client.get(f"/admin/wholesale/deliveries/{order.number}", headers=HTML)
    assert page.status_code == 200 and "24.41" in page.text
    form = {
        "csrf_token": field(page, "csrf_token"),
        "idempotency_key": field(page, "idempotency_key"),
        "receiver_name": "黄先生",
        f"damage-{line}": "1.2",
        f"issue_note-{line}": "压烂",
    }
    refused = await client.post(f"/admin/wholesale/deliveries/{order.number}", data=form, headers=HTML)
    assert refused.status_code == 422 and "破损须上传照片" in refused.text
    assert 'value="1.2"' in refused.text  # what was typed, shown again

    form["idempotency_key"] = field(refused, "idempotency_key")
    files = {f"photo-{line}": ("damage.jpg", phone_jpeg(), "image/jpeg")}
    done = await client.post(f"/admin/wholesale/deliveries/{order.number}", data=form, files=files, headers=HTML)
    assert done.status_code == 303, done.text
    shown = await client.get(done.headers["location"], headers=HTML)
    assert "JS-20261206-0001" in shown.text and "HZ-20261206-0001" in shown.text and "查看照片" in shown.text
    assert "全部送达" in shown.text  # the trip's only stop
    photo = shown.text.split("/photos/", 1)[1].split('"', 1)[0]
    image = await client.get(f"/admin/wholesale/deliveries/{order.number}/photos/{photo}")
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"

    again = await client.post(
        f"/admin/wholesale/deliveries/{order.number}",
        data={**form, "idempotency_key": "x" * 32},
        files=files,
        headers=HTML,
    )
    assert again.status_code == 409

    listed = await client.get("/admin/wholesale/invoices", headers=HTML)
    assert listed.status_code == 200 and "JS-20261206-0001" in listed.text and "HZ-20261206-0001" in listed.text
    # 24.41 kg × ¥18.80 = ¥458.91; 1.2 kg back = ¥22.56; outstanding ¥436.35.
    assert "¥458.91" in listed.text and "¥436.35" in listed.text
    only_credit = await client.get("/admin/wholesale/invoices?kind=credit_note", headers=HTML)
    assert "HZ-20261206-0001" in only_credit.text and 'id="doc-JS-20261206-0001"' not in only_credit.text
    pdf = await client.get("/admin/wholesale/invoices/JS-20261206-0001.pdf")
    assert pdf.status_code == 200 and get_settings().service_centre_name in check(pdf.content, "console-invoice")


async def test_an_invoice_unpaid_after_its_due_date_is_overdue(
    client: httpx.AsyncClient, db_session: AsyncSession, tmp_path: Path
) -> None:
    ours = await buyer(db_session)
    done = await delivered_with_shortage(db_session, ours, tmp_path)
    key = await company_key(db_session, ours)
    await log_in(client, db_session, Role.admin)

    def overdue(listed: httpx.Response) -> list[tuple[str, bool]]:
        return [(d["number"], d["overdue"]) for d in listed.json() if d["kind"] == "invoice"]

    due = await client.get("/api/v1/wholesale/invoices", headers=auth(key))
    assert overdue(due) == [(done.invoice.number, False)]
    assert "JS-" in (await client.get("/admin/wholesale/invoices?state=open", headers=HTML)).text
    assert 'id="doc-' not in (await client.get("/admin/wholesale/invoices?state=overdue", headers=HTML)).text

    with clock.pinned(datetime(2027, 1, 6, 4, 0, tzinfo=UTC)):  # the day after its due date (2027-01-05)
        late = await client.get("/api/v1/wholesale/invoices", headers=auth(key))
        await log_in(client, db_session, Role.admin)  # a month on: the first sign-in has lapsed
        console = await client.get("/admin/wholesale/invoices?state=overdue", headers=HTML)

    assert overdue(late) == [(done.invoice.number, True)]
    assert f'id="doc-{done.invoice.number}"' in console.text and "逾期" in console.text
    assert 'id="total-overdue">¥1,508.59<' in console.text
