"""After-sales claims (坏果包赔) through the JSON API on orders that went through a real station
handover: the window, bad input, photos, partial approval and its refund (cash at the station),
approving twice, lots and claim rates, and who may do what."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import httpx
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.claims import repository as claims_repository
from app.claims import service
from app.claims.models import Claim, ClaimLineLot, ClaimPhoto, ClaimStatus
from app.config import Settings
from app.kit import clock
from app.notifications.models import NotificationMessage
from app.orders.models import Order, OrderStatus, Refund, RefundState
from app.stations import reports
from app.stations.models import StationCashRefund
from app.supply.models import Lot
from tests.claims.helpers import (
    PHONE,
    cash_order,
    count,
    file_claim,
    hand_over_all,
    jpeg,
    lines_json,
    route_and_operator,
)
from tests.fixtures.builders import auth, make_user, token_for
from tests.fixtures.images import GPS_IFD, phone_jpeg
from tests.fixtures.shop import Shop


async def picked_up(db_session: AsyncSession, shop: Shop, **kw: object) -> tuple[Order, int]:
    operator = await route_and_operator(db_session, shop)
    order = await cash_order(db_session, shop, **kw)  # type: ignore[arg-type]
    await hand_over_all(db_session, operator)
    fresh = await db_session.get(Order, order.id, populate_existing=True)
    assert fresh is not None and fresh.status is OrderStatus.completed
    return fresh, operator.id


async def admin_headers(db_session: AsyncSession, role: Role = Role.admin) -> dict[str, str]:
    user = await make_user(db_session, role)
    headers = auth(await token_for(db_session, user))
    await db_session.commit()
    return headers


async def templates_sent(db_session: AsyncSession, number: str) -> list[str]:
    rows = await db_session.scalars(
        select(NotificationMessage.template)
        .where(NotificationMessage.reference == number)
        .order_by(NotificationMessage.id)
    )
    return list(rows.all())


async def test_the_window_runs_from_pickup_for_claim_window_days(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop, settings: Settings
) -> None:
    operator = await route_and_operator(db_session, shop)
    order = await cash_order(db_session, shop)
    await db_session.commit()
    # Not picked up yet: nothing to claim.
    early = await file_claim(client, order.number, lines=lines_json((shop.box_sku, "1")))
    assert early.status_code == 409 and early.json()["error"] == "claim_not_open", early.text
    assert early.json()["message"] == "订单取货或送达后才能申请理赔"

    await hand_over_all(db_session, operator)
    done = await claims_repository.completed_at(db_session, order.id)
    assert done is not None
    window = await service.window_of(db_session, order)
    assert window is not None and window.closes_at - window.opens_at == timedelta(days=settings.claim_window_days)
    assert window.opens_at == done  # the handover event, the same start the streamers' statements use

    with clock.pinned(done + timedelta(days=settings.claim_window_days, seconds=1)):
        late = await file_claim(client, order.number, lines=lines_json((shop.box_sku, "1")))
    assert late.status_code == 409 and late.json()["error"] == "claim_window_closed"
    assert await count(db_session, Claim) == 0

    with clock.pinned(done + timedelta(days=settings.claim_window_days)):  # the last instant still counts
        ok = await file_claim(client, order.number, lines=lines_json((shop.box_sku, "1")))
    assert ok.status_code == 201, ok.text
    assert (ok.json()["status"], ok.json()["claimed_minor"]) == ("submitted", 6800)


async def test_bad_lines_are_refused_and_change_nothing(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop, settings: Settings
) -> None:
    order, _ = await picked_up(db_session, shop)
    cases = [
        (lines_json((shop.box_sku, "3")), 422, "claim_quantity_too_large"),  # bought 2
        (lines_json((shop.taro_sku, "1")), 422, "claim_line_invalid"),  # not in this order
        (lines_json((shop.box_sku, "0")), 422, "claim_line_invalid"),
        (lines_json((shop.box_sku, "-1")), 422, "claim_line_invalid"),
        (lines_json((shop.box_sku, "1.0001")), 422, "claim_line_invalid"),
        ("[]", 422, "claim_line_invalid"),
        ("not json", 422, "claim_line_invalid"),
    ]
    for lines, status, code in cases:
        answer = await file_claim(client, order.number, lines=lines)
        assert (answer.status_code, answer.json()["error"]) == (status, code), (lines, answer.text)
        assert answer.json()["message"]  # a Chinese message for the customer
    empty_reason = await file_claim(client, order.number, lines=lines_json((shop.box_sku, "1")), reason="   ")
    assert empty_reason.status_code == 422 and empty_reason.json()["error"] == "claim_invalid"
    assert await count(db_session, Claim) == 0
    assert not (settings.uploads_dir / "claims").exists()

    # What earlier claims hold is not claimed twice: 2 bought, 1 waiting → at most 1 more.
    first = await file_claim(client, order.number, lines=lines_json((shop.box_sku, "1")))
    assert first.status_code == 201
    again = await file_claim(client, order.number, lines=lines_json((shop.box_sku, "2")))
    assert again.status_code == 422 and again.json()["detail"]["most"] == "1"
    assert await count(db_session, Claim) == 1


async def test_photos_are_checked_by_content_size_and_count(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop, settings: Settings
) -> None:
    order, _ = await picked_up(db_session, shop)
    line = lines_json((shop.box_sku, "1"))
    seven = [(f"p{i}.jpg", jpeg(), "image/jpeg") for i in range(7)]
    too_many = await file_claim(client, order.number, lines=line, photos=seven)
    assert too_many.status_code == 422 and too_many.json()["error"] == "claim_photo_count"
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    renamed = await file_claim(client, order.number, lines=line, photos=[("bad.jpg", pdf, "image/jpeg")])
    assert renamed.status_code == 422 and renamed.json()["error"] == "invalid_image"
    big = jpeg() + b"\0" * settings.max_image_bytes
    oversize = await file_claim(client, order.number, lines=line, photos=[("big.jpg", big, "image/jpeg")])
    assert oversize.status_code == 413 and oversize.json()["error"] == "image_too_large"
    none = await file_claim(client, order.number, lines=line, photos=[])
    assert none.status_code == 422
    assert await count(db_session, Claim) == 0 and await count(db_session, ClaimPhoto) == 0

    # A phone photo: kept without its EXIF (GPS), upright, with a thumbnail; the trailer is gone.
    ok = await file_claim(
        client,
        order.number,
        lines=line,
        photos=[("phone.jpg", phone_jpeg((40, 20)), "image/jpeg"), ("b.png", _png(), "image/png")],
    )
    assert ok.status_code == 201, ok.text
    photos = ok.json()["photos"]
    assert [(p["width"], p["height"]) for p in photos] == [(20, 40), (8, 6)]
    stored = (await db_session.scalars(select(ClaimPhoto).order_by(ClaimPhoto.position))).all()
    first = settings.uploads_dir / stored[0].path
    with Image.open(first) as kept:
        assert kept.format == "JPEG" and GPS_IFD not in kept.getexif()
    assert b"<script>" not in first.read_bytes()
    assert (settings.uploads_dir / stored[0].thumb_path).is_file()
    assert stored[1].content_type == "image/png"
    assert photos[0]["url"].startswith(f"/orders/{order.number}/claims/")


def _png() -> bytes:
    import io

    out = io.BytesIO()
    Image.new("RGB", (8, 6), (47, 93, 58)).save(out, format="PNG")
    return out.getvalue()


async def test_partial_approval_refunds_exactly_that_in_cash_at_the_station_once(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop
) -> None:
    order, _ = await picked_up(db_session, shop, quantity="2", taro="1.235")
    # Box 2 × ¥68.00; taro 1.235 kg × ¥18.50 = ¥22.85 (2284.75 → 2285).
    filed = await file_claim(client, order.number, lines=lines_json((shop.box_sku, "2"), (shop.taro_sku, "0.5")))
    assert filed.status_code == 201, filed.text
    claim = filed.json()
    # 0.5 of 1.235 kg of a ¥22.85 line: 2285 × 0.5 / 1.235 = 925.1 → 925.
    assert claim["claimed_minor"] == 13600 + 925
    lines = {line["sku"]: line for line in claim["lines"]}
    staff = await admin_headers(db_session)
    review = {
        "lines": [
            {"line_id": lines[shop.box_sku]["id"], "approved_quantity": "1"},
            {"line_id": lines[shop.taro_sku]["id"], "approved_quantity": "0.2"},
        ],
        "note": "一箱确认坏果",
    }
    first = await client.post(f"/api/v1/admin/claims/{claim['id']}/review", json=review, headers=staff)
    assert first.status_code == 200, first.text
    reviewed = first.json()
    # 1 box = ¥68.00; 0.2 kg: 2285 × 0.2 / 1.235 = 370.04 → 370.
    assert (reviewed["status"], reviewed["approved_minor"], reviewed["refunded"]) == (
        "partly_approved",
        6800 + 370,
        True,
    )

    refunds = (await db_session.scalars(select(Refund).where(Refund.order_id == order.id))).all()
    assert [(r.amount_minor, r.state) for r in refunds] == [(7170, RefundState.succeeded)]
    fresh = await db_session.get(Order, order.id, populate_existing=True)
    assert fresh is not None and fresh.refunded_minor == 7170
    cash = (await db_session.scalars(select(StationCashRefund))).all()
    assert [(c.station_id, c.amount_minor, c.claim_id, c.refund_id) for c in cash] == [
        (order.station_id, 7170, claim["id"], refunds[0].id)
    ]
    assert cash[0].recorded_by_id is not None

    # Approving again (a double click, a second reviewer): 409, nothing more refunded.
    second = await client.post(f"/api/v1/admin/claims/{claim['id']}/review", json=review, headers=staff)
    assert second.status_code == 409 and second.json()["error"] == "claim_already_reviewed"
    assert await count(db_session, Refund, Refund.order_id == order.id) == 1
    assert await count(db_session, StationCashRefund) == 1

    # The station's month shows the cash it handed back.
    today = clock.today()
    month = {r.station_id: r for r in await reports.station_month_report(db_session, today.year, today.month)}
    assert order.station_id is not None
    assert (month[order.station_id].cash_refunds, month[order.station_id].cash_refunded_minor) == (1, 7170)
    sheet = load_workbook(io.BytesIO(reports.xlsx(list(month.values())))).active
    assert sheet is not None
    header = [cell.value for cell in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2, values_only=True) if r[0] == month[order.station_id].code)
    counted = dict(zip(header, row, strict=True))
    assert (counted["理赔现金退款（笔）"], counted["理赔现金退款（元）"]) == (1, 71.7)

    # The customer was told at each step: filed, partly approved, refunded.
    sent = await templates_sent(db_session, order.number)
    assert sent[-3:] == ["claim_filed", "claim_partly_approved", "refund_issued"]


async def test_lots_carry_the_approved_quantity_and_the_claim_rate(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop
) -> None:
    order, _ = await picked_up(db_session, shop, quantity="2")
    filed = (await file_claim(client, order.number, lines=lines_json((shop.box_sku, "2")))).json()
    lot_rows = (await db_session.scalars(select(ClaimLineLot))).all()
    lot = await db_session.get(Lot, lot_rows[0].lot_id)
    assert lot is not None and [r.quantity for r in lot_rows] == [Decimal("2.000")]
    assert filed["lines"][0]["lots"] == [{"lot_code": lot.code, "quantity": "2", "approved_quantity": "0"}]
    # Before a review nothing counts.
    assert (await service.lot_claim_rates(db_session, [lot.code]))[lot.code].approved == 0
    staff = await admin_headers(db_session)
    line_id = filed["lines"][0]["id"]
    await client.post(
        f"/api/v1/admin/claims/{filed['id']}/review",
        json={"lines": [{"line_id": line_id, "approved_quantity": "1"}]},
        headers=staff,
    )
    rate = (await service.lot_claim_rates(db_session, [lot.code]))[lot.code]
    assert (rate.approved, rate.sold, rate.text) == (Decimal("1.000"), Decimal("2.000"), "50.0%")


async def test_refusal_needs_a_reason_and_refunds_nothing(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop
) -> None:
    order, _ = await picked_up(db_session, shop)
    filed = (await file_claim(client, order.number, lines=lines_json((shop.box_sku, "1")))).json()
    staff = await admin_headers(db_session)
    url = f"/api/v1/admin/claims/{filed['id']}/review"
    no_reason = await client.post(url, json={"lines": []}, headers=staff)
    assert no_reason.status_code == 422 and no_reason.json()["error"] == "claim_review_invalid"
    over = await client.post(
        url, json={"lines": [{"line_id": filed["lines"][0]["id"], "approved_quantity": "2"}]}, headers=staff
    )
    assert over.status_code == 422 and over.json()["error"] == "claim_review_invalid"
    assert (await db_session.get(Claim, filed["id"], populate_existing=True)).status is ClaimStatus.submitted  # type: ignore[union-attr]
    refused = await client.post(url, json={"lines": [], "note": "照片看不出坏果"}, headers=staff)
    assert refused.status_code == 200 and refused.json()["status"] == "refused"
    assert refused.json()["review_note"] == "照片看不出坏果"
    assert await count(db_session, Refund) == 0
    assert (await templates_sent(db_session, order.number))[-1] == "claim_refused"


async def test_only_the_orders_customer_files_and_reads_claims(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop
) -> None:
    owner = await make_user(db_session, Role.customer)
    order, _ = await picked_up(db_session, shop, customer=owner)
    owner_headers = auth(await token_for(db_session, owner))
    other = auth(await token_for(db_session, await make_user(db_session, Role.customer)))
    official = auth(await token_for(db_session, await make_user(db_session, Role.county_official)))
    staff = auth(await token_for(db_session, await make_user(db_session, Role.admin)))
    await db_session.commit()
    line = lines_json((shop.box_sku, "1"))

    for headers in (other, {"X-Order-Phone": "13900139000"}, {}):
        refused = await file_claim(client, order.number, lines=line, headers=headers)
        assert refused.status_code == 404 and refused.json()["error"] == "order_not_found"
        listed = await client.get(f"/api/v1/orders/{order.number}/claims", headers=headers)
        assert listed.status_code == 404
    # Staff see the order but do not file for the customer.
    by_staff = await file_claim(client, order.number, lines=line, headers=staff)
    assert by_staff.status_code == 403
    assert await count(db_session, Claim) == 0

    filed = await file_claim(client, order.number, lines=line, headers=owner_headers)
    assert filed.status_code == 201
    assert [
        c["id"] for c in (await client.get(f"/api/v1/orders/{order.number}/claims", headers=owner_headers)).json()
    ] == [filed.json()["id"]]
    other_list = await client.get(f"/api/v1/orders/{order.number}/claims", headers=other)
    assert other_list.status_code == 404

    # The county official reads the county's figures, not claims, and reviews nothing.
    claim_id = filed.json()["id"]
    assert (await client.get("/api/v1/admin/claims", headers=official)).status_code == 403
    assert (await client.get(f"/api/v1/admin/claims/{claim_id}", headers=official)).status_code == 403
    review = await client.post(
        f"/api/v1/admin/claims/{claim_id}/review",
        json={"lines": [{"line_id": filed.json()["lines"][0]["id"], "approved_quantity": "1"}]},
        headers=official,
    )
    assert review.status_code == 403
    assert (await client.get(f"/admin/claims/{claim_id}", headers=official)).status_code == 403
    assert (await db_session.get(Claim, claim_id, populate_existing=True)).status is ClaimStatus.submitted  # type: ignore[union-attr]
    assert await count(db_session, Refund) == 0
    # A customer cannot call the staff routes either.
    assert (await client.get("/api/v1/admin/claims", headers=other)).status_code == 403


async def test_a_guest_proves_the_phone_as_for_the_order(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop
) -> None:
    order, _ = await picked_up(db_session, shop)
    filed = await file_claim(
        client, order.number, lines=lines_json((shop.box_sku, "1")), headers={"X-Order-Phone": PHONE}
    )
    assert filed.status_code == 201
    listed = await client.get(f"/api/v1/orders/{order.number}/claims", headers={"X-Order-Phone": PHONE})
    assert [c["id"] for c in listed.json()] == [filed.json()["id"]]
