"""The village station console (/station), driven like a browser: sign in through the /login form,
read the CSRF token and the per-form idempotency key from each rendered page, post, and check what
changed — and what must not have."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role, User
from app.catalog.pricing import LineRequest
from app.kit import clock
from app.kit.quantities import Unit
from app.notifications.models import NotificationMessage
from app.orders.models import DeliveryMethod, Order, OrderEvent, OrderStatus, PaymentMethod, PaymentStatus
from app.shop.checkout import PlaceOrder, place_order
from app.stations import parcels
from app.stations.models import Consignment, DeliveryRoute, Parcel, ParcelStatus, RouteStop, ServiceCase, Station
from app.supply.models import LedgerKind, Lot, StockLedgerEntry, Supplier, SupplierKind
from tests.fixtures.builders import DEFAULT_PASSWORD, make_supplier, make_user, make_variant
from tests.fixtures.shop import Shop
from tests.web.test_stock_pages import HTML, field


@dataclass
class Counter:
    station: Station
    other_station: Station
    operator: User
    other_operator: User


@pytest.fixture
async def counter(db_session: AsyncSession, shop: Shop) -> Counter:
    """The shop's two stations on one route, and an operator for each."""
    stations = {s.code: s for s in (await db_session.scalars(select(Station))).all()}
    mine, other = stations[shop.station_code], stations[shop.other_station_code]
    route = DeliveryRoute(code="RT-WEB", name="页面测试线")
    db_session.add(route)
    await db_session.flush()
    for position, station in enumerate([mine, other], start=1):
        db_session.add(RouteStop(route_id=route.id, station_id=station.id, position=position))
    await db_session.flush()
    operator = await make_user(db_session, Role.station_operator, station_id=mine.id)
    other_operator = await make_user(db_session, Role.station_operator, station_id=other.id)
    return Counter(mine, other, operator, other_operator)


async def dispatched(session: AsyncSession, shop: Shop, count: int = 1) -> list[Parcel]:
    """Pay-at-pickup orders (one ¥68.00 box each) to the shop's station, packed and dispatched."""
    for _ in range(count):
        await place_order(
            session,
            PlaceOrder(
                lines=[LineRequest(shop.box_sku, "1")],
                delivery_method=DeliveryMethod.station_pickup,
                contact_name="李阿姨",
                contact_phone="+8613800138000",
                payment_method=PaymentMethod.pay_at_pickup,
                station_code=shop.station_code,
            ),
            stripe_enabled=False,
        )
    run = await parcels.plan_run(session, route_code="RT-WEB", run_date=clock.today(), actor_user_id=None)
    await parcels.dispatch_run(session, run.number, actor_user_id=None)
    return list((await session.scalars(select(Parcel).where(Parcel.run_id == run.id).order_by(Parcel.id))).all())


async def on_shelf(session: AsyncSession, counter: Counter, shop: Shop) -> Parcel:
    (parcel,) = await dispatched(session, shop)
    return await parcels.scan_in(
        session, station_id=counter.station.id, tracking_number=parcel.tracking_number, actor_user_id=None
    )


async def shelved_order(session: AsyncSession, counter: Counter, shop: Shop) -> tuple[Parcel, Order]:
    """A parcel on the station's shelf, and its order."""
    parcel = await on_shelf(session, counter, shop)
    order = await session.get(Order, parcel.order_id)
    assert order is not None
    return parcel, order


async def sign_in(client: httpx.AsyncClient, user: User) -> httpx.Response:
    page = await client.get("/login", headers=HTML)
    return await client.post(
        "/login",
        data={"username": user.username, "password": DEFAULT_PASSWORD, "csrf_token": field(page, "csrf_token")},
    )


async def submit(
    client: httpx.AsyncClient,
    page_url: str,
    action: str,
    data: dict[str, str],
    *,
    files: dict[str, tuple[str, bytes, str]] | None = None,
) -> tuple[httpx.Response, dict[str, str]]:
    """Open the page, post its form with the tokens it was rendered with; returns the answer and the
    exact fields sent (to send the same form twice, as a double click does)."""
    page = await client.get(page_url, headers=HTML)
    assert page.status_code == 200, page.text
    sent = {"csrf_token": field(page, "csrf_token"), "idempotency_key": field(page, "idempotency_key"), **data}
    return await client.post(action, data=sent, files=files, headers=HTML), sent


def slot_shown(page: httpx.Response) -> str:
    found = re.search(r'id="shelf-slot"><span class="visually-hidden">货位 </span>([0-9-]+)</p>', page.text)
    assert found is not None, page.text
    return found.group(1)


async def code_of(session: AsyncSession, parcel: Parcel) -> str:
    """The code its customer was given (the console never shows it)."""
    code = parcels.customer_pickup_code(await reload(session, parcel))
    assert code is not None
    return code


async def reload(session: AsyncSession, parcel: Parcel) -> Parcel:
    fresh = await session.scalar(select(Parcel).where(Parcel.id == parcel.id).execution_options(populate_existing=True))
    assert fresh is not None
    return fresh


async def count(session: AsyncSession, model: type, *where: object) -> int:
    return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


# ---- access -------------------------------------------------------------------------------------


async def test_an_operator_lands_on_the_console_of_its_station(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop, counter: Counter
) -> None:
    await on_shelf(db_session, counter, shop)
    signed_in = await sign_in(client, counter.operator)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/station"

    home = await client.get("/station", headers=HTML)

    assert home.status_code == 200
    assert counter.station.name in home.text and 'href="/station" aria-current="page">村站工作台' in home.text
    for action in ("入站扫描", "取件交付", "上行登记", "服务案例", "月度数据"):
        assert action in home.text
    # One parcel on the shelf, arrived today: its code, the masked recipient, the phone's last four.
    assert re.search(r'<span class="stat-num">1</span><span class="stat-label">在架待取', home.text)
    assert re.search(r'<span class="stat-num">1</span><span class="stat-label">今日到站', home.text)
    assert '<span class="shelf-code">1-1</span>' in home.text
    shelved = await db_session.scalar(select(Parcel).where(Parcel.status == ParcelStatus.at_station))
    assert shelved is not None and shelved.pickup_code is not None and shelved.pickup_code not in home.text
    assert "李**" in home.text and ">8000<" in home.text and "¥68.00" in home.text and "剩 7 天" in home.text
    assert "李阿姨" not in home.text and "13800138000" not in home.text


@pytest.mark.parametrize(
    "path", ["/station", "/station/scan", "/station/handover", "/station/upstream", "/station/cases", "/station/report"]
)
async def test_a_customer_is_refused_and_a_visitor_sent_to_login(
    client: httpx.AsyncClient, db_session: AsyncSession, path: str
) -> None:
    anonymous = await client.get(path, headers=HTML)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == f"/login?next={path}"

    await sign_in(client, await make_user(db_session, Role.customer))
    refused = await client.get(path, headers=HTML)
    assert refused.status_code == 403 and "没有权限" in refused.text


async def test_a_customer_cannot_post_a_scan(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop, counter: Counter
) -> None:
    (parcel,) = await dispatched(db_session, shop)
    await sign_in(client, await make_user(db_session, Role.customer))
    token = field(await client.get("/login", headers=HTML), "csrf_token")

    refused = await client.post(
        "/station/scan", data={"csrf_token": token, "tracking_number": parcel.tracking_number}, headers=HTML
    )

    assert refused.status_code == 403
    assert (await reload(db_session, parcel)).status is ParcelStatus.dispatched


# ---- scan-in ------------------------------------------------------------------------------------


async def test_scan_in_shows_the_pickup_code_and_a_second_scan_changes_nothing(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop, counter: Counter
) -> None:
    (parcel,) = await dispatched(db_session, shop)
    await sign_in(client, counter.operator)

    first, sent = await submit(client, "/station/scan", "/station/scan", {"tracking_number": parcel.tracking_number})

    assert first.status_code == 200
    assert slot_shown(first) == "1-1"
    assert "入站成功" in first.text and "1 号货架 · 第 1 层" in first.text
    assert "到站付款 <strong>¥68.00</strong>" in first.text
    # The field is empty and focused again for the next parcel, with a new form key.
    assert re.search(r'<input id="s-tracking" name="tracking_number"[^>]*autofocus', first.text)
    assert field(first, "idempotency_key") != sent["idempotency_key"]
    scanned = await reload(db_session, parcel)
    assert (scanned.status, scanned.shelf_slot) == (ParcelStatus.at_station, "1-1")
    assert scanned.pickup_code is not None and scanned.pickup_code not in first.text
    order = await db_session.get(Order, parcel.order_id, populate_existing=True)
    assert order is not None and order.status is OrderStatus.ready_for_pickup
    events = await count(db_session, OrderEvent, OrderEvent.order_id == order.id)
    notices = await count(db_session, NotificationMessage, NotificationMessage.reference == order.number)
    assert notices == 1

    # The same form sent twice (a double press): the first answer again.
    double = await client.post("/station/scan", data=sent, headers=HTML)
    assert double.status_code == 200 and slot_shown(double) == "1-1" and "入站成功" in double.text

    # The parcel scanned again later (a new form): it says so, and nothing changes.
    again, _ = await submit(
        client, "/station/scan", "/station/scan", {"tracking_number": parcel.tracking_number.lower()}
    )
    assert again.status_code == 200
    assert slot_shown(again) == "1-1" and "重复扫描，没有改动" in again.text
    assert (await reload(db_session, parcel)).pickup_code == scanned.pickup_code
    assert await count(db_session, OrderEvent, OrderEvent.order_id == order.id) == events
    assert await count(db_session, NotificationMessage, NotificationMessage.reference == order.number) == notices


async def test_scan_in_errors_are_shown_in_chinese(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop, counter: Counter
) -> None:
    (parcel,) = await dispatched(db_session, shop)
    await sign_in(client, counter.operator)

    unknown, _ = await submit(client, "/station/scan", "/station/scan", {"tracking_number": "NPP0000000000"})
    assert unknown.status_code == 404 and "单号 NPP0000000000：找不到该包裹" in unknown.text
    empty, _ = await submit(client, "/station/scan", "/station/scan", {"tracking_number": "  "})
    assert empty.status_code == 422 and "请扫描包裹上的单号条码" in empty.text
    # Handed over already: the wrong state is named.
    await parcels.scan_in(
        db_session, station_id=counter.station.id, tracking_number=parcel.tracking_number, actor_user_id=None
    )
    await parcels.hand_over(
        db_session,
        station_id=counter.station.id,
        tracking_number=parcel.tracking_number,
        pickup_code=await code_of(db_session, parcel),
        collect_method="cash",
        actor_user_id=counter.operator.id,
    )
    done, _ = await submit(client, "/station/scan", "/station/scan", {"tracking_number": parcel.tracking_number})
    assert done.status_code == 409 and "包裹已取件，不能入站" in done.text


async def test_another_stations_operator_cannot_scan_this_stations_parcel(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop, counter: Counter
) -> None:
    (parcel,) = await dispatched(db_session, shop)
    await sign_in(client, counter.other_operator)

    refused, _ = await submit(client, "/station/scan", "/station/scan", {"tracking_number": parcel.tracking_number})

    assert refused.status_code == 403
    assert "未能入站" in refused.text and "该包裹不属于本站" in refused.text and 'id="shelf-slot"' not in refused.text
    scanned = await reload(db_session, parcel)
    assert (scanned.status, scanned.pickup_code) == (ParcelStatus.dispatched, None)
    # Nor see it at its counter.
    summary = await client.get(f"/station/handover/parcel?tracking={parcel.tracking_number}", headers=HTML)
    assert "该包裹不属于本站" in summary.text and "李**" not in summary.text


# ---- handover -----------------------------------------------------------------------------------


def handover_form(parcel: Parcel, code: str, **kw: str) -> dict[str, str]:
    return {"tracking_number": parcel.tracking_number, "code": code, **kw}


async def test_a_wrong_code_is_counted_once_and_the_attempts_left_shown(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop, counter: Counter
) -> None:
    parcel = await on_shelf(db_session, counter, shop)
    await sign_in(client, counter.operator)
    page = f"/station/handover?tracking={parcel.tracking_number}"

    wrong, sent = await submit(client, page, "/station/handover", handover_form(parcel, "9-9-9999"))

    assert wrong.status_code == 422
    assert "取货码不正确，还可尝试 4 次" in wrong.text
    assert "取货码已错 1 次，还可尝试 4 次" in wrong.text  # the summary under the form agrees
    assert 'name="code" class="scan-input" value=""' in wrong.text  # the wrong code is cleared
    # The same form sent again: the same answer, the attempt counted once.
    double = await client.post("/station/handover", data=sent, headers=HTML)
    assert double.status_code == 422 and "还可尝试 4 次" in double.text
    assert (await reload(db_session, parcel)).failed_code_attempts == 1

    # A form without a code is not an attempt.
    blank, _ = await submit(client, page, "/station/handover", handover_form(parcel, ""))
    assert blank.status_code == 422 and "请输入顾客报的取货码" in blank.text
    assert (await reload(db_session, parcel)).failed_code_attempts == 1

    for left in (3, 2, 1):
        answer, _ = await submit(client, page, "/station/handover", handover_form(parcel, "0-0-0"))
        assert f"还可尝试 {left} 次" in answer.text
    locked, _ = await submit(client, page, "/station/handover", handover_form(parcel, "0-0-0"))
    assert locked.status_code == 423
    assert "此包裹已锁定，不能交付" in locked.text and "身份证件" in locked.text
    # Locked: even the right code is refused, and the parcel stays on the shelf.
    code = await code_of(db_session, parcel)
    right, _ = await submit(client, page, "/station/handover", handover_form(parcel, code, collect_method="cash"))
    assert right.status_code == 423 and "已锁定" in right.text
    held = await reload(db_session, parcel)
    assert (held.status, held.failed_code_attempts) == (ParcelStatus.at_station, 5)


async def test_the_right_code_and_cash_complete_the_order(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop, counter: Counter
) -> None:
    parcel = await on_shelf(db_session, counter, shop)
    await sign_in(client, counter.operator)
    page = f"/station/handover?tracking={parcel.tracking_number}"

    summary = await client.get(page, headers=HTML)
    assert summary.status_code == 200
    assert "李**" in summary.text and "手机尾号 <strong>8000</strong>" in summary.text
    assert "到站付款 ¥68.00" in summary.text and "现金收款 ¥68.00" in summary.text and "扫码收款 ¥68.00" in summary.text
    code = await code_of(db_session, parcel)
    assert code.rsplit("-", 1)[1] not in summary.text  # the customer says the code; the page does not

    # The right code without saying how the money was taken: refused, nothing changes.
    unpaid, _ = await submit(client, page, "/station/handover", handover_form(parcel, code))
    assert unpaid.status_code == 422 and "到站付款订单需先收款" in unpaid.text
    assert f'value="{code}"' in unpaid.text  # the right code is kept for the second try
    assert (await reload(db_session, parcel)).status is ParcelStatus.at_station

    done, sent = await submit(
        client,
        page,
        "/station/handover",
        handover_form(parcel, code, collect_method="cash", proxy="1", collected_by_name="王小明"),
    )

    assert done.status_code == 200
    assert "交付完成" in done.text and "已现金收款" in done.text and "¥68.00" in done.text
    assert "代取人：王小明" in done.text
    handed = await reload(db_session, parcel)
    assert (handed.status, handed.proxy_pickup, handed.collected_by_name) == (ParcelStatus.handed_over, True, "王小明")
    assert handed.handed_over_by_id == counter.operator.id
    order = await db_session.get(Order, parcel.order_id, populate_existing=True)
    assert order is not None
    assert (order.status, order.payment_status, order.paid_minor) == (OrderStatus.completed, PaymentStatus.paid, 6800)
    sales = (StockLedgerEntry.kind == LedgerKind.sale, StockLedgerEntry.document_ref == order.number)
    assert await count(db_session, StockLedgerEntry, *sales) == 1

    # Sent twice: the same page, one payment, one sale.
    double = await client.post("/station/handover", data=sent, headers=HTML)
    assert double.status_code == 200 and "交付完成" in double.text
    assert await count(db_session, StockLedgerEntry, *sales) == 1
    order = await db_session.get(Order, parcel.order_id, populate_existing=True)
    assert order is not None and order.paid_minor == 6800


async def test_the_customers_order_qr_goes_in_the_code_field(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop, counter: Counter
) -> None:
    parcel, order = await shelved_order(db_session, counter, shop)
    await sign_in(client, counter.operator)
    page = f"/station/handover?tracking={parcel.tracking_number}"

    forged, _ = await submit(
        client,
        page,
        "/station/handover",
        handover_form(parcel, f"NPO:{order.number}:0000000000000000", collect_method="qr"),
    )
    assert forged.status_code == 422 and "还可尝试 4 次" in forged.text

    done, _ = await submit(
        client, page, "/station/handover", handover_form(parcel, parcels.pickup_qr(order.number), collect_method="qr")
    )
    assert (
        done.status_code == 200
        and "交付完成" in done.text
        and "已扫码收款" in done.text
        and "凭订单二维码" in done.text
    )
    assert (await reload(db_session, parcel)).status is ParcelStatus.handed_over


async def test_the_qr_first_then_the_parcel_two_scans_no_typing(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop, counter: Counter
) -> None:
    """The customer holds up the phone before the box is found: the QR (scanned into the first
    field, Enter sending the form without the page's script) shows where the box is; the parcel's
    scan then completes it. Nothing is counted on the way."""
    parcel, order = await shelved_order(db_session, counter, shop)
    qr = parcels.pickup_qr(order.number)
    await sign_in(client, counter.operator)

    asked, _ = await submit(client, "/station/handover", "/station/handover", {"tracking_number": qr, "code": ""})
    assert asked.status_code == 200
    assert "取货二维码有效。请到货位 <strong class=\"slot-big\">1-1</strong> 取出包裹" in asked.text
    assert f'name="code" class="scan-input" value="{qr}"' in asked.text  # kept, case and all
    assert 'name="tracking_number" class="scan-input" value=""' in asked.text
    assert "到站付款 ¥68.00" in asked.text
    # The script's own look-up by QR says the same.
    fragment = await client.get("/station/handover/parcel", params={"qr": qr}, headers=HTML)
    assert "货位 <strong class=\"slot-big\">1-1</strong>" in fragment.text and parcel.tracking_number in fragment.text
    assert (await reload(db_session, parcel)).failed_code_attempts == 0

    # The parcel scanned into the code field, the QR still in the parcel field: each goes where it belongs.
    done, _ = await submit(
        client,
        "/station/handover",
        "/station/handover",
        {"tracking_number": qr, "code": parcel.tracking_number.lower(), "collect_method": "cash"},
    )
    assert done.status_code == 200 and "交付完成" in done.text and "凭订单二维码" in done.text
    assert (await reload(db_session, parcel)).status is ParcelStatus.handed_over


async def test_a_qr_read_in_capitals_still_opens_its_parcel(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop, counter: Counter
) -> None:
    parcel, order = await shelved_order(db_session, counter, shop)
    await sign_in(client, counter.operator)
    shouted = parcels.pickup_qr(order.number).upper()
    done, _ = await submit(
        client, "/station/handover", "/station/handover", handover_form(parcel, shouted, collect_method="qr")
    )
    assert done.status_code == 200 and "交付完成" in done.text


async def test_another_orders_qr_with_this_parcel_is_not_a_wrong_code(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop, counter: Counter
) -> None:
    """A genuine QR of the customer beside it, with the wrong box: said plainly, not counted."""
    first, second = await dispatched(db_session, shop, 2)
    for parcel in (first, second):
        await parcels.scan_in(
            db_session, station_id=counter.station.id, tracking_number=parcel.tracking_number, actor_user_id=None
        )
    theirs = await db_session.get(Order, second.order_id)
    mine = await db_session.get(Order, first.order_id)
    assert theirs is not None and mine is not None
    await sign_in(client, counter.operator)

    refused, _ = await submit(
        client,
        "/station/handover",
        "/station/handover",
        handover_form(first, parcels.pickup_qr(theirs.number), collect_method="cash"),
    )

    assert refused.status_code == 409
    assert f"这个取货二维码是订单 {theirs.number} 的，扫描的包裹属于订单 {mine.number}，请核对包裹" in refused.text
    assert [(await reload(db_session, p)).failed_code_attempts for p in (first, second)] == [0, 0]
    assert [(await reload(db_session, p)).status for p in (first, second)] == [ParcelStatus.at_station] * 2
    unknown = await client.get("/station/handover/parcel", params={"qr": "NPO:NP1:00"}, headers=HTML)
    assert "二维码无法识别，或该订单的包裹不在本站" in unknown.text


# ---- upstream -----------------------------------------------------------------------------------


async def test_the_upstream_form_records_a_consignment_with_its_label(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop, counter: Counter
) -> None:
    variant = await make_variant(db_session, unit=Unit.kg, barcode="6901234567892")
    supplier = await make_supplier(db_session, name="东湖坪枇杷合作社", grows=[variant])
    await sign_in(client, counter.operator)
    form = {
        "supplier_mode": "existing",
        "supplier_code": supplier.code,
        "scan": "6901234567892",
        "sku": "",
        "weight_kg": "25.350",
        "quantity": "",
        "grade": "一级",
        "harvest_date": clock.today().isoformat(),
        "certificate_no": "HG-2025-0042",
        "value_yuan": "186.50",
    }

    posted, sent = await submit(client, "/station/upstream", "/station/upstream", form)

    assert posted.status_code == 303, posted.text
    consignment = await db_session.scalar(select(Consignment).where(Consignment.station_id == counter.station.id))
    assert consignment is not None
    assert posted.headers["location"] == f"/station/upstream?done={consignment.number}"
    assert (consignment.weight_kg, consignment.value_minor, consignment.supplier_id) == (
        Decimal("25.350"),
        18650,
        supplier.id,
    )
    lot = await db_session.get(Lot, consignment.lot_id)
    assert lot is not None and lot.variant_id == variant.id and lot.quantity_received == Decimal("25.350")
    shown = await client.get(posted.headers["location"], headers=HTML)
    assert f"已登记上行 {consignment.number}" in shown.text and lot.code in shown.text
    assert f'data-print-pdf="/api/v1/admin/lots/{lot.code}/label.pdf"' in shown.text and "打印批次标签" in shown.text
    label = await client.get(f"/api/v1/admin/lots/{lot.code}/label.pdf")
    assert label.status_code == 200 and label.headers["content-type"] == "application/pdf"

    # The same form sent twice: one consignment.
    double = await client.post("/station/upstream", data=sent, headers=HTML)
    assert double.status_code == 303 and double.headers["location"] == posted.headers["location"]
    assert await count(db_session, Consignment, Consignment.station_id == counter.station.id) == 1

    # A new household farmer: registered as a supplier of this station's village.
    household = {
        **form,
        "supplier_mode": "new",
        "supplier_code": "",
        "hh_name": "张大叔",
        "hh_village": "",
        "hh_phone": "139 2222 3333",
        "weight_kg": "12.5",
        "value_yuan": "90",
    }
    second, _ = await submit(client, "/station/upstream", "/station/upstream", household)
    assert second.status_code == 303, second.text
    farmer = await db_session.scalar(select(Supplier).where(Supplier.contact_phone == "+8613922223333"))
    assert farmer is not None and (farmer.kind, farmer.name, farmer.village) == (
        SupplierKind.household,
        "张大叔",
        counter.station.village,
    )


async def test_an_upstream_form_with_mistakes_is_refused_and_kept(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop, counter: Counter
) -> None:
    variant = await make_variant(db_session, unit=Unit.kg)
    await sign_in(client, counter.operator)
    form = {
        "supplier_mode": "new",
        "hh_name": "张大叔",
        "hh_phone": "139 2222 3333",
        "sku": variant.sku,
        "weight_kg": "1.2345",
        "harvest_date": clock.today().isoformat(),
        "value_yuan": "10",
    }

    refused, _ = await submit(client, "/station/upstream", "/station/upstream", form)

    assert refused.status_code == 422 and "重量（千克）" in refused.text and 'value="张大叔"' in refused.text
    assert await count(db_session, Consignment, Consignment.station_id == counter.station.id) == 0
    assert await count(db_session, Supplier, Supplier.contact_phone == "+8613922223333") == 0


# ---- service cases and the month ----------------------------------------------------------------


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 6), (47, 93, 58)).save(out, format="PNG")
    return out.getvalue()


async def test_a_case_with_a_photo_is_stored_and_counted(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, counter: Counter
) -> None:
    await sign_in(client, counter.operator)
    cases_page = await client.get("/station/cases", headers=HTML)
    assert 'accept="image/*" capture="environment"' in cases_page.text

    posted, sent = await submit(
        client,
        "/station/cases",
        "/station/cases",
        {
            "kind": "assist_farmer",
            "title": "帮张大叔网上卖出 200 斤沙梨",
            "note": "联系广州客户",
            "person_phone": "13922223333",
        },
        files={"photo": ("field.png", png(), "image/png")},
    )

    assert posted.status_code == 303, posted.text
    case = await db_session.scalar(select(ServiceCase).where(ServiceCase.station_id == counter.station.id))
    assert case is not None and case.photo_path is not None and case.person_phone == "+8613922223333"
    stored = app.state.settings.uploads_dir / case.photo_path
    assert stored.read_bytes() == png()
    listed = await client.get(posted.headers["location"], headers=HTML)
    assert "已登记助农案例：帮张大叔网上卖出 200 斤沙梨（含照片）" in listed.text
    assert f'src="/media/{case.photo_path}"' in listed.text and "13922223333" not in listed.text
    shown = await client.get(f"/media/{case.photo_path}")  # the page's <img>, with the operator's cookie
    assert shown.status_code == 200 and shown.content == stored.read_bytes()

    # Sent twice (the photo too): one case.
    double = await client.post(
        "/station/cases", data=sent, files={"photo": ("field.png", png(), "image/png")}, headers=HTML
    )
    assert double.status_code == 303
    assert await count(db_session, ServiceCase, ServiceCase.station_id == counter.station.id) == 1

    # Not a picture: refused, nothing stored.
    bad, _ = await submit(
        client,
        "/station/cases",
        "/station/cases",
        {"kind": "convenience", "title": "代缴电费"},
        files={"photo": ("x.png", b"not an image", "image/png")},
    )
    assert bad.status_code == 422 and "代缴电费" in bad.text
    assert await count(db_session, ServiceCase, ServiceCase.station_id == counter.station.id) == 1

    report = await client.get("/station/report", headers=HTML)
    assert report.status_code == 200
    assert re.search(r'<span class="stat-num">1</span><span class="stat-label">助农案例', report.text)
    assert re.search(r'<span class="stat-num">1</span><span class="stat-label">服务人数', report.text)
    assert "未达标" in report.text and "还差 4" in report.text and "尚未全部达标" in report.text


async def test_the_report_page_reads_a_chosen_month_and_refuses_nonsense(
    client: httpx.AsyncClient, db_session: AsyncSession, counter: Counter
) -> None:
    await sign_in(client, counter.operator)
    march = await client.get("/station/report?month=2024-03", headers=HTML)
    assert march.status_code == 200 and "2024 年 3 月" in march.text and "month=2024-02" in march.text
    nonsense = await client.get("/station/report?month=2024-13", headers=HTML)
    assert nonsense.status_code == 422 and "月份须在 1–12 之间" in nonsense.text
