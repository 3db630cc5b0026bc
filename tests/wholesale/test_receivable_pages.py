"""Money on account through the app (rolled back): the statement on the JSON API (figures, PDF,
XLSX) and in the buyer portal, each company seeing only its own; the console's aged receivables,
a company's account with the record-payment form, a transfer entered twice, and a prepay order's
transfer confirmed (a short one refused with the difference).

Sunday 6 December 2026, noon in China; a case of the SKU is ¥200.00."""

from __future__ import annotations

import io
from datetime import date

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import PaymentTerms, Role
from app.orders import repository as orders_repository
from app.orders.models import OrderStatus
from app.wholesale import service
from tests.fixtures.builders import auth, make_user, token_for
from tests.fixtures.receivables import issue_invoice, order_of
from tests.fixtures.wholesale_orders import Buyer, buyer, supply_sku
from tests.web.test_stock_pages import HTML, field, log_in
from tests.wholesale.helpers import sign_in

pytestmark = pytest.mark.usefixtures("sunday_noon", "guangzhou_route")


async def key_of(session: AsyncSession, who: Buyer) -> str:
    return (await service.issue_key(session, who.principal, "ERP")).token


async def _owing(session: AsyncSession) -> tuple[Buyer, str, str]:
    """A company with a ¥600 invoice due 1 December (overdue) and a ¥200 one due in January."""
    sku = (await supply_sku(session, wholesale_minor=1000)).sku
    ours = await buyer(session)
    late = await issue_invoice(
        session,
        await order_of(session, ours.principal, ours.address.id, sku, 3),
        issue_date=date(2026, 11, 1),
        due_date=date(2026, 12, 1),
    )
    current = await issue_invoice(
        session,
        await order_of(session, ours.principal, ours.address.id, sku, 1),
        issue_date=date(2026, 12, 2),
        due_date=date(2027, 1, 1),
    )
    return ours, late.number, current.number


async def test_the_api_serves_the_companys_own_statement_as_json_pdf_and_xlsx(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    ours, late, current = await _owing(db_session)
    other, _, _ = await _owing(db_session)
    key = await key_of(db_session, ours)

    answer = await client.get("/api/v1/wholesale/statement?month=2026-12", headers=auth(key))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["opening_balance_minor"], body["invoiced_minor"], body["closing_balance_minor"]) == (
        60_000,
        20_000,
        80_000,
    )
    assert [e["reference"] for e in body["entries"]] == [current]
    assert [(i["number"], i["days_overdue"]) for i in body["open_items"]] == [(late, 5), (current, 0)]
    assert body["ageing"]["buckets_minor"] == [20_000, 60_000, 0, 0, 0]
    # There is no way to name another company: a company parameter is ignored.
    again = await client.get(
        f"/api/v1/wholesale/statement?month=2026-12&company_id={other.company.id}", headers=auth(key)
    )
    assert again.json()["number"] == body["number"] and body["number"].endswith(f"{ours.company.id:05d}")

    pdf = await client.get("/api/v1/wholesale/statement.pdf?month=2026-12", headers=auth(key))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    xlsx = await client.get("/api/v1/wholesale/statement.xlsx?month=2026-12", headers=auth(key))
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    values = [c.value for row in sheet.iter_rows() for c in row]
    assert 800 in values and 600 in values and current in " ".join(str(v) for v in values)

    assert (await client.get("/api/v1/wholesale/statement?month=2027-01", headers=auth(key))).status_code == 422
    assert (await client.get("/api/v1/wholesale/statement.doc?month=2026-12", headers=auth(key))).status_code == 404


async def test_a_buyer_reaches_only_its_own_companys_documents(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    sku = (await supply_sku(db_session, wholesale_minor=1000)).sku
    ours = await buyer(db_session, terms=PaymentTerms.prepay)
    theirs = await buyer(db_session, terms=PaymentTerms.prepay)
    mine = await order_of(db_session, ours.principal, ours.address.id, sku, 1)
    not_mine = await order_of(db_session, theirs.principal, theirs.address.id, sku, 1)
    key = await key_of(db_session, ours)

    own = await client.get(f"/api/v1/wholesale/orders/{mine.number}/proforma.pdf", headers=auth(key))
    assert own.status_code == 200 and own.content.startswith(b"%PDF")
    hidden = await client.get(f"/api/v1/wholesale/orders/{not_mine.number}/proforma.pdf", headers=auth(key))
    assert hidden.status_code == 404 and hidden.json()["error"] == "wholesale_order_not_found"

    await sign_in(client, ours.user.username)
    page = await client.get(f"/wholesale/orders/{mine.number}", headers=HTML)
    assert f"/api/v1/wholesale/orders/{mine.number}/proforma.pdf" in page.text
    assert (await client.get(f"/api/v1/wholesale/orders/{not_mine.number}/proforma.pdf")).status_code == 404
    assert (await client.get(f"/wholesale/orders/{not_mine.number}", headers=HTML)).status_code == 404
    # The console's company pages are the centre's, not a buyer's.
    console = await client.get(f"/admin/wholesale/receivables/{theirs.company.id}", headers=HTML)
    assert console.status_code in (303, 403, 404)
    assert theirs.company.name not in console.text


async def test_the_portal_shows_the_month_and_serves_its_files(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    ours, late, _ = await _owing(db_session)
    await sign_in(client, ours.user.username)

    page = await client.get("/wholesale/statements", headers=HTML)
    assert page.status_code == 200, page.text
    assert 'id="closing"><strong>¥800.00' in page.text and late in page.text and "逾期 5 天" in page.text
    assert 'href="/wholesale/statements/2026-12.xlsx"' in page.text
    november = await client.get("/wholesale/statements?month=2026-11", headers=HTML)
    assert 'id="opening">¥0.00' in november.text and 'id="closing"><strong>¥600.00' in november.text
    refused = await client.get("/wholesale/statements?month=2031-01", headers=HTML)
    assert refused.status_code == 422 and "YYYY-MM" in refused.text

    xlsx = await client.get("/wholesale/statements/2026-12.xlsx")
    assert xlsx.status_code == 200 and "spreadsheetml" in xlsx.headers["content-type"]
    pdf = await client.get("/wholesale/statements/2026-11.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


async def test_staff_see_aged_receivables_and_record_a_payment(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    ours, late, current = await _owing(db_session)
    await log_in(client, db_session, Role.admin)

    report = await client.get("/admin/wholesale/receivables", headers=HTML)
    assert report.status_code == 200
    row = report.text[report.text.index(f'id="company-{ours.company.id}"') :]
    row = row[: row.index("</tr>")]
    assert "逾期" in row and "¥600.00" in row and "¥200.00" in row and "¥800.00" in row
    assert 'id="receivables-total"' in report.text

    url = f"/admin/wholesale/receivables/{ours.company.id}"
    account = await client.get(url, headers=HTML)
    assert late in account.text and "逾期 5 天" in account.text
    form = {
        "csrf_token": field(account, "csrf_token"),
        "idempotency_key": field(account, "idempotency_key", after='id="payment-form"'),
        "amount": "700.00",
        "received_on": "2026-12-06",
        "reference": "ICBC-20261206-1",
        "note": "",
    }
    done = await client.post(f"{url}/payments", data=form, headers=HTML, follow_redirects=True)
    assert done.status_code == 200
    assert "已登记收款 ¥700.00（ICBC-20261206-1），冲抵结算单 ¥700.00，未冲抵 ¥0.00" in done.text
    assert f"{late} ¥600.00" in done.text and f"{current} ¥100.00" in done.text

    again_page = await client.get(url, headers=HTML)
    again = {**form, "idempotency_key": field(again_page, "idempotency_key", after='id="payment-form"')}
    twice = await client.post(f"{url}/payments", data=again, headers=HTML)
    assert twice.status_code == 409 and "ICBC-20261206-1 已登记过" in twice.text
    assert 'value="700.00"' in twice.text  # what was typed is kept


async def test_staff_confirm_a_prepay_transfer_and_a_short_one_is_refused(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    sku = (await supply_sku(db_session, wholesale_minor=1000)).sku
    ours = await buyer(db_session, terms=PaymentTerms.prepay)
    order = await order_of(db_session, ours.principal, ours.address.id, sku, 2)  # ¥400
    await log_in(client, db_session, Role.admin)
    url = f"/admin/wholesale/receivables/{ours.company.id}"
    page = await client.get(url, headers=HTML)
    assert f'id="transfer-{order.number}"' in page.text

    def form(amount: str, key: str) -> dict[str, str]:
        return {
            "csrf_token": field(page, "csrf_token"),
            "idempotency_key": key,
            "amount": amount,
            "received_on": "2026-12-06",
            "reference": "CCB-778",
        }

    key = field(page, "idempotency_key", after=f'id="transfer-{order.number}"')
    short = await client.post(f"{url}/transfers/{order.number}", data=form("350", key), headers=HTML)
    assert short.status_code == 422 and "还差 ¥50.00" in short.text

    page = await client.get(url, headers=HTML)
    key = field(page, "idempotency_key", after=f'id="transfer-{order.number}"')
    done = await client.post(
        f"{url}/transfers/{order.number}", data=form("400.00", key), headers=HTML, follow_redirects=True
    )
    assert done.status_code == 200 and f"订单 {order.number} 已确认" in done.text
    assert f'id="transfer-{order.number}"' not in done.text
    confirmed = await orders_repository.order_by_number(db_session, order.number)
    assert confirmed is not None and confirmed.status is OrderStatus.confirmed


async def test_the_centre_records_payments_and_confirms_transfers_on_the_api(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    ours, late, current = await _owing(db_session)
    admin = auth(await token_for(db_session, await make_user(db_session, Role.admin)))
    body = {"amount_minor": 70_000, "received_on": "2026-12-06", "reference": "API-1"}

    paid = await client.post(f"/api/v1/admin/wholesale/companies/{ours.company.id}/payments", json=body, headers=admin)
    assert paid.status_code == 201, paid.text
    assert [(a["invoice"], a["amount_minor"]) for a in paid.json()["allocations"]] == [
        (late, 60_000),
        (current, 10_000),
    ]
    twice = await client.post(f"/api/v1/admin/wholesale/companies/{ours.company.id}/payments", json=body, headers=admin)
    assert twice.status_code == 409 and twice.json()["error"] == "payment_reference_taken"
    report = (await client.get("/api/v1/admin/wholesale/receivables", headers=admin)).json()
    (row,) = [r for r in report["rows"] if r["company_id"] == ours.company.id]
    assert (row["buckets_minor"], row["total_minor"]) == ([10_000, 0, 0, 0, 0], 10_000)
    buyer_key = auth(await key_of(db_session, ours))
    assert (await client.get("/api/v1/admin/wholesale/receivables", headers=buyer_key)).status_code == 403

    sku = (await supply_sku(db_session, wholesale_minor=1000)).sku
    prepay = await buyer(db_session, terms=PaymentTerms.prepay)
    order = await order_of(db_session, prepay.principal, prepay.address.id, sku, 1)
    transfer = {"amount_minor": 19_999, "received_on": "2026-12-06", "reference": "PP-1"}
    short = await client.post(f"/api/v1/admin/wholesale/orders/{order.number}/transfer", json=transfer, headers=admin)
    assert short.status_code == 422 and short.json()["detail"]["short_minor"] == 1
    transfer["amount_minor"] = 20_000
    done = await client.post(f"/api/v1/admin/wholesale/orders/{order.number}/transfer", json=transfer, headers=admin)
    assert done.status_code == 200 and done.json()["status"] == "confirmed"
