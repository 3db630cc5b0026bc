"""Runs, scan-in with pickup codes, handover (codes limited, pay at pickup), retention returns."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.kit import clock
from app.notifications.models import NotificationMessage
from app.stations import parcels
from app.stations.models import DeliveryRoute, Parcel, ParcelStatus, RouteStop, Station
from app.supply import repository as supply_repository
from app.supply.models import LedgerKind, Reservation, ReservationStatus, StockLedgerEntry
from tests.fixtures.builders import auth, make_user, token_for
from tests.fixtures.shop import Shop, order_body


@dataclass
class Desk:
    headers: dict[str, str]  # the operator of ST-SHOP-1
    other_headers: dict[str, str]  # the operator of ST-SHOP-2
    keeper: dict[str, str]


@pytest.fixture
async def desk(db_session: AsyncSession, shop: Shop) -> Desk:
    stations = {s.code: s for s in (await db_session.scalars(select(Station))).all()}
    route = DeliveryRoute(code="RT-T1", name="测试线")
    db_session.add(route)
    await db_session.flush()
    for position, code in enumerate([shop.station_code, shop.other_station_code], start=1):
        db_session.add(RouteStop(route_id=route.id, station_id=stations[code].id, position=position))
    await db_session.flush()
    operator = await make_user(db_session, Role.station_operator, station_id=stations[shop.station_code].id)
    other = await make_user(db_session, Role.station_operator, station_id=stations[shop.other_station_code].id)
    keeper = await make_user(db_session, Role.warehouse)
    return Desk(
        auth(await token_for(db_session, operator)),
        auth(await token_for(db_session, other)),
        auth(await token_for(db_session, keeper)),
    )


async def order(client: httpx.AsyncClient, shop: Shop, quantity: str = "1") -> str:
    response = await client.post(
        "/api/v1/orders", json=order_body(shop, lines=[{"sku": shop.box_sku, "quantity": quantity}])
    )
    assert response.status_code == 201, response.text
    return str(response.json()["number"])


async def dispatched(client: httpx.AsyncClient, desk: Desk, count: int, shop: Shop) -> list[dict[str, str]]:
    numbers = [await order(client, shop) for _ in range(count)]
    run = await client.post(
        "/api/v1/admin/runs", headers=desk.keeper, json={"route_code": "RT-T1", "run_date": clock.today().isoformat()}
    )
    assert run.status_code == 201, run.text
    assert sorted(p["order_number"] for p in run.json()["parcels"]) == sorted(numbers)
    sent = await client.post(f"/api/v1/admin/runs/{run.json()['number']}/dispatch", headers=desk.keeper)
    assert sent.status_code == 200 and {p["status"] for p in sent.json()["parcels"]} == {"dispatched"}
    return list(sent.json()["parcels"])


async def scan(client: httpx.AsyncClient, headers: dict[str, str], tracking: str, key: str) -> httpx.Response:
    return await client.post(
        "/api/v1/pda/scan-in", headers={**headers, "Idempotency-Key": key}, json={"tracking_number": tracking}
    )


async def customer_code(client: httpx.AsyncClient, order_number: str) -> str:
    """The pickup code as its customer sees it (the guest's view with the order's phone)."""
    view = await client.get(f"/api/v1/orders/{order_number}", headers={"X-Order-Phone": "13800138000"})
    assert view.status_code == 200 and view.json()["pickup"] is not None, view.text
    return str(view.json()["pickup"]["code"])


async def scanned_code(client: httpx.AsyncClient, desk: Desk, box: dict[str, str], key: str) -> str:
    response = await scan(client, desk.headers, box["tracking_number"], key)
    assert response.status_code == 200, response.text
    return await customer_code(client, box["order_number"])


async def hand(client: httpx.AsyncClient, headers: dict[str, str], key: str, **body: object) -> httpx.Response:
    return await client.post("/api/v1/pda/handover", headers={**headers, "Idempotency-Key": key}, json=body)


async def test_scan_in_gives_a_slot_and_a_random_secret_and_tells_the_customer(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop, desk: Desk
) -> None:
    boxes = await dispatched(client, desk, 3, shop)
    slots = []
    for i, box in enumerate(boxes):
        response = await scan(client, desk.headers, box["tracking_number"], f"scan-{i}")
        assert response.status_code == 200, response.text
        assert "pickup_code" not in response.json()  # the operator's device never gets the secret
        slots.append(response.json()["shelf_slot"])
    assert slots == ["1-1", "1-2", "1-3"]  # least-loaded slots first
    codes = [await customer_code(client, box["order_number"]) for box in boxes]
    assert [c.rsplit("-", 1)[0] for c in codes] == slots
    secrets_ = [c.rsplit("-", 1)[1] for c in codes]
    assert all(len(x) == parcels.PICKUP_SECRET_DIGITS and x.isdigit() for x in secrets_)
    assert len(set(secrets_)) == 3
    again = await scan(client, desk.headers, boxes[0]["tracking_number"], "scan-0")
    assert again.json() == (await scan(client, desk.headers, boxes[0]["tracking_number"], "scan-0")).json()
    assert await customer_code(client, boxes[0]["order_number"]) == codes[0]
    notice = await db_session.scalar(
        select(NotificationMessage).where(
            NotificationMessage.template == "order_ready_for_pickup",
            NotificationMessage.reference == boxes[0]["order_number"],
        )
    )
    assert notice is not None and codes[0] in notice.body
    # The notice links to the order page, where the pickup QR is shown.
    assert re.search(rf"取货二维码：http://127\.0\.0\.1:8000/orders/{boxes[0]['order_number']}\?t=\S+$", notice.body)
    shelf = await client.get("/api/v1/pda/shelf", headers=desk.headers)
    assert sorted(p["shelf_slot"] for p in shelf.json()) == slots
    assert not any(x in shelf.text for x in secrets_)
    order_view = (
        await client.get(f"/api/v1/orders/{boxes[0]['order_number']}", headers={"X-Order-Phone": "13800138000"})
    ).json()
    assert (order_view["status"], order_view["fulfilment_status"]) == ("ready_for_pickup", "at_station")
    assert order_view["pickup"]["qr"] == parcels.pickup_qr(boxes[0]["order_number"])
    # Staff read the order without the secret: not as a field, not in the timeline.
    admin = auth(await token_for(db_session, await make_user(db_session, Role.admin)))
    staff_view = await client.get(f"/api/v1/orders/{boxes[0]['order_number']}", headers=admin)
    assert staff_view.status_code == 200 and staff_view.json()["pickup"] is None
    assert secrets_[0] not in staff_view.text
    assert "货架 1-1" in staff_view.json()["events"][-1]["message_zh"]


async def test_a_neighbours_code_does_not_open_another_parcel(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop, desk: Desk
) -> None:
    """The attack of the review: holding 1-3-1003, try 1-1-1001 on the neighbour's parcel. Codes
    now share nothing but the public slot, so guessing from one's own code fails."""
    boxes = await dispatched(client, desk, 3, shop)
    codes = [await scanned_code(client, desk, box, f"scan-{i}") for i, box in enumerate(boxes)]
    mine = codes[2]
    secret = int(mine.rsplit("-", 1)[1])
    guesses = [f"1-1-{(secret + d) % 10**6:06d}" for d in (-2, -1, 1, 2)] + ["1-1-1001"]
    results = [
        await hand(
            client,
            desk.headers,
            f"guess-{i}",
            tracking_number=boxes[0]["tracking_number"],
            pickup_code=guess,
            collect_method="cash",
        )
        for i, guess in enumerate(guesses)
        if guess != codes[0]
    ]
    assert [r.status_code for r in results][:4] == [422, 422, 422, 422]
    parcel = await db_session.scalar(select(Parcel).where(Parcel.tracking_number == boxes[0]["tracking_number"]))
    assert parcel is not None and parcel.status is ParcelStatus.at_station


def test_secrets_come_from_secrets_and_avoid_the_ones_held() -> None:
    held = {f"{n:06d}" for n in range(0, 10**6, 2)}  # every even secret in use
    drawn = {parcels.new_pickup_secret(held) for _ in range(200)}
    assert all(int(x) % 2 == 1 and len(x) == 6 for x in drawn)
    assert len(drawn) > 150  # spread over the space, not a counter


async def test_another_stations_parcel_is_refused(client: httpx.AsyncClient, shop: Shop, desk: Desk) -> None:
    (box,) = await dispatched(client, desk, 1, shop)
    refused = await scan(client, desk.other_headers, box["tracking_number"], "wrong-station")
    assert refused.status_code == 403 and refused.json()["error"] == "parcel_wrong_station"
    await scan(client, desk.headers, box["tracking_number"], "right-station")
    handover = await hand(
        client,
        desk.other_headers,
        "h-other",
        tracking_number=box["tracking_number"],
        pickup_code="1-1-1001",
        collect_method="cash",
    )
    assert handover.status_code == 403


async def test_wrong_codes_are_counted_once_per_key_and_lock(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop, desk: Desk
) -> None:
    (box,) = await dispatched(client, desk, 1, shop)
    code = await scanned_code(client, desk, box, "s1")
    first = await hand(client, desk.headers, "bad-1", tracking_number=box["tracking_number"], pickup_code="9-9-9999")
    retried = await hand(client, desk.headers, "bad-1", tracking_number=box["tracking_number"], pickup_code="9-9-9999")
    assert first.status_code == retried.status_code == 422
    assert first.json() == retried.json() and first.json()["detail"]["attempts_left"] == 4
    for i in range(2, 5):
        await hand(client, desk.headers, f"bad-{i}", tracking_number=box["tracking_number"], pickup_code="0-0-0")
    locked = await hand(client, desk.headers, "bad-5", tracking_number=box["tracking_number"], pickup_code="0-0-0")
    assert locked.status_code == 423 and locked.json()["error"] == "pickup_locked"
    # Even the right code is refused now: staff must check the collector's identity.
    right = await hand(
        client, desk.headers, "good", tracking_number=box["tracking_number"], pickup_code=code, collect_method="cash"
    )
    assert right.status_code == 423
    parcel = await db_session.scalar(select(Parcel).where(Parcel.tracking_number == box["tracking_number"]))
    assert parcel is not None and parcel.status is ParcelStatus.at_station and parcel.failed_code_attempts == 5
    empty = await hand(client, desk.headers, "empty", tracking_number=box["tracking_number"])
    assert empty.status_code == 423  # still locked; and an empty try is never counted
    admin = auth(await token_for(db_session, await make_user(db_session, Role.admin)))
    unlocked = await client.post(
        f"/api/v1/admin/parcels/{box['tracking_number']}/unlock", headers=admin, json={"note": "核对身份证"}
    )
    assert unlocked.status_code == 200
    blank = await hand(client, desk.headers, "blank", tracking_number=box["tracking_number"], pickup_code=" ")
    assert blank.status_code == 422
    await db_session.refresh(parcel)
    assert parcel.failed_code_attempts == 0
    opened = await hand(
        client,
        desk.headers,
        "after-unlock",
        tracking_number=box["tracking_number"],
        pickup_code=code,
        collect_method="cash",
    )
    assert opened.status_code == 200 and opened.json()["status"] == "handed_over"


async def test_handover_collects_pay_at_pickup_and_sells_the_stock(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop, desk: Desk
) -> None:
    (box,) = await dispatched(client, desk, 1, shop)
    code = await scanned_code(client, desk, box, "s1")
    unpaid = await hand(client, desk.headers, "h0", tracking_number=box["tracking_number"], pickup_code=code)
    assert unpaid.status_code == 422 and unpaid.json()["error"] == "payment_required"
    done = await hand(
        client,
        desk.headers,
        "h1",
        tracking_number=box["tracking_number"],
        pickup_code=code,
        collect_method="cash",
        collected_by_name="王小明",
        proxy=True,
    )
    assert done.status_code == 200 and done.json()["status"] == "handed_over"
    view = (await client.get(f"/api/v1/orders/{box['order_number']}", headers={"X-Order-Phone": "13800138000"})).json()
    assert (view["status"], view["payment_status"], view["paid_minor"]) == ("completed", "paid", 6800)
    assert view["payments"][0]["provider"] == "pay_at_pickup" and view["payments"][0]["method"] == "cash"
    assert "由 王小明 代取" in view["events"][-1]["message_zh"]
    sales = await db_session.scalar(
        select(func.count())
        .select_from(StockLedgerEntry)
        .where(StockLedgerEntry.kind == LedgerKind.sale, StockLedgerEntry.document_ref == box["order_number"])
    )
    assert sales == 1
    again = await hand(
        client, desk.headers, "h2", tracking_number=box["tracking_number"], pickup_code=code, collect_method="cash"
    )
    assert again.status_code == 200  # already handed over: nothing happens twice
    assert (
        await db_session.scalar(
            select(func.count())
            .select_from(StockLedgerEntry)
            .where(StockLedgerEntry.kind == LedgerKind.sale, StockLedgerEntry.document_ref == box["order_number"])
        )
        == 1
    )


async def test_order_qr_opens_the_parcel(client: httpx.AsyncClient, shop: Shop, desk: Desk) -> None:
    (box,) = await dispatched(client, desk, 1, shop)
    await scan(client, desk.headers, box["tracking_number"], "s1")
    forged = await hand(
        client,
        desk.headers,
        "q0",
        tracking_number=box["tracking_number"],
        order_qr=f"NPO:{box['order_number']}:0000000000000000",
        collect_method="qr",
    )
    assert forged.status_code == 422
    good = await hand(
        client,
        desk.headers,
        "q1",
        tracking_number=box["tracking_number"],
        order_qr=parcels.pickup_qr(box["order_number"]),
        collect_method="qr",
    )
    assert good.status_code == 200 and good.json()["status"] == "handed_over"


async def test_retention_returns_exactly_the_overdue(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop, desk: Desk
) -> None:
    boxes = await dispatched(client, desk, 2, shop)
    for i, box in enumerate(boxes):
        await scan(client, desk.headers, box["tracking_number"], f"s{i}")
    overdue = boxes[0]["tracking_number"]
    await db_session.execute(
        update(Parcel)
        .where(Parcel.tracking_number == overdue)
        .values(retention_until=datetime.now(UTC) - timedelta(hours=1))
    )
    assert await parcels.return_overdue(db_session) == [overdue]
    assert await parcels.return_overdue(db_session) == []
    view = (
        await client.get(f"/api/v1/orders/{boxes[0]['order_number']}", headers={"X-Order-Phone": "13800138000"})
    ).json()
    assert (view["status"], view["fulfilment_status"]) == ("cancelled", "returned")
    held = await db_session.scalar(
        select(Reservation).where(Reservation.reference == f"order:{boxes[0]['order_number']}")
    )
    assert held is not None and held.status is ReservationStatus.released
    kept = (
        await client.get(f"/api/v1/orders/{boxes[1]['order_number']}", headers={"X-Order-Phone": "13800138000"})
    ).json()
    assert kept["status"] == "ready_for_pickup"
    back = await client.post(f"/api/v1/admin/parcels/{overdue}/receive-return", headers=desk.keeper)
    assert back.status_code == 200 and back.json()["status"] == "returned"
    assert await supply_repository.rebuilt_levels(db_session) == await supply_repository.stored_levels(db_session)


async def test_pda_requires_a_key_and_an_operator(
    client: httpx.AsyncClient, db_session: AsyncSession, desk: Desk
) -> None:
    no_key = await client.post("/api/v1/pda/scan-in", headers=desk.headers, json={"tracking_number": "NPP000000"})
    assert no_key.status_code == 422
    clerk = auth(await token_for(db_session, await make_user(db_session, Role.clerk)))
    refused = await client.post(
        "/api/v1/pda/scan-in", headers={**clerk, "Idempotency-Key": "k"}, json={"tracking_number": "NPP000000"}
    )
    assert refused.status_code == 403
    unknown = await scan(client, desk.headers, "NPP9999999999", "k2")
    assert unknown.status_code == 404 and unknown.json()["error"] == "parcel_not_found"


async def test_a_packed_order_cannot_be_cancelled(client: httpx.AsyncClient, shop: Shop, desk: Desk) -> None:
    number = await order(client, shop)
    await client.post(
        "/api/v1/admin/runs", headers=desk.keeper, json={"route_code": "RT-T1", "run_date": clock.today().isoformat()}
    )
    refused = await client.post(
        f"/api/v1/orders/{number}/cancel", headers={"X-Order-Phone": "13800138000"}, json={"reason": "不要了"}
    )
    assert refused.status_code == 409 and refused.json()["error"] == "transition_not_allowed"
