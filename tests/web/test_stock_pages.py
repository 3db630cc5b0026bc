"""The stock pages of the ops console, driven like a browser: log in through the /login form, read the
CSRF token and the idempotency key from each rendered form, post it, and check what moved."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from stdnum import ean

from app.accounts.models import Role, User
from app.catalog.models import Variant
from app.kit import clock
from app.kit.quantities import Unit
from app.supply.models import (
    LedgerKind,
    Location,
    Lot,
    StockCount,
    StockLedgerEntry,
    StockLevel,
    Supplier,
    Transfer,
    TransferStatus,
)
from tests.fixtures.builders import (
    DEFAULT_PASSWORD,
    ensure_warehouse,
    make_location,
    make_supplier,
    make_user,
    make_variant,
    receive,
    seq,
)

HTML = {"accept": "text/html"}
STOCK_PAGES = (
    "/admin/stock",
    "/admin/ledger",
    "/admin/lots",
    "/admin/lots/receive",
    "/admin/transfers",
    "/admin/adjustments",
    "/admin/counts",
)


def field(page: httpx.Response, name: str, after: str = "") -> str:
    """The value of a hidden field in the rendered page (the first one after ``after``)."""
    text = page.text[page.text.index(after) :] if after else page.text
    found = re.search(rf'name="{name}" value="([^"]+)"', text)
    assert found is not None, f"no {name} field"
    return found.group(1)


async def log_in(client: httpx.AsyncClient, session: AsyncSession, role: Role = Role.warehouse) -> int:
    user = await make_user(session, role)
    page = await client.get("/login", headers=HTML)
    response = await client.post(
        "/login",
        data={"username": user.username, "password": DEFAULT_PASSWORD, "csrf_token": field(page, "csrf_token")},
    )
    assert response.status_code == 303
    return user.id


async def form_post(
    client: httpx.AsyncClient, page_url: str, action: str, data: dict[str, str | list[str]], *, after: str = ""
) -> httpx.Response:
    """Open the page, then submit one of its forms with the tokens it was rendered with."""
    page = await client.get(page_url, headers=HTML)
    assert page.status_code == 200, page.text
    tokens = {"csrf_token": field(page, "csrf_token")}
    if "idempotency_key" in page.text[page.text.index(after) if after else 0 :]:
        tokens["idempotency_key"] = field(page, "idempotency_key", after)
    return await client.post(action, data={**tokens, **data}, headers=HTML)


async def on_hand(session: AsyncSession, location: Location, lot_id: int) -> Decimal:
    value = await session.scalar(
        select(StockLevel.on_hand).where(StockLevel.location_id == location.id, StockLevel.lot_id == lot_id)
    )
    return Decimal(value) if value is not None else Decimal(0)


async def ledger(session: AsyncSession, lot_id: int) -> list[tuple[LedgerKind, int, Decimal, int | None, str]]:
    rows = await session.execute(
        select(
            StockLedgerEntry.kind,
            StockLedgerEntry.location_id,
            StockLedgerEntry.on_hand_delta,
            StockLedgerEntry.actor_user_id,
            StockLedgerEntry.reason,
        )
        .where(StockLedgerEntry.lot_id == lot_id)
        .order_by(StockLedgerEntry.id)
    )
    return [(kind, loc, Decimal(delta), actor, reason) for kind, loc, delta, actor, reason in rows]


def barcode() -> str:
    body = f"69900000{seq():04d}"
    return body + ean.calc_check_digit(body)


async def receipt_setup(session: AsyncSession) -> tuple[Variant, Supplier, Location]:
    variant = await make_variant(session, unit=Unit.kg, barcode=barcode())
    return variant, await make_supplier(session, grows=[variant]), await ensure_warehouse(session)


def receipt_form(variant: Variant, supplier: Supplier, location: Location, **kw: str) -> dict[str, str]:
    return {
        "scan": "",
        "sku": variant.sku,
        "supplier_code": supplier.code,
        "quantity": "125.350",
        "harvest_date": (clock.today() - timedelta(days=1)).isoformat(),
        "best_before": "",
        "grade": "一级",
        "certificate_no": "HG-2025-0042",
        "quality_notes": "农残快检合格",
        "location_code": location.code,
        **kw,
    }


# ---- access -------------------------------------------------------------------------------------


async def test_warehouse_login_lands_on_the_stock_page(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    user = await make_user(db_session, Role.warehouse)
    page = await client.get("/login", headers=HTML)
    response = await client.post(
        "/login",
        data={"username": user.username, "password": DEFAULT_PASSWORD, "csrf_token": field(page, "csrf_token")},
    )
    assert response.status_code == 303 and response.headers["location"] == "/admin/stock"
    stock = await client.get("/admin/stock", headers=HTML)
    assert stock.status_code == 200
    # Warehouse staff see the stock links, not the admin-only ones.
    assert 'href="/admin/counts"' in stock.text and 'href="/admin/users"' not in stock.text


@pytest.mark.parametrize("path", STOCK_PAGES)
async def test_a_customer_is_refused_and_a_visitor_sent_to_login(
    client: httpx.AsyncClient, db_session: AsyncSession, path: str
) -> None:
    anonymous = await client.get(path, headers=HTML)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == f"/login?next={path}"

    await log_in(client, db_session, Role.customer)
    assert (await client.get(path, headers=HTML)).status_code == 403


async def test_a_customer_cannot_post_a_receipt(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    variant, supplier, location = await receipt_setup(db_session)
    await log_in(client, db_session, Role.customer)
    login_page = await client.get("/login", headers=HTML)

    response = await client.post(
        "/admin/lots/receive",
        data={"csrf_token": field(login_page, "csrf_token"), **receipt_form(variant, supplier, location)},
        headers=HTML,
    )

    assert response.status_code == 403
    assert await db_session.scalar(select(func.count()).select_from(Lot).where(Lot.variant_id == variant.id)) == 0


async def test_every_stock_page_renders_for_an_admin(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    lot = await receive(db_session, await make_variant(db_session), "10")
    await log_in(client, db_session, Role.admin)
    for path in STOCK_PAGES:
        page = await client.get(path, headers=HTML)
        assert page.status_code == 200, path
        assert 'href="/admin/users"' in page.text  # admins also see the admin-only links
    lots = await client.get("/admin/lots", headers=HTML)
    assert f"/t/{lot.code}" in lots.text and f"/api/v1/admin/lots/{lot.code}/label.pdf" in lots.text


# ---- receiving ----------------------------------------------------------------------------------


async def test_receive_a_lot_by_scanning_its_barcode(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    variant, supplier, location = await receipt_setup(db_session)
    user_id = await log_in(client, db_session)
    assert variant.barcode is not None

    response = await form_post(
        client,
        "/admin/lots/receive",
        "/admin/lots/receive",
        receipt_form(variant, supplier, location, scan=variant.barcode, sku=""),
    )

    assert response.status_code == 303, response.text
    lot = await db_session.scalar(
        select(Lot).where(Lot.variant_id == variant.id).execution_options(populate_existing=True)
    )
    assert lot is not None
    assert response.headers["location"].startswith(f"/admin/lots?lot={lot.code}&notice=")
    harvest = clock.today() - timedelta(days=1)
    assert (lot.supplier_id, lot.quantity_received, lot.harvest_date, lot.best_before) == (
        supplier.id,
        Decimal("125.350"),
        harvest,
        harvest + timedelta(days=10),  # the product's shelf life
    )
    assert (lot.grade, lot.certificate_no, lot.quality_notes, lot.received_by_id) == (
        "一级",
        "HG-2025-0042",
        "农残快检合格",
        user_id,
    )
    assert await on_hand(db_session, location, lot.id) == Decimal("125.350")
    entries = await ledger(db_session, lot.id)
    assert [(kind, loc, delta, actor) for kind, loc, delta, actor, _ in entries] == [
        (LedgerKind.receipt, location.id, Decimal("125.350"), user_id)
    ]
    # The lots page offers the new lot's label at once.
    lots = await client.get(response.headers["location"], headers=HTML)
    assert lots.status_code == 200
    assert "已收货入库" in lots.text and f"/api/v1/admin/lots/{lot.code}/label.pdf" in lots.text


async def test_a_double_submitted_receipt_creates_one_lot(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    variant, supplier, location = await receipt_setup(db_session)
    await log_in(client, db_session)
    page = await client.get("/admin/lots/receive", headers=HTML)
    data = {
        "csrf_token": field(page, "csrf_token"),
        "idempotency_key": field(page, "idempotency_key"),
        **receipt_form(variant, supplier, location),
    }

    first = await client.post("/admin/lots/receive", data=data, headers=HTML)
    second = await client.post("/admin/lots/receive", data=data, headers=HTML)

    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    lots = list(await db_session.scalars(select(Lot.id).where(Lot.variant_id == variant.id)))
    assert len(lots) == 1
    assert await on_hand(db_session, location, lots[0]) == Decimal("125.350")
    assert len(await ledger(db_session, lots[0])) == 1


async def test_a_resent_form_with_changed_values_moves_nothing_more(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    variant, supplier, location = await receipt_setup(db_session)
    await log_in(client, db_session)
    page = await client.get("/admin/lots/receive", headers=HTML)
    tokens = {"csrf_token": field(page, "csrf_token"), "idempotency_key": field(page, "idempotency_key")}
    first = await client.post("/admin/lots/receive", data={**tokens, **receipt_form(variant, supplier, location)})
    assert first.status_code == 303

    # Back button, edit the quantity, send the same rendered form again.
    edited = receipt_form(variant, supplier, location, quantity="130")
    again = await client.post("/admin/lots/receive", data={**tokens, **edited}, headers=HTML)

    assert again.status_code == 422
    assert "这张表单已经提交过" in again.text
    fresh_key = field(again, "idempotency_key")
    assert fresh_key != tokens["idempotency_key"]  # the page offers a new form to send deliberately
    quantities = list(await db_session.scalars(select(Lot.quantity_received).where(Lot.variant_id == variant.id)))
    assert quantities == [Decimal("125.350")]


# Midnight in China (16:00 UTC), when "today" turns over.
CHINA_MIDNIGHT = datetime(2026, 12, 6, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("changes", "status", "message"),
    [
        ({"quantity": "1.2345"}, 422, "数量：数量最多三位小数"),
        ({"quantity": ""}, 422, "数量：请填写"),
        ({"quantity": "0"}, 422, "数量必须大于 0"),
        # An emptied harvest date is refused, never taken as today.
        ({"harvest_date": ""}, 422, "采收日期：请填写"),
        ({"harvest_date": "2026-13-45"}, 422, "采收日期：日期格式应为 年-月-日"),
        # Days from the test's own today (resolved under its pinned clock, not at collection: a run
        # collected before midnight in China and run after it sent today as "tomorrow").
        ({"harvest_date": timedelta(days=1)}, 422, "采收日期不能晚于今天"),
        ({"harvest_date": timedelta(days=-20)}, 422, "该批次已过保质期，不能入库"),
        ({"sku": "", "scan": "6900000000000"}, 422, "没有找到条码或 SKU 为 6900000000000 的商品规格"),
        ({"supplier_code": "NO-SUCH"}, 404, "找不到该供应商"),
    ],
)
async def test_a_bad_receipt_is_shown_in_chinese_and_changes_nothing(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    changes: dict[str, str | timedelta],
    status: int,
    message: str,
) -> None:
    with clock.pinned(CHINA_MIDNIGHT):
        variant, supplier, location = await receipt_setup(db_session)
        await log_in(client, db_session)
        sent = {
            key: (clock.today() + value).isoformat() if isinstance(value, timedelta) else value
            for key, value in changes.items()
        }
        response = await form_post(
            client, "/admin/lots/receive", "/admin/lots/receive", receipt_form(variant, supplier, location, **sent)
        )

    assert response.status_code == status
    assert message in response.text
    assert 'name="quality_notes"' in response.text and "农残快检合格" in response.text  # the form keeps its values
    assert await db_session.scalar(select(func.count()).select_from(Lot).where(Lot.variant_id == variant.id)) == 0


# ---- receiving from a supplier that is not a registered grower ------------------------------------

EXCEPTION_REASON = "经销：代收邻村农户的货"


async def test_the_form_says_who_grows_each_product(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    variant, grower, _ = await receipt_setup(db_session)
    other = await make_supplier(db_session)
    await log_in(client, db_session)

    page = await client.get("/admin/lots/receive", headers=HTML)

    product_slug = await db_session.scalar(text("SELECT slug FROM products WHERE id = :id"), {"id": variant.product_id})
    assert f'value="{variant.sku}"' in page.text and f'data-product="{product_slug}"' in page.text
    assert f'<option value="{grower.code}" data-grows="{product_slug}">' in page.text
    assert f'<option value="{other.code}" data-grows="">' in page.text
    assert '<details class="panel" id="r-exception">' in page.text  # closed until needed


async def test_a_non_grower_is_refused_on_the_form_with_the_exception_offered(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    variant, _, location = await receipt_setup(db_session)
    dealer = await make_supplier(db_session, name="县城干货经销部")
    await log_in(client, db_session)

    refused = await form_post(
        client, "/admin/lots/receive", "/admin/lots/receive", receipt_form(variant, dealer, location)
    )
    unexplained = await form_post(
        client,
        "/admin/lots/receive",
        "/admin/lots/receive",
        receipt_form(variant, dealer, location, grower_exception="1", grower_exception_reason=" "),
    )

    assert refused.status_code == 422
    assert "供应商“县城干货经销部”" in refused.text and "未登记为“" in refused.text
    assert '<details class="panel" id="r-exception" open>' in refused.text
    assert unexplained.status_code == 422
    assert "按例外收货须填写原因" in unexplained.text
    assert 'name="grower_exception" value="1" checked' in unexplained.text  # the form keeps the tick
    assert await db_session.scalar(select(func.count()).select_from(Lot).where(Lot.variant_id == variant.id)) == 0


async def test_a_confirmed_exception_on_the_form_is_recorded_and_shown_on_the_lots_page(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    variant, _, location = await receipt_setup(db_session)
    dealer = await make_supplier(db_session, name="县城干货经销部")
    user_id = await log_in(client, db_session)
    username = await db_session.scalar(select(User.username).where(User.id == user_id))

    response = await form_post(
        client,
        "/admin/lots/receive",
        "/admin/lots/receive",
        receipt_form(variant, dealer, location, grower_exception="1", grower_exception_reason=EXCEPTION_REASON),
    )

    assert response.status_code == 303, response.text
    lot = await db_session.scalar(
        select(Lot).where(Lot.variant_id == variant.id).execution_options(populate_existing=True)
    )
    assert lot is not None
    assert (lot.supplier_id, lot.grower_exception_reason, lot.grower_exception_by_id) == (
        dealer.id,
        EXCEPTION_REASON,
        user_id,
    )
    lots = await client.get(response.headers["location"], headers=HTML)
    assert f"（例外收货：{EXCEPTION_REASON}）" in lots.text  # the notice
    row = lots.text[lots.text.index(f"<code>{lot.code}</code>") :]
    row = row[: row.index("</tr>")]
    assert "例外收货：非登记生产者" in row
    assert f"原因：{EXCEPTION_REASON} · 确认人 {username}" in row


# ---- adjustments --------------------------------------------------------------------------------


async def test_an_adjustment_without_a_reason_is_refused(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    lot = await receive(db_session, await make_variant(db_session), "10")
    warehouse = await ensure_warehouse(db_session)
    await log_in(client, db_session)

    response = await form_post(
        client,
        "/admin/adjustments",
        "/admin/adjustments",
        {"location_code": warehouse.code, "lot_code": lot.code, "kind": "spoilage", "quantity": "2", "reason": " "},
    )

    assert response.status_code == 422
    assert "原因：必填" in response.text
    assert await on_hand(db_session, warehouse, lot.id) == Decimal(10)
    assert [kind for kind, *_ in await ledger(db_session, lot.id)] == [LedgerKind.receipt]


async def test_spoilage_with_a_reason_writes_one_ledger_row(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    lot = await receive(db_session, await make_variant(db_session), "10")
    warehouse = await ensure_warehouse(db_session)
    user_id = await log_in(client, db_session)

    response = await form_post(
        client,
        "/admin/adjustments",
        "/admin/adjustments",
        {
            "location_code": warehouse.code,
            "lot_code": lot.code.lower(),  # typed by hand: codes are case-insensitive on the page
            "kind": "spoilage",
            "quantity": "2",
            "reason": "冷库温控故障，2 箱霉变",
        },
    )

    assert response.status_code == 303, response.text
    assert await on_hand(db_session, warehouse, lot.id) == Decimal(8)
    assert (await ledger(db_session, lot.id))[1:] == [
        (LedgerKind.spoilage, warehouse.id, Decimal(-2), user_id, "冷库温控故障，2 箱霉变")
    ]
    page = await client.get(response.headers["location"], headers=HTML)
    assert "已记录损耗" in page.text and "冷库温控故障，2 箱霉变" in page.text


async def test_spoiling_more_than_is_there_names_the_lot(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    lot = await receive(db_session, await make_variant(db_session), "3")
    warehouse = await ensure_warehouse(db_session)
    await log_in(client, db_session)

    response = await form_post(
        client,
        "/admin/adjustments",
        "/admin/adjustments",
        {"location_code": warehouse.code, "lot_code": lot.code, "kind": "spoilage", "quantity": "5", "reason": "霉变"},
    )

    assert response.status_code == 409
    assert "库存不足" in response.text and f"批次 {lot.code}：需要 5，可用 3" in response.text
    assert await on_hand(db_session, warehouse, lot.id) == Decimal(3)


# ---- transfers ----------------------------------------------------------------------------------


async def test_ship_and_receive_a_transfer_with_a_shortfall(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    lot = await receive(db_session, await make_variant(db_session), "10")
    warehouse = await ensure_warehouse(db_session)
    store = await make_location(db_session, "store")
    transit = await db_session.scalar(select(Location).where(Location.code == "IN-TRANSIT"))
    assert transit is not None
    await log_in(client, db_session)

    shipped = await form_post(
        client,
        "/admin/transfers",
        "/admin/transfers",
        {
            "from_location": warehouse.code,
            "to_location": store.code,
            "lot_code": [lot.code, "", ""],
            "quantity": ["6", "", ""],
            "note": "门店补货",
        },
    )

    assert shipped.status_code == 303, shipped.text
    number = await db_session.scalar(select(Transfer.number).where(Transfer.to_location_id == store.id))
    assert number is not None
    assert await on_hand(db_session, warehouse, lot.id) == Decimal(4)
    assert await on_hand(db_session, transit, lot.id) == Decimal(6)

    action = f"/admin/transfers/{number}/receive"
    no_reason = await form_post(
        client,
        "/admin/transfers",
        action,
        {"lot_code": lot.code, "received": "5", "reason": ""},
        after=f'action="{action}"',
    )
    assert no_reason.status_code == 422
    assert "签收数量少于发出数量时必须填写差异原因" in no_reason.text
    status = await db_session.scalar(select(Transfer.status).where(Transfer.number == number))
    assert status is TransferStatus.in_transit
    assert await on_hand(db_session, store, lot.id) == Decimal(0)

    received = await form_post(
        client,
        "/admin/transfers",
        action,
        {"lot_code": lot.code, "received": "5", "reason": "运输途中压坏 1 箱"},
        after=f'action="{action}"',
    )

    assert received.status_code == 303, received.text
    status = await db_session.scalar(
        select(Transfer.status).where(Transfer.number == number).execution_options(populate_existing=True)
    )
    assert status is TransferStatus.received
    assert (
        await on_hand(db_session, warehouse, lot.id),
        await on_hand(db_session, transit, lot.id),
        await on_hand(db_session, store, lot.id),
    ) == (Decimal(4), Decimal(0), Decimal(5))
    spoiled = [row for row in await ledger(db_session, lot.id) if row[0] is LedgerKind.spoilage]
    assert [(loc, delta, reason) for _, loc, delta, _, reason in spoiled] == [
        (transit.id, Decimal(-1), "在途差异：运输途中压坏 1 箱")
    ]
    page = await client.get(received.headers["location"], headers=HTML)
    assert "运输途中压坏 1 箱" in page.text


# ---- counts -------------------------------------------------------------------------------------


async def test_open_record_and_post_a_count(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    lot = await receive(db_session, await make_variant(db_session), "10")
    warehouse = await ensure_warehouse(db_session)
    user_id = await log_in(client, db_session)

    opened = await form_post(client, "/admin/counts", "/admin/counts", {"location_code": warehouse.code})

    assert opened.status_code == 303, opened.text
    number = await db_session.scalar(select(StockCount.number).where(StockCount.location_id == warehouse.id))
    assert number is not None and opened.headers["location"].startswith(f"/admin/counts/{number}?")
    sheet = f"/admin/counts/{number}"

    # Posting with a lot not yet counted is refused and posts nothing.
    early = await form_post(client, sheet, f"{sheet}/post", {"lot_code": lot.code, "counted": ""})
    assert early.status_code == 422 and "还有批次未录入盘点数量" in early.text

    saved = await form_post(client, sheet, f"{sheet}/save", {"lot_code": lot.code, "counted": "8"})
    assert saved.status_code == 303, saved.text
    assert await on_hand(db_session, warehouse, lot.id) == Decimal(10)  # saving moves nothing

    posted = await form_post(client, sheet, f"{sheet}/post", {"lot_code": lot.code, "counted": "8"})

    assert posted.status_code == 303, posted.text
    assert await on_hand(db_session, warehouse, lot.id) == Decimal(8)
    assert (await ledger(db_session, lot.id))[1:] == [
        (LedgerKind.stock_count, warehouse.id, Decimal(-2), user_id, "盘点差异：账面 10，实盘 8")
    ]
    page = await client.get(posted.headers["location"], headers=HTML)
    assert "已过账" in page.text and 'name="counted"' not in page.text
