"""The claim pages without JavaScript, driven like a browser: a guest proves the phone on the
look-up page and files a claim with the plain multipart form; mistakes come back in Chinese and
change nothing; the photos are the customer's and staff's only; staff review on the console (a
second submit of the same form refunds nothing); the county official is kept out."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.claims.models import Claim, ClaimPhoto, ClaimStatus
from app.orders.models import Order, Refund
from tests.claims.helpers import PHONE, cash_order, count, hand_over_all, jpeg, route_and_operator
from tests.fixtures.builders import make_user
from tests.fixtures.shop import Shop
from tests.web.test_station_console import sign_in
from tests.web.test_stock_pages import HTML, field


async def guest_with_proven_phone(client: httpx.AsyncClient, number: str) -> None:
    page = await client.get("/orders/lookup", headers=HTML)
    proven = await client.post(
        "/orders/lookup", data={"csrf_token": field(page, "csrf_token"), "number": number, "phone": PHONE}
    )
    assert proven.status_code == 303


async def post_form(
    client: httpx.AsyncClient,
    number: str,
    quantity: str,
    photos: list[tuple[str, bytes, str]],
    reason: str = "坏了两个",
) -> httpx.Response:
    page = await client.get(f"/orders/{number}/claims/new", headers=HTML)
    assert page.status_code == 200, page.text
    sku = field(page, "sku")
    return await client.post(
        f"/orders/{number}/claims",
        data={"csrf_token": field(page, "csrf_token"), "sku": sku, "quantity": quantity, "reason": reason},
        files=[("photos", photo) for photo in photos],
        headers=HTML,
    )


async def test_a_guest_files_with_the_plain_form_and_staff_review_once(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop
) -> None:
    operator = await route_and_operator(db_session, shop)
    order = await cash_order(db_session, shop, quantity="2")
    admin = await make_user(db_session, Role.admin)
    await hand_over_all(db_session, operator)
    number = order.number

    # Without the phone proven, the form is the order page's 404.
    assert (await client.get(f"/orders/{number}/claims/new", headers=HTML)).status_code == 404
    await guest_with_proven_phone(client, number)
    order_page = await client.get(f"/orders/{number}", headers=HTML)
    assert "售后理赔" in order_page.text and f"/orders/{number}/claims/new" in order_page.text

    too_many = await post_form(client, number, "5", [("a.jpg", jpeg(), "image/jpeg")])
    assert too_many.status_code == 422 and "最多还可申请 2" in too_many.text
    assert 'value="5"' in too_many.text and "坏了两个" in too_many.text  # what was typed is kept
    not_image = await post_form(client, number, "1", [("a.jpg", b"%PDF-1.4 not a photo", "image/jpeg")])
    assert not_image.status_code == 422 and "图片" in not_image.text
    assert await count(db_session, Claim) == 0

    filed = await post_form(client, number, "2", [("a.jpg", jpeg(), "image/jpeg")])
    assert filed.status_code == 303 and filed.headers["location"] == f"/orders/{number}?done=claim_filed#claims"
    shown = await client.get(f"/orders/{number}?done=claim_filed", headers=HTML)
    assert "理赔申请已提交" in shown.text and "待审核" in shown.text
    assert f"/orders/{number}/claims/new" not in shown.text  # both boxes claimed: nothing left to offer
    claim = await db_session.scalar(select(Claim))
    assert claim is not None
    photo = await db_session.scalar(select(ClaimPhoto))
    assert photo is not None
    thumb = f"/orders/{number}/claims/{claim.id}/photos/{photo.thumb_path.rsplit('/', 1)[1]}"
    assert thumb in shown.text
    got = await client.get(thumb)
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    assert (await client.get(f"/orders/{number}/claims/{claim.id}/photos/../../secret.jpg")).status_code == 404

    # Another browser (no proof for this order) gets nothing.
    async with httpx.AsyncClient(transport=client._transport, base_url="http://testserver") as stranger:
        assert (await stranger.get(thumb)).status_code == 404
        other = await make_user(db_session, Role.customer)
        await db_session.commit()
        await sign_in(stranger, other)
        assert (await stranger.get(thumb)).status_code == 404
        assert (await stranger.get(f"/orders/{number}/claims/new", headers=HTML)).status_code == 404

    # Staff: the list, the claim with its photo, one review however often the form is sent.
    async with httpx.AsyncClient(transport=client._transport, base_url="http://testserver") as staff:
        await sign_in(staff, admin)
        listing = await staff.get("/admin/claims", headers=HTML)
        assert listing.status_code == 200 and f"/admin/claims/{claim.id}" in listing.text
        page = await staff.get(f"/admin/claims/{claim.id}", headers=HTML)
        assert page.status_code == 200 and "到站付款（现金）" in page.text
        assert (await staff.get(f"/admin/claims/{claim.id}/photos/{photo.path.rsplit('/', 1)[1]}")).status_code == 200
        form = {"csrf_token": field(page, "csrf_token"), "decision": "refuse", "note": ""}
        no_reason = await staff.post(f"/admin/claims/{claim.id}/review", data=form, headers=HTML)
        assert no_reason.status_code == 422 and "拒绝理赔须填写原因" in no_reason.text
        line_field = f"approve_{await _line_id(db_session, claim.id)}"
        form = {"csrf_token": field(page, "csrf_token"), "decision": "approve", line_field: "1", "note": ""}
        done = await staff.post(f"/admin/claims/{claim.id}/review", data=form, headers=HTML)
        assert done.status_code == 303 and done.headers["location"] == f"/admin/claims/{claim.id}?done=partly_approved"
        again = await staff.post(f"/admin/claims/{claim.id}/review", data=form, headers=HTML)
        assert again.status_code == 409 and "已经审核过" in again.text
    assert await count(db_session, Refund) == 1
    fresh = await db_session.get(Order, order.id, populate_existing=True)
    assert fresh is not None and fresh.refunded_minor == 6800
    reviewed = await db_session.get(Claim, claim.id, populate_existing=True)
    assert reviewed is not None and reviewed.status is ClaimStatus.partly_approved

    customer_view = await client.get(f"/orders/{number}", headers=HTML)
    assert "部分同意" in customer_view.text and "领取现金" in customer_view.text
    assert f"/orders/{number}/claims/new" in customer_view.text  # the refused box may be claimed again


async def test_the_county_official_and_staff_cannot_use_the_claim_pages(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop
) -> None:
    official = await make_user(db_session, Role.county_official)
    warehouse = await make_user(db_session, Role.warehouse)
    await db_session.commit()
    await sign_in(client, official)
    assert (await client.get("/admin/claims", headers=HTML)).status_code == 403
    assert (await client.get("/admin/claims/1", headers=HTML)).status_code == 403
    assert (
        await client.post("/admin/claims/1/review", data={"decision": "approve_all"}, headers=HTML)
    ).status_code == 403
    async with httpx.AsyncClient(transport=client._transport, base_url="http://testserver") as other:
        await sign_in(other, warehouse)
        assert (await other.get("/admin/claims", headers=HTML)).status_code == 403


async def _line_id(session: AsyncSession, claim_id: int) -> int:
    from app.claims.models import ClaimLine

    found = await session.scalar(select(ClaimLine.id).where(ClaimLine.claim_id == claim_id))
    assert found is not None
    return int(found)


async def test_an_overflowing_claim_id_is_refused_not_a_server_error(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop
) -> None:
    """A claim id past bigint is a 404/422 on every claim route, never a 500 from the database."""
    admin = await make_user(db_session, Role.admin)
    await db_session.commit()
    await sign_in(client, admin)
    huge = 2**63 + 5
    answers = [
        await client.get(f"/admin/claims/{huge}", headers=HTML),
        await client.get(f"/admin/claims/{huge}/photos/a.jpg"),
        await client.get(f"/api/v1/admin/claims/{huge}"),
        await client.post(f"/api/v1/admin/claims/{huge}/review", json={"decision": "approve_all", "lines": []}),
        await client.get(f"/orders/N1/claims/{huge}/photos/a.jpg"),
    ]
    listing = await client.get("/admin/claims", headers=HTML)
    token = field(listing, "csrf_token") if 'name="csrf_token"' in listing.text else ""
    answers.append(
        await client.post(
            f"/admin/claims/{huge}/review", data={"csrf_token": token, "decision": "approve_all"}, headers=HTML
        )
    )
    assert [answer.status_code in (403, 404, 422) for answer in answers] == [True] * len(answers), [
        answer.status_code for answer in answers
    ]
    # The review POSTs may stop at the CSRF check first (403); the reads must reach the id's bound.
    assert [answers[i].status_code for i in (0, 1, 2, 4)] == [422, 422, 422, 422]
